/*
 * C unit test of sparse.h (run by ctest): every compiled path of the N:M, CSR and dense products against an
 * oracle that builds the dense matrix from this file's own description of the sparsity (positions drawn
 * here, packed by this file's packer, fp16 decoded by this file's ldexp-based decoder) and accumulates in
 * double. Then the structural errors: positions >= m, columns out of range, row pointers out of order, bad
 * row ranges, null pointers, must come back as a status, never as a crash.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sparse.h"

/*
 * |kernel - oracle| <= REL_TOL * sum |w| |x| per output. Float accumulation of zero-mean terms stays near
 * u * magnitude (u = 6e-8); a wrong position, a wrong value or a dropped group errs by about
 * 1 / (kept values per row) of the magnitude, >= 2e-4 at the widest row here.
 */
#define REL_TOL 1e-5

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint32_t next_u32(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t) ((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}
static float uniform(float lo, float hi) { return lo + (hi - lo) * (float) (next_u32() / 4294967296.0); }

/* The test's own fp16 decoder (normal numbers and zero only: the generator makes nothing else). */
static double half_value(uint16_t h) {
    const int e = (h >> 10) & 0x1F, man = h & 0x3FF;
    const double mag = e == 0 ? ldexp(man, -24) : ldexp(1024 + man, e - 25);
    return (h & 0x8000) ? -mag : mag;
}
/* A random normal fp16 of magnitude 2^-4 .. 2: exponent 11..15 (bias 15). */
static uint16_t random_half(void) {
    const uint16_t e = (uint16_t) (11 + next_u32() % 5), man = (uint16_t) (next_u32() & 0x3FF);
    return (uint16_t) (((next_u32() & 1) << 15) | (e << 10) | man);
}

static int failures = 0;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf("FAIL %s:%d: ", __FILE__, __LINE__); \
    printf(__VA_ARGS__); printf("\n"); } } while (0)

static const sq_isa PATHS[] = {SQ_ISA_SCALAR, SQ_ISA_AVX2, SQ_SPARSE_ISA_AVX512};
#define NPATHS 3

/* Compares y (batch x rows, only rows [r0, r1)) with the oracle; returns the worst relative error. */
static double compare(const float *y, const double *want, const double *mag, int batch, int rows, int r0, int r1) {
    double worst = 0.0;
    for (int b = 0; b < batch; b++) {
        for (int r = r0; r < r1; r++) {
            const int i = b * rows + r;
            const double err = fabs(y[i] - want[i]) / (mag[i] > 0 ? mag[i] : 1.0);
            if (!(err <= worst)) worst = err; /* NaN propagates as failure */
        }
    }
    return worst;
}

/* Oracle y = W x (+ y0) in double, magnitude sum |w| |x| (+ |y0|). */
static void oracle(const double *wd, const float *x, const float *y0, double *want, double *mag, int rows, int cols,
                   int batch) {
    for (int b = 0; b < batch; b++) {
        for (int r = 0; r < rows; r++) {
            double s = y0 ? y0[b * rows + r] : 0.0, a = y0 ? fabs(y0[b * rows + r]) : 0.0;
            for (int c = 0; c < cols; c++) {
                s += wd[(size_t) r * cols + c] * x[b * cols + c];
                a += fabs(wd[(size_t) r * cols + c] * x[b * cols + c]);
            }
            want[b * rows + r] = s;
            mag[b * rows + r] = a;
        }
    }
}

/* ---- N:M -------------------------------------------------------------------------------------------------- */

