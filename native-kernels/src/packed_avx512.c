/*
 * AVX-512 (F/BW/VL/DQ + FMA + F16C) path of the packed low-bit kernels. Only this file is compiled with
 * these flags; sq_packed_matmul calls it after __builtin_cpu_supports says yes. Activations stay fp32 (the
 * product is the reference's, up to the order of the float additions); VNNI is not used by this path.
 *
 * Every batch is one pass over W (each weight is decoded once per call):
 * Small batch (<= 4 vectors): each 64-column block of a row is decoded to four vectors of 16 weights and
 * multiplied into every batch vector's accumulator; one horizontal sum per row and vector at the end.
 * Decoding: 2..5 bits with groups of whole blocks go through a 16/32-entry table of the group's dequantized
 * values (one permute per 16 weights, see lut_make); otherwise codes are widened (one zero-extending load and
 * a shift or mask per plane; 1-bit planes through a mask register), converted to float and dequantized with
 * one FMA (w = q * s + bz, bz = -s * zero).
 * Larger batch (> 4; measured: at batch 8 the one-row pass streams every x vector from L2 for each row and
 * loses to the tiles): tiles of 16 rows x 512 columns are dequantized once into an L1-resident buffer and
 * multiplied with every batch vector by a 4 x 4 register-blocked kernel (16 accumulators), so x is read from
 * L1 and each x load feeds 4 FMAs.
 */
#include "packed_internal.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#define SQ_INLINE static inline __attribute__((always_inline))
#define NB_MAX 4
#define TILE_ROWS 16
#define TILE_COLS 512

SQ_INLINE __m512i zx16(const uint8_t *p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) p)); }

/* q |= (t & mask): one ternary-logic instruction. */
SQ_INLINE __m512i or_and(__m512i q, __m512i t, __m512i mask) { return _mm512_ternarylogic_epi32(q, t, mask, 0xF8); }

/* A 1-bit plane (little-endian 64-bit word, bit i = column i) ORed into q at bit `shift`. */
SQ_INLINE void plane1(const uint8_t *p, int shift, __m512i q[4]) {
    uint64_t m;
    memcpy(&m, p, sizeof m);
    const __m512i bit = _mm512_set1_epi32(1 << shift);
    for (int v = 0; v < 4; v++) q[v] = _mm512_mask_or_epi32(q[v], (__mmask16) (m >> (16 * v)), q[v], bit);
}

/* A 2-bit plane (byte i: columns i, i+16, i+32, i+48) ORed into q at bit `shift` (0 or 4). */
SQ_INLINE void plane2(const uint8_t *p, int shift, __m512i q[4], int first) {
    const __m512i t = zx16(p);
    const __m512i three = _mm512_set1_epi32(3);
    if (first) {
        q[0] = _mm512_and_si512(t, three);
        q[1] = _mm512_and_si512(_mm512_srli_epi32(t, 2), three);
        q[2] = _mm512_and_si512(_mm512_srli_epi32(t, 4), three);
        q[3] = _mm512_srli_epi32(t, 6);
    } else { /* shift == 4 */
        const __m512i mask = _mm512_set1_epi32(3 << 4);
        (void) shift;
        q[0] = or_and(q[0], _mm512_slli_epi32(t, 4), mask);
        q[1] = or_and(q[1], _mm512_slli_epi32(t, 2), mask);
        q[2] = or_and(q[2], t, mask);
        q[3] = or_and(q[3], _mm512_srli_epi32(t, 2), mask);
    }
}

/* The 64 codes of one block as four vectors of 16 int32 (columns 0-15, 16-31, 32-47, 48-63). */
SQ_INLINE void decode_block(const uint8_t *p, const int bits, __m512i q[4]) {
    if (bits == 8) {
        for (int v = 0; v < 4; v++) q[v] = zx16(p + 16 * v);
        return;
    }
    if (bits == 2 || bits == 3) {
        plane2(p, 0, q, 1);
        if (bits == 3) plane1(p + 16, 2, q);
        return;
    }
    /* 4..7: a nibble plane first */
    const __m512i lo = zx16(p), hi = zx16(p + 16);
    const __m512i f = _mm512_set1_epi32(15);
    q[0] = _mm512_and_si512(lo, f);
    q[1] = _mm512_and_si512(hi, f);
    q[2] = _mm512_srli_epi32(lo, 4);
    q[3] = _mm512_srli_epi32(hi, 4);
    if (bits == 5) plane1(p + 32, 4, q);
    if (bits >= 6) plane2(p + 32, 4, q, 0);
    if (bits == 7) plane1(p + 48, 6, q);
}

