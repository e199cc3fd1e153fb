/*
 * AVX-512 (F + BW + VL) paths of the sparse products. Only this file is compiled with -mavx512f -mavx512bw
 * -mavx512vl -mf16c -mfma; sparse.c calls it after a run-time CPU check.
 *
 * Every kernel makes one pass over W for up to 16 batch vectors: each weight is loaded (and widened from
 * fp16) once and multiplied into each vector's accumulator. The helpers are always inlined with a constant
 * batch (one instantiation per batch size via the switch at the bottom), so the accumulator arrays are
 * registers.
 *
 * Rows go in pairs and the batch in halves of at most 8 vectors, so that 16 accumulators stay in registers,
 * each load of x serves two rows, and the second half re-reads the pair's weights from L1, not memory.
 *
 * 2:4: 32 columns (8 groups) hold 16 kept values and 32 index bits. The 16 positions become lane indices
 * 0..31 with one variable shift, a mask and an add of the group bases; vpermt2ps then picks each kept
 * value's x from the two registers holding the 32 columns of x: no gather, one shuffle per 16 weights per
 * vector. The columns after the last full block of 32 take the scalar path with the bounds checks.
 *
 * CSR from 2 vectors (when the row range has at least cols non-zeros) transposes x once per call and does one
 * broadcast-FMA per non-zero for all vectors; otherwise, and for general N:M: column indices go into a vector, are checked against cols (an index out of range is
 * SQ_ERR_INDEX before it is used; padding of a partial N:M group is masked off), and x is gathered with that
 * mask, so no lane ever reads outside x.
 */
#include "sparse.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define SQ_INLINE static inline __attribute__((always_inline))

SQ_INLINE __m512 load16(sq_dtype dtype, const void *values, int64_t k) {
    if (dtype == SQ_DTYPE_F16) {
        return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) ((const uint16_t *) values + k)));
    }
    return _mm512_loadu_ps((const float *) values + k);
}

SQ_INLINE __m512 maskz_load16(sq_dtype dtype, __mmask16 mask, const void *values, int64_t k) {
    if (dtype == SQ_DTYPE_F16) {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, (const uint16_t *) values + k));
    }
    return _mm512_maskz_loadu_ps(mask, (const float *) values + k);
}

SQ_INLINE float scalar_value(sq_dtype dtype, const void *values, int64_t k) {
    return dtype == SQ_DTYPE_F16 ? sq_half_to_float(((const uint16_t *) values)[k]) : ((const float *) values)[k];
}

SQ_INLINE __mmask16 tail_mask(int64_t left) {
    return left >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << left) - 1u);
}

/* ---- 2:4 ---------------------------------------------------------------------------------------------- */

/*
 * Rows r and r + 1 (or r alone when two == 0), batch vectors [b0, b0 + nb), nb <= 8: 16 accumulators. The
 * two rows share each load of x (which, for a wide layer and a full batch, comes from L2, not L1).
 */
