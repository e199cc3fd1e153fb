/*
 * C unit test of the packed low-bit kernels (ctest: packed_matmul).
 *
 * Expected values never come from the code under test:
 *  - products: an oracle that dequantizes each weight from the unpacked code matrix and accumulates in
 *    double; fp16 scales/zeros are generated as raw binary16 bit patterns and decoded here with ldexp;
 *  - layout: the bytes sq_packed_pack writes are checked against the layout as packed.h documents it;
 *  - binary16 conversion: known values, and every one of the 65536 patterns against the CPU's own F16C
 *    instructions where the CPU has them.
 * Every path this build and CPU can run (scalar, avx2, avx512) is checked against the oracle.
 *
 * Tolerance: |kernel - oracle| <= REL_TOL * M, with M = sum_c |x_c| |s| (|q_c| + |z|) >= every partial sum
 * of both the direct (s (q - z) x) and the FMA-dequantized (q s + (-s z)) formulas. The float paths differ
 * from the oracle only by rounding of sums of zero-mean random terms, which stays near u * M (u = 6e-8)
 * whatever the length here (worst seen: about 1.3e-7); 2e-6 (about 32u) leaves a wide margin. One wrong code
 * (|dq| >= 1) moves y by |s x_c|, about M / (cols * mean(q + |z|)): 1.6e-5 of M at 4 bits and 4099 columns,
 * 8x the tolerance; a wrong plane, group, scale or row is off by far more. The int8-activation variant is
 * checked the same way against its own oracle (x quantized here as packed.h documents it).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "packed.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

#define REL_TOL 2e-6
#define SENTINEL 12345.0f

static int failures = 0;
#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            failures++;                                                         \
            if (failures <= 30) {                                               \
                fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);            \
                fprintf(stderr, __VA_ARGS__);                                   \
                fputc('\n', stderr);                                            \
            }                                                                   \
        }                                                                       \
    } while (0)

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t next_u32(void) { /* xorshift64*: deterministic across platforms */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t) ((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}
static double uniform(double lo, double hi) { return lo + (hi - lo) * (next_u32() / 4294967296.0); }

/* binary16 decoded independently of the library: sign, 5-bit exponent (bias 15), 10-bit fraction. */
static double f16_value(uint16_t h) {
    const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 31) v = m ? NAN : INFINITY;
    else if (e == 0) v = ldexp((double) m, -24);
    else v = ldexp(1.0 + m / 1024.0, e - 15);
    return s ? -v : v;
}
/* A random binary16 near |v| in [lo, hi) (normal range), built bit by bit. */
static uint16_t random_f16(double lo, double hi, int allow_negative) {
    const double v = uniform(lo, hi);
    int e;
    const double fr = frexp(v, &e); /* v = fr * 2^e, fr in [0.5, 1) */
    const int be = e - 1 + 15;
    const int m = (int) ((fr * 2.0 - 1.0) * 1024.0) & 1023;
    uint16_t h = (uint16_t) ((be << 10) | m);
    if (allow_negative && (next_u32() & 1u)) h |= 0x8000u;
    return h;
}

static const int ISAS[] = {SQ_ISA_SCALAR, SQ_ISA_AVX2, SQ_ISA_AVX512};

typedef struct {
    int rows, cols, bits, group_size, symmetric, scale_type, batch;
} tcase;

/* Everything one case needs: the logical matrix, the packed form, the oracle. */
typedef struct {
    tcase t;
    sq_packed_desc d;
    int64_t ng;
    uint8_t *codes, *packed;
    void *scales, *zeros;
    double *sv, *zv; /* scale and zero values as the oracle reads them */
    float *x, *y;
    double *want, *mag;
} fixture;

static void fixture_free(fixture *f) {
    free(f->codes); free(f->packed); free(f->scales); free(f->zeros); free(f->sv); free(f->zv);
    free(f->x); free(f->y); free(f->want); free(f->mag);
}

