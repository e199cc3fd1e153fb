#!/usr/bin/env bash
# Runs Squeeze's GGUF exports of stories260K in llama.cpp itself and compares with Squeeze on the same files:
# greedy generation from BOS, perplexity on the evaluation split (TinyStories 501-1000), tokenizer ids.
#   bench/llamacpp-check.sh [SHARED_DIR] [variant...]
# Variants (default: f32 q8_0 q4_0 gptq-q4_0 gptq-q8_0 gptq-q4_0-ao-densedown-w128 llama2-tokenizer):
#   f32 q8_0 q4_0           `squeeze export MODEL --format gguf --type T` (dense weights by ggml's own quantizer,
#                           as llama-quantize does without an importance matrix)
#   gptq-q4_0 gptq-q8_0     `squeeze export MODEL --format gguf --type T --method gptq` (GPTQ on the Q4_0/Q8_0 grid)
#   gptq-q4_0-densedown gptq-q8_0-densedown [-ao] [-wN]
#                           GPTQ through the Java API with down_proj (172 columns: no 32-block type holds a GPTQ
#                           g32 grid of it) left dense, so that it is stored exactly as in the q4_0/q8_0 files;
#                           -ao: act-order with static groups (still exact Q4_0), -wN: N calibration windows (32)
#   llama2-tokenizer        a tiny random model with Llama 2's real tokenizer.json (.ci/tokenizer-fixtures.sh):
#                           llama.cpp must tokenize the evaluation stories as Squeeze does (ids only)
# llama.cpp comes from npm's node-llama-cpp (pinned below; prebuilt linux-x64 CPU binaries, no build, no GPU),
# installed once into target/node-llama-cpp (npm must be reachable the first time; later runs are offline).
# Files, JSON and the export commands' output go to engine/target/llamacpp-check. Exit status 1 when token ids
# or the number of predicted tokens differ.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
SHARED="$(cd "${1:-../shared}" && pwd)"
VARIANTS=("${@:2}")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=(f32 q8_0 q4_0 gptq-q4_0 gptq-q8_0 gptq-q4_0-ao-densedown-w128 llama2-tokenizer)
NLC_VERSION=3.21.1
CACHE="${LLAMACPP_CACHE:-$ROOT/target/node-llama-cpp}"
OUT="$ROOT/engine/target/llamacpp-check"
MODEL="$SHARED/models/stories260K/stories260K.bin"
mkdir -p "$OUT"
rm -f "$OUT"/*.json

if [ ! -f "$CACHE/.stamp-$NLC_VERSION" ]; then
  echo "llamacpp-check: installing node-llama-cpp@$NLC_VERSION (linux-x64 CPU binaries only) into $CACHE" >&2
  mkdir -p "$CACHE"
  # --ignore-scripts: its postinstall would try to download or build binaries; the prebuilt ones are in the
  # @node-llama-cpp/linux-x64 package. --omit=optional skips the CUDA/Vulkan/ARM variants (about 650 MB).
  (cd "$CACHE" && npm install --no-audit --no-fund --no-save --ignore-scripts --omit=optional \
      "node-llama-cpp@$NLC_VERSION" "@node-llama-cpp/linux-x64@$NLC_VERSION" >/dev/null)
  touch "$CACHE/.stamp-$NLC_VERSION"
fi

CP_FILE="$ROOT/engine/target/bench-classpath.txt"
./mvnw -B -q -o test-compile dependency:build-classpath -pl engine -am \
  -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test >/dev/null
SNAP="$(mktemp -d "${TMPDIR:-/tmp}/squeeze-llamacpp-XXXXXX")"
trap 'rm -rf "$SNAP"' EXIT
cp -r "$ROOT/engine/target/classes" "$SNAP/classes"
cp -r "$ROOT/engine/target/test-classes" "$SNAP/test-classes"
CP="$SNAP/test-classes:$SNAP/classes:$(cat "$CP_FILE")"
JAVA=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector
      -Dsqueeze.data="$SHARED/data" -cp "$CP")

# The CLI's export (the `squeeze` launcher runs the same main class from the app jar), with a private database
# folder and the shared TinyStories for GPTQ's calibration windows.
CHECK_ARGS=()
for v in "${VARIANTS[@]}"; do
  case "$v" in
    f32|q8_0|q4_0|gptq-q4_0|gptq-q8_0)
      type="${v#gptq-}"; method=rtn; [ "$v" = "$type" ] || method=gptq
      file="$OUT/stories260K-$v.gguf"
      echo "== squeeze export $MODEL --format gguf --type $type --method $method --out $file" >&2
      start=$(date +%s.%N)
      SQUEEZE_HOME="$OUT/home" SQUEEZE_DATA="$SHARED/data" "${JAVA[@]}" dev.squeeze.engine.cli.SqueezeCli \
        export "$MODEL" --format gguf --type "$type" --method "$method" --out "$file" 2>"$OUT/$v.export.err" \
        | tee "$OUT/$v.export.txt" >&2
      printf '   (%.1f s)\n' "$(echo "$(date +%s.%N) - $start" | bc)" >&2
      CHECK_ARGS+=("$v=$file");;
    *) CHECK_ARGS+=("$v");;
  esac
done
echo "== Squeeze: read each file back and evaluate exactly its weights" >&2
"${JAVA[@]}" dev.squeeze.engine.bench.GgufLlamaCppCheck "$SHARED" "$OUT" "${CHECK_ARGS[@]}"
echo "== llama.cpp (node-llama-cpp $NLC_VERSION, CPU, 1 thread) on the same files" >&2
node "$ROOT/bench/llamacpp-check.mjs" "$CACHE/node_modules" "$OUT" "${VARIANTS[@]}"
