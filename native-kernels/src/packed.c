/*
 * Packed low-bit kernels: argument checks, packing, run-time dispatch, threads, and the portable scalar
 * reference. Compiled for baseline x86-64 (or any CPU); the AVX2 and AVX-512 paths live in their own
 * files with their own flags and are called only after a run-time CPU check.
 */
#include "packed_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------------- */
/* binary16                                                                                              */

float sq_f16_to_f32(uint16_t h) {
    const uint32_t sign = (uint32_t) (h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t mant = h & 0x3FFu;
    uint32_t bits;
    if (exp == 0x1F) {                 /* infinity or NaN: keep the payload */
        bits = sign | 0x7F800000u | (mant << 13);
    } else if (exp != 0) {             /* normal: rebias 15 -> 127 */
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    } else if (mant == 0) {            /* signed zero */
        bits = sign;
    } else {                           /* subnormal: mant * 2^-24, normalise */
        int e = -1;
        do {
            e++;
            mant <<= 1;
        } while ((mant & 0x400u) == 0);
        bits = sign | ((uint32_t) (112 - e) << 23) | ((mant & 0x3FFu) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t sq_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    const uint16_t sign = (uint16_t) ((x >> 16) & 0x8000u);
    const uint32_t exp = (x >> 23) & 0xFFu;
    const uint32_t mant = x & 0x7FFFFFu;
    if (exp == 0xFF) { /* infinity, or NaN made quiet so that it stays NaN after truncation */
        return (uint16_t) (sign | 0x7C00u | (mant ? (0x200u | (mant >> 13)) : 0u));
    }
    const int32_t e = (int32_t) exp - 127 + 15; /* binary16 biased exponent */
    if (e >= 0x1F) return (uint16_t) (sign | 0x7C00u);
    if (e <= 0) {                               /* subnormal or zero in binary16 */
        if (e < -10) return sign;               /* below half the smallest subnormal: rounds to 0 */
        const uint32_t m = mant | 0x800000u;    /* implicit bit */
        const uint32_t shift = (uint32_t) (14 - e);
        uint32_t r = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1u))) r++;
        return (uint16_t) (sign | r);           /* r may carry into the exponent: still correct */
    }
    uint32_t r = ((uint32_t) e << 10) | (mant >> 13);
    const uint32_t rem = mant & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) r++; /* may carry up to infinity: correct */
    return (uint16_t) (sign | r);
}

/* ---------------------------------------------------------------------------------------------------- */
/* CPU features                                                                                          */

int sq_packed_isa_supported(sq_isa isa) {
    switch (isa) {
        case SQ_ISA_AUTO:
        case SQ_ISA_SCALAR:
            return 1;
        case SQ_ISA_AVX2:
#if defined(SQ_HAVE_PACKED_AVX2) && (defined(__x86_64__) || defined(__i386__))
            __builtin_cpu_init();
            return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                   __builtin_cpu_supports("f16c");
#else
            return 0;
#endif
        case SQ_ISA_AVX512:
#if defined(SQ_HAVE_PACKED_AVX512) && (defined(__x86_64__) || defined(__i386__))
            __builtin_cpu_init();
            return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                   __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("f16c");
#else
            return 0;
#endif
        default:
            return 0;
    }
}

sq_isa sq_packed_best_isa(void) {
    if (sq_packed_isa_supported(SQ_ISA_AVX512)) return SQ_ISA_AVX512;
    if (sq_packed_isa_supported(SQ_ISA_AVX2)) return SQ_ISA_AVX2;
    return SQ_ISA_SCALAR;
}

int sq_cpu_has_avx512_vnni(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni");
#else
    return 0;
#endif
}

/* ---------------------------------------------------------------------------------------------------- */
/* descriptor, packing                                                                                   */

sq_status sq_packed_check_desc(const sq_packed_desc *d) {
    if (d == NULL) return SQ_ERR_ARG;
    if (d->rows <= 0 || d->cols <= 0 || d->group_size <= 0) return SQ_ERR_ARG;
    if (d->bits < 2 || d->bits > 8) return SQ_ERR_ARG;
    if (d->symmetric != 0 && d->symmetric != 1) return SQ_ERR_ARG;
    if (d->scale_type != SQ_SCALE_F32 && d->scale_type != SQ_SCALE_F16) return SQ_ERR_ARG;
    return SQ_OK;
}

