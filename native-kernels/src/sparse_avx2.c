/*
 * AVX2 + FMA + F16C paths of the sparse products (AMD EPYC and older Xeons). Only this file is compiled with
 * -mavx2 -mfma -mf16c; sparse.c calls it after a run-time CPU check. Same scheme as sparse_avx512.c with
 * 8 lanes: one pass over W for up to 16 batch vectors, constant-batch instantiations.
 *
 * 2:4: 16 columns (4 groups) hold 8 kept values and 16 index bits; lane indices 0..15 select from two
 * 8-float registers of x with two vpermps and a blend on bit 3. Columns after the last full block of 16
 * take the scalar path. General N:M and CSR gather x with lanes checked first; the last (partial) chunk of
 * a row is scalar, with the same checks.
 */
#include "sparse.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define SQ_INLINE static inline __attribute__((always_inline))

SQ_INLINE float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    __m128 sh = _mm_movehdup_ps(s);
    s = _mm_add_ps(s, sh);
    sh = _mm_movehl_ps(sh, s);
    s = _mm_add_ss(s, sh);
    return _mm_cvtss_f32(s);
}

SQ_INLINE __m256 load8(sq_dtype dtype, const void *values, int64_t k) {
    if (dtype == SQ_DTYPE_F16) {
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) ((const uint16_t *) values + k)));
    }
    return _mm256_loadu_ps((const float *) values + k);
}

SQ_INLINE float scalar_value(sq_dtype dtype, const void *values, int64_t k) {
    return dtype == SQ_DTYPE_F16 ? sq_half_to_float(((const uint16_t *) values)[k]) : ((const float *) values)[k];
}

/* ---- 2:4 ---------------------------------------------------------------------------------------------- */

SQ_INLINE void nm24_rows(const sq_nm_matrix *w, const float *x, float *y, int32_t r0, int32_t r1, const int nb) {
    const int64_t cols = w->cols, rows = w->rows;
    const int64_t groups = sq_nm_groups(w->cols, 4);
    const int64_t per_row = groups * 2, stride = sq_nm_index_stride(2, 4, w->cols);
    const int64_t blocks = cols / 16;
    const __m256i shifts = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    const __m256i bases = _mm256_setr_epi32(0, 0, 4, 4, 8, 8, 12, 12);
    const __m256i three = _mm256_set1_epi32(3);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *ix = w->index + r * stride;
        const int64_t v0 = r * per_row;
        __m256 acc[SQ_SPARSE_MAX_PASS];
        for (int b = 0; b < nb; b++) acc[b] = _mm256_setzero_ps();
        for (int64_t blk = 0; blk < blocks; blk++) {
            uint16_t bits;
            memcpy(&bits, ix + blk * 2, sizeof bits);
            const __m256i lane = _mm256_add_epi32(
                    _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int) bits), shifts), three), bases);
            const __m256 hi = _mm256_castsi256_ps(_mm256_slli_epi32(lane, 28)); /* bit 3 -> sign: upper 8 */
            const __m256 wv = load8(w->dtype, w->values, v0 + blk * 8);
            for (int b = 0; b < nb; b++) {
                const float *xb = x + b * cols + blk * 16;
                const __m256 lo = _mm256_permutevar8x32_ps(_mm256_loadu_ps(xb), lane);
                const __m256 up = _mm256_permutevar8x32_ps(_mm256_loadu_ps(xb + 8), lane);
                acc[b] = _mm256_fmadd_ps(wv, _mm256_blendv_ps(lo, up, hi), acc[b]);
            }
        }
        float tail[SQ_SPARSE_MAX_PASS];
        for (int b = 0; b < nb; b++) tail[b] = 0.0f;
        for (int64_t j = blocks * 8; j < per_row; j++) {
            const int64_t c = (j / 2) * 4 + ((ix[j >> 2] >> ((j & 3) * 2)) & 3);
            if (c >= cols) continue;
            const float v = scalar_value(w->dtype, w->values, v0 + j);
            for (int b = 0; b < nb; b++) tail[b] += v * x[b * cols + c];
        }
        for (int b = 0; b < nb; b++) y[b * rows + r] = hsum(acc[b]) + tail[b];
    }
}

