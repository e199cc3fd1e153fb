/*
 * AVX-512 VNNI path of sq_packed_matmul_q8 (int8 activations). Only this file is compiled with
 * -mavx512vnni; it runs after a run-time check for AVX-512 F/BW/VL + VNNI.
 *
 * x arrives quantized (packed.c: int8 per block of xblock columns, zero-padded to whole 64-column blocks).
 * Each 64-column block of a row is decoded to 64 code bytes in column order (a broadcast load, one variable
 * 16-bit shift and a mask per plane; 1-bit planes through a mask register), and vpdpbusd multiplies them with
 * 64 int8 activations into 16 int32 lanes. After each x block the integer sums are converted once and scaled
 * by s * sx; the zero-point term s * z * sx * sum(xq) is a scalar per block. Up to 16 vectors per pass over W.
 */
#include "packed_internal.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define SQ_INLINE static inline __attribute__((always_inline))
#define NB_MAX 16

/* 64 codes of the block at p as bytes, column order. */
SQ_INLINE __m512i decode_bytes(const uint8_t *p, const int bits) {
    if (bits == 8) return _mm512_loadu_si512(p);
    const __m512i half_shift4 = _mm512_set_epi64(0x0004000400040004ll, 0x0004000400040004ll, 0x0004000400040004ll,
                                                 0x0004000400040004ll, 0, 0, 0, 0);
    const __m512i quarter_shift2 = _mm512_set_epi64(0x0006000600060006ll, 0x0006000600060006ll, 0x0004000400040004ll,
                                                    0x0004000400040004ll, 0x0002000200020002ll, 0x0002000200020002ll, 0, 0);
    __m512i q;
    const uint8_t *next;
    int shift;
    if (bits <= 3) { /* 2-bit plane: byte i of 128-bit lane k = bits 2k..2k+1 of byte i = column 16k + i */
        const __m512i v = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *) p));
        q = _mm512_and_si512(_mm512_srlv_epi16(v, quarter_shift2), _mm512_set1_epi8(3));
        next = p + 16;
        shift = 2;
    } else {         /* nibble plane: low 256 bits = low nibbles (columns 0-31), high = high nibbles (32-63) */
        const __m512i v = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *) p));
        q = _mm512_and_si512(_mm512_srlv_epi16(v, half_shift4), _mm512_set1_epi8(15));
        next = p + 32;
        shift = 4;
        if (bits >= 6) {
            const __m512i t = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *) next));
            const __m512i f = _mm512_and_si512(_mm512_srlv_epi16(t, quarter_shift2), _mm512_set1_epi8(3));
            q = _mm512_or_si512(q, _mm512_slli_epi16(f, 4));
            next += 16;
            shift = 6;
        }
    }
    if (bits == 3 || bits == 5 || bits == 7) {
        uint64_t m;
        memcpy(&m, next, sizeof m);
        q = _mm512_or_si512(q, _mm512_maskz_mov_epi8((__mmask64) m, _mm512_set1_epi8((char) (1 << shift))));
    }
    return q;
}

SQ_INLINE void pass(const sq_packed_args *a, const float *s, const float *sz, int64_t b0, const int nb, const int bits,
                    float *ztail) {
    const sq_packed_desc *d = a->d;
    const int64_t rows = d->rows, ng = ((int64_t) d->cols + d->group_size - 1) / d->group_size;
    const int64_t row_bytes = sq_packed_row_bytes(d->cols, bits);
    const int64_t bpx = a->xblock / 64;          /* code blocks per x block */
    const int64_t xpg = d->group_size / a->xblock; /* x blocks per group */
    const int64_t nblk = ((int64_t) d->cols + 63) / 64;
    const int8_t *xq = a->xq + b0 * a->xq_stride;
    const float *xs = a->xs + b0 * a->nxb, *xsum = a->xsum + b0 * a->nxb;
    (void) ng;
    for (int64_t r = a->row_begin; r < a->row_end; r++) {
        const uint8_t *row = a->packed + r * row_bytes;
        __m512 facc[NB_MAX];
        for (int j = 0; j < nb; j++) {
            facc[j] = _mm512_setzero_ps();
            ztail[j] = 0.0f;
        }
        for (int64_t k = 0; k < a->nxb; k++) {
            const int64_t g = k / xpg;
            const float sg = s[g], szg = sz[g];
            const int64_t blk0 = k * bpx, nbk = blk0 + bpx <= nblk ? bpx : nblk - blk0;
            __m512i q[4];
            for (int64_t i = 0; i < nbk; i++) q[i] = decode_bytes(row + (blk0 + i) * 8 * bits, bits);
            for (int j = 0; j < nb; j++) {
                const int8_t *xj = xq + j * a->xq_stride + blk0 * 64;
                __m512i acc = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q[0], _mm512_loadu_si512(xj));
                for (int64_t i = 1; i < nbk; i++) acc = _mm512_dpbusd_epi32(acc, q[i], _mm512_loadu_si512(xj + 64 * i));
                facc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_set1_ps(sg * xs[j * a->nxb + k]), facc[j]);
                ztail[j] += szg * xsum[j * a->nxb + k];
            }
        }
        for (int j = 0; j < nb; j++) a->y[(b0 + j) * rows + r] = _mm512_reduce_add_ps(facc[j]) - ztail[j];
    }
}