int64_t sq_packed_groups(const sq_packed_desc *d) {
    if (sq_packed_check_desc(d) != SQ_OK) return -1;
    return ((int64_t) d->cols + d->group_size - 1) / d->group_size;
}

int64_t sq_packed_codes_bytes(const sq_packed_desc *d) {
    if (sq_packed_check_desc(d) != SQ_OK) return -1;
    return (int64_t) d->rows * sq_packed_row_bytes(d->cols, d->bits);
}

sq_status sq_packed_pack(const sq_packed_desc *d, const uint8_t *codes, uint8_t *packed) {
    if (sq_packed_check_desc(d) != SQ_OK || codes == NULL || packed == NULL) return SQ_ERR_ARG;
    const int64_t n = (int64_t) d->rows * d->cols;
    const unsigned limit = 1u << d->bits;
    for (int64_t i = 0; i < n; i++) {
        if (codes[i] >= limit) return SQ_ERR_ARG;
    }
    int widths[3];
    const int planes = sq_packed_planes(d->bits, widths);
    const int64_t row_bytes = sq_packed_row_bytes(d->cols, d->bits);
    memset(packed, 0, (size_t) (d->rows * row_bytes));
    for (int64_t r = 0; r < d->rows; r++) {
        const uint8_t *src = codes + r * d->cols;
        for (int64_t c = 0; c < d->cols; c++) {
            uint8_t *p = packed + r * row_bytes + (c / SQ_PACKED_BLOCK) * 8 * d->bits;
            const int i = (int) (c % SQ_PACKED_BLOCK);
            unsigned v = src[c];
            for (int k = 0; k < planes; k++) {
                const int w = widths[k];
                const unsigned part = v & ((1u << w) - 1u);
                v >>= w;
                switch (w) {
                    case 8: p[i] = (uint8_t) part; break;
                    case 4: p[i & 31] |= (uint8_t) (part << ((i >> 5) * 4)); break;
                    case 2: p[i & 15] |= (uint8_t) (part << ((i >> 4) * 2)); break;
                    default: p[i >> 3] |= (uint8_t) (part << (i & 7)); break;
                }
                p += 8 * w;
            }
        }
    }
    return SQ_OK;
}

/* ---------------------------------------------------------------------------------------------------- */
/* scalar reference                                                                                      */

/* The code of column c in a packed row: the inverse of sq_packed_pack. */
static unsigned code_at(const uint8_t *row, int bits, int64_t c) {
    int widths[3];
    const int planes = sq_packed_planes(bits, widths);
    const uint8_t *p = row + (c / SQ_PACKED_BLOCK) * 8 * bits;
    const int i = (int) (c % SQ_PACKED_BLOCK);
    unsigned code = 0;
    int shift = 0;
    for (int k = 0; k < planes; k++) {
        const int w = widths[k];
        unsigned part;
        switch (w) {
            case 8: part = p[i]; break;
            case 4: part = (p[i & 31] >> ((i >> 5) * 4)) & 0xFu; break;
            case 2: part = (p[i & 15] >> ((i >> 4) * 2)) & 0x3u; break;
            default: part = (p[i >> 3] >> (i & 7)) & 0x1u; break;
        }
        code |= part << shift;
        shift += w;
        p += 8 * w;
    }
    return code;
}

static float param_at(const void *base, int scale_type, int64_t i) {
    return scale_type == SQ_SCALE_F16 ? sq_f16_to_f32(((const uint16_t *) base)[i]) : ((const float *) base)[i];
}

void sq_packed_row_params(const sq_packed_args *a, int64_t row, float *s, float *bz) {
    const sq_packed_desc *d = a->d;
    const int64_t ng = ((int64_t) d->cols + d->group_size - 1) / d->group_size;
    const float sym_zero = (float) (1 << (d->bits - 1));
    for (int64_t g = 0; g < ng; g++) {
        const float scale = param_at(a->scales, d->scale_type, row * ng + g);
        const float zero = d->symmetric ? sym_zero : param_at(a->zeros, d->scale_type, row * ng + g);
        s[g] = scale;
        bz[g] = -scale * zero;
    }
}

