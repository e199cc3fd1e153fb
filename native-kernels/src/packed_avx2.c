/*
 * AVX2 + FMA + F16C path of the packed low-bit kernels. Only this file is compiled with these flags;
 * sq_packed_matmul calls it after __builtin_cpu_supports says yes. Activations stay fp32.
 *
 * Every batch is one pass over W (each weight decoded once per call).
 * Small batch (<= 4 vectors): each group of 8 columns is decoded straight from the packed planes (a
 * zero-extending 8-byte load and a shift/mask per plane; 1-bit planes by compare), converted to float,
 * dequantized with one FMA (w = q * s + bz, bz = -s * zero) or, for 2 and 3 bits with 64-aligned groups,
 * looked up in an 8-entry table of the group's weights (vpermps), and multiplied into every batch vector's
 * accumulator.
 * Larger batches (> 4: the one-row pass would stream every x vector from L2 for each row): tiles of 16 rows x 512 columns are dequantized once into an L1/L2-resident
 * buffer and multiplied with every batch vector by a 4 x 2 register-blocked kernel, so W is still read once.
 */
#include "packed_internal.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define SQ_INLINE static inline __attribute__((always_inline))
#define NB_MAX 4
#define TILE_ROWS 16
#define TILE_COLS 512

SQ_INLINE __m256i zx8(const uint8_t *p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) p)); }

/* Bits of 1-bit-plane byte p[0] as lanes 0/1 (lane i = bit i), shifted to `shift`. */
SQ_INLINE __m256i bits8(const uint8_t *p, int shift) {
    const __m256i lane_bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i set = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(p[0]), lane_bit), lane_bit);
    return _mm256_and_si256(set, _mm256_set1_epi32(1 << shift));
}

/* Codes of the 8 columns 8v..8v+7 of the block at p. */
SQ_INLINE __m256i decode_vec(const uint8_t *p, const int bits, const int v) {
    if (bits == 8) return zx8(p + 8 * v);
    if (bits <= 3) {
        const __m256i t = zx8(p + 8 * (v & 1));
        __m256i q = _mm256_and_si256(_mm256_srli_epi32(t, 2 * (v >> 1)), _mm256_set1_epi32(3));
        if (bits == 3) q = _mm256_or_si256(q, bits8(p + 16 + v, 2));
        return q;
    }
    const __m256i n = zx8(p + 8 * (v & 3));
    __m256i q = v < 4 ? _mm256_and_si256(n, _mm256_set1_epi32(15)) : _mm256_srli_epi32(n, 4);
    if (bits == 5) q = _mm256_or_si256(q, bits8(p + 32 + v, 4));
    if (bits >= 6) {
        const __m256i t = zx8(p + 32 + 8 * (v & 1));
        const int k = v >> 1; /* the 2-bit field 2k..2k+1, wanted at bits 4..5 */
        const __m256i moved = k <= 2 ? _mm256_slli_epi32(t, 4 - 2 * k) : _mm256_srli_epi32(t, 2);
        q = _mm256_or_si256(q, _mm256_and_si256(moved, _mm256_set1_epi32(3 << 4)));
    }
    if (bits == 7) q = _mm256_or_si256(q, bits8(p + 48 + v, 6));
    return q;
}


/*
 * Table path (2 and 3 bits, groups of whole 64-column blocks): t[k] = s * (k - z) for the 8 values of a
 * 3-bit index (2 bits: k & 3, so the neighbouring field in index bit 2 does not matter), the reference's
 * arithmetic, and vpermps (low 3 index bits) turns codes into weights: no conversion, no dequantizing FMA.
 */
SQ_INLINE __m256 lut_make(float s, float z, const int bits) {
    const __m256i k = bits == 2 ? _mm256_setr_epi32(0, 1, 2, 3, 0, 1, 2, 3) : _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_mul_ps(_mm256_set1_ps(s), _mm256_sub_ps(_mm256_cvtepi32_ps(k), _mm256_set1_ps(z)));
}

SQ_INLINE __m256 lut_vec(const uint8_t *p, const int bits, __m256 t, const int v) {
    const __m256i b = _mm256_srli_epi32(zx8(p + 8 * (v & 1)), 2 * (v >> 1));
    if (bits == 2) return _mm256_permutevar8x32_ps(t, b);
    const __m256i q = _mm256_or_si256(_mm256_and_si256(b, _mm256_set1_epi32(3)), bits8(p + 16 + v, 2));
    return _mm256_permutevar8x32_ps(t, q);
}