SQ_INLINE void run_bits(const sq_packed_args *a, const float *s, const float *sz, const int bits, float *ztail) {
    for (int64_t b0 = 0; b0 < a->batch; b0 += NB_MAX) {
        const int64_t nb = a->batch - b0 < NB_MAX ? a->batch - b0 : NB_MAX;
        switch (nb) {
#define NB_CASE(n) case n: pass(a, s, sz, b0, n, bits, ztail); break;
            NB_CASE(1) NB_CASE(2) NB_CASE(3) NB_CASE(4) NB_CASE(5) NB_CASE(6) NB_CASE(7) NB_CASE(8)
            NB_CASE(9) NB_CASE(10) NB_CASE(11) NB_CASE(12) NB_CASE(13) NB_CASE(14) NB_CASE(15) NB_CASE(16)
#undef NB_CASE
            default: break;
        }
    }
}

/* s and s * z of row r, 16 groups at a time (F16C for binary16). */
static void row_params(const sq_packed_args *a, int64_t ng, int64_t r, float *s, float *sz) {
    const sq_packed_desc *d = a->d;
    const __m512 sym_zero = _mm512_set1_ps((float) (1 << (d->bits - 1)));
    for (int64_t g = 0; g < ng; g += 16) {
        const __mmask16 m = ng - g >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << (ng - g)) - 1u);
        const int64_t i = r * ng + g;
        __m512 vs, vz;
        if (d->scale_type == SQ_SCALE_F16) {
            vs = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *) a->scales + i));
            vz = d->symmetric ? sym_zero : _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *) a->zeros + i));
        } else {
            vs = _mm512_maskz_loadu_ps(m, (const float *) a->scales + i);
            vz = d->symmetric ? sym_zero : _mm512_maskz_loadu_ps(m, (const float *) a->zeros + i);
        }
        _mm512_mask_storeu_ps(s + g, m, vs);
        _mm512_mask_storeu_ps(sz + g, m, _mm512_mul_ps(vs, vz));
    }
}

sq_status sq_packed_matmul_q8_avx512(const sq_packed_args *a) {
    const sq_packed_desc *d = a->d;
    const int64_t ng = ((int64_t) d->cols + d->group_size - 1) / d->group_size;
    /* s and s * z of every group of the call's rows: [rows in call][ng] would be large; per row instead. */
    float *mem = malloc(sizeof(float) * (size_t) (2 * ng + NB_MAX));
    if (mem == NULL) return SQ_ERR_NOMEM;
    float *s = mem, *bz = mem + ng, *ztail = mem + 2 * ng;
    /* Row parameters are per row; run row by row through a one-row view of the arguments. */
    sq_packed_args one = *a;
    for (int64_t r = a->row_begin; r < a->row_end; r++) {
        row_params(a, ng, r, s, bz);
        one.row_begin = (int32_t) r;
        one.row_end = (int32_t) r + 1;
        switch (d->bits) {
            case 2: run_bits(&one, s, bz, 2, ztail); break;
            case 3: run_bits(&one, s, bz, 3, ztail); break;
            case 4: run_bits(&one, s, bz, 4, ztail); break;
            case 5: run_bits(&one, s, bz, 5, ztail); break;
            case 6: run_bits(&one, s, bz, 6, ztail); break;
            case 7: run_bits(&one, s, bz, 7, ztail); break;
            default: run_bits(&one, s, bz, 8, ztail); break;
        }
    }
    free(mem);
    return SQ_OK;
}