/* The readable reference: for each output, dequantize every weight, w = scale * (code - zero), and
 * multiply-add it with x in column order, in float. */
void sq_packed_matmul_scalar(const sq_packed_args *a) {
    const sq_packed_desc *d = a->d;
    const int64_t ng = ((int64_t) d->cols + d->group_size - 1) / d->group_size;
    const int64_t row_bytes = sq_packed_row_bytes(d->cols, d->bits);
    const float sym_zero = (float) (1 << (d->bits - 1));
    for (int64_t b = 0; b < a->batch; b++) {
        const float *xb = a->x + b * d->cols;
        for (int64_t r = a->row_begin; r < a->row_end; r++) {
            const uint8_t *row = a->packed + r * row_bytes;
            float acc = 0.0f;
            for (int64_t c = 0; c < d->cols; c++) {
                const int64_t g = c / d->group_size;
                const float scale = param_at(a->scales, d->scale_type, r * ng + g);
                const float zero = d->symmetric ? sym_zero : param_at(a->zeros, d->scale_type, r * ng + g);
                const float w = scale * ((float) code_at(row, d->bits, c) - zero);
                acc += w * xb[c];
            }
            a->y[b * d->rows + r] = acc;
        }
    }
}

/* ---------------------------------------------------------------------------------------------------- */
/* entry points                                                                                          */

static sq_status check_call(sq_isa *isa, const sq_packed_desc *d, const uint8_t *packed, const void *scales,
                            const void *zeros, const float *x, const float *y, int32_t batch) {
    if (sq_packed_check_desc(d) != SQ_OK) return SQ_ERR_ARG;
    if (packed == NULL || scales == NULL || x == NULL || y == NULL || batch <= 0) return SQ_ERR_ARG;
    if (d->symmetric ? zeros != NULL : zeros == NULL) return SQ_ERR_ARG;
    if (*isa == SQ_ISA_AUTO) *isa = sq_packed_best_isa();
    if (*isa != SQ_ISA_SCALAR && *isa != SQ_ISA_AVX2 && *isa != SQ_ISA_AVX512) return SQ_ERR_ISA;
    if (!sq_packed_isa_supported(*isa)) return SQ_ERR_ISA;
    return SQ_OK;
}

static sq_status run_checked(sq_isa isa, const sq_packed_args *a) {
    switch (isa) {
#if defined(SQ_HAVE_PACKED_AVX512)
        case SQ_ISA_AVX512: return sq_packed_matmul_avx512(a);
#endif
#if defined(SQ_HAVE_PACKED_AVX2)
        case SQ_ISA_AVX2: return sq_packed_matmul_avx2(a);
#endif
        default: sq_packed_matmul_scalar(a); return SQ_OK;
    }
}

sq_status sq_packed_matmul(sq_isa isa, const sq_packed_desc *d, const uint8_t *packed, const void *scales,
                           const void *zeros, const float *x, float *y, int32_t batch, int32_t row_begin,
                           int32_t row_end) {
    sq_status st = check_call(&isa, d, packed, scales, zeros, x, y, batch);
    if (st != SQ_OK) return st;
    if (row_begin < 0 || row_end > d->rows || row_begin > row_end) return SQ_ERR_ARG;
    if (row_begin == row_end) return SQ_OK;
    const sq_packed_args a = {d, packed, scales, zeros, x, y, batch, row_begin, row_end, NULL, NULL, NULL, 0, 0, 0};
    return run_checked(isa, &a);
}

typedef struct {
    sq_isa isa;
    sq_packed_args a;
    sq_status status;
} mt_job;

static void *mt_worker(void *p) {
    mt_job *job = p;
    job->status = run_checked(job->isa, &job->a);
    return NULL;
}

#define SQ_MT_MAX_THREADS 256