static int fixture_make(fixture *f, tcase t) {
    memset(f, 0, sizeof *f);
    f->t = t;
    f->d = (sq_packed_desc){t.rows, t.cols, t.bits, t.group_size, t.symmetric, t.scale_type};
    f->ng = (t.cols + t.group_size - 1) / t.group_size;
    CHECK(sq_packed_groups(&f->d) == f->ng, "groups %lld", (long long) sq_packed_groups(&f->d));
    const int64_t bytes = sq_packed_codes_bytes(&f->d);
    const int64_t want_bytes = (int64_t) t.rows * ((t.cols + 63) / 64) * 8 * t.bits; /* packed.h layout */
    CHECK(bytes == want_bytes, "codes_bytes %lld want %lld", (long long) bytes, (long long) want_bytes);
    const int64_t n = (int64_t) t.rows * t.cols, np = (int64_t) t.rows * f->ng;
    const size_t psize = t.scale_type == SQ_SCALE_F16 ? 2 : 4;
    f->codes = malloc((size_t) n);
    f->packed = malloc((size_t) bytes);
    f->scales = malloc((size_t) np * psize);
    f->zeros = t.symmetric ? NULL : malloc((size_t) np * psize);
    f->sv = malloc(sizeof(double) * (size_t) np);
    f->zv = malloc(sizeof(double) * (size_t) np);
    f->x = malloc(sizeof(float) * (size_t) t.batch * t.cols);
    f->y = malloc(sizeof(float) * (size_t) t.batch * t.rows);
    f->want = malloc(sizeof(double) * (size_t) t.batch * t.rows);
    f->mag = malloc(sizeof(double) * (size_t) t.batch * t.rows);
    const unsigned levels = 1u << t.bits;
    for (int64_t i = 0; i < n; i++) f->codes[i] = (uint8_t) (next_u32() % levels);
    for (int64_t i = 0; i < np; i++) {
        if (t.scale_type == SQ_SCALE_F16) {
            const uint16_t s = random_f16(0.002, 0.1, 1);
            ((uint16_t *) f->scales)[i] = s;
            f->sv[i] = f16_value(s);
            if (!t.symmetric) {
                const uint16_t z = random_f16(0.5, levels - 1.0, 0);
                ((uint16_t *) f->zeros)[i] = z;
                f->zv[i] = f16_value(z);
            }
        } else {
            const float s = (float) uniform(-0.1, 0.1);
            ((float *) f->scales)[i] = s;
            f->sv[i] = s;
            if (!t.symmetric) {
                const float z = (float) uniform(0.0, levels - 1.0);
                ((float *) f->zeros)[i] = z;
                f->zv[i] = z;
            }
        }
        if (t.symmetric) f->zv[i] = (double) (levels / 2);
    }
    for (int64_t i = 0; i < (int64_t) t.batch * t.cols; i++) f->x[i] = (float) uniform(-2.0, 2.0);
    for (int b = 0; b < t.batch; b++) {
        for (int r = 0; r < t.rows; r++) {
            double acc = 0.0, mag = 0.0;
            for (int c = 0; c < t.cols; c++) {
                const int64_t p = (int64_t) r * f->ng + c / t.group_size;
                const double q = f->codes[(int64_t) r * t.cols + c], xv = f->x[(int64_t) b * t.cols + c];
                acc += f->sv[p] * (q - f->zv[p]) * xv;
                mag += fabs(f->sv[p]) * (q + fabs(f->zv[p])) * fabs(xv);
            }
            f->want[(int64_t) b * t.rows + r] = acc;
            f->mag[(int64_t) b * t.rows + r] = mag;
        }
    }
    return sq_packed_pack(&f->d, f->codes, f->packed) == SQ_OK;
}

static void fill_sentinel(fixture *f) {
    for (int64_t i = 0; i < (int64_t) f->t.batch * f->t.rows; i++) f->y[i] = SENTINEL;
}

/* y within tolerance on [r0, r1), untouched elsewhere. Returns the worst error / M seen. */
static double check_y(const fixture *f, int r0, int r1, const char *what) {
    double worst = 0.0;
    for (int b = 0; b < f->t.batch; b++) {
        for (int r = 0; r < f->t.rows; r++) {
            const int64_t i = (int64_t) b * f->t.rows + r;
            if (r < r0 || r >= r1) {
                CHECK(f->y[i] == SENTINEL, "%s: row %d outside [%d,%d) written", what, r, r0, r1);
                continue;
            }
            const double err = fabs((double) f->y[i] - f->want[i]);
            const double rel = f->mag[i] > 0 ? err / f->mag[i] : err;
            if (rel > worst) worst = rel;
            CHECK(rel <= REL_TOL, "%s: %dx%d bits %d g %d sym %d f16 %d batch %d: y[%d][%d] = %.9g, want %.9g (err/M %.3g)",
                  what, f->t.rows, f->t.cols, f->t.bits, f->t.group_size, f->t.symmetric, f->t.scale_type,
                  f->t.batch, b, r, f->y[i], f->want[i], rel);
        }
    }
    return worst;
}

