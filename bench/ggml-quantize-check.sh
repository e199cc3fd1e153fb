#!/usr/bin/env bash
# The GGUF reader on files llama.cpp itself quantized: a float32 GGUF of a synthetic Llama (rows of 256 and 512
# values, so the K-quants apply) is quantized by llama.cpp's llama_model_quantize (the library call behind
# llama-quantize, from npm's node-llama-cpp prebuilt libllama) to Q8_0, Q4_0, Q4_K_M and Q6_K; Squeeze opens
# each file, and every tensor must equal Squeeze's own quantizer's result in the type llama.cpp chose.
#
#   bench/ggml-quantize-check.sh [NODE_MODULES]   # default: /tmp/nlc/node_modules (npm install node-llama-cpp@3.21.1)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
modules="${1:-/tmp/nlc/node_modules}"
lib="$modules/@node-llama-cpp/linux-x64/bins/linux-x64"
bundle="$modules/node-llama-cpp/llama/gitRelease.bundle"
libllama="$(ls "$lib"/libllama.*so 2>/dev/null | head -1)"
[ -n "$libllama" ] || { echo "no libllama under $lib" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q --no-checkout "$bundle" "$work/src"
git -C "$work/src" archive HEAD include ggml/include | tar -x -C "$work"
cat > "$work/quantize.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include "llama.h"
int main(int argc, char **argv) {
    llama_backend_init();
    struct llama_model_quantize_params p = llama_model_quantize_default_params();
    p.nthread = 1;
    p.ftype = (enum llama_ftype) atoi(argv[3]);
    uint32_t rc = llama_model_quantize(argv[1], argv[2], &p);
    llama_backend_free();
    return rc != 0;
}
C
gcc -O1 -I"$work/include" -I"$work/ggml/include" -o "$work/quantize" "$work/quantize.c" "$libllama" \
  -Wl,-rpath,"$lib"
CP_FILE="$ROOT/engine/target/bench-classpath.txt"
./mvnw -B -q -o test-compile dependency:build-classpath -pl engine -am \
  -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test >/dev/null
CP="$ROOT/engine/target/test-classes:$ROOT/engine/target/classes:$(cat "$CP_FILE")"
MAIN=dev.squeeze.engine.bench.GgufQuantizedCheck
"$JAVA_HOME/bin/java" -cp "$CP" "$MAIN" write "$work/f32.gguf"
out=()
for t in 7:q8_0 2:q4_0 15:q4_k_m 18:q6_k; do
  "$work/quantize" "$work/f32.gguf" "$work/${t#*:}.gguf" "${t%%:*}" > "$work/${t#*:}.log" 2>&1 \
    || { cat "$work/${t#*:}.log"; exit 1; }
  out+=("$work/${t#*:}.gguf")
done
echo "llama.cpp $(grep -o '"tag": *"[^"]*"' "$modules/node-llama-cpp/llama/llama.cpp.info.json" || true); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
"$JAVA_HOME/bin/java" -cp "$CP" "$MAIN" check "$work/f32.gguf" "${out[@]}"
