/*
 * Group-quantized int4 matrix-vector product, y = W x (optionally a small batch of x).
 *
 * Plain C11 API with no JNI in it, so the C harness (bench/) and the C unit test (test/) can call it
 * on a machine without a JVM. The format is defined once, in the javadoc of
 * dev.squeeze.engine.kernels.Int4MatVec; in short:
 *
 *   W is rows x cols. Codes are unsigned 0..15, two per byte, row-major, row stride ceil(cols/2) bytes,
 *   even column in the low nibble. Columns form groups of group_size consecutive columns per row (the
 *   last may be partial); ngroups = ceil(cols/group_size). Per (row, group) one float scale and one
 *   float zero, stored [rows][ngroups] row-major. Dequantized weight = scale * (code - zero).
 *   x is [batch][cols] row-major, y is [batch][rows]; a mat-vec is batch = 1.
 */
#ifndef SQUEEZE_INT4_MATVEC_H
#define SQUEEZE_INT4_MATVEC_H

#include <stdint.h>

#include "sq_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sq_int4_matrix {
    int32_t rows;
    int32_t cols;
    int32_t group_size;
    const uint8_t *codes;  /* rows * sq_int4_row_stride(cols) bytes */
    const float *scales;   /* rows * sq_int4_groups(cols, group_size) floats */
    const float *zeros;    /* same shape as scales */
} sq_int4_matrix;

/* sq_isa and sq_status live in sq_common.h (shared with the packed low-bit kernels, packed.h). */

/* 64-bit so that callers can compare against buffer lengths without overflow. */
static inline int64_t sq_int4_row_stride(int32_t cols) { return ((int64_t) cols + 1) / 2; }
static inline int64_t sq_int4_groups(int32_t cols, int32_t group_size) {
    return ((int64_t) cols + group_size - 1) / group_size;
}

/* The best path this CPU supports (never SQ_ISA_AUTO). */
sq_isa sq_int4_best_isa(void);

/* Whether this build and this CPU can run the given path for the int4 kernel (scalar, avx2; it has no
 * avx512 path: SQ_ISA_AVX512 answers 0 here, see sq_packed_isa_supported for the packed kernels). */
int sq_int4_isa_supported(sq_isa isa);

/*
 * y = W x for each of the batch vectors. Checks dimensions and pointers (not buffer lengths: C has
 * none; the JNI bridge checks those) and returns a status instead of crashing.
 */
sq_status sq_int4_matvec(sq_isa isa, const sq_int4_matrix *w, const float *x, float *y, int32_t batch);

/* The readable reference: dequantize each weight and accumulate in float. No argument checks. */
void sq_int4_matvec_scalar(const sq_int4_matrix *w, const float *x, float *y, int32_t batch);

#if defined(SQ_HAVE_AVX2)
/* AVX2 + FMA path; call only when sq_int4_isa_supported(SQ_ISA_AVX2). No argument checks. */
sq_status sq_int4_matvec_avx2(const sq_int4_matrix *w, const float *x, float *y, int32_t batch);
#endif

#ifdef __cplusplus
}
#endif

#endif /* SQUEEZE_INT4_MATVEC_H */