static double worst_by_isa[4];

/* Every supported ISA on the whole matrix, on a random row range, and the threaded entry point. */
static void run_case(tcase t) {
    fixture f;
    if (!fixture_make(&f, t)) {
        CHECK(0, "pack failed");
        fixture_free(&f);
        return;
    }
    char what[64];
    for (size_t k = 0; k < sizeof ISAS / sizeof ISAS[0]; k++) {
        const sq_isa isa = (sq_isa) ISAS[k];
        if (!sq_packed_isa_supported(isa)) continue;
        snprintf(what, sizeof what, "%s full", sq_isa_name(isa));
        fill_sentinel(&f);
        sq_status st = sq_packed_matmul(isa, &f.d, f.packed, f.scales, f.zeros, f.x, f.y, t.batch, 0, t.rows);
        CHECK(st == SQ_OK, "%s status %d", what, st);
        double w = check_y(&f, 0, t.rows, what);
        if (w > worst_by_isa[isa]) worst_by_isa[isa] = w;

        const int r0 = (int) (next_u32() % (unsigned) t.rows);
        const int r1 = r0 + 1 + (int) (next_u32() % (unsigned) (t.rows - r0));
        snprintf(what, sizeof what, "%s rows", sq_isa_name(isa));
        fill_sentinel(&f);
        st = sq_packed_matmul(isa, &f.d, f.packed, f.scales, f.zeros, f.x, f.y, t.batch, r0, r1);
        CHECK(st == SQ_OK, "%s status %d", what, st);
        check_y(&f, r0, r1, what);

        const int threads = 1 + (int) (next_u32() % 4u);
        snprintf(what, sizeof what, "%s mt%d", sq_isa_name(isa), threads);
        fill_sentinel(&f);
        st = sq_packed_matmul_mt(isa, &f.d, f.packed, f.scales, f.zeros, f.x, f.y, t.batch, threads);
        CHECK(st == SQ_OK, "%s status %d", what, st);
        check_y(&f, 0, t.rows, what);
    }
    fixture_free(&f);
}

/* The bytes of a packed row against packed.h's description, written out here plane by plane. */
static void test_layout(void) {
    for (int bits = 2; bits <= 8; bits++) {
        const int cols = 64 + 64 + 5; /* two full blocks and a partial one */
        const sq_packed_desc d = {2, cols, bits, 64, 1, SQ_SCALE_F32};
        uint8_t codes[2 * 133];
        for (int i = 0; i < 2 * cols; i++) codes[i] = (uint8_t) (next_u32() % (1u << bits));
        const int64_t bytes = sq_packed_codes_bytes(&d);
        uint8_t *packed = malloc((size_t) bytes);
        CHECK(sq_packed_pack(&d, codes, packed) == SQ_OK, "pack bits %d", bits);
        static const int planes[9][3] = {{0}, {0}, {2}, {2, 1}, {4}, {4, 1}, {4, 2}, {4, 2, 1}, {8}};
        const int row_bytes = 3 * 8 * bits;
        for (int r = 0; r < 2; r++) {
            for (int blk = 0; blk < 3; blk++) {
                const uint8_t *p = packed + r * row_bytes + blk * 8 * bits;
                int shift = 0;
                for (int k = 0; k < 3 && planes[bits][k]; k++) {
                    const int w = planes[bits][k];
                    for (int i = 0; i < 64; i++) {
                        const int c = blk * 64 + i;
                        const unsigned want = c < cols ? (codes[r * cols + c] >> shift) & ((1u << w) - 1u) : 0u;
                        unsigned got;
                        if (w == 8) got = p[i];
                        else if (w == 4) got = i < 32 ? p[i] & 15u : p[i - 32] >> 4;
                        else if (w == 2) got = (p[i % 16] >> (2 * (i / 16))) & 3u;
                        else got = (p[i / 8] >> (i % 8)) & 1u;
                        CHECK(got == want, "layout bits %d row %d col %d plane %d: %u want %u", bits, r, c, w, got,
                              want);
                    }
                    p += 8 * w;
                    shift += w;
                }
            }
        }
        free(packed);
    }
}

