/*
 * Dispatch, argument checks and the scalar reference of the sparse products (sparse.h). Compiled for
 * baseline x86-64 (or any CPU); the AVX2 and AVX-512 paths live in their own files with their own ISA flags
 * and are called only after a run-time CPU check.
 */
#include "sparse.h"

#include <stddef.h>
#include <string.h>

int sq_sparse_isa_supported(sq_isa isa) {
    switch ((int) isa) {
        case SQ_ISA_SCALAR:
            return 1;
        case SQ_ISA_AVX2:
#if defined(SQ_HAVE_AVX2) && (defined(__x86_64__) || defined(__i386__))
            __builtin_cpu_init();
            /* vcvtph2ps (F16C) is in every AVX2 CPU shipped, but say it: the fp16 paths use it. */
            return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
                   && __builtin_cpu_supports("f16c");
#else
            return 0;
#endif
        case 3: /* SQ_SPARSE_ISA_AVX512 */
#if defined(SQ_HAVE_AVX512) && (defined(__x86_64__) || defined(__i386__))
            __builtin_cpu_init();
            return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                   && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("f16c");
#else
            return 0;
#endif
        default:
            return 0;
    }
}

sq_isa sq_sparse_best_isa(void) {
    if (sq_sparse_isa_supported(SQ_SPARSE_ISA_AVX512)) return SQ_SPARSE_ISA_AVX512;
    if (sq_sparse_isa_supported(SQ_ISA_AVX2)) return SQ_ISA_AVX2;
    return SQ_ISA_SCALAR;
}

const char *sq_sparse_isa_name(sq_isa isa) {
    switch ((int) isa) {
        case SQ_ISA_SCALAR: return "scalar";
        case SQ_ISA_AVX2: return "avx2";
        case 3: return "avx512";
        default: return "unknown";
    }
}