/* ---- general N:M (one byte per position) --------------------------------------------------------------- */

SQ_INLINE sq_status nm_rows(const sq_nm_matrix *w, const float *x, float *y, int32_t r0, int32_t r1,
                            int32_t *colbuf, const int nb) {
    const int64_t cols = w->cols, rows = w->rows, n = w->n, m = w->m;
    const int64_t groups = sq_nm_groups(w->cols, w->m);
    const int64_t per_row = groups * n, stride = sq_nm_index_stride(w->n, w->m, w->cols);
    const __m256i vcols = _mm256_set1_epi32((int) cols);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *ix = w->index + r * stride;
        const int64_t v0 = r * per_row;
        for (int64_t g = 0, j = 0; g < groups; g++) {
            for (int64_t t = 0; t < n; t++, j++) {
                const int pos = ix[j];
                if (pos >= m) return SQ_ERR_INDEX;
                colbuf[j] = (int32_t) (g * m + pos);
            }
        }
        __m256 acc[SQ_SPARSE_MAX_PASS];
        for (int b = 0; b < nb; b++) acc[b] = _mm256_setzero_ps();
        int64_t k = 0;
        for (; k + 8 <= per_row; k += 8) {
            const __m256i idx = _mm256_loadu_si256((const __m256i *) (colbuf + k));
            const __m256 valid = _mm256_castsi256_ps(_mm256_cmpgt_epi32(vcols, idx)); /* padding masked off */
            const __m256 wv = _mm256_and_ps(load8(w->dtype, w->values, v0 + k), valid);
            for (int b = 0; b < nb; b++) {
                const __m256 xg = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), x + b * cols, idx, valid, 4);
                acc[b] = _mm256_fmadd_ps(wv, xg, acc[b]);
            }
        }
        float tail[SQ_SPARSE_MAX_PASS];
        for (int b = 0; b < nb; b++) tail[b] = 0.0f;
        for (; k < per_row; k++) {
            const int64_t c = colbuf[k];
            if (c >= cols) continue;
            const float v = scalar_value(w->dtype, w->values, v0 + k);
            for (int b = 0; b < nb; b++) tail[b] += v * x[b * cols + c];
        }
        for (int b = 0; b < nb; b++) y[b * rows + r] = hsum(acc[b]) + tail[b];
    }
    return SQ_OK;
}

/* ---- CSR ------------------------------------------------------------------------------------------------ */

SQ_INLINE sq_status csr_rows(const sq_csr_matrix *s, const float *x, float *y, int32_t r0, int32_t r1,
                             const int nb) {
    const int64_t cols = s->cols, rows = s->rows;
    /* Signed compare cols > idx and idx > -1, i.e. 0 <= idx < cols (uint16 indices widen to >= 0). */
    const __m256i vcols = _mm256_set1_epi32((int) cols), minus1 = _mm256_set1_epi32(-1);
    for (int64_t r = r0; r < r1; r++) {
        const int64_t p0 = s->row_ptr[r], p1 = s->row_ptr[r + 1];
        __m256 acc[SQ_SPARSE_MAX_PASS];
        for (int b = 0; b < nb; b++) acc[b] = _mm256_setzero_ps();
        int64_t k = p0;
        for (; k + 8 <= p1; k += 8) {
            const __m256i idx = s->col32 != NULL
                    ? _mm256_loadu_si256((const __m256i *) (s->col32 + k))
                    : _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *) (s->col16 + k)));
            const __m256i ok = _mm256_and_si256(_mm256_cmpgt_epi32(vcols, idx), _mm256_cmpgt_epi32(idx, minus1));
            if (_mm256_movemask_ps(_mm256_castsi256_ps(ok)) != 0xFF) return SQ_ERR_INDEX;
            const __m256 v = _mm256_loadu_ps(s->values + k);
            for (int b = 0; b < nb; b++) {
                acc[b] = _mm256_fmadd_ps(v, _mm256_i32gather_ps(x + b * cols, idx, 4), acc[b]);
            }
        }
        float tail[SQ_SPARSE_MAX_PASS];
        for (int b = 0; b < nb; b++) tail[b] = 0.0f;
        for (; k < p1; k++) {
            const int64_t c = s->col32 != NULL ? (int64_t) s->col32[k] : (int64_t) s->col16[k];
            if (c < 0 || c >= cols) return SQ_ERR_INDEX;
            for (int b = 0; b < nb; b++) tail[b] += s->values[k] * x[b * cols + c];
        }
        for (int b = 0; b < nb; b++) y[b * rows + r] += hsum(acc[b]) + tail[b];
    }
    return SQ_OK;
}