static void nm_case(int rows, int cols, int n, int m, sq_dtype dtype, int batch) {
    const int64_t groups = (cols + m - 1) / m, per_row = groups * n;
    const int packed2 = n == 2 && m == 4;
    const int64_t stride = packed2 ? (groups + 1) / 2 : per_row;
    uint8_t *index = calloc((size_t) (rows * stride + 1), 1);
    uint16_t *h = malloc(sizeof(uint16_t) * (size_t) (rows * per_row));
    float *f = malloc(sizeof(float) * (size_t) (rows * per_row));
    double *wd = calloc((size_t) rows * cols, sizeof(double));
    float *x = malloc(sizeof(float) * (size_t) batch * cols);
    float *y = malloc(sizeof(float) * (size_t) batch * rows);
    double *want = malloc(sizeof(double) * (size_t) batch * rows), *mag = malloc(sizeof(double) * (size_t) batch * rows);
    for (int r = 0; r < rows; r++) {
        for (int64_t g = 0; g < groups; g++) {
            /* n distinct positions of m, ascending (a partial-fisher-yates draw, then sorted). */
            int perm[255], pos[255];
            for (int i = 0; i < m; i++) perm[i] = i;
            for (int i = 0; i < n; i++) {
                const int j = i + (int) (next_u32() % (uint32_t) (m - i));
                const int t = perm[i]; perm[i] = perm[j]; perm[j] = t;
                pos[i] = perm[i];
            }
            for (int i = 1; i < n; i++) for (int j = i; j > 0 && pos[j - 1] > pos[j]; j--) {
                const int t = pos[j]; pos[j] = pos[j - 1]; pos[j - 1] = t;
            }
            for (int t = 0; t < n; t++) {
                const int64_t j = g * n + t, k = r * per_row + j;
                if (packed2) index[r * stride + (j >> 2)] |= (uint8_t) (pos[t] << ((j & 3) * 2));
                else index[r * stride + j] = (uint8_t) pos[t];
                h[k] = random_half();
                f[k] = uniform(-1.0f, 1.0f);
                const int64_t c = g * m + pos[t];
                if (c < cols) wd[(size_t) r * cols + c] = dtype == SQ_DTYPE_F16 ? half_value(h[k]) : (double) f[k];
            }
        }
    }
    for (int64_t i = 0; i < (int64_t) batch * cols; i++) x[i] = uniform(-2.0f, 2.0f);
    oracle(wd, x, NULL, want, mag, rows, cols, batch);
    const sq_nm_matrix w = {rows, cols, n, m, dtype, dtype == SQ_DTYPE_F16 ? (const void *) h : (const void *) f, index};
    for (int p = 0; p < NPATHS; p++) {
        if (!sq_sparse_isa_supported(PATHS[p])) continue;
        for (int i = 0; i < batch * rows; i++) y[i] = NAN;
        sq_status st = sq_nm_matmul(PATHS[p], &w, x, y, batch, 0, rows);
        double err = compare(y, want, mag, batch, rows, 0, rows);
        CHECK(st == SQ_OK && err <= REL_TOL, "nm %dx%d %d:%d %s batch %d path %s: status %d, rel err %.3g", rows,
              cols, n, m, dtype == SQ_DTYPE_F16 ? "f16" : "f32", batch, sq_sparse_isa_name(PATHS[p]), (int) st, err);
        /* A row range writes its rows and nothing else. */
        if (rows >= 3) {
            for (int i = 0; i < batch * rows; i++) y[i] = -7.0f;
            st = sq_nm_matmul(PATHS[p], &w, x, y, batch, 1, rows - 1);
            err = compare(y, want, mag, batch, rows, 1, rows - 1);
            int untouched = 1;
            for (int b = 0; b < batch; b++) untouched &= y[b * rows] == -7.0f && y[b * rows + rows - 1] == -7.0f;
            CHECK(st == SQ_OK && err <= REL_TOL && untouched, "nm row range %s: status %d err %.3g untouched %d",
                  sq_sparse_isa_name(PATHS[p]), (int) st, err, untouched);
        }
    }
    free(index); free(h); free(f); free(wd); free(x); free(y); free(want); free(mag);
}

/* ---- CSR -------------------------------------------------------------------------------------------------- */