/*
 * Per call: s/bz of the current row (fp32), and the group of every 16-column vector, or -1 where a group
 * boundary falls inside the vector (then the per-column group table drives a gather).
 */
typedef struct {
    int64_t ng, nvec;
    float *s, *bz, *z;
    int32_t *vg;  /* [nvec] */
    int32_t *cg;  /* [nvec * 16] or NULL if no vector straddles */
    float *tile;  /* TILE_ROWS * TILE_COLS, large batch only */
    void *mem;
} scratch;

static void scratch_free(scratch *sc) { free(sc->mem); }

static int scratch_make(scratch *sc, const sq_packed_desc *d, int tile) {
    const int64_t gs = d->group_size, cols = d->cols;
    sc->ng = (cols + gs - 1) / gs;
    sc->nvec = (cols + 15) / 16;
    int straddle = 0;
    for (int64_t v = 0; v < sc->nvec && !straddle; v++) {
        const int64_t c0 = 16 * v, c1 = (c0 + 15 < cols ? c0 + 15 : cols - 1);
        straddle = c0 / gs != c1 / gs;
    }
    const int64_t ngp = (sc->ng + 15) & ~(int64_t) 15;
    size_t bytes = (size_t) (3 * ngp) * sizeof(float) + (size_t) sc->nvec * sizeof(int32_t) + 64;
    if (straddle) bytes += (size_t) (sc->nvec * 16) * sizeof(int32_t);
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
        const int64_t c0 = 16 * v, c1 = (c0 + 15 < cols ? c0 + 15 : cols - 1);
        sc->vg[v] = c0 / gs == c1 / gs ? (int32_t) (c0 / gs) : -1;
    }
    if (straddle) {
        for (int64_t c = 0; c < sc->nvec * 16; c++) sc->cg[c] = (int32_t) ((c < cols ? c : cols - 1) / gs);
    }
    return 1;
}

/* s, z and bz = -s z of row r into the scratch, 16 groups at a time (F16C for binary16). */
static void row_params(const sq_packed_args *a, scratch *sc, int64_t r) {
    const sq_packed_desc *d = a->d;
    const int64_t ng = sc->ng;
    const __m512 sym_zero = _mm512_set1_ps((float) (1 << (d->bits - 1)));
    for (int64_t g = 0; g < ng; g += 16) {
        const __mmask16 m = ng - g >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << (ng - g)) - 1u);
        const int64_t i = r * ng + g;
        __m512 s, z;
        if (d->scale_type == SQ_SCALE_F16) {
            s = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *) a->scales + i));
            z = d->symmetric ? sym_zero : _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *) a->zeros + i));
        } else {
            s = _mm512_maskz_loadu_ps(m, (const float *) a->scales + i);
            z = d->symmetric ? sym_zero : _mm512_maskz_loadu_ps(m, (const float *) a->zeros + i);
        }
        _mm512_mask_storeu_ps(sc->s + g, m, s);
        _mm512_mask_storeu_ps(sc->z + g, m, z);
        _mm512_mask_storeu_ps(sc->bz + g, m, _mm512_mul_ps(s, _mm512_sub_ps(_mm512_setzero_ps(), z)));
    }
}

/* Dequantized weights of the 16 columns of vector v (codes q): w = q * s + bz, zero past the row's end. */
SQ_INLINE __m512 dequant(const scratch *sc, int64_t v, __m512i q) {
    const __m512 qf = _mm512_cvtepi32_ps(q);
    const int32_t g = sc->vg[v];
    if (__builtin_expect(g >= 0, 1)) {
        return _mm512_fmadd_ps(qf, _mm512_set1_ps(sc->s[g]), _mm512_set1_ps(sc->bz[g]));
    }
    const __m512i gi = _mm512_loadu_si512(sc->cg + 16 * v);
    return _mm512_fmadd_ps(qf, _mm512_i32gather_ps(gi, sc->s, 4), _mm512_i32gather_ps(gi, sc->bz, 4));
}