#if defined(HAVE_X86)
__attribute__((target("f16c"))) static float hw_f16_to_f32(uint16_t h) { return _cvtsh_ss(h); }
__attribute__((target("f16c"))) static uint16_t hw_f32_to_f16(float f) {
    return (uint16_t) _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
}
#endif

static int same_f32(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

static void test_f16(void) {
    static const struct { uint16_t h; double v; } known[] = {
        {0x3C00, 1.0}, {0xC000, -2.0}, {0x7BFF, 65504.0}, {0x0001, 5.9604644775390625e-08},
        {0x03FF, 6.097555160522461e-05}, {0x0400, 6.103515625e-05}, {0x3555, 0.333251953125},
        {0x0000, 0.0}, {0x7C00, INFINITY}, {0xFC00, -INFINITY},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        CHECK(sq_f16_to_f32(known[i].h) == (float) known[i].v, "f16 %04x -> %.9g", known[i].h,
              sq_f16_to_f32(known[i].h));
        CHECK(sq_f32_to_f16((float) known[i].v) == known[i].h, "f32 %.9g -> %04x", known[i].v,
              sq_f32_to_f16((float) known[i].v));
    }
    CHECK(isnan(sq_f16_to_f32(0x7E00)), "NaN");
    CHECK((sq_f32_to_f16(NAN) & 0x7C00u) == 0x7C00u && (sq_f32_to_f16(NAN) & 0x3FFu) != 0, "NaN -> f16");
    CHECK(sq_f32_to_f16(65520.0f) == 0x7C00, "65520 rounds to inf");
    CHECK(sq_f32_to_f16(2.98023223876953125e-08f) == 0x0000, "2^-25 ties to even (0)");
    CHECK(sq_f32_to_f16(8.940696716308594e-08f) == 0x0002, "1.5 * 2^-24 ties to even (2)");
    CHECK(sq_f32_to_f16(1.00048828125f) == 0x3C00, "1 + 2^-11 ties to even");
    int checked_hw = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        const float f = sq_f16_to_f32((uint16_t) h);
        const double v = f16_value((uint16_t) h);
        if (isnan(v)) {
            CHECK(isnan(f), "%04x not NaN", h);
        } else {
            CHECK(f == (float) v, "%04x -> %.9g want %.9g", h, f, v);
            CHECK(sq_f32_to_f16(f) == h, "round trip %04x -> %04x", h, sq_f32_to_f16(f));
        }
#if defined(HAVE_X86)
        if (__builtin_cpu_supports("f16c")) {
            checked_hw = 1;
            CHECK(same_f32(f, hw_f16_to_f32((uint16_t) h)) || (isnan(f) && isnan(hw_f16_to_f32((uint16_t) h))),
                  "%04x differs from F16C", h);
        }
#endif
    }
#if defined(HAVE_X86)
    if (checked_hw) {
        for (int i = 0; i < 200000; i++) {
            uint32_t bits = next_u32();
            if (i % 2) bits = (bits & 0x807FFFFFu) | ((uint32_t) (100 + next_u32() % 50) << 23); /* near range */
            float f;
            memcpy(&f, &bits, sizeof f);
            if (isnan(f)) continue;
            CHECK(sq_f32_to_f16(f) == hw_f32_to_f16(f), "f32 %a -> %04x, F16C %04x", (double) f, sq_f32_to_f16(f),
                  hw_f32_to_f16(f));
        }
    }
#endif
    printf("f16: known values, 65536 patterns%s\n", checked_hw ? ", and F16C hardware agree" : " (no F16C here)");
}

