/*
 * Sparse and small-dense products for Squeeze's pruned, SpQR and low-rank layers: plain C11, no JNI, so the
 * C test and the bench call it without a JVM. Three operations, each over a batch of input vectors and a
 * range of output rows [row_begin, row_end) (so a caller can split rows across threads):
 *
 *   sq_nm_matmul        y  = W x  for an N:M structured-sparse W (N kept values in every M columns)
 *   sq_csr_matmul_add   y += S x  for a CSR sparse S (SpQR's outliers; unstructured pruning)
 *   sq_dense_matmul     y  = W x  for a dense W in fp32 or fp16 (low-rank factors; the bench's baselines)
 *
 * Shared conventions: x is [batch][cols] row-major, y is [batch][rows] row-major; batch may be any
 * positive number and is processed in chunks of SQ_SPARSE_MAX_PASS vectors, each chunk one pass over W.
 * Only y[b][r] for r in [row_begin, row_end) is written. fp16 values are IEEE binary16 bit patterns and are
 * widened exactly to fp32; every product and sum is in fp32 (the summation order is not specified, so
 * results match a reference to rounding, not bit for bit).
 *
 * N:M layout (sq_nm_matrix). groups = ceil(cols / m) per row; the last group may be partial. Per row,
 * groups * n values, group after group, and for each value its position inside its group (0..m-1):
 *   - 2:4 exactly (n == 2, m == 4): 2 bits per position, packed LSB-first (field j of a row sits in bits
 *     2(j mod 4) .. 2(j mod 4)+1 of byte j / 4), row stride ceil(groups / 2) bytes;
 *   - any other n:m: one byte per position, row stride groups * n bytes.
 * A position whose column (group * m + position) is >= cols is padding of the partial last group and is
 * skipped. A position >= m is an error (SQ_ERR_INDEX); it can only occur with byte positions.
 *
 * CSR (sq_csr_matrix): row_ptr has rows + 1 entries with 0 <= row_ptr[r] <= row_ptr[r+1] <= nnz for every
 * row of the range, column indices either int32 (col32) or uint16 (col16), values fp32. A column >= cols
 * (or < 0) or a row pointer out of order is SQ_ERR_INDEX, found before the offending row is computed: rows
 * before it in the range have already been added to y, so y is unspecified after an error.
 */
#ifndef SQUEEZE_SPARSE_H
#define SQUEEZE_SPARSE_H

#include <stdint.h>

#include "sq_common.h" /* sq_isa, sq_status */