/*
 * Table path (2..5 bits, groups that are whole 64-column blocks): the dequantized values of all 2^bits codes
 * of a group, t[k] = s * (k - z) (the reference's arithmetic, so each weight is bit-identical to it), sit in
 * one or two registers and a permute turns codes straight into weights: no int->float conversion and no
 * dequantizing FMA. vpermps reads only the low 4 index bits (vpermt2ps: 5), which also saves most masks.
 */
typedef struct { __m512 t0, t1; } lut_t;

SQ_INLINE lut_t lut_make(float s, float z, const int bits) {
    const __m512i k = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i kmask = _mm512_set1_epi32(bits == 2 ? 3 : 15); /* 2 bits: entries repeat every 4 */
    const __m512 vs = _mm512_set1_ps(s), vz = _mm512_set1_ps(z);
    lut_t t;
    t.t0 = _mm512_mul_ps(vs, _mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_and_si512(k, kmask)), vz));
    t.t1 = t.t0;
    if (bits == 5) {
        t.t1 = _mm512_mul_ps(vs, _mm512_sub_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(k, _mm512_set1_epi32(16))), vz));
    }
    return t;
}

SQ_INLINE __m512 lut_get(lut_t t, __m512i idx, const int bits) {
    return bits == 5 ? _mm512_permutex2var_ps(t.t0, idx, t.t1) : _mm512_permutexvar_ps(idx, t.t0);
}

/* The 64 weights of one block through the table. */
SQ_INLINE void lut_block(const uint8_t *p, const int bits, lut_t t, __m512 w[4]) {
    if (bits == 2) {
        const __m512i b = zx16(p);
        w[0] = lut_get(t, b, 2);
        w[1] = lut_get(t, _mm512_srli_epi32(b, 2), 2);
        w[2] = lut_get(t, _mm512_srli_epi32(b, 4), 2);
        w[3] = lut_get(t, _mm512_srli_epi32(b, 6), 2);
        return;
    }
    if (bits == 3) {
        __m512i q[4];
        plane2(p, 0, q, 1);
        plane1(p + 16, 2, q);
        for (int v = 0; v < 4; v++) w[v] = lut_get(t, q[v], 3);
        return;
    }
    const __m512i lo = zx16(p), hi = zx16(p + 16);
    if (bits == 4) {
        w[0] = lut_get(t, lo, 4);
        w[1] = lut_get(t, hi, 4);
        w[2] = lut_get(t, _mm512_srli_epi32(lo, 4), 4);
        w[3] = lut_get(t, _mm512_srli_epi32(hi, 4), 4);
        return;
    }
    __m512i q[4];
    const __m512i f = _mm512_set1_epi32(15);
    q[0] = _mm512_and_si512(lo, f);
    q[1] = _mm512_and_si512(hi, f);
    q[2] = _mm512_srli_epi32(lo, 4);
    q[3] = _mm512_srli_epi32(hi, 4);
    plane1(p + 32, 4, q);
    for (int v = 0; v < 4; v++) w[v] = lut_get(t, q[v], 5);
}

/* acc[j] += w[v] * x_j[c + 16 v] for the nb vectors. */
SQ_INLINE void fma_block(__m512 acc[][4], const __m512 w[4], const float *xc, int64_t cols, const int nb, const int ka) {
    for (int v = 0; v < 4; v++) {
        for (int j = 0; j < nb; j++) {
            acc[j][v % ka] = _mm512_fmadd_ps(w[v], _mm512_loadu_ps(xc + j * cols + 16 * v), acc[j][v % ka]);
        }
    }
}

SQ_INLINE __mmask16 tail_mask(int64_t cols, int64_t c) {
    const int64_t n = cols - c;
    return n >= 16 ? (__mmask16) 0xFFFF : (__mmask16) ((1u << n) - 1u);
}

/*
 * nb (1..16, a constant after inlining) vectors x[j * cols ...] -> y[j * rows + r] for the call's rows.
 * With few vectors, several accumulators per vector keep enough FMAs in flight.
 */
