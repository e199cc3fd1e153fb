/*
 * Dispatch and the scalar reference. Compiled without -mavx2 so that the library loads and runs on any
 * x86-64 (or non-x86) CPU; the AVX2 path lives in its own file, compiled with -mavx2 -mfma, and is only
 * called after a runtime CPU check.
 */
#include "int4_matvec.h"

#include <stddef.h>

int sq_int4_isa_supported(sq_isa isa) {
    switch (isa) {
        case SQ_ISA_SCALAR:
            return 1;
        case SQ_ISA_AVX2:
#if defined(SQ_HAVE_AVX2) && (defined(__x86_64__) || defined(__i386__))
            /* gcc's check includes the OS side (XGETBV), so a kernel without YMM state saving says no. */
            __builtin_cpu_init();
            return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
            return 0;
#endif
        default:
            return 0;
    }
}

sq_isa sq_int4_best_isa(void) {
    return sq_int4_isa_supported(SQ_ISA_AVX2) ? SQ_ISA_AVX2 : SQ_ISA_SCALAR;
}

const char *sq_isa_name(sq_isa isa) {
    switch (isa) {
        case SQ_ISA_SCALAR: return "scalar";
        case SQ_ISA_AVX2: return "avx2";
        case SQ_ISA_AVX512: return "avx512";
        default: return "unknown";
    }
}

void sq_int4_matvec_scalar(const sq_int4_matrix *w, const float *x, float *y, int32_t batch) {
    const int64_t stride = sq_int4_row_stride(w->cols);
    const int64_t ngroups = sq_int4_groups(w->cols, w->group_size);
    for (int64_t b = 0; b < batch; b++) {
        const float *xb = x + b * w->cols;
        for (int64_t r = 0; r < w->rows; r++) {
            const uint8_t *row = w->codes + r * stride;
            float acc = 0.0f;
            for (int64_t g = 0; g < ngroups; g++) {
                const float scale = w->scales[r * ngroups + g];
                const float zero = w->zeros[r * ngroups + g];
                const int64_t end = (g + 1) * w->group_size < w->cols ? (g + 1) * w->group_size : w->cols;
                for (int64_t c = g * w->group_size; c < end; c++) {
                    const int code = (row[c >> 1] >> ((c & 1) * 4)) & 0x0F; /* even column: low nibble */
                    acc += scale * ((float) code - zero) * xb[c];
                }
            }
            y[b * w->rows + r] = acc;
        }
    }
}

sq_status sq_int4_matvec(sq_isa isa, const sq_int4_matrix *w, const float *x, float *y, int32_t batch) {
    if (w == NULL || x == NULL || y == NULL || w->codes == NULL || w->scales == NULL || w->zeros == NULL) {
        return SQ_ERR_ARG;
    }
    if (w->rows <= 0 || w->cols <= 0 || w->group_size <= 0 || batch <= 0) {
        return SQ_ERR_ARG;
    }
    if (isa == SQ_ISA_AUTO) {
        isa = sq_int4_best_isa();
    }
    if (!sq_int4_isa_supported(isa)) {
        return SQ_ERR_ISA;
    }
#if defined(SQ_HAVE_AVX2)
    if (isa == SQ_ISA_AVX2) {
        return sq_int4_matvec_avx2(w, x, y, batch);
    }
#endif
    sq_int4_matvec_scalar(w, x, y, batch);
    return SQ_OK;
}
