#!/usr/bin/env bash
# End-to-end GPTQ benchmark (issue #12): GPTQ 4-bit g128 on a whole synthetic Llama model, layer-streamed
# (BlockStreamedCompression: the calibration hidden states stay in memory, one block's weights at a time from the
# memory-mapped file), timed against its GEMM floor measured in the same run (every forward linear and attention
# product, the Hessians' XᵀX and GPTQ's lazy updates, timed through the same sgemm at the job's shapes), with peak
# heap and peak anonymous RSS sampled every 10 ms.
#
#   1. The 1.1B synthetic (bench/scale-1b.sh's shape: TinyLlama-1.1B, F16, 2.2 GB) with W windows × 2048 tokens,
#      the finished tensors kept in memory as a run keeps them. 128 windows take hours on 2 cores: the program prints
#      the measured figures and, labelled EXTRAPOLATED, the same at 128 × 2048 (forward and Hessian work scale with
#      the tokens; GPTQ solves and weight decoding do not).
#   2. The 7B shape (dim 4096, MLP 11008, 32 layers, 32 heads, vocab 32000; 13.5 GB F16) with very few windows,
#      under -Xmx6g, the finished tensors written to checkpoint files as a job does: peak anonymous memory must stay
#      under 8 GiB.
# Both models are generated streaming into a folder under target/ (or $SQUEEZE_BENCH_TMP) and deleted after.
#
#   bench/gptq-e2e.sh                              both parts with the defaults below
#   SQUEEZE_E2E_WINDOWS=8 bench/gptq-e2e.sh        calibration windows of the 1.1B part (default 4)
#   SQUEEZE_E2E_SEQ=2048                           tokens per window (default 2048, the reference's)
#   SQUEEZE_E2E_7B=skip                            only the 1.1B part (SQUEEZE_E2E_1B=skip: only the 7B part)
#   SQUEEZE_E2E_7B_WINDOWS=1 SQUEEZE_E2E_7B_SEQ=2048 SQUEEZE_E2E_7B_BLOCKS=32
#                                                  the 7B part's windows, tokens and blocks compressed (fewer blocks
#                                                  are reported with an extrapolation to all 32, labelled)
#   SQUEEZE_E2E_1B_SHAPE="--dim 256 --hidden 688 --layers 2 --heads 4 --kv-heads 4 --vocab 1000"
#                                                  another shape for part 1 (a smoke run)
#   SQUEEZE_BENCH_JAVA_OPTS="-Dsqueeze.blas.threads=1"   extra JVM flags
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
JAVA="$JAVA_HOME/bin/java"
TMP_ROOT="${SQUEEZE_BENCH_TMP:-$ROOT/target}"
mkdir -p "$TMP_ROOT"

CP_FILE="$ROOT/engine/target/bench-classpath.txt"
./mvnw -B -q -o test-compile dependency:build-classpath -pl engine -am \
  -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test >/dev/null
CP="$ROOT/engine/target/test-classes:$ROOT/engine/target/classes:$(cat "$CP_FILE")"
GEN=dev.squeeze.engine.bench.SyntheticLlamaBench
BENCH=dev.squeeze.engine.bench.GptqEndToEndBench

DIR="$(mktemp -d "$TMP_ROOT/squeeze-gptq-e2e-XXXXXX")"
trap 'rm -rf "$DIR"' EXIT

need_space() { # <GiB> <what>
  local avail_kb
  avail_kb=$(df --output=avail -k "$TMP_ROOT" | tail -1 | tr -d ' ')
  if [ "$avail_kb" -lt $(($1 * 1024 * 1024)) ]; then
    echo "gptq-e2e: $TMP_ROOT has $((avail_kb / 1024)) MiB free; $2 needs about $1 GiB. Set SQUEEZE_BENCH_TMP." >&2
    exit 3
  fi
}

run_bench() { # <heap> <model dir> <args...>
  local heap="$1"; shift
  # shellcheck disable=SC2086
  "$JAVA" "-Xmx$heap" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    ${SQUEEZE_BENCH_JAVA_OPTS:-} -cp "$CP" "$BENCH" "$@" 2>&1 | grep -v 'WARNING: Using incubator modules'
}

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) processors"

if [ "${SQUEEZE_E2E_1B:-run}" != skip ]; then
  need_space 3 "the 1.1B synthetic model (2.2 GB)"
  echo "== 1.1B synthetic: generate (-Xmx256m)"
  # shellcheck disable=SC2086
  "$JAVA" -Xmx256m -cp "$CP" "$GEN" generate "$DIR/model-1b" ${SQUEEZE_E2E_1B_SHAPE:-} | grep -v '^generate\.\|heap\|rss\|gc\.'
  echo "== 1.1B synthetic: GPTQ 4-bit g128, ${SQUEEZE_E2E_WINDOWS:-4} windows × ${SQUEEZE_E2E_SEQ:-2048} tokens (-Xmx6g)"
  run_bench 6g "$DIR/model-1b" --windows "${SQUEEZE_E2E_WINDOWS:-4}" --seq "${SQUEEZE_E2E_SEQ:-2048}" \
    --bits 4 --group 128 --keep memory
  rm -rf "$DIR/model-1b"
fi

if [ "${SQUEEZE_E2E_7B:-run}" != skip ]; then
  need_space 15 "the 7B-shaped synthetic model (13.5 GB)"
  echo "== 7B shape: generate (-Xmx256m)"
  "$JAVA" -Xmx256m -cp "$CP" "$GEN" generate "$DIR/model-7b" --dim 4096 --hidden 11008 --layers 32 --heads 32 \
    --kv-heads 32 --vocab 32000 --shard-bytes 4000000000 | grep -v '^generate\.\|heap\|rss\|gc\.'
  echo "== 7B shape: GPTQ 4-bit g128, ${SQUEEZE_E2E_7B_WINDOWS:-1} window(s) × ${SQUEEZE_E2E_7B_SEQ:-2048} tokens," \
    "${SQUEEZE_E2E_7B_BLOCKS:-32} blocks (-Xmx6g; tensors to checkpoint files)"
  run_bench 6g "$DIR/model-7b" --windows "${SQUEEZE_E2E_7B_WINDOWS:-1}" --seq "${SQUEEZE_E2E_7B_SEQ:-2048}" \
    --blocks "${SQUEEZE_E2E_7B_BLOCKS:-32}" --bits 4 --group 128 --keep checkpoints --checkpoints "$DIR/checkpoints-7b"
fi