static void test_bad_args(void) {
    const sq_packed_desc good = {4, 70, 4, 32, 0, SQ_SCALE_F32};
    uint8_t codes[4 * 70] = {0};
    uint8_t packed[4 * 2 * 32];
    float scales[4 * 3] = {0}, zeros[4 * 3] = {0}, x[70 * 2] = {0}, y[4 * 2];
    CHECK(sq_packed_codes_bytes(&good) == (int64_t) sizeof packed, "bytes");
    const sq_packed_desc bad[] = {
        {0, 70, 4, 32, 0, 0}, {4, 0, 4, 32, 0, 0}, {4, 70, 1, 32, 0, 0}, {4, 70, 9, 32, 0, 0},
        {4, 70, 4, 0, 0, 0},  {4, 70, 4, -3, 0, 0}, {4, 70, 4, 32, 2, 0}, {4, 70, 4, 32, 0, 2},
        {-1, 70, 4, 32, 0, 0}, {4, 70, 4, 32, 0, -1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(sq_packed_check_desc(&bad[i]) == SQ_ERR_ARG, "bad desc %zu accepted", i);
        CHECK(sq_packed_groups(&bad[i]) == -1 && sq_packed_codes_bytes(&bad[i]) == -1, "bad desc %zu sized", i);
        CHECK(sq_packed_pack(&bad[i], codes, packed) == SQ_ERR_ARG, "bad desc %zu packed", i);
        CHECK(sq_packed_matmul(SQ_ISA_AUTO, &bad[i], packed, scales, zeros, x, y, 1, 0, 1) == SQ_ERR_ARG,
              "bad desc %zu matmul", i);
        CHECK(sq_packed_matmul_mt(SQ_ISA_AUTO, &bad[i], packed, scales, zeros, x, y, 1, 2) == SQ_ERR_ARG,
              "bad desc %zu matmul_mt", i);
    }
    CHECK(sq_packed_groups(NULL) == -1 && sq_packed_codes_bytes(NULL) == -1, "NULL desc sized");
    CHECK(sq_packed_pack(NULL, codes, packed) == SQ_ERR_ARG, "pack NULL desc");
    CHECK(sq_packed_pack(&good, NULL, packed) == SQ_ERR_ARG, "pack NULL codes");
    CHECK(sq_packed_pack(&good, codes, NULL) == SQ_ERR_ARG, "pack NULL packed");
    /* A code out of range: error, and the output untouched. */
    codes[4 * 70 - 1] = 16;
    memset(packed, 0xA5, sizeof packed);
    CHECK(sq_packed_pack(&good, codes, packed) == SQ_ERR_ARG, "code 16 at 4 bits accepted");
    int untouched = 1;
    for (size_t i = 0; i < sizeof packed; i++) untouched &= packed[i] == 0xA5;
    CHECK(untouched, "packed written before the error");
    codes[4 * 70 - 1] = 15;
    CHECK(sq_packed_pack(&good, codes, packed) == SQ_OK, "pack good");

    const sq_isa isa = SQ_ISA_AUTO;
    CHECK(sq_packed_matmul(isa, NULL, packed, scales, zeros, x, y, 1, 0, 4) == SQ_ERR_ARG, "NULL desc");
    CHECK(sq_packed_matmul(isa, &good, NULL, scales, zeros, x, y, 1, 0, 4) == SQ_ERR_ARG, "NULL packed");
    CHECK(sq_packed_matmul(isa, &good, packed, NULL, zeros, x, y, 1, 0, 4) == SQ_ERR_ARG, "NULL scales");
    CHECK(sq_packed_matmul(isa, &good, packed, scales, NULL, x, y, 1, 0, 4) == SQ_ERR_ARG, "asym NULL zeros");
    CHECK(sq_packed_matmul(isa, &good, packed, scales, zeros, NULL, y, 1, 0, 4) == SQ_ERR_ARG, "NULL x");
    CHECK(sq_packed_matmul(isa, &good, packed, scales, zeros, x, NULL, 1, 0, 4) == SQ_ERR_ARG, "NULL y");
    CHECK(sq_packed_matmul(isa, &good, packed, scales, zeros, x, y, 0, 0, 4) == SQ_ERR_ARG, "batch 0");
    CHECK(sq_packed_matmul(isa, &good, packed, scales, zeros, x, y, -1, 0, 4) == SQ_ERR_ARG, "batch -1");
    CHECK(sq_packed_matmul(isa, &good, packed, scales, zeros, x, y, 1, -1, 4) == SQ_ERR_ARG, "row_begin -1");
    CHECK(sq_packed_matmul(isa, &good, packed, scales, zeros, x, y, 1, 0, 5) == SQ_ERR_ARG, "row_end > rows");
    CHECK(sq_packed_matmul(isa, &good, packed, scales, zeros, x, y, 1, 3, 2) == SQ_ERR_ARG, "begin > end");
    CHECK(sq_packed_matmul(isa, &good, packed, scales, zeros, x, y, 1, 2, 2) == SQ_OK, "empty range");
    CHECK(sq_packed_matmul((sq_isa) 7, &good, packed, scales, zeros, x, y, 1, 0, 4) == SQ_ERR_ISA, "isa 7");
    CHECK(sq_packed_matmul((sq_isa) -1, &good, packed, scales, zeros, x, y, 1, 0, 4) == SQ_ERR_ISA, "isa -1");
    for (int i = SQ_ISA_SCALAR; i <= SQ_ISA_AVX512; i++) {
        const sq_status want = sq_packed_isa_supported((sq_isa) i) ? SQ_OK : SQ_ERR_ISA;
        CHECK(sq_packed_matmul((sq_isa) i, &good, packed, scales, zeros, x, y, 2, 0, 4) == want, "isa %d", i);
    }
    CHECK(sq_packed_matmul_mt(isa, &good, packed, scales, zeros, x, y, 0, 2) == SQ_ERR_ARG, "mt batch 0");
    CHECK(sq_packed_matmul_mt(isa, &good, NULL, scales, zeros, x, y, 1, 2) == SQ_ERR_ARG, "mt NULL packed");
    CHECK(sq_packed_matmul_mt((sq_isa) 9, &good, packed, scales, zeros, x, y, 1, 2) == SQ_ERR_ISA, "mt isa 9");
    CHECK(sq_packed_matmul_mt(isa, &good, packed, scales, zeros, x, y, 1, -5) == SQ_OK, "mt threads -5");
    const sq_packed_desc sym = {4, 70, 4, 32, 1, SQ_SCALE_F16};
    CHECK(sq_packed_matmul(isa, &sym, packed, scales, zeros, x, y, 1, 0, 4) == SQ_ERR_ARG, "sym with zeros");
    CHECK(sq_packed_matmul(isa, &sym, packed, scales, NULL, x, y, 1, 0, 4) == SQ_OK, "sym without zeros");
}


/* ---------------------------------------------------------------------------------------------------- */
/* int8-activation variant: its own oracle (x quantized here as packed.h documents it, sums in double),
 * and its accuracy cost against the fp32 product measured and printed. */

static double q8_worst[4], q8_cost_max = 0.0, q8_cost_sum = 0.0;
static int q8_cost_n = 0;

static void run_q8_case(tcase t) {
    fixture f;
    if (!fixture_make(&f, t)) {
        CHECK(0, "pack failed");
        fixture_free(&f);
        return;
    }
    const int xb = t.group_size % 256 == 0 ? 256 : (t.group_size % 128 == 0 ? 128 : 64);
    CHECK(sq_packed_q8_block(&f.d) == xb, "q8 block %d want %d", sq_packed_q8_block(&f.d), xb);
    const int nxb = (t.cols + xb - 1) / xb;
    double *want = malloc(sizeof(double) * (size_t) t.batch * t.rows), *mag = malloc(sizeof(double) * (size_t) t.batch * t.rows);
    int *xq = malloc(sizeof(int) * (size_t) t.cols);
    float *sx = malloc(sizeof(float) * (size_t) nxb);
    for (int b = 0; b < t.batch; b++) {
        const float *xr = f.x + (int64_t) b * t.cols;
        for (int k = 0; k < nxb; k++) {
            float amax = 0.0f;
            for (int c = k * xb; c < t.cols && c < (k + 1) * xb; c++) amax = fmaxf(amax, fabsf(xr[c]));
            sx[k] = amax / 127.0f;
            const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
            for (int c = k * xb; c < t.cols && c < (k + 1) * xb; c++) xq[c] = (int) nearbyintf(fminf(127.0f, fmaxf(-127.0f, xr[c] * inv)));
        }
        for (int r = 0; r < t.rows; r++) {
            double acc = 0.0, m = 0.0;
            for (int c = 0; c < t.cols; c++) {
                const int64_t p = (int64_t) r * f.ng + c / t.group_size;
                const double q = f.codes[(int64_t) r * t.cols + c];
                acc += f.sv[p] * sx[c / xb] * (q - f.zv[p]) * xq[c];
                m += fabs(f.sv[p]) * sx[c / xb] * (q + fabs(f.zv[p])) * abs(xq[c]);
            }
            want[(int64_t) b * t.rows + r] = acc;
            mag[(int64_t) b * t.rows + r] = m;
        }
    }
    for (int isa = SQ_ISA_SCALAR; isa <= SQ_ISA_AVX512; isa++) {
        const sq_status expect = sq_packed_q8_isa_supported((sq_isa) isa) ? SQ_OK : SQ_ERR_ISA;
        const int r0 = t.rows > 2 ? 1 : 0, r1 = t.rows;
        fill_sentinel(&f);
        const sq_status st = sq_packed_matmul_q8((sq_isa) isa, &f.d, f.packed, f.scales, f.zeros, f.x, f.y, t.batch, r0, r1);
        CHECK(st == expect, "q8 %s status %d", sq_isa_name((sq_isa) isa), st);
        if (st != SQ_OK) continue;
        double err2 = 0.0, ref2 = 0.0;
        for (int b = 0; b < t.batch; b++) {
            for (int r = 0; r < t.rows; r++) {
                const int64_t i = (int64_t) b * t.rows + r;
                if (r < r0) {
                    CHECK(f.y[i] == SENTINEL, "q8 row %d outside the range written", r);
                    continue;
                }
                const double rel = fabs((double) f.y[i] - want[i]) / (mag[i] > 0 ? mag[i] : 1.0);
                if (rel > q8_worst[isa]) q8_worst[isa] = rel;
                CHECK(rel <= REL_TOL, "q8 %s: %dx%d bits %d g %d sym %d f16 %d batch %d: y[%d][%d] = %.9g want %.9g (err/M %.3g)",
                      sq_isa_name((sq_isa) isa), t.rows, t.cols, t.bits, t.group_size, t.symmetric, t.scale_type, t.batch, b,
                      r, f.y[i], want[i], rel);
                err2 += (f.y[i] - f.want[i]) * (f.y[i] - f.want[i]);
                ref2 += f.want[i] * f.want[i];
            }
        }
        if (isa == SQ_ISA_SCALAR && ref2 > 0) { /* accuracy cost: relative L2 distance to the fp32 product */
            const double cost = sqrt(err2 / ref2);
            if (cost > q8_cost_max) q8_cost_max = cost;
            q8_cost_sum += cost;
            q8_cost_n++;
        }
    }
    free(want); free(mag); free(xq); free(sx);
    fixture_free(&f);
}

static void test_q8(void) {
    int cases = 0;
    static const int shapes[][2] = {{1, 64}, {3, 130}, {17, 1000}, {8, 512}, {5, 4099}};
    for (int bits = 2; bits <= 8; bits++) {
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const int groups[] = {64, 128, 192, 256, 512};
            for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
                const int batch = 1 + (cases * 7) % 20; /* includes > 16: two passes */
                run_q8_case((tcase){shapes[s][0], shapes[s][1], bits, groups[g], cases % 2, (cases / 2) % 2, batch});
                cases++;
            }
        }
    }
    /* bad arguments */
    const sq_packed_desc g100 = {4, 200, 4, 100, 1, SQ_SCALE_F32};
    uint8_t packed[4 * 4 * 32] = {0};
    float sc[4 * 4] = {0}, x[200] = {0}, y[4]; /* 4 rows x 4 groups of 64 (group 100: 2) */
    CHECK(sq_packed_q8_block(&g100) == -1, "q8 block for group 100");
    CHECK(sq_packed_matmul_q8(SQ_ISA_AUTO, &g100, packed, sc, NULL, x, y, 1, 0, 4) == SQ_ERR_ARG, "q8 group 100");
    const sq_packed_desc g64 = {4, 200, 4, 64, 1, SQ_SCALE_F32};
    CHECK(sq_packed_matmul_q8(SQ_ISA_AVX2, &g64, packed, sc, NULL, x, y, 1, 0, 4) == SQ_ERR_ISA, "q8 avx2");
    CHECK(sq_packed_matmul_q8(SQ_ISA_AUTO, &g64, packed, sc, sc, x, y, 1, 0, 4) == SQ_ERR_ARG, "q8 sym with zeros");
    CHECK(sq_packed_matmul_q8(SQ_ISA_AUTO, &g64, packed, sc, NULL, x, y, 0, 0, 4) == SQ_ERR_ARG, "q8 batch 0");
    CHECK(sq_packed_matmul_q8(SQ_ISA_AUTO, &g64, packed, sc, NULL, x, y, 1, 0, 5) == SQ_ERR_ARG, "q8 row_end");
    CHECK(sq_packed_matmul_q8(SQ_ISA_AUTO, &g64, NULL, sc, NULL, x, y, 1, 0, 4) == SQ_ERR_ARG, "q8 NULL packed");
    CHECK(sq_packed_matmul_q8(SQ_ISA_AUTO, &g64, packed, sc, NULL, x, y, 1, 0, 4) == SQ_OK, "q8 zero input");
    for (int i = 0; i < 4; i++) CHECK(y[i] == 0.0f, "q8 zero input gives %g", y[i]);
    for (int i = SQ_ISA_SCALAR; i <= SQ_ISA_AVX512; i++) {
        if (sq_packed_q8_isa_supported((sq_isa) i)) {
            printf("q8 %-7s worst |y - q8 oracle| / M = %.3g (tolerance %.1g)\n", sq_isa_name((sq_isa) i), q8_worst[i], REL_TOL);
        }
    }
    printf("q8 accuracy cost (int8 activations vs fp32 product, random codes and x): relative L2 error mean %.2e, max %.2e "
           "over %d cases\n", q8_cost_sum / (q8_cost_n ? q8_cost_n : 1), q8_cost_max, q8_cost_n);
}