SQ_INLINE void small_batch(const sq_packed_args *a, scratch *sc, const float *x, float *y, const int nb,
                           const int bits) {
    const sq_packed_desc *d = a->d;
    const int64_t cols = d->cols, rows = d->rows;
    const int64_t row_bytes = sq_packed_row_bytes(d->cols, bits);
    const int64_t nfull = cols / 64;
    const int ka = nb == 1 ? 4 : (nb == 2 ? 2 : 1);
    for (int64_t r = a->row_begin; r < a->row_end; r++) {
        const uint8_t *row = a->packed + r * row_bytes;
        row_params(a, sc, r);
        __m512 acc[NB_MAX][4];
        for (int j = 0; j < nb; j++) {
            for (int k = 0; k < ka; k++) acc[j][k] = _mm512_setzero_ps();
        }
        if (d->group_size % 64 == 0) {
            /* Whole blocks per group: per-group constants, no per-vector group lookup. */
            const int64_t bpg = d->group_size / 64;
            for (int64_t g = 0, blk = 0; blk < nfull; g++) {
                const int64_t end = blk + bpg < nfull ? blk + bpg : nfull;
                if (bits <= 5) {
                    const lut_t t = lut_make(sc->s[g], sc->z[g], bits);
                    for (; blk < end; blk++) {
                        __m512 w[4];
                        lut_block(row + blk * 8 * bits, bits, t, w);
                        fma_block(acc, w, x + 64 * blk, cols, nb, ka);
                    }
                } else {
                    const __m512 vs = _mm512_set1_ps(sc->s[g]), vbz = _mm512_set1_ps(sc->bz[g]);
                    for (; blk < end; blk++) {
                        __m512i q[4];
                        __m512 w[4];
                        decode_block(row + blk * 8 * bits, bits, q);
                        for (int v = 0; v < 4; v++) w[v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(q[v]), vs, vbz);
                        fma_block(acc, w, x + 64 * blk, cols, nb, ka);
                    }
                }
            }
        } else {
            for (int64_t blk = 0; blk < nfull; blk++) {
                __m512i q[4];
                __m512 w[4];
                decode_block(row + blk * 8 * bits, bits, q);
                for (int v = 0; v < 4; v++) w[v] = dequant(sc, 4 * blk + v, q[v]);
                fma_block(acc, w, x + 64 * blk, cols, nb, ka);
            }
        }
        if (nfull * 64 < cols) {
            __m512i q[4];
            decode_block(row + nfull * 8 * bits, bits, q);
            for (int v = 0; v < 4; v++) {
                const int64_t c = 64 * nfull + 16 * v;
                if (c >= cols) break;
                const __mmask16 m = tail_mask(cols, c);
                const __m512 w = _mm512_maskz_mov_ps(m, dequant(sc, 4 * nfull + v, q[v]));
                for (int j = 0; j < nb; j++) {
                    acc[j][0] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(m, x + j * cols + c), acc[j][0]);
                }
            }
        }
        for (int j = 0; j < nb; j++) {
            __m512 s = acc[j][0];
            for (int k = 1; k < ka; k++) s = _mm512_add_ps(s, acc[j][k]);
            y[j * rows + r] = _mm512_reduce_add_ps(s);
        }
    }
}

/* Dequantize rows [r0, r0 + nr) x columns [c0, c0 + TILE_COLS) (zero past the row's end) into the tile. */
SQ_INLINE void dequant_tile(const sq_packed_args *a, scratch *sc, int64_t r0, int nr, int64_t c0, const int bits) {
    const sq_packed_desc *d = a->d;
    const int64_t cols = d->cols;
    const int64_t row_bytes = sq_packed_row_bytes(d->cols, bits);
    for (int i = 0; i < nr; i++) {
        const uint8_t *row = a->packed + (r0 + i) * row_bytes;
        row_params(a, sc, r0 + i);
        float *t = sc->tile + (int64_t) i * TILE_COLS;
        for (int64_t c = c0; c < c0 + TILE_COLS; c += 64) {
            if (c >= cols) {
                for (int v = 0; v < 4; v++) _mm512_storeu_ps(t + (c - c0) + 16 * v, _mm512_setzero_ps());
                continue;
            }
            __m512i q[4];
            decode_block(row + (c / 64) * 8 * bits, bits, q);
            for (int v = 0; v < 4; v++) {
                const __mmask16 m = c + 16 * v < cols ? tail_mask(cols, c + 16 * v) : 0;
                const __m512 w = m ? _mm512_maskz_mov_ps(m, dequant(sc, c / 16 + v, q[v])) : _mm512_setzero_ps();
                _mm512_storeu_ps(t + (c - c0) + 16 * v, w);
            }
        }
    }
    for (int i = nr; i < TILE_ROWS; i++) memset(sc->tile + (int64_t) i * TILE_COLS, 0, TILE_COLS * sizeof(float));
}