float sq_half_to_float(uint16_t h) {
    const uint32_t sign = (uint32_t) (h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1Fu;
    const uint32_t man = h & 0x3FFu;
    uint32_t bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (man << 13); /* inf / nan */
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else { /* subnormal: normalise */
        uint32_t e = 113u, mm = man;
        while ((mm & 0x400u) == 0) {
            mm <<= 1;
            e--;
        }
        bits = sign | (e << 23) | ((mm & 0x3FFu) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t sq_float_to_half(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    const uint16_t sign = (uint16_t) ((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7FFFFFFFu;
    if (ax >= 0x7F800000u) return (uint16_t) (sign | 0x7C00u | (ax > 0x7F800000u ? 0x200u : 0));
    if (ax >= 0x477FF000u) return (uint16_t) (sign | 0x7C00u); /* rounds to >= 65520: inf */
    if (ax < 0x38800000u) { /* below the smallest normal half: subnormal or zero */
        if (ax < 0x33000000u) return sign; /* < 2^-25: rounds to 0 */
        const uint32_t e = ax >> 23;
        const uint32_t man = (ax & 0x7FFFFFu) | 0x800000u;
        const uint32_t shift = 126u - e; /* 14..24 */
        uint32_t h = man >> shift;
        const uint32_t rem = man & ((1u << shift) - 1u), half = 1u << (shift - 1u);
        if (rem > half || (rem == half && (h & 1u))) h++;
        return (uint16_t) (sign | h);
    }
    uint32_t h = ((ax >> 13) - (112u << 10));
    const uint32_t rem = ax & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++;
    return (uint16_t) (sign | h);
}

/* ---- scalar reference ------------------------------------------------------------------------------------ */

static float value_at(sq_dtype dtype, const void *values, int64_t k) {
    return dtype == SQ_DTYPE_F16 ? sq_half_to_float(((const uint16_t *) values)[k]) : ((const float *) values)[k];
}

/* Position of kept value j of a row (j counts over the whole row). */
static inline int nm_position(const uint8_t *row_index, int packed2, int64_t j) {
    return packed2 ? (row_index[j >> 2] >> ((j & 3) * 2)) & 3 : row_index[j];
}

sq_status sq_nm_scalar(const sq_nm_matrix *w, const float *x, float *y, int32_t batch, int32_t r0, int32_t r1) {
    const int64_t cols = w->cols, rows = w->rows, n = w->n, m = w->m;
    const int64_t groups = sq_nm_groups(w->cols, w->m);
    const int64_t per_row = groups * n, stride = sq_nm_index_stride(w->n, w->m, w->cols);
    const int packed2 = sq_nm_packed2(w->n, w->m);
    float acc[SQ_SPARSE_MAX_PASS];
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *ix = w->index + r * stride;
        for (int b = 0; b < batch; b++) acc[b] = 0.0f;
        for (int64_t j = 0; j < per_row; j++) {
            const int pos = nm_position(ix, packed2, j);
            if (pos >= m) return SQ_ERR_INDEX;
            const int64_t c = (j / n) * m + pos;
            if (c >= cols) continue; /* padding of the partial last group */
            const float v = value_at(w->dtype, w->values, r * per_row + j);
            for (int b = 0; b < batch; b++) acc[b] += v * x[b * cols + c];
        }
        for (int b = 0; b < batch; b++) y[b * rows + r] = acc[b];
    }
    return SQ_OK;
}

sq_status sq_csr_scalar(const sq_csr_matrix *s, const float *x, float *y, int32_t batch, int32_t r0, int32_t r1) {
    const int64_t cols = s->cols, rows = s->rows;
    float acc[SQ_SPARSE_MAX_PASS];
    for (int64_t r = r0; r < r1; r++) {
        for (int b = 0; b < batch; b++) acc[b] = 0.0f;
        for (int64_t k = s->row_ptr[r]; k < s->row_ptr[r + 1]; k++) {
            const int64_t c = s->col32 != NULL ? (int64_t) s->col32[k] : (int64_t) s->col16[k];
            if (c < 0 || c >= cols) return SQ_ERR_INDEX;
            const float v = s->values[k];
            for (int b = 0; b < batch; b++) acc[b] += v * x[b * cols + c];
        }
        for (int b = 0; b < batch; b++) y[b * rows + r] += acc[b];
    }
    return SQ_OK;
}

sq_status sq_dense_scalar(const sq_dense_matrix *w, const float *x, float *y, int32_t batch, int32_t r0,
                          int32_t r1) {
    const int64_t cols = w->cols, rows = w->rows;
    float acc[SQ_SPARSE_MAX_PASS];
    for (int64_t r = r0; r < r1; r++) {
        for (int b = 0; b < batch; b++) acc[b] = 0.0f;
        for (int64_t c = 0; c < cols; c++) {
            const float v = value_at(w->dtype, w->values, r * cols + c);
            for (int b = 0; b < batch; b++) acc[b] += v * x[b * cols + c];
        }
        for (int b = 0; b < batch; b++) y[b * rows + r] = acc[b];
    }
    return SQ_OK;
}

/* ---- dispatch -------------------------------------------------------------------------------------------- */

static sq_status common_checks(sq_isa *isa, int32_t rows, int32_t cols, int32_t batch, int32_t r0, int32_t r1,
                               const float *x, const float *y) {
    if (x == NULL || y == NULL || rows <= 0 || cols <= 0 || batch <= 0) return SQ_ERR_ARG;
    if (r0 < 0 || r1 < r0 || r1 > rows) return SQ_ERR_ARG;
    if (*isa == SQ_ISA_AUTO) *isa = sq_sparse_best_isa();
    if (!sq_sparse_isa_supported(*isa)) return SQ_ERR_ISA;
    return SQ_OK;
}

sq_status sq_nm_matmul(sq_isa isa, const sq_nm_matrix *w, const float *x, float *y, int32_t batch,
                       int32_t row_begin, int32_t row_end) {
    if (w == NULL || w->values == NULL || w->index == NULL) return SQ_ERR_ARG;
    if (w->n < 1 || w->m < w->n || w->m > 255) return SQ_ERR_ARG;
    if (w->dtype != SQ_DTYPE_F32 && w->dtype != SQ_DTYPE_F16) return SQ_ERR_ARG;
    sq_status st = common_checks(&isa, w->rows, w->cols, batch, row_begin, row_end, x, y);
    if (st != SQ_OK) return st;
    for (int32_t b0 = 0; b0 < batch; b0 += SQ_SPARSE_MAX_PASS) {
        const int32_t nb = batch - b0 < SQ_SPARSE_MAX_PASS ? batch - b0 : SQ_SPARSE_MAX_PASS;
        const float *xb = x + (int64_t) b0 * w->cols;
        float *yb = y + (int64_t) b0 * w->rows;
        switch ((int) isa) {
#if defined(SQ_HAVE_AVX512)
            case 3: st = sq_nm_avx512(w, xb, yb, nb, row_begin, row_end); break;
#endif
#if defined(SQ_HAVE_AVX2)
            case SQ_ISA_AVX2: st = sq_nm_avx2(w, xb, yb, nb, row_begin, row_end); break;
#endif
            default: st = sq_nm_scalar(w, xb, yb, nb, row_begin, row_end); break;
        }
        if (st != SQ_OK) return st;
    }
    return SQ_OK;
}

sq_status sq_csr_matmul_add(sq_isa isa, const sq_csr_matrix *s, const float *x, float *y, int32_t batch,
                            int32_t row_begin, int32_t row_end) {
    if (s == NULL || s->row_ptr == NULL || s->nnz < 0) return SQ_ERR_ARG;
    if ((s->col32 == NULL) == (s->col16 == NULL) && s->nnz > 0) return SQ_ERR_ARG; /* exactly one index array */
    if (s->nnz > 0 && s->values == NULL) return SQ_ERR_ARG;
    sq_status st = common_checks(&isa, s->rows, s->cols, batch, row_begin, row_end, x, y);
    if (st != SQ_OK) return st;
    /* Row pointers of the range, before anything is read through them or written. */
    if (s->row_ptr[row_begin] < 0) return SQ_ERR_INDEX;
    for (int32_t r = row_begin; r < row_end; r++) {
        if (s->row_ptr[r + 1] < s->row_ptr[r]) return SQ_ERR_INDEX;
    }
    if (s->row_ptr[row_end] > s->nnz) return SQ_ERR_INDEX;
    if (s->nnz == 0) return SQ_OK;
    for (int32_t b0 = 0; b0 < batch; b0 += SQ_SPARSE_MAX_PASS) {
        const int32_t nb = batch - b0 < SQ_SPARSE_MAX_PASS ? batch - b0 : SQ_SPARSE_MAX_PASS;
        const float *xb = x + (int64_t) b0 * s->cols;
        float *yb = y + (int64_t) b0 * s->rows;
        switch ((int) isa) {
#if defined(SQ_HAVE_AVX512)
            case 3: st = sq_csr_avx512(s, xb, yb, nb, row_begin, row_end); break;
#endif
#if defined(SQ_HAVE_AVX2)
            case SQ_ISA_AVX2: st = sq_csr_avx2(s, xb, yb, nb, row_begin, row_end); break;
#endif
            default: st = sq_csr_scalar(s, xb, yb, nb, row_begin, row_end); break;
        }
        if (st != SQ_OK) return st;
    }
    return SQ_OK;
}

sq_status sq_dense_matmul(sq_isa isa, const sq_dense_matrix *w, const float *x, float *y, int32_t batch,
                          int32_t row_begin, int32_t row_end) {
    if (w == NULL || w->values == NULL) return SQ_ERR_ARG;
    if (w->dtype != SQ_DTYPE_F32 && w->dtype != SQ_DTYPE_F16) return SQ_ERR_ARG;
    sq_status st = common_checks(&isa, w->rows, w->cols, batch, row_begin, row_end, x, y);
    if (st != SQ_OK) return st;
    for (int32_t b0 = 0; b0 < batch; b0 += SQ_SPARSE_MAX_PASS) {
        const int32_t nb = batch - b0 < SQ_SPARSE_MAX_PASS ? batch - b0 : SQ_SPARSE_MAX_PASS;
        const float *xb = x + (int64_t) b0 * w->cols;
        float *yb = y + (int64_t) b0 * w->rows;
        switch ((int) isa) {
#if defined(SQ_HAVE_AVX512)
            case 3: st = sq_dense_avx512(w, xb, yb, nb, row_begin, row_end); break;
#endif
#if defined(SQ_HAVE_AVX2)
            case SQ_ISA_AVX2: st = sq_dense_avx2(w, xb, yb, nb, row_begin, row_end); break;
#endif
            default: st = sq_dense_scalar(w, xb, yb, nb, row_begin, row_end); break;
        }
        if (st != SQ_OK) return st;
    }
    return SQ_OK;
}