sq_status sq_packed_matmul_mt(sq_isa isa, const sq_packed_desc *d, const uint8_t *packed, const void *scales,
                              const void *zeros, const float *x, float *y, int32_t batch, int32_t threads) {
    sq_status st = check_call(&isa, d, packed, scales, zeros, x, y, batch);
    if (st != SQ_OK) return st;
    /* Chunks of whole 16-row slices, so no two threads write into the same cache line of y for long. */
    const int64_t slices = ((int64_t) d->rows + 15) / 16;
    int64_t n = threads < 1 ? 1 : threads;
    if (n > SQ_MT_MAX_THREADS) n = SQ_MT_MAX_THREADS;
    if (n > slices) n = slices;
    if (n <= 1) {
        const sq_packed_args a = {d, packed, scales, zeros, x, y, batch, 0, d->rows, NULL, NULL, NULL, 0, 0, 0};
        return run_checked(isa, &a);
    }
    mt_job jobs[SQ_MT_MAX_THREADS];
    pthread_t tids[SQ_MT_MAX_THREADS];
    int started[SQ_MT_MAX_THREADS];
    for (int64_t t = 0; t < n; t++) {
        const int64_t r0 = slices * t / n * 16, r1 = slices * (t + 1) / n * 16;
        jobs[t].isa = isa;
        jobs[t].a = (sq_packed_args){d, packed, scales, zeros, x, y, batch, (int32_t) r0,
                                     (int32_t) (r1 < d->rows ? r1 : d->rows), NULL, NULL, NULL, 0, 0, 0};
        jobs[t].status = SQ_OK;
    }
    /* Job 0 runs on the calling thread; a thread that cannot be created runs its job here too. */
    for (int64_t t = 1; t < n; t++) {
        started[t] = pthread_create(&tids[t], NULL, mt_worker, &jobs[t]) == 0;
    }
    mt_worker(&jobs[0]);
    for (int64_t t = 1; t < n; t++) {
        if (started[t]) {
            pthread_join(tids[t], NULL);
        } else {
            mt_worker(&jobs[t]);
        }
    }
    for (int64_t t = 0; t < n; t++) {
        if (jobs[t].status != SQ_OK) return jobs[t].status;
    }
    return SQ_OK;
}

/* ---------------------------------------------------------------------------------------------------- */
/* int8-activation variant                                                                               */

int32_t sq_packed_q8_block(const sq_packed_desc *d) {
    if (sq_packed_check_desc(d) != SQ_OK || d->group_size % 64 != 0) return -1;
    if (d->group_size % 256 == 0) return 256;
    if (d->group_size % 128 == 0) return 128;
    return 64;
}

int sq_packed_q8_isa_supported(sq_isa isa) {
    switch (isa) {
        case SQ_ISA_AUTO:
        case SQ_ISA_SCALAR:
            return 1;
        case SQ_ISA_AVX512:
#if defined(SQ_HAVE_PACKED_AVX512) && (defined(__x86_64__) || defined(__i386__))
            return sq_packed_isa_supported(SQ_ISA_AVX512) && sq_cpu_has_avx512_vnni();
#else
            return 0;
#endif
        default:
            return 0;
    }
}

/* x -> int8 per block of xb columns: sx = max|x| / 127, xq = round-to-nearest-even(x / sx) (0 if the block is
 * all zero). Shared by every path, so they all multiply the same integers. */
static void quantize_x(const float *x, int64_t cols, int32_t batch, int32_t xb, int64_t stride, int32_t nxb,
                       int8_t *xq, float *xs, float *xsum) {
    for (int64_t b = 0; b < batch; b++) {
        const float *xr = x + b * cols;
        int8_t *q = xq + b * stride;
        memset(q, 0, (size_t) stride);
        for (int64_t k = 0; k < nxb; k++) {
            const int64_t c0 = k * xb, c1 = c0 + xb < cols ? c0 + xb : cols;
            float amax = 0.0f;
            for (int64_t c = c0; c < c1; c++) {
                const float v = xr[c] < 0 ? -xr[c] : xr[c];
                if (v > amax) amax = v;
            }
            const float sx = amax / 127.0f;
            const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
            int32_t sum = 0;
            for (int64_t c = c0; c < c1; c++) {
                float t = xr[c] * inv;
                t = t > 127.0f ? 127.0f : (t < -127.0f ? -127.0f : t);
                /* round half to even without libm: 2^23 trick is exact for |t| <= 127 */
                const float r = t >= 0.0f ? (t + 8388608.0f) - 8388608.0f : (t - 8388608.0f) + 8388608.0f;
                q[c] = (int8_t) r;
                sum += q[c];
            }
            xs[b * nxb + k] = sx;
            xsum[b * nxb + k] = sx * (float) sum;
        }
    }
}

