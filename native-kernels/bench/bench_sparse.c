/*
 * bench_sparse: times the sparse products of sparse.h without a JVM, one thread.
 *
 *   bench_sparse            both parts below
 *   bench_sparse nm         part 1 only
 *   bench_sparse csr        part 2 only
 *
 * Part 1: 2:4 fp16 against dense fp16 and dense fp32 at 4096x14336 and 14336x4096 (rows x cols), batch 1, 8
 * and 16, on the best path this CPU has, with a plain read of the same bytes as the bandwidth floor.
 * Part 2: the CSR crossover: CSR (16-bit columns, fp32 values) at densities 0.5 % .. 60 % against the dense
 * fp16 and fp32 kernels on 4096x4096, batch 1 and 8: the density below which CSR is the faster form.
 *
 * Every case rotates through copies of its weights totalling >= 1 GiB (SQ_BENCH_ROTATE_MB overrides), so
 * each call streams from memory as a layer-by-layer forward pass does. Rounds of all kernels of a case are
 * interleaved (the machine is shared and noisy) and the median is reported, with GB/s of bytes the kernel
 * must read (weights + index) and the ratio to the dense fp16 kernel measured in the same run. The CPU model
 * is printed first.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sparse.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static double median(double *t, int n) {
    qsort(t, (size_t) n, sizeof(double), cmp_double);
    return t[n / 2];
}

static uint64_t rng = 88172645463325252ull;
static uint32_t next_u32(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t) rng;
}
static float uniform(void) { return (float) (next_u32() / 4294967296.0) * 2.0f - 1.0f; }

static void print_cpu(void) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    int found = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *v = strchr(line, ':');
            printf("CPU:%s", v ? v + 1 : line);
            found = 1;
            break;
        }
    }
    if (f != NULL) fclose(f);
    if (!found) printf("CPU: (unknown: no /proc/cpuinfo model name)\n");
    printf("path: %s (best on this CPU), one thread\n", sq_sparse_isa_name(sq_sparse_best_isa()));
}

static size_t rotate_bytes(void) {
    const char *e = getenv("SQ_BENCH_ROTATE_MB");
    const long mb = e ? atol(e) : 1024;
    return (size_t) (mb > 0 ? mb : 1) << 20;
}

/* nbuf copies of one buffer of n bytes, nbuf >= 1 chosen so that nbuf * n >= the rotation total. */
typedef struct { int nbuf; size_t bytes; void **copies; } rotation;

static rotation make_rotation(const void *src, size_t bytes) {
    rotation r;
    r.bytes = bytes;
    r.nbuf = (int) ((rotate_bytes() + bytes - 1) / bytes);
    if (r.nbuf < 1) r.nbuf = 1;
    r.copies = malloc(sizeof(void *) * (size_t) r.nbuf);
    for (int i = 0; i < r.nbuf; i++) {
        r.copies[i] = malloc(bytes);
        if (r.copies[i] == NULL) {
            fprintf(stderr, "out of memory allocating %d x %zu bytes\n", r.nbuf, bytes);
            exit(2);
        }
        memcpy(r.copies[i], src, bytes);
    }
    return r;
}

static void free_rotation(rotation *r) {
    for (int i = 0; i < r->nbuf; i++) free(r->copies[i]);
    free(r->copies);
}

static volatile uint64_t sink;
static void read_all(const void *p, size_t n) {
    const uint64_t *w = p;
    uint64_t a = 0, b = 0, c = 0, d = 0;
    for (size_t i = 0; i + 4 <= n / 8; i += 4) {
        a += w[i];
        b += w[i + 1];
        c += w[i + 2];
        d += w[i + 3];
    }
    sink += a + b + c + d;
}

static void check(sq_status st, const char *what) {
    if (st != SQ_OK) {
        fprintf(stderr, "%s failed with status %d\n", what, (int) st);
        exit(3);
    }
}

/* ---- part 1 ----------------------------------------------------------------------------------------------- */