SQ_INLINE void nm24_pair(const sq_nm_matrix *w, const float *x, float *y, int64_t r, const int two, int b0,
                         const int nb) {
    const int64_t cols = w->cols, rows = w->rows;
    const int64_t per_row = sq_nm_groups(w->cols, 4) * 2, stride = sq_nm_index_stride(2, 4, w->cols);
    const int64_t blocks = cols / 32;
    const __m512i shifts = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i bases = _mm512_setr_epi32(0, 0, 4, 4, 8, 8, 12, 12, 16, 16, 20, 20, 24, 24, 28, 28);
    const __m512i three = _mm512_set1_epi32(3);
    const uint8_t *ix0 = w->index + r * stride, *ix1 = ix0 + (two ? stride : 0);
    const int64_t v0 = r * per_row, v1 = v0 + (two ? per_row : 0);
    __m512 a0[8], a1[8];
    for (int b = 0; b < nb; b++) a0[b] = a1[b] = _mm512_setzero_ps();
    for (int64_t blk = 0; blk < blocks; blk++) {
        uint32_t bits0, bits1;
        memcpy(&bits0, ix0 + blk * 4, sizeof bits0);
        memcpy(&bits1, ix1 + blk * 4, sizeof bits1);
        const __m512i l0 = _mm512_add_epi32(
                _mm512_and_si512(_mm512_srlv_epi32(_mm512_set1_epi32((int) bits0), shifts), three), bases);
        const __m512i l1 = _mm512_add_epi32(
                _mm512_and_si512(_mm512_srlv_epi32(_mm512_set1_epi32((int) bits1), shifts), three), bases);
        const __m512 w0 = load16(w->dtype, w->values, v0 + blk * 16);
        const __m512 w1 = load16(w->dtype, w->values, v1 + blk * 16);
        for (int b = 0; b < nb; b++) {
            const float *xb = x + (b0 + b) * cols + blk * 32;
            const __m512 lo = _mm512_loadu_ps(xb), hi = _mm512_loadu_ps(xb + 16);
            a0[b] = _mm512_fmadd_ps(w0, _mm512_permutex2var_ps(lo, l0, hi), a0[b]);
            if (two) a1[b] = _mm512_fmadd_ps(w1, _mm512_permutex2var_ps(lo, l1, hi), a1[b]);
        }
    }
    for (int t = 0; t <= two; t++) {
        const uint8_t *ix = t ? ix1 : ix0;
        const int64_t vr = t ? v1 : v0;
        float tail[8];
        for (int b = 0; b < nb; b++) tail[b] = 0.0f;
        for (int64_t j = blocks * 16; j < per_row; j++) {
            const int64_t c = (j / 2) * 4 + ((ix[j >> 2] >> ((j & 3) * 2)) & 3);
            if (c >= cols) continue; /* padding of the partial last group */
            const float v = scalar_value(w->dtype, w->values, vr + j);
            for (int b = 0; b < nb; b++) tail[b] += v * x[(b0 + b) * cols + c];
        }
        for (int b = 0; b < nb; b++) {
            y[(b0 + b) * rows + r + t] = _mm512_reduce_add_ps(t ? a1[b] : a0[b]) + tail[b];
        }
    }
}

/* One pass over W: each row pair serves the first 8 vectors, then (from cache) the rest. */
SQ_INLINE void nm24_rows(const sq_nm_matrix *w, const float *x, float *y, int32_t r0, int32_t r1, const int nb) {
    int64_t r = r0;
    for (; r + 2 <= r1; r += 2) {
        nm24_pair(w, x, y, r, 1, 0, nb < 8 ? nb : 8);
        if (nb > 8) nm24_pair(w, x, y, r, 1, 8, nb - 8);
    }
    if (r < r1) {
        nm24_pair(w, x, y, r, 0, 0, nb < 8 ? nb : 8);
        if (nb > 8) nm24_pair(w, x, y, r, 0, 8, nb - 8);
    }
}

/* ---- general N:M (one byte per position) --------------------------------------------------------------- */

SQ_INLINE sq_status nm_rows(const sq_nm_matrix *w, const float *x, float *y, int32_t r0, int32_t r1,
                            int32_t *colbuf, const int nb) {
    const int64_t cols = w->cols, rows = w->rows, n = w->n, m = w->m;
    const int64_t groups = sq_nm_groups(w->cols, w->m);
    const int64_t per_row = groups * n, stride = sq_nm_index_stride(w->n, w->m, w->cols);
    const __m512i vcols = _mm512_set1_epi32((int) cols);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *ix = w->index + r * stride;
        const int64_t v0 = r * per_row;
        /* Columns of this row's kept values; a position >= m fails before anything is read through it. */
        for (int64_t g = 0, j = 0; g < groups; g++) {
            for (int64_t t = 0; t < n; t++, j++) {
                const int pos = ix[j];
                if (pos >= m) return SQ_ERR_INDEX;
                colbuf[j] = (int32_t) (g * m + pos);
            }
        }
        __m512 acc[SQ_SPARSE_MAX_PASS];
        for (int b = 0; b < nb; b++) acc[b] = _mm512_setzero_ps();
        for (int64_t k = 0; k < per_row; k += 16) {
            const __mmask16 tm = tail_mask(per_row - k);
            const __m512i idx = _mm512_maskz_loadu_epi32(tm, colbuf + k);
            const __mmask16 valid = _mm512_mask_cmplt_epi32_mask(tm, idx, vcols); /* padding masked off */
            const __m512 wv = maskz_load16(w->dtype, valid, w->values, v0 + k);
            for (int b = 0; b < nb; b++) {
                const __m512 xg = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), valid, idx, x + b * cols, 4);
                acc[b] = _mm512_fmadd_ps(wv, xg, acc[b]);
            }
        }
        for (int b = 0; b < nb; b++) y[b * rows + r] = _mm512_reduce_add_ps(acc[b]);
    }
    return SQ_OK;
}