static void csr_case(int rows, int cols, double density, int use16, int batch) {
    int32_t *rp = malloc(sizeof(int32_t) * (size_t) (rows + 1));
    const int cap = (int) (rows * (double) cols * density) + rows + 16;
    int32_t *c32 = malloc(sizeof(int32_t) * (size_t) cap);
    uint16_t *c16 = malloc(sizeof(uint16_t) * (size_t) cap);
    float *v = malloc(sizeof(float) * (size_t) cap);
    double *wd = calloc((size_t) rows * cols, sizeof(double));
    float *x = malloc(sizeof(float) * (size_t) batch * cols), *y0 = malloc(sizeof(float) * (size_t) batch * rows);
    float *y = malloc(sizeof(float) * (size_t) batch * rows);
    double *want = malloc(sizeof(double) * (size_t) batch * rows), *mag = malloc(sizeof(double) * (size_t) batch * rows);
    int nnz = 0;
    rp[0] = 0;
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols && nnz < cap; c++) {
            if (next_u32() < density * 4294967296.0) {
                c32[nnz] = c;
                c16[nnz] = (uint16_t) c;
                v[nnz] = uniform(-1.0f, 1.0f);
                wd[(size_t) r * cols + c] = v[nnz];
                nnz++;
            }
        }
        rp[r + 1] = nnz;
    }
    for (int64_t i = 0; i < (int64_t) batch * cols; i++) x[i] = uniform(-2.0f, 2.0f);
    for (int64_t i = 0; i < (int64_t) batch * rows; i++) y0[i] = uniform(-1.0f, 1.0f);
    oracle(wd, x, y0, want, mag, rows, cols, batch);
    const sq_csr_matrix s = {rows, cols, nnz, rp, use16 ? NULL : c32, use16 ? c16 : NULL, v};
    for (int p = 0; p < NPATHS; p++) {
        if (!sq_sparse_isa_supported(PATHS[p])) continue;
        memcpy(y, y0, sizeof(float) * (size_t) batch * rows);
        const sq_status st = sq_csr_matmul_add(PATHS[p], &s, x, y, batch, 0, rows);
        const double err = compare(y, want, mag, batch, rows, 0, rows);
        CHECK(st == SQ_OK && err <= REL_TOL, "csr %dx%d density %.3f col%d batch %d path %s: status %d err %.3g",
              rows, cols, density, use16 ? 16 : 32, batch, sq_sparse_isa_name(PATHS[p]), (int) st, err);
    }
    free(rp); free(c32); free(c16); free(v); free(wd); free(x); free(y0); free(y); free(want); free(mag);
}

/* ---- dense ------------------------------------------------------------------------------------------------ */

static void dense_case(int rows, int cols, sq_dtype dtype, int batch) {
    uint16_t *h = malloc(sizeof(uint16_t) * (size_t) rows * cols);
    float *f = malloc(sizeof(float) * (size_t) rows * cols);
    double *wd = malloc(sizeof(double) * (size_t) rows * cols);
    float *x = malloc(sizeof(float) * (size_t) batch * cols), *y = malloc(sizeof(float) * (size_t) batch * rows);
    double *want = malloc(sizeof(double) * (size_t) batch * rows), *mag = malloc(sizeof(double) * (size_t) batch * rows);
    for (int64_t i = 0; i < (int64_t) rows * cols; i++) {
        h[i] = random_half();
        f[i] = uniform(-1.0f, 1.0f);
        wd[i] = dtype == SQ_DTYPE_F16 ? half_value(h[i]) : (double) f[i];
    }
    for (int64_t i = 0; i < (int64_t) batch * cols; i++) x[i] = uniform(-2.0f, 2.0f);
    oracle(wd, x, NULL, want, mag, rows, cols, batch);
    const sq_dense_matrix w = {rows, cols, dtype, dtype == SQ_DTYPE_F16 ? (const void *) h : (const void *) f};
    for (int p = 0; p < NPATHS; p++) {
        if (!sq_sparse_isa_supported(PATHS[p])) continue;
        for (int i = 0; i < batch * rows; i++) y[i] = NAN;
        const sq_status st = sq_dense_matmul(PATHS[p], &w, x, y, batch, 0, rows);
        const double err = compare(y, want, mag, batch, rows, 0, rows);
        CHECK(st == SQ_OK && err <= REL_TOL, "dense %dx%d %s batch %d path %s: status %d err %.3g", rows, cols,
              dtype == SQ_DTYPE_F16 ? "f16" : "f32", batch, sq_sparse_isa_name(PATHS[p]), (int) st, err);
    }
    free(h); free(f); free(wd); free(x); free(y); free(want); free(mag);
}

/* ---- structural errors -------------------------------------------------------------------------------------- */

