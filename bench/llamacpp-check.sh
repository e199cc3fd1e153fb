#!/usr/bin/env bash
# Runs Squeeze's GGUF exports of stories260K in llama.cpp itself and compares with Squeeze on the same files:
# greedy generation from BOS, perplexity on the evaluation split (TinyStories 501-1000), tokenizer ids.
#   bench/llamacpp-check.sh [SHARED_DIR] [variant...]
#     variants: f32 q8_0 q4_0 gptq-q4_0 gptq-q8_0 llama2-tokenizer (default: all). llama2-tokenizer exports a tiny
#     random model with Llama 2's real tokenizer.json (.ci/tokenizer-fixtures.sh) and checks only the token ids.
# llama.cpp comes from npm's node-llama-cpp (pinned below; prebuilt linux-x64 CPU binaries, no build, no GPU),
# installed once into target/node-llama-cpp (npm must be reachable the first time; later runs are offline).
# Files and JSON go to engine/target/llamacpp-check. Exit status 1 when the tokenizer ids or the number of
# predicted tokens differ.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
SHARED="${1:-../shared}"
VARIANTS=("${@:2}")
NLC_VERSION=3.21.1
CACHE="${LLAMACPP_CACHE:-$ROOT/target/node-llama-cpp}"
OUT="$ROOT/engine/target/llamacpp-check"

if [ ! -f "$CACHE/.stamp-$NLC_VERSION" ]; then
  echo "llamacpp-check: installing node-llama-cpp@$NLC_VERSION (linux-x64 CPU binaries only) into $CACHE" >&2
  mkdir -p "$CACHE"
  # --ignore-scripts: its postinstall would try to download or build binaries; the prebuilt ones are in the
  # @node-llama-cpp/linux-x64 package. --omit=optional skips the CUDA/Vulkan/ARM variants (≈650 MB).
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
echo "== Squeeze: export and evaluate the GGUF files" >&2
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp "$CP" \
  dev.squeeze.engine.bench.GgufLlamaCppCheck "$SHARED" "$OUT" "${VARIANTS[@]}"
echo "== llama.cpp (node-llama-cpp $NLC_VERSION, CPU, 1 thread) on the same files" >&2
node "$ROOT/bench/llamacpp-check.mjs" "$CACHE/node_modules" "$OUT" "${VARIANTS[@]}"
