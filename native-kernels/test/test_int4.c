/*
 * C unit test (run by ctest during the Maven build): every compiled path against an oracle that
 * dequantizes each weight from an unpacked code matrix and accumulates in double. The codes are packed
 * by this file's own packer, so the packing convention (even column in the low nibble) is checked too.
 * Expected values come from this generator, never from the code under test.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "int4_matvec.h"

/*
 * Tolerance on |kernel - oracle| relative to the magnitude sum_c |s| (|q| + |z|) |x_c|, which bounds every
 * partial sum of both the direct and the zero-factored formula. With zero-mean random x the rounding
 * error of a float sum stays near u * magnitude whatever its length (u = 6e-8; worst seen 5e-8 across
 * these shapes and paths). 1e-6 (about 16u) leaves a 20x margin, while one wrong nibble (|dq| >= 1) or
 * a wrong group index errs by about 1 / (15 cols) of the magnitude: 1.6e-5 at 4099 columns.
 */
#define REL_TOL 1e-6

typedef struct { int rows, cols, group_size, batch; } shape;

static const shape SHAPES[] = {
    {1, 1, 1, 1},     {3, 7, 2, 1},     {5, 130, 128, 1},  {8, 256, 128, 1},  {4, 100, 32, 3},
    {7, 333, 37, 2},  {16, 1000, 33, 5}, {2, 64, 64, 1},   {3, 31, 128, 4},   {9, 4099, 128, 8},
    {6, 48, 7, 1},    {33, 515, 1, 2},  {4, 72, 9, 6},     {2, 96, 32, 4},    {1, 17, 16, 7},
};

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t next_u32(void) { /* xorshift64*: deterministic across platforms */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t) ((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}
static float uniform(float lo, float hi) { return lo + (hi - lo) * (float) (next_u32() / 4294967296.0); }

static int run_shape(shape s) {
    const int64_t stride = sq_int4_row_stride(s.cols), ng = sq_int4_groups(s.cols, s.group_size);
    int *q = malloc(sizeof(int) * (size_t) s.rows * s.cols);
    uint8_t *codes = calloc((size_t) (s.rows * stride), 1);
    float *scales = malloc(sizeof(float) * (size_t) (s.rows * ng));
    float *zeros = malloc(sizeof(float) * (size_t) (s.rows * ng));
    float *x = malloc(sizeof(float) * (size_t) s.batch * s.cols);
    float *y = malloc(sizeof(float) * (size_t) s.batch * s.rows);
    double *want = malloc(sizeof(double) * (size_t) s.batch * s.rows);
    double *mag = malloc(sizeof(double) * (size_t) s.batch * s.rows);
    for (int r = 0; r < s.rows; r++) {
        for (int c = 0; c < s.cols; c++) {
            const int v = (int) (next_u32() & 15u);
            q[r * s.cols + c] = v;
            codes[r * stride + c / 2] |= (uint8_t) (c % 2 == 0 ? v : v << 4);
        }
    }
    for (int64_t i = 0; i < s.rows * ng; i++) {
        scales[i] = uniform(-0.1f, 0.1f);
        zeros[i] = uniform(0.0f, 15.0f);
    }
    for (int64_t i = 0; i < (int64_t) s.batch * s.cols; i++) x[i] = uniform(-2.0f, 2.0f);
    for (int b = 0; b < s.batch; b++) {
        for (int r = 0; r < s.rows; r++) {
            double acc = 0.0, m = 0.0;
            for (int c = 0; c < s.cols; c++) {
                const int64_t g = r * ng + c / s.group_size;
                const float wq = scales[g] * ((float) q[r * s.cols + c] - zeros[g]);
                acc += (double) wq * x[b * s.cols + c];
                m += fabs(scales[g]) * (q[r * s.cols + c] + fabs(zeros[g])) * fabs(x[b * s.cols + c]);
            }
            want[b * s.rows + r] = acc;
            mag[b * s.rows + r] = m;
        }
    }
    const sq_int4_matrix w = {s.rows, s.cols, s.group_size, codes, scales, zeros};
    int failures = 0;
    const sq_isa isas[] = {SQ_ISA_SCALAR, SQ_ISA_AVX2, SQ_ISA_AUTO};
    for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++) {
        const char *label = isas[k] == SQ_ISA_AUTO ? "auto" : sq_isa_name(isas[k]);
        if (isas[k] != SQ_ISA_AUTO && !sq_int4_isa_supported(isas[k])) {
            printf("  skip %s: not supported here\n", sq_isa_name(isas[k]));
            continue;
        }
        for (int64_t i = 0; i < (int64_t) s.batch * s.rows; i++) y[i] = NAN;
        const sq_status st = sq_int4_matvec(isas[k], &w, x, y, s.batch);
        double worst = 0.0;
        if (st != SQ_OK) {
            printf("FAIL %dx%d g%d b%d %s: status %d\n", s.rows, s.cols, s.group_size, s.batch, label, (int) st);
            failures++;
            continue;
        }
        for (int64_t i = 0; i < (int64_t) s.batch * s.rows; i++) {
            const double rel = fabs(y[i] - want[i]) / (mag[i] + 1e-30);
            if (!(rel <= REL_TOL)) { /* negated so that NaN fails */
                if (failures < 10) {
                    printf("FAIL %dx%d g%d b%d %s: y[%lld] = %.9g, want %.9g (rel %.3g)\n", s.rows, s.cols,
                           s.group_size, s.batch, label, (long long) i, y[i], want[i], rel);
                }
                failures++;
            }
            if (rel > worst) worst = rel;
        }
        printf("  %4dx%-5d g%-4d b%d %-6s worst rel error %.2e\n", s.rows, s.cols, s.group_size, s.batch, label,
               worst);
    }
    free(q); free(codes); free(scales); free(zeros); free(x); free(y); free(want); free(mag);
    return failures;
}

static int check_arg_errors(void) {
    uint8_t codes[1] = {0};
    float f[2] = {0, 0}, y[1];
    int failures = 0;
    const sq_int4_matrix bad_rows = {0, 1, 1, codes, f, f};
    const sq_int4_matrix bad_ptr = {1, 1, 1, NULL, f, f};
    const sq_int4_matrix ok = {1, 1, 1, codes, f, f};
    failures += sq_int4_matvec(SQ_ISA_AUTO, &bad_rows, f, y, 1) != SQ_ERR_ARG;
    failures += sq_int4_matvec(SQ_ISA_AUTO, &bad_ptr, f, y, 1) != SQ_ERR_ARG;
    failures += sq_int4_matvec(SQ_ISA_AUTO, &ok, f, y, 0) != SQ_ERR_ARG;
    failures += sq_int4_matvec(SQ_ISA_AUTO, &ok, NULL, y, 1) != SQ_ERR_ARG;
    failures += sq_int4_matvec((sq_isa) 99, &ok, f, y, 1) != SQ_ERR_ISA;
    if (failures) printf("FAIL argument checks: %d wrong statuses\n", failures);
    return failures;
}

int main(void) {
    printf("best isa: %s\n", sq_isa_name(sq_int4_best_isa()));
    int failures = check_arg_errors();
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++) failures += run_shape(SHAPES[i]);
    printf(failures ? "test_int4: %d FAILURES\n" : "test_int4: all passed\n", failures);
    return failures ? 1 : 0;
}