typedef struct {
    int64_t ng, nvec;
    float *s, *bz, *z;
    int32_t *vg;  /* [nvec]: group of each 8-column vector, or -1 if a group boundary falls inside it */
    int32_t *cg;  /* [nvec * 8]: group of each column, or NULL if no vector straddles */
    float *tile;  /* TILE_ROWS * TILE_COLS, large batch only */
    void *mem;
} scratch;

static int scratch_make(scratch *sc, const sq_packed_desc *d, int tile) {
    const int64_t gs = d->group_size, cols = d->cols;
    sc->ng = (cols + gs - 1) / gs;
    sc->nvec = (cols + 7) / 8;
    int straddle = 0;
    for (int64_t v = 0; v < sc->nvec && !straddle; v++) {
        const int64_t c0 = 8 * v, c1 = (c0 + 7 < cols ? c0 + 7 : cols - 1);
        straddle = c0 / gs != c1 / gs;
    }
    const int64_t ngp = (sc->ng + 7) & ~(int64_t) 7;
    size_t bytes = (size_t) (3 * ngp) * sizeof(float) + (size_t) sc->nvec * sizeof(int32_t) + 64;
    if (straddle) bytes += (size_t) (sc->nvec * 8) * sizeof(int32_t);
    if (tile) bytes += (size_t) TILE_ROWS * TILE_COLS * sizeof(float) + 64;
    sc->mem = malloc(bytes);
    if (sc->mem == NULL) return 0;
    char *p = (char *) (((uintptr_t) sc->mem + 63) & ~(uintptr_t) 63);
    sc->tile = NULL;
    if (tile) {
        sc->tile = (float *) p;
        p += (size_t) TILE_ROWS * TILE_COLS * sizeof(float);
    }
    sc->s = (float *) p;
    sc->bz = sc->s + ngp;
    sc->z = sc->bz + ngp;
    sc->vg = (int32_t *) (sc->z + ngp);
    sc->cg = straddle ? sc->vg + sc->nvec : NULL;
    for (int64_t v = 0; v < sc->nvec; v++) {
        const int64_t c0 = 8 * v, c1 = (c0 + 7 < cols ? c0 + 7 : cols - 1);
        sc->vg[v] = c0 / gs == c1 / gs ? (int32_t) (c0 / gs) : -1;
    }
    if (straddle) {
        for (int64_t c = 0; c < sc->nvec * 8; c++) sc->cg[c] = (int32_t) ((c < cols ? c : cols - 1) / gs);
    }
    return 1;
}

/* Lanes i < n set (n clamped to 0..8). */
SQ_INLINE __m256i lane_mask(int64_t n) {
    const int32_t k = (int32_t) (n < 0 ? 0 : (n > 8 ? 8 : n));
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* s, z and bz = -s z of row r into the scratch, 8 groups at a time (F16C for binary16). */
static void row_params(const sq_packed_args *a, scratch *sc, int64_t r) {
    const sq_packed_desc *d = a->d;
    const int64_t ng = sc->ng;
    const __m256 sym_zero = _mm256_set1_ps((float) (1 << (d->bits - 1)));
    int64_t g = 0;
    for (; g + 8 <= ng; g += 8) {
        const int64_t i = r * ng + g;
        __m256 s, z;
        if (d->scale_type == SQ_SCALE_F16) {
            s = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) ((const uint16_t *) a->scales + i)));
            z = d->symmetric ? sym_zero : _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) ((const uint16_t *) a->zeros + i)));
        } else {
            s = _mm256_loadu_ps((const float *) a->scales + i);
            z = d->symmetric ? sym_zero : _mm256_loadu_ps((const float *) a->zeros + i);
        }
        _mm256_storeu_ps(sc->s + g, s);
        _mm256_storeu_ps(sc->z + g, z);
        _mm256_storeu_ps(sc->bz + g, _mm256_mul_ps(s, _mm256_sub_ps(_mm256_setzero_ps(), z)));
    }
    for (; g < ng; g++) { /* the same arithmetic, one group at a time */
        const int64_t i = r * ng + g;
        const float s = d->scale_type == SQ_SCALE_F16 ? _cvtsh_ss(((const uint16_t *) a->scales)[i]) : ((const float *) a->scales)[i];
        const float z = d->symmetric ? (float) (1 << (d->bits - 1))
                        : (d->scale_type == SQ_SCALE_F16 ? _cvtsh_ss(((const uint16_t *) a->zeros)[i]) : ((const float *) a->zeros)[i]);
        sc->s[g] = s;
        sc->z[g] = z;
        sc->bz[g] = s * -z;
    }
}