/* Reference: per x block, the exact integer sums  isum = sum code * xq  and  qsum = sum xq, then
 * y += s * sx * isum - s * z * (sx * qsum). */
void sq_packed_matmul_q8_scalar(const sq_packed_args *a) {
    const sq_packed_desc *d = a->d;
    const int64_t ng = ((int64_t) d->cols + d->group_size - 1) / d->group_size;
    const int64_t row_bytes = sq_packed_row_bytes(d->cols, d->bits);
    const float sym_zero = (float) (1 << (d->bits - 1));
    for (int64_t b = 0; b < a->batch; b++) {
        const int8_t *xq = a->xq + b * a->xq_stride;
        for (int64_t r = a->row_begin; r < a->row_end; r++) {
            const uint8_t *row = a->packed + r * row_bytes;
            float acc = 0.0f;
            for (int64_t k = 0; k < a->nxb; k++) {
                const int64_t c0 = k * a->xblock, c1 = c0 + a->xblock < d->cols ? c0 + a->xblock : d->cols;
                const int64_t g = c0 / d->group_size;
                const float scale = param_at(a->scales, d->scale_type, r * ng + g);
                const float zero = d->symmetric ? sym_zero : param_at(a->zeros, d->scale_type, r * ng + g);
                int32_t isum = 0;
                for (int64_t c = c0; c < c1; c++) isum += (int32_t) code_at(row, d->bits, c) * xq[c];
                acc += scale * (a->xs[b * a->nxb + k] * (float) isum) - scale * zero * a->xsum[b * a->nxb + k];
            }
            a->y[b * d->rows + r] = acc;
        }
    }
}

sq_status sq_packed_matmul_q8(sq_isa isa, const sq_packed_desc *d, const uint8_t *packed, const void *scales,
                              const void *zeros, const float *x, float *y, int32_t batch, int32_t row_begin,
                              int32_t row_end) {
    if (sq_packed_check_desc(d) != SQ_OK) return SQ_ERR_ARG;
    if (packed == NULL || scales == NULL || x == NULL || y == NULL || batch <= 0) return SQ_ERR_ARG;
    if (d->symmetric ? zeros != NULL : zeros == NULL) return SQ_ERR_ARG;
    if (row_begin < 0 || row_end > d->rows || row_begin > row_end) return SQ_ERR_ARG;
    const int32_t xb = sq_packed_q8_block(d);
    if (xb < 0) return SQ_ERR_ARG;
    if (isa == SQ_ISA_AUTO) isa = sq_packed_q8_isa_supported(SQ_ISA_AVX512) ? SQ_ISA_AVX512 : SQ_ISA_SCALAR;
    if (isa != SQ_ISA_SCALAR && isa != SQ_ISA_AVX512) return SQ_ERR_ISA;
    if (!sq_packed_q8_isa_supported(isa)) return SQ_ERR_ISA;
    if (row_begin == row_end) return SQ_OK;
    const int64_t stride = (((int64_t) d->cols + 63) / 64) * 64;
    const int32_t nxb = (int32_t) (((int64_t) d->cols + xb - 1) / xb);
    int8_t *xq = malloc((size_t) (stride * batch));
    float *xs = malloc(sizeof(float) * 2 * (size_t) nxb * (size_t) batch);
    if (xq == NULL || xs == NULL) {
        free(xq);
        free(xs);
        return SQ_ERR_NOMEM;
    }
    float *xsum = xs + (size_t) nxb * batch;
    quantize_x(x, d->cols, batch, xb, stride, nxb, xq, xs, xsum);
    const sq_packed_args a = {d, packed, scales, zeros, x, y, batch, row_begin, row_end, xq, xs, xsum, xb, nxb, stride};
    sq_status st = SQ_OK;
#if defined(SQ_HAVE_PACKED_AVX512)
    if (isa == SQ_ISA_AVX512) {
        st = sq_packed_matmul_q8_avx512(&a);
    } else
#endif
    {
        sq_packed_matmul_q8_scalar(&a);
    }
    free(xq);
    free(xs);
    return st;
}
