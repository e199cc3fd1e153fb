#!/usr/bin/env bash
# Writes the fixture that GgmlBlocksKQuantsTest checks Squeeze's Q4_K/Q6_K code against: rows of float32 values,
# the bytes ggml's own reference quantizers (quantize_row_q4_K_ref, quantize_row_q6_K_ref) make of them, and the
# values ggml's dequantizers (dequantize_row_q4_K, dequantize_row_q6_K) give back. It compiles a small C program
# against the libggml-base.so that npm's node-llama-cpp ships (prebuilt llama.cpp binaries, see
# docs/STACK-NOTES), so the expected bytes come from ggml itself, not from Squeeze.
#
#   bench/ggml-kquants-fixture.sh [NODE_MODULES]   # default: /tmp/nlc/node_modules
# Output: engine/src/test/resources/dev/squeeze/engine/export/gguf/ggml-kquants.bin
#   int32 rows, int32 cols; then per row: cols float32 inputs, Q4_K bytes, cols float32 Q4_K dequantized,
#   Q6_K bytes, cols float32 Q6_K dequantized (all little-endian, as the machine writes them).
set -euo pipefail
cd "$(dirname "$0")/.."
modules="${1:-/tmp/nlc/node_modules}"
lib="$modules/@node-llama-cpp/linux-x64/bins/linux-x64"
[ -f "$lib/libggml-base.so" ] || { echo "no libggml-base.so under $lib: npm install node-llama-cpp@3.21.1 there" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/fixture.c" <<'C'
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
void quantize_row_q4_K_ref(const float *x, void *y, int64_t k);
void dequantize_row_q4_K(const void *x, float *y, int64_t k);
void quantize_row_q6_K_ref(const float *x, void *y, int64_t k);
void dequantize_row_q6_K(const void *x, float *y, int64_t k);
enum { ROWS = 12, COLS = 512, Q4K = 144, Q6K = 210 };
static uint64_t s = 0x9E3779B97F4A7C15ull;
static double uniform(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return (s >> 11) * (1.0 / 9007199254740992.0); }
static double gauss(void) { return sqrt(-2 * log(uniform() + 1e-300)) * cos(6.283185307179586 * uniform()); }
int main(int argc, char **argv) {
    FILE *f = fopen(argv[1], "wb");
    int32_t hdr[2] = {ROWS, COLS};
    fwrite(hdr, 4, 2, f);
    float x[COLS], y[COLS];
    unsigned char q4[COLS / 256 * Q4K], q6[COLS / 256 * Q6K];
    for (int r = 0; r < ROWS; r++) {
        for (int i = 0; i < COLS; i++) {
            double v;
            switch (r) {
                case 0: v = 0; break;                                  /* all zero */
                case 1: v = 0.25; break;                               /* constant */
                case 2: v = 0.01 + fabs(gauss()) * 0.02; break;        /* all positive (min clipped to 0) */
                case 3: v = -0.01 - fabs(gauss()) * 0.02; break;       /* all negative */
                case 4: v = gauss() * (i % 97 == 0 ? 40 : 0.02); break; /* outliers */
                case 5: v = (i % 32 == 0) ? 1e-6 : 0; break;           /* nearly zero */
                case 6: v = gauss() * ((i / 32) % 2 ? 1e-3 : 3.0); break; /* sub-blocks of very different range */
                case 7: v = (i & 1) ? 1e4 * gauss() : 0; break;        /* large */
                default: v = gauss() * 0.05 * (r - 6); break;          /* weights-like */
            }
            x[i] = (float) v;
        }
        fwrite(x, 4, COLS, f);
        quantize_row_q4_K_ref(x, q4, COLS);
        fwrite(q4, 1, sizeof q4, f);
        dequantize_row_q4_K(q4, y, COLS);
        fwrite(y, 4, COLS, f);
        quantize_row_q6_K_ref(x, q6, COLS);
        fwrite(q6, 1, sizeof q6, f);
        dequantize_row_q6_K(q6, y, COLS);
        fwrite(y, 4, COLS, f);
    }
    return fclose(f) != 0;
}
C
gcc -O2 -o "$work/fixture" "$work/fixture.c" -L"$lib" -lggml-base -Wl,-rpath,"$lib" -lm
out=engine/src/test/resources/dev/squeeze/engine/export/gguf/ggml-kquants.bin
mkdir -p "$(dirname "$out")"
"$work/fixture" "$out.tmp" && mv "$out.tmp" "$out"
echo "wrote $out ($(stat -c %s "$out") bytes) with $(grep -o '"tag": *"[^"]*"' "$modules/node-llama-cpp/llama/llama.cpp.info.json" 2>/dev/null || echo 'ggml')"