SQ_INLINE __m256 dequant(const scratch *sc, int64_t v, __m256i q) {
    const __m256 qf = _mm256_cvtepi32_ps(q);
    const int32_t g = sc->vg[v];
    if (__builtin_expect(g >= 0, 1)) {
        return _mm256_fmadd_ps(qf, _mm256_broadcast_ss(sc->s + g), _mm256_broadcast_ss(sc->bz + g));
    }
    const __m256i gi = _mm256_loadu_si256((const __m256i *) (sc->cg + 8 * v));
    return _mm256_fmadd_ps(qf, _mm256_i32gather_ps(sc->s, gi, 4), _mm256_i32gather_ps(sc->bz, gi, 4));
}

SQ_INLINE float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

SQ_INLINE void small_batch(const sq_packed_args *a, scratch *sc, const int nb, const int bits) {
    const sq_packed_desc *d = a->d;
    const int64_t cols = d->cols, rows = d->rows;
    const int64_t row_bytes = sq_packed_row_bytes(d->cols, bits);
    const int64_t nfull = cols / 64;
    const int ka = nb == 1 ? 4 : (nb == 2 ? 2 : 1);
    const float *x = a->x;
    for (int64_t r = a->row_begin; r < a->row_end; r++) {
        const uint8_t *row = a->packed + r * row_bytes;
        row_params(a, sc, r);
        __m256 acc[NB_MAX][4];
        for (int j = 0; j < nb; j++) {
            for (int k = 0; k < ka; k++) acc[j][k] = _mm256_setzero_ps();
        }
#define FMA_VEC(wexpr)                                                                          \
    do {                                                                                        \
        const __m256 w_ = (wexpr);                                                              \
        const float *xc = x + 64 * blk + 8 * v;                                                 \
        for (int j = 0; j < nb; j++) {                                                          \
            acc[j][v % ka] = _mm256_fmadd_ps(w_, _mm256_loadu_ps(xc + j * cols), acc[j][v % ka]); \
        }                                                                                       \
    } while (0)
        if (d->group_size % 64 == 0) {
            /* Whole blocks per group: per-group constants, no per-vector group lookup. */
            const int64_t bpg = d->group_size / 64;
            for (int64_t g = 0, blk = 0; blk < nfull; g++) {
                const int64_t end = blk + bpg < nfull ? blk + bpg : nfull;
                if (bits <= 3) {
                    const __m256 t = lut_make(sc->s[g], sc->z[g], bits);
                    for (; blk < end; blk++) {
                        const uint8_t *p = row + blk * 8 * bits;
                        for (int v = 0; v < 8; v++) FMA_VEC(lut_vec(p, bits, t, v));
                    }
                } else {
                    const __m256 vs = _mm256_set1_ps(sc->s[g]), vbz = _mm256_set1_ps(sc->bz[g]);
                    for (; blk < end; blk++) {
                        const uint8_t *p = row + blk * 8 * bits;
                        for (int v = 0; v < 8; v++) {
                            FMA_VEC(_mm256_fmadd_ps(_mm256_cvtepi32_ps(decode_vec(p, bits, v)), vs, vbz));
                        }
                    }
                }
            }
        } else {
            for (int64_t blk = 0; blk < nfull; blk++) {
                const uint8_t *p = row + blk * 8 * bits;
                for (int v = 0; v < 8; v++) FMA_VEC(dequant(sc, 8 * blk + v, decode_vec(p, bits, v)));
            }
        }
#undef FMA_VEC
        if (nfull * 64 < cols) {
            const uint8_t *p = row + nfull * 8 * bits;
            for (int v = 0; v < 8; v++) {
                const int64_t c = 64 * nfull + 8 * v;
                if (c >= cols) break;
                const __m256i m = lane_mask(cols - c);
                const __m256 w = _mm256_and_ps(_mm256_castsi256_ps(m), dequant(sc, 8 * nfull + v, decode_vec(p, bits, v)));
                for (int j = 0; j < nb; j++) {
                    acc[j][0] = _mm256_fmadd_ps(w, _mm256_maskload_ps(x + j * cols + c, m), acc[j][0]);
                }
            }
        }
        for (int j = 0; j < nb; j++) {
            __m256 s = acc[j][0];
            for (int k = 1; k < ka; k++) s = _mm256_add_ps(s, acc[j][k]);
            a->y[j * rows + r] = hsum(s);
        }
    }
}