static void nm_part(void) {
    static const int SHAPES[][2] = {{4096, 14336}, {14336, 4096}};
    static const int BATCHES[] = {1, 8, 16};
    printf("\n2:4 fp16 vs dense fp16 vs dense fp32 (ms median; GB/s of bytes read; x = speed-up over dense fp16)\n");
    printf("%-12s %5s | %9s %6s | %9s %6s | %9s %6s %6s | %8s\n", "rows x cols", "batch", "dense32", "GB/s",
           "dense16", "GB/s", "2:4 f16", "GB/s", "x", "read GB/s");
    for (size_t s = 0; s < 2; s++) {
        const int rows = SHAPES[s][0], cols = SHAPES[s][1];
        const int64_t nw = (int64_t) rows * cols;
        const int64_t groups = sq_nm_groups(cols, 4), nv = rows * groups * 2, ib = rows * sq_nm_index_stride(2, 4, cols);
        float *f32 = malloc(sizeof(float) * (size_t) nw);
        uint16_t *f16 = malloc(sizeof(uint16_t) * (size_t) nw);
        uint8_t *nm = malloc((size_t) (nv * 2 + ib)); /* values then index, one allocation per copy */
        for (int64_t i = 0; i < nw; i++) {
            f32[i] = uniform();
            f16[i] = sq_float_to_half(f32[i]);
        }
        for (int64_t i = 0; i < nv; i++) ((uint16_t *) nm)[i] = sq_float_to_half(uniform());
        for (int64_t i = 0; i < ib; i++) nm[nv * 2 + i] = (uint8_t) next_u32();
        rotation r32 = make_rotation(f32, sizeof(float) * (size_t) nw);
        rotation r16 = make_rotation(f16, sizeof(uint16_t) * (size_t) nw);
        rotation rnm = make_rotation(nm, (size_t) (nv * 2 + ib));
        free(f32);
        free(f16);
        free(nm);
        float *x = malloc(sizeof(float) * (size_t) 16 * cols), *y = malloc(sizeof(float) * (size_t) 16 * rows);
        for (int64_t i = 0; i < (int64_t) 16 * cols; i++) x[i] = uniform();
        for (size_t bi = 0; bi < 3; bi++) {
            const int batch = BATCHES[bi];
            const int reps = batch == 1 ? 21 : 11;
            double t32[32], t16[32], tnm[32], trd[32];
            for (int k = 0; k < reps; k++) {
                double t0 = now_s();
                const sq_dense_matrix d32 = {rows, cols, SQ_DTYPE_F32, r32.copies[k % r32.nbuf]};
                check(sq_dense_matmul(SQ_ISA_AUTO, &d32, x, y, batch, 0, rows), "dense f32");
                t32[k] = now_s() - t0;
                t0 = now_s();
                const sq_dense_matrix d16 = {rows, cols, SQ_DTYPE_F16, r16.copies[k % r16.nbuf]};
                check(sq_dense_matmul(SQ_ISA_AUTO, &d16, x, y, batch, 0, rows), "dense f16");
                t16[k] = now_s() - t0;
                t0 = now_s();
                const uint8_t *base = rnm.copies[k % rnm.nbuf];
                const sq_nm_matrix w = {rows, cols, 2, 4, SQ_DTYPE_F16, base, base + nv * 2};
                check(sq_nm_matmul(SQ_ISA_AUTO, &w, x, y, batch, 0, rows), "2:4");
                tnm[k] = now_s() - t0;
                t0 = now_s();
                read_all(r32.copies[(k + 1) % r32.nbuf], r32.bytes);
                trd[k] = now_s() - t0;
            }
            const double m32 = median(t32, reps), m16 = median(t16, reps), mnm = median(tnm, reps);
            const double mrd = median(trd, reps);
            printf("%5dx%-6d %5d | %9.2f %6.1f | %9.2f %6.1f | %9.2f %6.1f %5.2fx | %8.1f\n", rows, cols, batch,
                   m32 * 1e3, r32.bytes / m32 / 1e9, m16 * 1e3, r16.bytes / m16 / 1e9, mnm * 1e3,
                   rnm.bytes / mnm / 1e9, m16 / mnm, r32.bytes / mrd / 1e9);
            fflush(stdout);
        }
        free_rotation(&r32);
        free_rotation(&r16);
        free_rotation(&rnm);
        free(x);
        free(y);
    }
}

/* ---- part 2 ----------------------------------------------------------------------------------------------- */