/* y[b][r0 + i] += tile row i . x[b][c0 ..] for i < 4 rows, b < 4 vectors (nb, nrr may be smaller). */
SQ_INLINE void micro_4x4(const float *t, const float *x, int64_t cols, int64_t kc, float *y, int64_t rows,
                         int nrr, int nbb) {
    __m512 acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_ps();
    const float *x1 = nbb > 1 ? x + cols : x, *x2 = nbb > 2 ? x + 2 * cols : x, *x3 = nbb > 3 ? x + 3 * cols : x;
    int64_t c = 0;
    for (; c + 16 <= kc; c += 16) {
        const __m512 xv0 = _mm512_loadu_ps(x + c), xv1 = _mm512_loadu_ps(x1 + c);
        const __m512 xv2 = _mm512_loadu_ps(x2 + c), xv3 = _mm512_loadu_ps(x3 + c);
        for (int i = 0; i < 4; i++) {
            const __m512 w = _mm512_load_ps(t + i * TILE_COLS + c);
            acc[i][0] = _mm512_fmadd_ps(w, xv0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(w, xv1, acc[i][1]);
            acc[i][2] = _mm512_fmadd_ps(w, xv2, acc[i][2]);
            acc[i][3] = _mm512_fmadd_ps(w, xv3, acc[i][3]);
        }
    }
    if (c < kc) {
        const __mmask16 m = (__mmask16) ((1u << (kc - c)) - 1u);
        const __m512 xv0 = _mm512_maskz_loadu_ps(m, x + c), xv1 = _mm512_maskz_loadu_ps(m, x1 + c);
        const __m512 xv2 = _mm512_maskz_loadu_ps(m, x2 + c), xv3 = _mm512_maskz_loadu_ps(m, x3 + c);
        for (int i = 0; i < 4; i++) {
            const __m512 w = _mm512_load_ps(t + i * TILE_COLS + c);
            acc[i][0] = _mm512_fmadd_ps(w, xv0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(w, xv1, acc[i][1]);
            acc[i][2] = _mm512_fmadd_ps(w, xv2, acc[i][2]);
            acc[i][3] = _mm512_fmadd_ps(w, xv3, acc[i][3]);
        }
    }
    for (int i = 0; i < nrr; i++)
        for (int j = 0; j < nbb; j++) y[j * rows + i] += _mm512_reduce_add_ps(acc[i][j]);
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
            for (int64_t b = 0; b < a->batch; b += 4) {
                const int nbb = (int) (a->batch - b < 4 ? a->batch - b : 4);
                for (int i = 0; i < nr; i += 4) {
                    micro_4x4(sc->tile + (int64_t) i * TILE_COLS, a->x + b * cols + c0, cols, kc,
                              a->y + b * rows + r0 + i, rows, nr - i < 4 ? nr - i : 4, nbb);
                }
            }
        }
    }
}

SQ_INLINE void run_bits(const sq_packed_args *a, scratch *sc, const int bits) {
    if (a->batch > NB_MAX) {
        large_batch(a, sc, bits);
        return;
    }
    switch (a->batch) {
#define NB_CASE(n) case n: small_batch(a, sc, a->x, a->y, n, bits); break;
        NB_CASE(1) NB_CASE(2) NB_CASE(3) NB_CASE(4)
#undef NB_CASE
        default: break;
    }
}

sq_status sq_packed_matmul_avx512(const sq_packed_args *a) {
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
    scratch_free(&sc);
    return SQ_OK;
}
