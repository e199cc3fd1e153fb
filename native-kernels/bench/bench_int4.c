/*
 * bench_int4: times the int4 kernel without a JVM.
 *
 *   bench_int4                                  default cases (see CASES below)
 *   bench_int4 ROWS COLS GROUP BATCH [REPS]     one case
 *
 * Weights rotate through enough copies to total >= 512 MiB (16x a 32 MiB L3; still above the 300 MiB L3
 * of some cloud Xeons), so every call streams its weights from memory, as a layer-by-layer forward pass
 * does. SQ_BENCH_ROTATE_MB overrides the total (e.g. 1 to measure in-cache compute speed). Reports the median (the machine is
 * shared and noisy), GB/s of weight bytes (codes + float scales + float zeros) and the speed-up over
 * the scalar reference measured in the same run on the same buffers.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "int4_matvec.h"


typedef struct { int rows, cols, group_size, batch, reps; } bench_case;

static const bench_case CASES[] = {
    {4096, 14336, 128, 1, 31},
    {4096, 4096, 128, 1, 61},
    {4096, 14336, 128, 8, 15},
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static uint64_t rng = 88172645463325252ull;
static uint32_t next_u32(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t) rng;
}

/* Sums n bytes as 64-bit words (n rounded down): a read-only pass, the floor any kernel pays. */
static uint64_t read_words(const void *p, size_t n) {
    const uint64_t *w = p;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    size_t i = 0;
    for (; i + 4 <= n / 8; i += 4) {
        a += w[i];
        b += w[i + 1];
        c += w[i + 2];
        d += w[i + 3];
    }
    return a + b + c + d;
}

/* Median seconds to read one buffer's weight bytes, rotating like the kernels do. */
static double time_read(const sq_int4_matrix *w, int nbuf, size_t code_bytes, size_t param_bytes, int reps) {
    double *t = malloc(sizeof(double) * (size_t) reps);
    volatile uint64_t sink = 0;
    for (int i = 0; i < reps; i++) {
        const sq_int4_matrix *m = &w[i % nbuf];
        const double t0 = now_s();
        sink += read_words(m->codes, code_bytes) + read_words(m->scales, param_bytes / 2)
                + read_words(m->zeros, param_bytes / 2);
        t[i] = now_s() - t0;
    }
    (void) sink;
    qsort(t, (size_t) reps, sizeof(double), cmp_double);
    const double median = t[reps / 2];
    free(t);
    return median;
}

/* Median seconds per call over reps calls, rotating through nbuf weight copies, after one warm-up pass. */
static double time_isa(sq_isa isa, const sq_int4_matrix *w, int nbuf, const float *x, float *y, int batch,
                       int reps) {
    double *t = malloc(sizeof(double) * (size_t) reps);
    for (int i = 0; i < nbuf; i++) {
        if (sq_int4_matvec(isa, &w[i], x, y, batch) != SQ_OK) {
            fprintf(stderr, "kernel failed\n");
            exit(2);
        }
    }
    for (int i = 0; i < reps; i++) {
        const double t0 = now_s();
        sq_int4_matvec(isa, &w[i % nbuf], x, y, batch);
        t[i] = now_s() - t0;
    }
    qsort(t, (size_t) reps, sizeof(double), cmp_double);
    const double median = t[reps / 2];
    free(t);
    return median;
}