SQ_INLINE void dequant_tile(const sq_packed_args *a, scratch *sc, int64_t r0, int nr, int64_t c0, const int bits) {
    const sq_packed_desc *d = a->d;
    const int64_t cols = d->cols;
    const int64_t row_bytes = sq_packed_row_bytes(d->cols, bits);
    for (int i = 0; i < nr; i++) {
        const uint8_t *row = a->packed + (r0 + i) * row_bytes;
        row_params(a, sc, r0 + i);
        float *t = sc->tile + (int64_t) i * TILE_COLS;
        for (int64_t c = c0; c < c0 + TILE_COLS; c += 64) {
            const uint8_t *p = row + (c / 64) * 8 * bits;
            for (int v = 0; v < 8; v++) {
                const int64_t cv = c + 8 * v;
                __m256 w = _mm256_setzero_ps();
                if (cv < cols) w = _mm256_and_ps(_mm256_castsi256_ps(lane_mask(cols - cv)), dequant(sc, cv / 8, decode_vec(p, bits, v)));
                _mm256_store_ps(t + (cv - c0), w);
            }
        }
    }
    for (int i = nr; i < TILE_ROWS; i++) memset(sc->tile + (int64_t) i * TILE_COLS, 0, TILE_COLS * sizeof(float));
}

/* y[b][r0 + i] += tile row i . x[b][c0 ..] for i < 4 rows, b < 2 vectors (nrr, nbb may be smaller). */
SQ_INLINE void micro_4x2(const float *t, const float *x, int64_t cols, int64_t kc, float *y, int64_t rows, int nrr,
                         int nbb) {
    __m256 acc[4][2];
    for (int i = 0; i < 4; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    const float *x1 = nbb > 1 ? x + cols : x;
    int64_t c = 0;
    for (; c + 8 <= kc; c += 8) {
        const __m256 xv0 = _mm256_loadu_ps(x + c), xv1 = _mm256_loadu_ps(x1 + c);
        for (int i = 0; i < 4; i++) {
            const __m256 w = _mm256_load_ps(t + i * TILE_COLS + c);
            acc[i][0] = _mm256_fmadd_ps(w, xv0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(w, xv1, acc[i][1]);
        }
    }
    if (c < kc) {
        const __m256i m = lane_mask(kc - c);
        const __m256 xv0 = _mm256_maskload_ps(x + c, m), xv1 = _mm256_maskload_ps(x1 + c, m);
        for (int i = 0; i < 4; i++) {
            const __m256 w = _mm256_load_ps(t + i * TILE_COLS + c);
            acc[i][0] = _mm256_fmadd_ps(w, xv0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(w, xv1, acc[i][1]);
        }
    }
    for (int i = 0; i < nrr; i++)
        for (int j = 0; j < nbb; j++) y[j * rows + i] += hsum(acc[i][j]);
}

SQ_INLINE void large_batch(const sq_packed_args *a, scratch *sc, const int bits) {
    const sq_packed_desc *d = a->d;
    const int64_t cols = d->cols, rows = d->rows;
    for (int64_t b = 0; b < a->batch; b++)
        for (int64_t r = a->row_begin; r < a->row_end; r++) a->y[b * rows + r] = 0.0f;
    for (int64_t r0 = a->row_begin; r0 < a->row_end; r0 += TILE_ROWS) {
        const int nr = (int) (a->row_end - r0 < TILE_ROWS ? a->row_end - r0 : TILE_ROWS);
        for (int64_t c0 = 0; c0 < cols; c0 += TILE_COLS) {
            const int64_t kc = cols - c0 < TILE_COLS ? cols - c0 : TILE_COLS;
            dequant_tile(a, sc, r0, nr, c0, bits);
            for (int64_t b = 0; b < a->batch; b += 2) {
                const int nbb = (int) (a->batch - b < 2 ? a->batch - b : 2);
                for (int i = 0; i < nr; i += 4) {
                    micro_4x2(sc->tile + (int64_t) i * TILE_COLS, a->x + b * cols + c0, cols, kc,
                              a->y + b * rows + r0 + i, rows, nr - i < 4 ? nr - i : 4, nbb);
                }
            }
        }
    }
}

SQ_INLINE void run_bits(const sq_packed_args *a, scratch *sc, const int bits) {
    switch (a->batch) {
        case 1: small_batch(a, sc, 1, bits); break;
        case 2: small_batch(a, sc, 2, bits); break;
        case 3: small_batch(a, sc, 3, bits); break;
        case 4: small_batch(a, sc, 4, bits); break;
        default: large_batch(a, sc, bits); break;
    }
}

sq_status sq_packed_matmul_avx2(const sq_packed_args *a) {
    scratch sc;
    if (!scratch_make(&sc, a->d, a->batch > NB_MAX)) return SQ_ERR_NOMEM;
    switch (a->d->bits) {
        case 2: run_bits(a, &sc, 2); break;
        case 3: run_bits(a, &sc, 3); break;
        case 4: run_bits(a, &sc, 4); break;
        case 5: run_bits(a, &sc, 5); break;
        case 6: run_bits(a, &sc, 6); break;
        case 7: run_bits(a, &sc, 7); break;
        default: run_bits(a, &sc, 8); break;
    }
    free(sc.mem);
    return SQ_OK;
}