/* ---- CSR ------------------------------------------------------------------------------------------------ */

SQ_INLINE sq_status csr_rows(const sq_csr_matrix *s, const float *x, float *y, int32_t r0, int32_t r1,
                             const int nb) {
    const int64_t cols = s->cols, rows = s->rows;
    const __m512i vcols = _mm512_set1_epi32((int) cols);
    for (int64_t r = r0; r < r1; r++) {
        const int64_t p0 = s->row_ptr[r], p1 = s->row_ptr[r + 1];
        __m512 acc[SQ_SPARSE_MAX_PASS];
        for (int b = 0; b < nb; b++) acc[b] = _mm512_setzero_ps();
        for (int64_t k = p0; k < p1; k += 16) {
            const __mmask16 tm = tail_mask(p1 - k);
            const __m512i idx = s->col32 != NULL
                    ? _mm512_maskz_loadu_epi32(tm, s->col32 + k)
                    : _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(tm, s->col16 + k));
            /* Unsigned compare: a negative int32 index is huge and fails too. */
            const __mmask16 valid = _mm512_mask_cmplt_epu32_mask(tm, idx, vcols);
            if (valid != tm) return SQ_ERR_INDEX;
            const __m512 v = _mm512_maskz_loadu_ps(tm, s->values + k);
            for (int b = 0; b < nb; b++) {
                const __m512 xg = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), tm, idx, x + b * cols, 4);
                acc[b] = _mm512_fmadd_ps(v, xg, acc[b]);
            }
        }
        for (int b = 0; b < nb; b++) y[b * rows + r] += _mm512_reduce_add_ps(acc[b]);
    }
    return SQ_OK;
}

/* ---- dense ---------------------------------------------------------------------------------------------- */

/*
 * Rows r and r + 1 (or r alone), batch vectors [b0, b0 + nb), nb <= 8: two rows share each load of x, and
 * 16 accumulators stay in registers.
 */
SQ_INLINE void dense_pair(const sq_dense_matrix *w, const float *x, float *y, int64_t r, const int two, int b0,
                          const int nb) {
    const int64_t cols = w->cols, rows = w->rows;
    const int64_t full = cols / 16 * 16;
    const __mmask16 tm = tail_mask(cols - full);
    const int64_t o0 = r * cols, o1 = o0 + (two ? cols : 0);
    __m512 a0[8], a1[8];
    for (int b = 0; b < nb; b++) a0[b] = a1[b] = _mm512_setzero_ps();
    for (int64_t c = 0; c < full; c += 16) {
        const __m512 w0 = load16(w->dtype, w->values, o0 + c), w1 = load16(w->dtype, w->values, o1 + c);
        for (int b = 0; b < nb; b++) {
            const __m512 xv = _mm512_loadu_ps(x + (b0 + b) * cols + c);
            a0[b] = _mm512_fmadd_ps(w0, xv, a0[b]);
            if (two) a1[b] = _mm512_fmadd_ps(w1, xv, a1[b]);
        }
    }
    if (full < cols) {
        const __m512 w0 = maskz_load16(w->dtype, tm, w->values, o0 + full);
        const __m512 w1 = maskz_load16(w->dtype, tm, w->values, o1 + full);
        for (int b = 0; b < nb; b++) {
            const __m512 xv = _mm512_maskz_loadu_ps(tm, x + (b0 + b) * cols + full);
            a0[b] = _mm512_fmadd_ps(w0, xv, a0[b]);
            if (two) a1[b] = _mm512_fmadd_ps(w1, xv, a1[b]);
        }
    }
    for (int b = 0; b < nb; b++) {
        y[(b0 + b) * rows + r] = _mm512_reduce_add_ps(a0[b]);
        if (two) y[(b0 + b) * rows + r + 1] = _mm512_reduce_add_ps(a1[b]);
    }
}

SQ_INLINE void dense_rows(const sq_dense_matrix *w, const float *x, float *y, int32_t r0, int32_t r1,
                          const int nb) {
    int64_t r = r0;
    for (; r + 2 <= r1; r += 2) {
        dense_pair(w, x, y, r, 1, 0, nb < 8 ? nb : 8);
        if (nb > 8) dense_pair(w, x, y, r, 1, 8, nb - 8);
    }
    if (r < r1) {
        dense_pair(w, x, y, r, 0, 0, nb < 8 ? nb : 8);
        if (nb > 8) dense_pair(w, x, y, r, 0, 8, nb - 8);
    }
}

