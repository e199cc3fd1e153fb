/*
 * Internal to the packed kernels (packed.c and the per-ISA files): the checked argument bundle and the
 * per-ISA entry points. Not part of the API.
 */
#ifndef SQUEEZE_PACKED_INTERNAL_H
#define SQUEEZE_PACKED_INTERNAL_H

#include "packed.h"

typedef struct sq_packed_args {
    const sq_packed_desc *d;
    const uint8_t *packed;
    const void *scales;
    const void *zeros;   /* NULL when symmetric */
    const float *x;
    float *y;
    int32_t batch;
    int32_t row_begin;
    int32_t row_end;     /* row_begin < row_end */
    /* sq_packed_matmul_q8 only: x quantized, [batch][ceil(cols/64)*64] (zero-padded), and per x block of
     * xblock columns its scale sx and sx * sum(xq), [batch][nxb]. */
    const int8_t *xq;
    const float *xs;
    const float *xsum;
    int32_t xblock;
    int32_t nxb;
    int64_t xq_stride;
} sq_packed_args;

/* Bit planes of a width, low bits first (see packed.h); returns their count (1..3). */
static inline int sq_packed_planes(int bits, int widths[3]) {
    switch (bits) {
        case 8: widths[0] = 8; return 1;
        case 7: widths[0] = 4; widths[1] = 2; widths[2] = 1; return 3;
        case 6: widths[0] = 4; widths[1] = 2; return 2;
        case 5: widths[0] = 4; widths[1] = 1; return 2;
        case 4: widths[0] = 4; return 1;
        case 3: widths[0] = 2; widths[1] = 1; return 2;
        default: widths[0] = 2; return 1; /* 2 */
    }
}

static inline int64_t sq_packed_row_bytes(int32_t cols, int32_t bits) {
    return (((int64_t) cols + SQ_PACKED_BLOCK - 1) / SQ_PACKED_BLOCK) * 8 * bits;
}

/* Scales and zeros of one row converted to float: s[g] and bz[g] = -s[g] * zero[g], so that a SIMD path
 * dequantizes with one FMA, w = code * s + bz. */
void sq_packed_row_params(const sq_packed_args *a, int64_t row, float *s, float *bz);

void sq_packed_matmul_scalar(const sq_packed_args *a);
#if defined(SQ_HAVE_PACKED_AVX2)
sq_status sq_packed_matmul_avx2(const sq_packed_args *a);
#endif
#if defined(SQ_HAVE_PACKED_AVX512)
sq_status sq_packed_matmul_avx512(const sq_packed_args *a);
sq_status sq_packed_matmul_q8_avx512(const sq_packed_args *a);
#endif
void sq_packed_matmul_q8_scalar(const sq_packed_args *a);

#endif /* SQUEEZE_PACKED_INTERNAL_H */