/* ---- dense ---------------------------------------------------------------------------------------------- */

SQ_INLINE void dense_rows(const sq_dense_matrix *w, const float *x, float *y, int32_t r0, int32_t r1,
                          const int nb) {
    const int64_t cols = w->cols, rows = w->rows;
    const int64_t full = cols / 8 * 8;
    for (int64_t r = r0; r < r1; r++) {
        __m256 acc[SQ_SPARSE_MAX_PASS];
        for (int b = 0; b < nb; b++) acc[b] = _mm256_setzero_ps();
        const int64_t o = r * cols;
        for (int64_t c = 0; c < full; c += 8) {
            const __m256 wv = load8(w->dtype, w->values, o + c);
            for (int b = 0; b < nb; b++) acc[b] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + b * cols + c), acc[b]);
        }
        float tail[SQ_SPARSE_MAX_PASS];
        for (int b = 0; b < nb; b++) tail[b] = 0.0f;
        for (int64_t c = full; c < cols; c++) {
            const float v = scalar_value(w->dtype, w->values, o + c);
            for (int b = 0; b < nb; b++) tail[b] += v * x[b * cols + c];
        }
        for (int b = 0; b < nb; b++) y[b * rows + r] = hsum(acc[b]) + tail[b];
    }
}

#define SQ_CASES(CALL) \
    CALL(1) CALL(2) CALL(3) CALL(4) CALL(5) CALL(6) CALL(7) CALL(8) \
    CALL(9) CALL(10) CALL(11) CALL(12) CALL(13) CALL(14) CALL(15) CALL(16)

sq_status sq_nm_avx2(const sq_nm_matrix *w, const float *x, float *y, int32_t batch, int32_t r0, int32_t r1) {
    if (sq_nm_packed2(w->n, w->m)) {
        switch (batch) {
#define NM24(B) case B: nm24_rows(w, x, y, r0, r1, B); return SQ_OK;
            SQ_CASES(NM24)
#undef NM24
            default: return SQ_ERR_ARG;
        }
    }
    int32_t *colbuf = malloc(sizeof(int32_t) * (size_t) sq_nm_row_values(w->n, w->m, w->cols));
    if (colbuf == NULL) return SQ_ERR_NOMEM;
    sq_status st;
    switch (batch) {
#define NM(B) case B: st = nm_rows(w, x, y, r0, r1, colbuf, B); break;
        SQ_CASES(NM)
#undef NM
        default: st = SQ_ERR_ARG; break;
    }
    free(colbuf);
    return st;
}

sq_status sq_csr_avx2(const sq_csr_matrix *s, const float *x, float *y, int32_t batch, int32_t r0, int32_t r1) {
    switch (batch) {
#define CSR(B) case B: return csr_rows(s, x, y, r0, r1, B);
        SQ_CASES(CSR)
#undef CSR
        default: return SQ_ERR_ARG;
    }
}

sq_status sq_dense_avx2(const sq_dense_matrix *w, const float *x, float *y, int32_t batch, int32_t r0,
                        int32_t r1) {
    switch (batch) {
#define DENSE(B) case B: dense_rows(w, x, y, r0, r1, B); return SQ_OK;
        SQ_CASES(DENSE)
#undef DENSE
        default: return SQ_ERR_ARG;
    }
}