/* ---- instantiation per batch size ---------------------------------------------------------------------- */

#define SQ_CASES(CALL) \
    CALL(1) CALL(2) CALL(3) CALL(4) CALL(5) CALL(6) CALL(7) CALL(8) \
    CALL(9) CALL(10) CALL(11) CALL(12) CALL(13) CALL(14) CALL(15) CALL(16)

sq_status sq_nm_avx512(const sq_nm_matrix *w, const float *x, float *y, int32_t batch, int32_t r0, int32_t r1) {
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

/*
 * CSR for 2..16 vectors with x transposed once per call into xt[cols][16] (vector b in lane b): each non-zero is
 * then one broadcast and one FMA for all vectors at once, where the gather form costs one 16-lane gather per
 * vector per 16 non-zeros. Columns are checked one by one before use.
 */
static sq_status csr_rows_transposed(const sq_csr_matrix *s, const float *x, float *y, int32_t r0, int32_t r1,
                                     int nb, float *xt) {
    const int64_t cols = s->cols, rows = s->rows;
    for (int64_t c = 0; c < cols; c++) {
        for (int b = 0; b < 16; b++) xt[c * 16 + b] = b < nb ? x[b * cols + c] : 0.0f;
    }
    for (int64_t r = r0; r < r1; r++) {
        const int64_t p0 = s->row_ptr[r], p1 = s->row_ptr[r + 1];
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
        int64_t k = p0;
        for (; k + 2 <= p1; k += 2) {
            const uint32_t c0 = s->col32 != NULL ? (uint32_t) s->col32[k] : s->col16[k];
            const uint32_t c1 = s->col32 != NULL ? (uint32_t) s->col32[k + 1] : s->col16[k + 1];
            if (c0 >= (uint32_t) cols || c1 >= (uint32_t) cols) return SQ_ERR_INDEX;
            acc0 = _mm512_fmadd_ps(_mm512_set1_ps(s->values[k]), _mm512_loadu_ps(xt + (int64_t) c0 * 16), acc0);
            acc1 = _mm512_fmadd_ps(_mm512_set1_ps(s->values[k + 1]), _mm512_loadu_ps(xt + (int64_t) c1 * 16), acc1);
        }
        if (k < p1) {
            const uint32_t c0 = s->col32 != NULL ? (uint32_t) s->col32[k] : s->col16[k];
            if (c0 >= (uint32_t) cols) return SQ_ERR_INDEX;
            acc0 = _mm512_fmadd_ps(_mm512_set1_ps(s->values[k]), _mm512_loadu_ps(xt + (int64_t) c0 * 16), acc0);
        }
        float out[16];
        _mm512_storeu_ps(out, _mm512_add_ps(acc0, acc1));
        for (int b = 0; b < nb; b++) y[b * rows + r] += out[b];
    }
    return SQ_OK;
}

sq_status sq_csr_avx512(const sq_csr_matrix *s, const float *x, float *y, int32_t batch, int32_t r0, int32_t r1) {
    /* The transposed form pays O(cols) per call: worth it from 2 vectors when the range has >= cols non-zeros. */
    const int64_t nnz = (int64_t) s->row_ptr[r1] - s->row_ptr[r0];
    if (batch >= 2 && nnz >= s->cols) {
        float *xt = malloc(sizeof(float) * 16 * (size_t) s->cols);
        if (xt == NULL) return SQ_ERR_NOMEM;
        const sq_status st = csr_rows_transposed(s, x, y, r0, r1, batch, xt);
        free(xt);
        return st;
    }
    switch (batch) {
#define CSR(B) case B: return csr_rows(s, x, y, r0, r1, B);
        SQ_CASES(CSR)
#undef CSR
        default: return SQ_ERR_ARG;
    }
}

sq_status sq_dense_avx512(const sq_dense_matrix *w, const float *x, float *y, int32_t batch, int32_t r0,
                          int32_t r1) {
    switch (batch) {
#define DENSE(B) case B: dense_rows(w, x, y, r0, r1, B); return SQ_OK;
        SQ_CASES(DENSE)
#undef DENSE
        default: return SQ_ERR_ARG;
    }
}