static void safety(void) {
    float x[64] = {0}, y[64] = {0};
    /* 4:8 with a position of 8 (>= m) in row 1. */
    uint8_t idx[2 * 4] = {0, 1, 2, 3, 0, 1, 8, 3};
    float v[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    sq_nm_matrix w = {2, 8, 4, 8, SQ_DTYPE_F32, v, idx};
    /* 2:4 packed cannot hold a position >= 4; its padding (cols 6 of a 8-wide last group) is skipped. */
    uint8_t idx24[2] = {0xFF, 0xFF};
    uint16_t h24[4] = {0x3C00, 0x3C00, 0x3C00, 0x3C00};
    sq_nm_matrix w24 = {1, 6, 2, 4, SQ_DTYPE_F16, h24, idx24};
    for (int i = 0; i < 6; i++) x[i] = 1.0f;
    for (int p = 0; p < NPATHS; p++) {
        const sq_isa isa = PATHS[p];
        if (!sq_sparse_isa_supported(isa)) {
            CHECK(sq_nm_matmul(isa, &w, x, y, 1, 0, 2) == SQ_ERR_ISA, "unsupported path %d", (int) isa);
            continue;
        }
        CHECK(sq_nm_matmul(isa, &w, x, y, 1, 0, 2) == SQ_ERR_INDEX, "position >= m, %s", sq_sparse_isa_name(isa));
        CHECK(sq_nm_matmul(isa, &w, x, y, 1, 0, 1) == SQ_OK, "row 0 alone is valid, %s", sq_sparse_isa_name(isa));
        /* Row 0 of 2:4, positions 3,3 | 3,3: columns 3, 3 and 7, 7; 7 >= 6 is padding. */
        y[0] = 0;
        CHECK(sq_nm_matmul(isa, &w24, x, y, 1, 0, 1) == SQ_OK && y[0] == 2.0f, "2:4 padding skipped, %s: y=%g",
              sq_sparse_isa_name(isa), (double) y[0]);
        sq_nm_matrix bad = w;
        bad.n = 9;
        CHECK(sq_nm_matmul(isa, &bad, x, y, 1, 0, 2) == SQ_ERR_ARG, "n > m");
        bad = w;
        bad.m = 0;
        CHECK(sq_nm_matmul(isa, &bad, x, y, 1, 0, 2) == SQ_ERR_ARG, "m = 0");
        bad = w;
        bad.index = NULL;
        CHECK(sq_nm_matmul(isa, &bad, x, y, 1, 0, 2) == SQ_ERR_ARG, "null index");
        CHECK(sq_nm_matmul(isa, &w, x, y, 1, 1, 3) == SQ_ERR_ARG, "row_end > rows");
        CHECK(sq_nm_matmul(isa, &w, x, y, 1, 2, 1) == SQ_ERR_ARG, "row_end < row_begin");
        CHECK(sq_nm_matmul(isa, &w, x, y, 0, 0, 1) == SQ_ERR_ARG, "batch 0");
        CHECK(sq_nm_matmul(isa, &w, NULL, y, 1, 0, 1) == SQ_ERR_ARG, "null x");

        int32_t rp[3] = {0, 2, 3}, col[3] = {0, 5, 1};
        uint16_t col16[3] = {0, 5, 1};
        float sv[3] = {1, 2, 3};
        sq_csr_matrix s = {2, 6, 3, rp, col, NULL, sv};
        CHECK(sq_csr_matmul_add(isa, &s, x, y, 1, 0, 2) == SQ_OK, "valid CSR, %s", sq_sparse_isa_name(isa));
        int32_t colbad[3] = {0, 6, 1};
        s.col32 = colbad;
        CHECK(sq_csr_matmul_add(isa, &s, x, y, 1, 0, 2) == SQ_ERR_INDEX, "col = cols, %s", sq_sparse_isa_name(isa));
        int32_t colneg[3] = {0, -1, 1};
        s.col32 = colneg;
        CHECK(sq_csr_matmul_add(isa, &s, x, y, 1, 0, 2) == SQ_ERR_INDEX, "col < 0, %s", sq_sparse_isa_name(isa));
        uint16_t col16bad[3] = {0, 65535, 1};
        s.col32 = NULL;
        s.col16 = col16bad;
        CHECK(sq_csr_matmul_add(isa, &s, x, y, 1, 0, 2) == SQ_ERR_INDEX, "col16 out of range, %s",
              sq_sparse_isa_name(isa));
        s.col16 = col16;
        CHECK(sq_csr_matmul_add(isa, &s, x, y, 1, 0, 2) == SQ_OK, "valid col16, %s", sq_sparse_isa_name(isa));
        /* Batch >= 2 with at least cols non-zeros: the transposed CSR form checks its columns too. */
        int32_t rpt[3] = {0, 2, 4}, colt[4] = {0, 1, 1, 2};
        float svt[4] = {1, 2, 3, 4};
        const sq_csr_matrix st = {2, 2, 4, rpt, colt, NULL, svt};
        CHECK(sq_csr_matmul_add(isa, &st, x, y, 3, 0, 2) == SQ_ERR_INDEX, "transposed form: col = cols, %s",
              sq_sparse_isa_name(isa));
        colt[3] = 0;
        float yt[6] = {0}, xt[6] = {1, 10, 2, 20, 3, 30};
        CHECK(sq_csr_matmul_add(isa, &st, xt, yt, 3, 0, 2) == SQ_OK && yt[0] == 21 && yt[1] == 34 && yt[2] == 42
              && yt[3] == 68 && yt[4] == 63 && yt[5] == 102, "transposed form values, %s", sq_sparse_isa_name(isa));
        int32_t rpdown[3] = {0, 3, 2};
        s.row_ptr = rpdown;
        CHECK(sq_csr_matmul_add(isa, &s, x, y, 1, 0, 2) == SQ_ERR_INDEX, "row_ptr decreasing");
        int32_t rpover[3] = {0, 2, 4};
        s.row_ptr = rpover;
        CHECK(sq_csr_matmul_add(isa, &s, x, y, 1, 0, 2) == SQ_ERR_INDEX, "row_ptr beyond nnz");
        int32_t rpneg[3] = {-1, 2, 3};
        s.row_ptr = rpneg;
        CHECK(sq_csr_matmul_add(isa, &s, x, y, 1, 0, 2) == SQ_ERR_INDEX, "row_ptr negative");
        s.row_ptr = rp;
        s.col32 = col;
        CHECK(sq_csr_matmul_add(isa, &s, x, y, 1, 0, 2) == SQ_ERR_ARG, "both index arrays");
        s.col32 = NULL;
        s.col16 = NULL;
        CHECK(sq_csr_matmul_add(isa, &s, x, y, 1, 0, 2) == SQ_ERR_ARG, "no index array");

        sq_dense_matrix d = {2, 3, (sq_dtype) 7, v};
        CHECK(sq_dense_matmul(isa, &d, x, y, 1, 0, 2) == SQ_ERR_ARG, "bad dtype");
        d.dtype = SQ_DTYPE_F32;
        d.rows = -1;
        CHECK(sq_dense_matmul(isa, &d, x, y, 1, 0, 2) == SQ_ERR_ARG, "negative rows");
    }
}

int main(void) {
    printf("sparse kernels, best path here: %s\n", sq_sparse_isa_name(sq_sparse_best_isa()));
    /* fp16 round trip of the library's converters against the test's decoder. */
    for (int i = 0; i < 2000; i++) {
        const uint16_t h = random_half();
        CHECK(sq_half_to_float(h) == (float) half_value(h), "half %04x", h);
        CHECK(sq_float_to_half((float) half_value(h)) == h, "to half %04x", h);
    }
    static const int NM[][2] = {{2, 4}, {1, 4}, {4, 8}, {2, 8}, {3, 4}, {1, 2}, {16, 32}};
    static const int SHAPES[][2] = {{1, 4}, {3, 6}, {5, 32}, {7, 64}, {4, 100}, {9, 257}, {2, 1030}, {17, 96}};
    for (size_t a = 0; a < sizeof NM / sizeof NM[0]; a++) {
        for (size_t s = 0; s < sizeof SHAPES / sizeof SHAPES[0]; s++) {
            const int batch = 1 + (int) ((a * 7 + s * 5) % 17); /* 1..17 across the cases */
            nm_case(SHAPES[s][0], SHAPES[s][1], NM[a][0], NM[a][1], (s & 1) ? SQ_DTYPE_F32 : SQ_DTYPE_F16, batch);
        }
    }
    for (int batch = 1; batch <= 17; batch++) {
        nm_case(6, 136, 2, 4, batch & 1 ? SQ_DTYPE_F16 : SQ_DTYPE_F32, batch);
        csr_case(5, 300, 0.05 + 0.02 * batch, batch & 1, batch);
        dense_case(5, 37 + 8 * batch, batch & 1 ? SQ_DTYPE_F16 : SQ_DTYPE_F32, batch);
    }
    csr_case(40, 70000, 0.001, 0, 3); /* columns beyond uint16 */
    csr_case(3, 10, 0.0, 1, 2);       /* empty */
    csr_case(8, 64, 1.0, 0, 16);      /* full */
    nm_case(3, 4096, 2, 4, SQ_DTYPE_F16, 16);
    dense_case(3, 4096, SQ_DTYPE_F16, 16);
    safety();
    if (failures) {
        printf("%d checks FAILED\n", failures);
        return 1;
    }
    printf("all sparse checks passed\n");
    return 0;
}
