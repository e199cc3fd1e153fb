#!/usr/bin/env bash
# Issue 12's forward-pass benchmark, one command; every ratio is measured in the same run, the CPU model printed.
#  1. stories260K perplexity on TinyStories 501-1000 (190,299 tokens): the reference path (LlamaModel.reference():
#     row-by-row dot products, attention one query at a time, one thread) against the fast path, rounds
#     interleaved, median of 3. Target: fast <= 5 s.
#  2. The 1.1B synthetic (bench/scale-1b.sh's generator: TinyLlama-1.1B's shape, F16, random weights, read in
#     place): prefill of a 512-token window against Blas.sgemm on the same shapes (target >= 50 %), and decode
#     ms/token against the time to read every stored byte once (target <= 1.5x).
#
#   bench/forward.sh                      both (the 2.2 GB model is generated into a temp folder and deleted after)
#   bench/forward.sh stories              only 1.
#   bench/forward.sh synthetic [DIR]      only 2.; DIR: an existing model folder to reuse (kept)
#   SQUEEZE_SHARED=/path/to/shared        where stories260K and TinyStories are (default ../shared)
#   SQUEEZE_BENCH_TMP=/some/dir           where the synthetic model goes (default /tmp; needs 2.5 GB)
#   JAVA_OPTS="-Dsqueeze.threads=2"       thread count (default: every processor)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
JAVA="$JAVA_HOME/bin/java"
WHAT="${1:-all}"
SHARED="${SQUEEZE_SHARED:-$ROOT/../shared}"

CP_FILE="$ROOT/engine/target/bench-classpath.txt"
./mvnw -B -q -o test-compile dependency:build-classpath -pl engine -am \
  -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test >/dev/null
# A private copy of the classes, so that rebuilding the project meanwhile cannot pull them away.
SNAP="$(mktemp -d "${TMPDIR:-/tmp}/squeeze-forward-XXXXXX")"
cleanup() { rm -rf "$SNAP"; }
trap cleanup EXIT
cp -r "$ROOT/engine/target/classes" "$SNAP/classes"
cp -r "$ROOT/engine/target/test-classes" "$SNAP/test-classes"
CP="$SNAP/test-classes:$SNAP/classes:$(cat "$CP_FILE")"
RUN=("$JAVA" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector ${JAVA_OPTS:-} -cp "$CP")

if [ "$WHAT" = all ] || [ "$WHAT" = stories ]; then
  echo "== stories260K perplexity"
  "${RUN[@]}" -Xmx2g dev.squeeze.engine.bench.ForwardBench stories "$SHARED" 3
fi

if [ "$WHAT" = all ] || [ "$WHAT" = synthetic ]; then
  MODEL="${2:-}"
  if [ -z "$MODEL" ]; then
    TMP_ROOT="${SQUEEZE_BENCH_TMP:-/tmp}"
    avail_kb=$(df --output=avail -k "$TMP_ROOT" | tail -1 | tr -d ' ')
    if [ "$avail_kb" -lt $((3 * 1024 * 1024)) ]; then
      echo "forward: $TMP_ROOT has $((avail_kb / 1024)) MiB free; the 1.1B model needs about 2.5 GiB. Set SQUEEZE_BENCH_TMP." >&2
      exit 3
    fi
    GEN="$(mktemp -d "$TMP_ROOT/squeeze-forward-model-XXXXXX")"
    trap 'cleanup; rm -rf "$GEN"' EXIT
    MODEL="$GEN/model"
    echo "== generate the 1.1B synthetic (F16) into $MODEL"
    "${RUN[@]}" -Xmx256m dev.squeeze.engine.bench.SyntheticLlamaBench generate "$MODEL" >/dev/null
  fi
  echo "== 1.1B synthetic: prefill and decode, weights read in place"
  "${RUN[@]}" -Xmx4g dev.squeeze.engine.bench.ForwardBench synthetic "$MODEL" 512 8
fi