#ifdef __cplusplus
extern "C" {
#endif

/* The AVX-512 path (F + BW + VL, with F16C): sq_common.h's SQ_ISA_AVX512. */
#define SQ_SPARSE_ISA_AVX512 SQ_ISA_AVX512

/* A structural error in the sparse data: a position >= m, a column out of range, row pointers out of order. */
#define SQ_ERR_INDEX ((sq_status) 10)

/* Batch vectors handled in one pass over W. */
#define SQ_SPARSE_MAX_PASS 16

typedef enum sq_dtype {
    SQ_DTYPE_F32 = 0, /* float */
    SQ_DTYPE_F16 = 1  /* IEEE binary16 bit pattern in a uint16_t */
} sq_dtype;

typedef struct sq_nm_matrix {
    int32_t rows;
    int32_t cols;
    int32_t n;             /* kept per group, 1 <= n <= m */
    int32_t m;             /* group length, 1 <= m <= 255 */
    sq_dtype dtype;        /* of values */
    const void *values;    /* rows * groups * n values */
    const uint8_t *index;  /* rows * sq_nm_index_stride(n, m, cols) bytes */
} sq_nm_matrix;

typedef struct sq_csr_matrix {
    int32_t rows;
    int32_t cols;
    int32_t nnz;
    const int32_t *row_ptr; /* rows + 1 */
    const int32_t *col32;   /* nnz, or NULL when col16 is used */
    const uint16_t *col16;  /* nnz, or NULL when col32 is used */
    const float *values;    /* nnz */
} sq_csr_matrix;

typedef struct sq_dense_matrix {
    int32_t rows;
    int32_t cols;
    sq_dtype dtype;
    const void *values; /* rows * cols, row-major */
} sq_dense_matrix;

static inline int64_t sq_nm_groups(int32_t cols, int32_t m) { return ((int64_t) cols + m - 1) / m; }

/* Whether the positions are 2-bit packed (2:4) rather than one byte each. */
static inline int sq_nm_packed2(int32_t n, int32_t m) { return n == 2 && m == 4; }

/* Bytes of positions per row. */
static inline int64_t sq_nm_index_stride(int32_t n, int32_t m, int32_t cols) {
    const int64_t groups = sq_nm_groups(cols, m);
    return sq_nm_packed2(n, m) ? (groups + 1) / 2 : groups * n;
}

/* Values per row. */
static inline int64_t sq_nm_row_values(int32_t n, int32_t m, int32_t cols) { return sq_nm_groups(cols, m) * n; }

/* Whether this build and CPU can run the path (SQ_ISA_SCALAR, SQ_ISA_AVX2, SQ_SPARSE_ISA_AVX512). */
int sq_sparse_isa_supported(sq_isa isa);

/* The best path here (never SQ_ISA_AUTO). */
sq_isa sq_sparse_best_isa(void);

/* "scalar", "avx2", "avx512" or "unknown". */
const char *sq_sparse_isa_name(sq_isa isa);

/*
 * The three products. They check dimensions, pointers, the row range and the sparse structure (positions,
 * columns, row pointers) and return a status instead of crashing; they cannot check buffer lengths (the JNI
 * bridge does). SQ_ERR_ARG for a bad dimension, null pointer or row range, SQ_ERR_ISA for a path not
 * available here, SQ_ERR_NOMEM if scratch could not be allocated, SQ_ERR_INDEX as described above.
 */
sq_status sq_nm_matmul(sq_isa isa, const sq_nm_matrix *w, const float *x, float *y, int32_t batch,
                       int32_t row_begin, int32_t row_end);
sq_status sq_csr_matmul_add(sq_isa isa, const sq_csr_matrix *s, const float *x, float *y, int32_t batch,
                            int32_t row_begin, int32_t row_end);
sq_status sq_dense_matmul(sq_isa isa, const sq_dense_matrix *w, const float *x, float *y, int32_t batch,
                          int32_t row_begin, int32_t row_end);

/* fp16 bit pattern to float, exact (also used by the scalar paths and the tests). */
float sq_half_to_float(uint16_t h);
/* float to the nearest fp16 (ties to even), for tests and benches. */
uint16_t sq_float_to_half(float f);

/*
 * Per-ISA entry points, called by the dispatchers above after all checks; batch 1..SQ_SPARSE_MAX_PASS.
 * Each returns SQ_OK or SQ_ERR_INDEX / SQ_ERR_NOMEM.
 */
sq_status sq_nm_scalar(const sq_nm_matrix *w, const float *x, float *y, int32_t batch, int32_t r0, int32_t r1);
sq_status sq_csr_scalar(const sq_csr_matrix *s, const float *x, float *y, int32_t batch, int32_t r0, int32_t r1);
sq_status sq_dense_scalar(const sq_dense_matrix *w, const float *x, float *y, int32_t batch, int32_t r0, int32_t r1);
#if defined(SQ_HAVE_AVX2)
sq_status sq_nm_avx2(const sq_nm_matrix *w, const float *x, float *y, int32_t batch, int32_t r0, int32_t r1);
sq_status sq_csr_avx2(const sq_csr_matrix *s, const float *x, float *y, int32_t batch, int32_t r0, int32_t r1);
sq_status sq_dense_avx2(const sq_dense_matrix *w, const float *x, float *y, int32_t batch, int32_t r0, int32_t r1);
#endif
#if defined(SQ_HAVE_AVX512)
sq_status sq_nm_avx512(const sq_nm_matrix *w, const float *x, float *y, int32_t batch, int32_t r0, int32_t r1);
sq_status sq_csr_avx512(const sq_csr_matrix *s, const float *x, float *y, int32_t batch, int32_t r0, int32_t r1);
sq_status sq_dense_avx512(const sq_dense_matrix *w, const float *x, float *y, int32_t batch, int32_t r0,
                          int32_t r1);
#endif

#ifdef __cplusplus
}
#endif

#endif /* SQUEEZE_SPARSE_H */