static void csr_part(void) {
    const int rows = 4096, cols = 4096;
    const int64_t nw = (int64_t) rows * cols;
    static const double DENSITIES[] = {0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6};
    static const int BATCHES[] = {1, 8};
    printf("\nCSR crossover, %dx%d (ms median; x = dense time / CSR time, > 1 means CSR is faster)\n", rows, cols);
    printf("%7s %5s | %9s | %9s %6s | %9s %6s\n", "density", "batch", "CSR", "dense16", "x", "dense32", "x");
    float *f32 = malloc(sizeof(float) * (size_t) nw);
    uint16_t *f16 = malloc(sizeof(uint16_t) * (size_t) nw);
    for (int64_t i = 0; i < nw; i++) {
        f32[i] = uniform();
        f16[i] = sq_float_to_half(f32[i]);
    }
    rotation r32 = make_rotation(f32, sizeof(float) * (size_t) nw);
    rotation r16 = make_rotation(f16, sizeof(uint16_t) * (size_t) nw);
    free(f32);
    free(f16);
    float *x = malloc(sizeof(float) * (size_t) 8 * cols), *y = malloc(sizeof(float) * (size_t) 8 * rows);
    for (int64_t i = 0; i < (int64_t) 8 * cols; i++) x[i] = uniform();
    for (size_t di = 0; di < sizeof DENSITIES / sizeof DENSITIES[0]; di++) {
        const double density = DENSITIES[di];
        /* One allocation per copy: row_ptr, then columns (uint16, padded to 4 bytes), then values. */
        int32_t *rp = malloc(sizeof(int32_t) * (size_t) (rows + 1));
        const int64_t cap = (int64_t) (nw * density * 1.2) + rows;
        uint16_t *col = malloc(sizeof(uint16_t) * (size_t) cap);
        float *val = malloc(sizeof(float) * (size_t) cap);
        int64_t nnz = 0;
        rp[0] = 0;
        const uint32_t threshold = (uint32_t) (density * 4294967295.0);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols && nnz < cap; c++) {
                if (next_u32() <= threshold) {
                    col[nnz] = (uint16_t) c;
                    val[nnz++] = uniform();
                }
            }
            rp[r + 1] = (int32_t) nnz;
        }
        const size_t rp_bytes = sizeof(int32_t) * (size_t) (rows + 1);
        const size_t col_bytes = ((sizeof(uint16_t) * (size_t) nnz) + 3) & ~(size_t) 3;
        const size_t bytes = rp_bytes + col_bytes + sizeof(float) * (size_t) nnz;
        uint8_t *packed = malloc(bytes);
        memcpy(packed, rp, rp_bytes);
        memcpy(packed + rp_bytes, col, sizeof(uint16_t) * (size_t) nnz);
        memcpy(packed + rp_bytes + col_bytes, val, sizeof(float) * (size_t) nnz);
        free(rp);
        free(col);
        free(val);
        rotation rc = make_rotation(packed, bytes);
        free(packed);
        for (size_t bi = 0; bi < 2; bi++) {
            const int batch = BATCHES[bi];
            const int reps = 15;
            double tc[16], t16[16], t32[16];
            for (int k = 0; k < reps; k++) {
                const uint8_t *base = rc.copies[k % rc.nbuf];
                const sq_csr_matrix s = {rows, cols, (int32_t) nnz, (const int32_t *) base, NULL,
                                         (const uint16_t *) (base + rp_bytes), (const float *) (base + rp_bytes + col_bytes)};
                double t0 = now_s();
                check(sq_csr_matmul_add(SQ_ISA_AUTO, &s, x, y, batch, 0, rows), "csr");
                tc[k] = now_s() - t0;
                const sq_dense_matrix d16 = {rows, cols, SQ_DTYPE_F16, r16.copies[k % r16.nbuf]};
                t0 = now_s();
                check(sq_dense_matmul(SQ_ISA_AUTO, &d16, x, y, batch, 0, rows), "dense f16");
                t16[k] = now_s() - t0;
                const sq_dense_matrix d32 = {rows, cols, SQ_DTYPE_F32, r32.copies[k % r32.nbuf]};
                t0 = now_s();
                check(sq_dense_matmul(SQ_ISA_AUTO, &d32, x, y, batch, 0, rows), "dense f32");
                t32[k] = now_s() - t0;
            }
            const double mc = median(tc, reps), m16 = median(t16, reps), m32 = median(t32, reps);
            printf("%6.1f%% %5d | %9.3f | %9.3f %5.2fx | %9.3f %5.2fx\n", density * 100, batch, mc * 1e3, m16 * 1e3,
                   m16 / mc, m32 * 1e3, m32 / mc);
            fflush(stdout);
        }
        free_rotation(&rc);
    }
    free_rotation(&r32);
    free_rotation(&r16);
    free(x);
    free(y);
}

int main(int argc, char **argv) {
    print_cpu();
    printf("weights rotate through >= %zu MiB per kernel (SQ_BENCH_ROTATE_MB)\n", rotate_bytes() >> 20);
    const char *part = argc > 1 ? argv[1] : "all";
    if (strcmp(part, "all") != 0 && strcmp(part, "nm") != 0 && strcmp(part, "csr") != 0) {
        fprintf(stderr, "usage: bench_sparse [nm|csr]\n");
        return 2;
    }
    if (strcmp(part, "csr") != 0) nm_part();
    if (strcmp(part, "nm") != 0) csr_part();
    return 0;
}
