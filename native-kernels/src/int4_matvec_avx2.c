/*
 * AVX2 + FMA path. This file alone is compiled with -mavx2 -mfma; sq_int4_matvec() calls it only after
 * a runtime CPU check, so the library still loads on CPUs without AVX2.
 *
 * Why it is faster than the reference: the zero point is factored out of the inner loop,
 *     sum_c s (q_c - z) x_c  =  s (sum_c q_c x_c  -  z sum_c x_c),
 * so the inner loop is "widen nibbles to float, FMA with x" and sum_c x_c per group is computed once per
 * batch vector instead of once per row. Scales are applied once per group, vector-wise, so there is one
 * horizontal sum per row, not per group. Up to 4 batch vectors share each decoded code vector.
 */
#include "int4_matvec.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define SQ_INLINE static inline __attribute__((always_inline))
#define SQ_MAX_TILE 4

SQ_INLINE float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 sh = _mm_movehdup_ps(s);
    s = _mm_add_ps(s, sh);
    sh = _mm_movehl_ps(sh, s);
    s = _mm_add_ss(s, sh);
    return _mm_cvtss_f32(s);
}

/*
 * 4 bytes hold 8 codes. Broadcast them as one dword to all lanes and shift lane i right by 4i: lane i then
 * holds column i in its low nibble (little-endian, even column low). One variable shift, one AND, one
 * convert: fewer instructions than unpacking bytes and widening (no slower in the bench; the noise here
 * hides smaller differences). memcpy reads exactly 4 bytes, never past the row.
 */
SQ_INLINE __m256 decode8(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    const __m256i shifts = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
    const __m256i q = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(v), shifts), _mm256_set1_epi32(0x0F));
    return _mm256_cvtepi32_ps(q);
}

/*
 * nb (1..4) batch vectors starting at x (stride cols) into y (stride rows). Always inlined with a
 * constant nb so that the accumulator arrays become registers. With one vector, four independent
 * accumulators hide the FMA latency; with more vectors, the vectors themselves are independent chains.
 */
SQ_INLINE void tile(const sq_int4_matrix *w, const float *x, float *y, const int nb, float *xsum) {
    const int64_t rows = w->rows, cols = w->cols, gs = w->group_size;
    const int64_t stride = sq_int4_row_stride(w->cols);
    const int64_t ng = sq_int4_groups(w->cols, w->group_size);
    const int ka = nb == 1 ? 4 : (nb == 2 ? 2 : 1);

    for (int j = 0; j < nb; j++) {
        for (int64_t g = 0; g < ng; g++) {
            const int64_t c1 = (g + 1) * gs < cols ? (g + 1) * gs : cols;
            float s = 0.0f;
            for (int64_t c = g * gs; c < c1; c++) s += x[j * cols + c];
            xsum[j * ng + g] = s;
        }
    }

    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *row = w->codes + r * stride;
        const float *scale = w->scales + r * ng;
        const float *zero = w->zeros + r * ng;
        __m256 racc[SQ_MAX_TILE];
        float rtail[SQ_MAX_TILE];
        for (int j = 0; j < nb; j++) {
            racc[j] = _mm256_setzero_ps();
            rtail[j] = 0.0f;
        }
        for (int64_t g = 0; g < ng; g++) {
            int64_t c = g * gs;
            const int64_t c1 = c + gs < cols ? c + gs : cols;
            __m256 acc[SQ_MAX_TILE][4];
            float tail[SQ_MAX_TILE]; /* columns the vector loops do not cover: dot of codes and x */
            for (int j = 0; j < nb; j++) {
                for (int k = 0; k < ka; k++) acc[j][k] = _mm256_setzero_ps();
                tail[j] = 0.0f;
            }
            if (c & 1) { /* odd group start (odd group_size): one high nibble, then byte-aligned */
                const float q = (float) (row[c >> 1] >> 4);
                for (int j = 0; j < nb; j++) tail[j] += q * x[j * cols + c];
                c++;
            }
            for (; c + 32 <= c1; c += 32) {
                for (int k = 0; k < 4; k++) {
                    const __m256 d = decode8(row + (c >> 1) + 4 * k);
                    for (int j = 0; j < nb; j++) {
                        const __m256 xv = _mm256_loadu_ps(x + j * cols + c + 8 * k);
                        acc[j][k % ka] = _mm256_fmadd_ps(d, xv, acc[j][k % ka]);
                    }
                }
            }
            for (; c + 8 <= c1; c += 8) {
                const __m256 d = decode8(row + (c >> 1));
                for (int j = 0; j < nb; j++) {
                    acc[j][0] = _mm256_fmadd_ps(d, _mm256_loadu_ps(x + j * cols + c), acc[j][0]);
                }
            }
            for (; c < c1; c++) {
                const float q = (float) ((row[c >> 1] >> ((c & 1) * 4)) & 0x0F);
                for (int j = 0; j < nb; j++) tail[j] += q * x[j * cols + c];
            }
            const __m256 s = _mm256_set1_ps(scale[g]);
            for (int j = 0; j < nb; j++) {
                __m256 a = acc[j][0];
                for (int k = 1; k < ka; k++) a = _mm256_add_ps(a, acc[j][k]);
                racc[j] = _mm256_fmadd_ps(s, a, racc[j]);
                rtail[j] += scale[g] * (tail[j] - zero[g] * xsum[j * ng + g]);
            }
        }
        for (int j = 0; j < nb; j++) y[j * rows + r] = hsum(racc[j]) + rtail[j];
    }
}

sq_status sq_int4_matvec_avx2(const sq_int4_matrix *w, const float *x, float *y, int32_t batch) {
    const int64_t ng = sq_int4_groups(w->cols, w->group_size);
    float *xsum = malloc((size_t) (SQ_MAX_TILE * ng) * sizeof(float));
    if (xsum == NULL) {
        return SQ_ERR_NOMEM;
    }
    for (int64_t b0 = 0; b0 < batch; b0 += SQ_MAX_TILE) {
        const float *xt = x + b0 * w->cols;
        float *yt = y + b0 * w->rows;
        switch (batch - b0 < SQ_MAX_TILE ? batch - b0 : SQ_MAX_TILE) {
            case 1: tile(w, xt, yt, 1, xsum); break;
            case 2: tile(w, xt, yt, 2, xsum); break;
            case 3: tile(w, xt, yt, 3, xsum); break;
            default: tile(w, xt, yt, 4, xsum); break;
        }
    }
    free(xsum);
    return SQ_OK;
}