int main(void) {
    printf("packed kernels: best path %s; avx2 %s, avx512 %s, avx512-vnni %s\n", sq_isa_name(sq_packed_best_isa()),
           sq_packed_isa_supported(SQ_ISA_AVX2) ? "yes" : "no", sq_packed_isa_supported(SQ_ISA_AVX512) ? "yes" : "no",
           sq_cpu_has_avx512_vnni() ? "yes" : "no");
    test_f16();
    test_layout();
    test_bad_args();

    int cases = 0;
    /* Every width x symmetric/asymmetric x fp16/fp32 x group sizes (dividing, not dividing, whole row, tiny),
     * odd shapes, and a batch that walks 1..17 so the one-pass and the multi-pass paths both run. */
    static const int shapes[][2] = {{1, 1}, {3, 7}, {5, 130}, {17, 257}, {33, 100}, {2, 640}, {19, 1000}};
    for (int bits = 2; bits <= 8; bits++) {
        for (int sym = 0; sym <= 1; sym++) {
            for (int st = 0; st <= 1; st++) {
                for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
                    const int rows = shapes[s][0], cols = shapes[s][1];
                    const int groups[] = {32, 128, 100, cols, 7, 16};
                    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
                        const int batch = 1 + cases % 17;
                        run_case((tcase){rows, cols, bits, groups[g], sym, st, batch});
                        cases++;
                    }
                }
            }
        }
    }
    /* Batch sweep 1..17 and beyond (tiled prefill path, remainders) on a wider shape. */
    for (int batch = 1; batch <= 17; batch++) {
        run_case((tcase){23, 4099, 4, 128, 0, SQ_SCALE_F16, batch});
        run_case((tcase){9, 515, 3 + batch % 6, 100, batch % 2, batch % 2, batch});
        cases += 2;
    }
    const int big_batches[] = {31, 33, 48, 70};
    for (size_t i = 0; i < sizeof big_batches / sizeof big_batches[0]; i++) {
        run_case((tcase){37, 1100, 2 + (int) i, 128, 0, SQ_SCALE_F32, big_batches[i]});
        run_case((tcase){64, 256, 8 - (int) i, 32, 1, SQ_SCALE_F16, big_batches[i]});
        run_case((tcase){5, 90, 5, 100, 0, SQ_SCALE_F16, big_batches[i]});
        cases += 3;
    }
    test_q8();
    for (int i = SQ_ISA_SCALAR; i <= SQ_ISA_AVX512; i++) {
        if (sq_packed_isa_supported((sq_isa) i)) {
            printf("%-7s worst |y - oracle| / M = %.3g (tolerance %.1g)\n", sq_isa_name((sq_isa) i), worst_by_isa[i],
                   REL_TOL);
        }
    }
    printf("%d cases, %d failures\n", cases, failures);
    return failures == 0 ? 0 : 1;
}