static void run(bench_case bc) {
    const int64_t stride = sq_int4_row_stride(bc.cols), ng = sq_int4_groups(bc.cols, bc.group_size);
    const double code_bytes = (double) bc.rows * (double) stride;
    const double param_bytes = 2.0 * sizeof(float) * (double) bc.rows * (double) ng;
    const double weight_bytes = code_bytes + param_bytes;
    const char *rotate_mb = getenv("SQ_BENCH_ROTATE_MB");
    const double rotate_bytes = (rotate_mb != NULL ? atof(rotate_mb) : 512.0) * 1024 * 1024;
    int nbuf = (int) ceil(rotate_bytes / weight_bytes);
    if (nbuf < 1) nbuf = 1;

    sq_int4_matrix *w = malloc(sizeof(sq_int4_matrix) * (size_t) nbuf);
    for (int i = 0; i < nbuf; i++) {
        uint8_t *codes = malloc((size_t) code_bytes);
        float *scales = malloc(sizeof(float) * (size_t) (bc.rows * ng));
        float *zeros = malloc(sizeof(float) * (size_t) (bc.rows * ng));
        for (int64_t k = 0; k < (int64_t) code_bytes; k++) codes[k] = (uint8_t) next_u32();
        for (int64_t k = 0; k < bc.rows * ng; k++) {
            scales[k] = 0.001f + (float) (next_u32() % 1000) * 1e-5f;
            zeros[k] = (float) (next_u32() % 16);
        }
        w[i] = (sq_int4_matrix) {bc.rows, bc.cols, bc.group_size, codes, scales, zeros};
    }
    float *x = malloc(sizeof(float) * (size_t) bc.batch * bc.cols);
    float *y_fast = malloc(sizeof(float) * (size_t) bc.batch * bc.rows);
    float *y_ref = malloc(sizeof(float) * (size_t) bc.batch * bc.rows);
    for (int64_t k = 0; k < (int64_t) bc.batch * bc.cols; k++) x[k] = (float) (next_u32() % 2001) / 1000.0f - 1.0f;

    const sq_isa best = sq_int4_best_isa();
    /* The scalar path is ~10x slower: fewer repetitions keep the run short; still a median. */
    const int ref_reps = bc.reps / 4 < 5 ? 5 : bc.reps / 4;
    const double t_fast = time_isa(best, w, nbuf, x, y_fast, bc.batch, bc.reps);
    const double t_ref = time_isa(SQ_ISA_SCALAR, w, nbuf, x, y_ref, bc.batch, ref_reps);
    const double t_read = time_read(w, nbuf, (size_t) code_bytes, (size_t) param_bytes, bc.reps);

    /* Same inputs (the last buffer each ran on may differ): recompute both on buffer 0 for the check. */
    sq_int4_matvec(best, &w[0], x, y_fast, bc.batch);
    sq_int4_matvec(SQ_ISA_SCALAR, &w[0], x, y_ref, bc.batch);
    double max_rel = 0.0, max_ref = 0.0;
    for (int64_t k = 0; k < (int64_t) bc.batch * bc.rows; k++) max_ref = fmax(max_ref, fabs(y_ref[k]));
    for (int64_t k = 0; k < (int64_t) bc.batch * bc.rows; k++) {
        max_rel = fmax(max_rel, fabs(y_fast[k] - y_ref[k]) / (max_ref + 1e-30));
    }

    printf("%5d x %-5d g%-3d batch %-2d | %-6s median %8.3f ms %6.2f GB/s | scalar median %8.3f ms "
           "%6.2f GB/s | speed-up %5.2fx | read-only pass %6.2f GB/s | %2d buffers x %5.1f MB | max|diff|/max|y| %.0e\n",
           bc.rows, bc.cols, bc.group_size, bc.batch, sq_isa_name(best), 1e3 * t_fast, weight_bytes / t_fast / 1e9,
           1e3 * t_ref, weight_bytes / t_ref / 1e9, t_ref / t_fast, weight_bytes / t_read / 1e9, nbuf, weight_bytes / 1e6, max_rel);
    fflush(stdout);

    for (int i = 0; i < nbuf; i++) {
        free((void *) w[i].codes);
        free((void *) w[i].scales);
        free((void *) w[i].zeros);
    }
    free(w);
    free(x);
    free(y_fast);
    free(y_ref);
}

int main(int argc, char **argv) {
    if (argc >= 5) {
        bench_case bc = {atoi(argv[1]), atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argc >= 6 ? atoi(argv[5]) : 21};
        if (bc.rows <= 0 || bc.cols <= 0 || bc.group_size <= 0 || bc.batch <= 0 || bc.reps <= 0) {
            fprintf(stderr, "usage: %s [ROWS COLS GROUP BATCH [REPS]] (all > 0)\n", argv[0]);
            return 2;
        }
        run(bc);
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: %s [ROWS COLS GROUP BATCH [REPS]]\n", argv[0]);
        return 2;
    }
    printf("bench_int4: one thread; weight bytes = int4 codes + float32 scale and zero per group;\n"
           "read-only pass = plain 64-bit sum over the same bytes (the memory floor of this run)\n");
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) run(CASES[i]);
    return 0;
}
