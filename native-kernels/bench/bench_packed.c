/*
 * Packed low-bit kernels against the memory's read bandwidth and, when built with SQ_BENCH_GGML (see
 * bench/kernels-vs-ggml.sh), against ggml's own CPU kernels (llama.cpp's), all in one process and one run:
 * one thread, every weight matrix rotated through >= --rotate-mib of copies so that it streams from memory,
 * rounds interleaved (the machine is shared: medians, and ratios measured in the same run).
 *
 *   bench_packed [--rounds N] [--calls N] [--rotate-mib N] [--batches 1,8,16] [--shapes 4096x14336,14336x4096]
 *
 * Squeeze rows: groups of 128 columns, asymmetric, fp16 scale and zero per group (bits + 0.25 per weight),
 * fp32 activations (sq_packed_matmul); "x-int8" = sq_packed_matmul_q8, which quantizes x to 8 bits inside the
 * call as ggml does (its accuracy cost is printed). "speed-up" on a ggml row = the ggml
 * time / the time of Squeeze at the same width in the same run (> 1: Squeeze is faster).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "int4_matvec.h"
#include "packed.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#ifdef SQ_BENCH_GGML
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml.h"
#endif

#define MAX_ROWS 64
#define MAX_SAMPLES 4096

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
/* CPU time of this thread: on a shared, overloaded machine the wall time also counts time the thread
 * spent descheduled; both are reported. */
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint32_t next_u32(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t) ((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
    qsort(v, (size_t) n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void *xmalloc(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 64) != 0 || p == NULL) {
        fprintf(stderr, "bench_packed: out of memory allocating %zu bytes\n", n);
        exit(2);
    }
    return p;
}

/* ---------------------------------------------------------------------------------------------------- */
/* results table                                                                                         */

typedef struct {
    char name[48];
    double bits_per_weight;
    int match_bits;   /* 0: no Squeeze peer; else the Squeeze width it is compared with */
    int is_ours_main; /* the Squeeze row that ggml rows of match_bits are compared with */
    int nb;           /* batch */
    int shape;
    double bytes;     /* weight bytes streamed per call */
    double samples[MAX_SAMPLES];
    double cpu[MAX_SAMPLES];
    int n;
} row_t;

static row_t rows_tab[512];
static int nrows_tab = 0;

static row_t *row_for(const char *name, int shape, int nb, double bpw, int match_bits, int ours, double bytes) {
    for (int i = 0; i < nrows_tab; i++) {
        if (rows_tab[i].shape == shape && rows_tab[i].nb == nb && strcmp(rows_tab[i].name, name) == 0) return &rows_tab[i];
    }
    row_t *r = &rows_tab[nrows_tab++];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->shape = shape;
    r->nb = nb;
    r->bits_per_weight = bpw;
    r->match_bits = match_bits;
    r->is_ours_main = ours;
    r->bytes = bytes;
    return r;
}

static void add_sample(row_t *r, double s, double c) {
    if (r->n < MAX_SAMPLES) {
        r->cpu[r->n] = c;
        r->samples[r->n++] = s;
    }
}

/* ---------------------------------------------------------------------------------------------------- */
/* read bandwidth                                                                                        */

#if defined(__x86_64__)
__attribute__((target("avx2"))) static float sum_avx2(const float *p, size_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 32 <= n; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
    }
    const __m256 s = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    float t[8];
    _mm256_storeu_ps(t, s);
    return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#endif
static float sum_plain(const float *p, size_t n) {
    float a[8] = {0};
    for (size_t i = 0; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) a[k] += p[i + k];
    return a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + a[7];
}
static float read_sum(const float *p, size_t n) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) return sum_avx2(p, n);
#endif
    return sum_plain(p, n);
}

static volatile float sink;

/* Read-only sum over chunks of `chunk` bytes rotated through `total` bytes. */
static void bench_read(row_t *r, size_t total, size_t chunk, int calls) {
    const size_t nchunks = total / chunk;
    float *buf = xmalloc(nchunks * chunk);
    for (size_t i = 0; i < nchunks * chunk / sizeof(float); i++) buf[i] = (float) (i & 255);
    for (int i = 0; i < calls + 2; i++) {
        const float *p = buf + (i % nchunks) * (chunk / sizeof(float));
        const double t0 = now_s(), c0 = cpu_s();
        sink = read_sum(p, chunk / sizeof(float));
        const double t = now_s() - t0, c = cpu_s() - c0;
        if (i >= 2) add_sample(r, t, c);
    }
    free(buf);
}

/* ---------------------------------------------------------------------------------------------------- */
/* Squeeze                                                                                               */

typedef struct {
    int rows, cols;
    uint8_t *codes; /* rows * cols, one per byte */
    float *x;       /* 16 * cols */
    float *y;       /* 16 * rows */
} shape_data;

static size_t copies_for(double bytes, double rotate) {
    size_t n = (size_t) ceil(rotate / bytes);
    return n < 2 ? 2 : n;
}

static double q8_cost[8]; /* per shape: relative L2 distance of the int8-activation product to the fp32 one */

static void bench_ours(shape_data *sd, int si, int bits, sq_isa isa, int q8, const char *suffix, const int *batches,
                       int nbatches, int calls, double rotate, int main_row) {
    const sq_packed_desc d = {sd->rows, sd->cols, bits, 128, 0, SQ_SCALE_F16};
    const int64_t cb = sq_packed_codes_bytes(&d), ng = sq_packed_groups(&d);
    const size_t pbytes = (size_t) (sd->rows * ng) * 2;
    const size_t copy = (size_t) cb + 2 * pbytes;
    const size_t ncopies = copies_for((double) copy, rotate);
    uint8_t *mem = xmalloc(copy * ncopies);
    uint8_t *codes = xmalloc((size_t) sd->rows * sd->cols);
    const unsigned mask = (1u << bits) - 1u;
    for (size_t i = 0; i < (size_t) sd->rows * sd->cols; i++) codes[i] = (uint8_t) (sd->codes[i] & mask);
    if (sq_packed_pack(&d, codes, mem) != SQ_OK) {
        fprintf(stderr, "pack failed\n");
        exit(2);
    }
    free(codes);
    uint16_t *sc = (uint16_t *) (mem + cb), *zp = sc + sd->rows * ng;
    for (int64_t i = 0; i < sd->rows * ng; i++) {
        sc[i] = sq_f32_to_f16(0.01f + 0.001f * (float) (next_u32() % 100));
        zp[i] = sq_f32_to_f16((float) (next_u32() % (mask + 1)));
    }
    for (size_t k = 1; k < ncopies; k++) memcpy(mem + k * copy, mem, copy);
    if (q8 && q8_cost[si] == 0.0) {
        float *y8 = xmalloc(sizeof(float) * 8 * (size_t) sd->rows);
        sq_packed_matmul(SQ_ISA_AUTO, &d, mem, mem + cb, mem + cb + pbytes, sd->x, sd->y, 8, 0, sd->rows);
        sq_packed_matmul_q8(SQ_ISA_AUTO, &d, mem, mem + cb, mem + cb + pbytes, sd->x, y8, 8, 0, sd->rows);
        double e2 = 0, r2 = 0;
        for (size_t i = 0; i < 8 * (size_t) sd->rows; i++) {
            e2 += ((double) y8[i] - sd->y[i]) * ((double) y8[i] - sd->y[i]);
            r2 += (double) sd->y[i] * sd->y[i];
        }
        q8_cost[si] = sqrt(e2 / r2);
        free(y8);
    }
    char name[48];
    snprintf(name, sizeof name, "squeeze int%d g128%s", bits, suffix);
    for (int b = 0; b < nbatches; b++) {
        const int nb = batches[b];
        row_t *r = row_for(name, si, nb, bits + 32.0 / 128, bits, main_row, (double) copy);
        for (int i = 0; i < calls + 2; i++) {
            const uint8_t *w = mem + (i % ncopies) * copy;
            const double t0 = now_s(), c0 = cpu_s();
            const sq_status st = q8 ? sq_packed_matmul_q8(isa, &d, w, w + cb, w + cb + pbytes, sd->x, sd->y, nb, 0, sd->rows)
                                    : sq_packed_matmul(isa, &d, w, w + cb, w + cb + pbytes, sd->x, sd->y, nb, 0, sd->rows);
            const double t = now_s() - t0, c = cpu_s() - c0;
            if (st != SQ_OK) {
                fprintf(stderr, "sq_packed_matmul: status %d\n", st);
                exit(2);
            }
            if (i >= 2) add_sample(r, t, c);
        }
    }
    free(mem);
}

/* The previous int4 kernel (int4_matvec.h: fp32 scale and zero per group, 4.5 bits per weight). */
static void bench_old_int4(shape_data *sd, int si, const int *batches, int nbatches, int calls, double rotate) {
    const int64_t stride = sq_int4_row_stride(sd->cols), ng = sq_int4_groups(sd->cols, 128);
    const size_t cb = (size_t) (sd->rows * stride), pbytes = (size_t) (sd->rows * ng) * 4;
    const size_t copy = cb + 2 * pbytes;
    const size_t ncopies = copies_for((double) copy, rotate);
    uint8_t *mem = xmalloc(copy * ncopies);
    for (size_t i = 0; i < cb; i++) mem[i] = (uint8_t) next_u32();
    float *sc = (float *) (mem + cb), *zp = sc + sd->rows * ng;
    for (int64_t i = 0; i < sd->rows * ng; i++) {
        sc[i] = 0.01f;
        zp[i] = 8.0f;
    }
    for (size_t k = 1; k < ncopies; k++) memcpy(mem + k * copy, mem, copy);
    for (int b = 0; b < nbatches; b++) {
        const int nb = batches[b];
        row_t *r = row_for("squeeze int4 (previous kernel)", si, nb, 4.5, 4, 0, (double) copy);
        for (int i = 0; i < calls + 2; i++) {
            uint8_t *w = mem + (i % ncopies) * copy;
            const sq_int4_matrix m = {sd->rows, sd->cols, 128, w, (const float *) (w + cb), (const float *) (w + cb + pbytes)};
            const double t0 = now_s(), c0 = cpu_s();
            sq_int4_matvec(SQ_ISA_AUTO, &m, sd->x, sd->y, nb);
            const double t = now_s() - t0, c = cpu_s() - c0;
            if (i >= 2) add_sample(r, t, c);
        }
    }
    free(mem);
}

/* ---------------------------------------------------------------------------------------------------- */
/* ggml                                                                                                  */

#ifdef SQ_BENCH_GGML
static ggml_backend_t g_backend;
static ggml_backend_buffer_type_t g_repack; /* NULL if this ggml/CPU has none */

/* ggml's informational messages (one per repacked tensor) would drown the table; warnings and errors pass. */
static void ggml_quiet_log(enum ggml_log_level level, const char *text, void *user) {
    (void) user;
    if (level == GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static void ggml_setup(void) {
    ggml_log_set(ggml_quiet_log, NULL);
    g_backend = ggml_backend_cpu_init();
    ggml_backend_cpu_set_n_threads(g_backend, 1);
    ggml_backend_dev_t dev = ggml_backend_get_device(g_backend);
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(dev);
    ggml_backend_dev_get_extra_bufts_t get =
        (ggml_backend_dev_get_extra_bufts_t) ggml_backend_reg_get_proc_address(reg, "ggml_backend_dev_get_extra_bufts");
    g_repack = NULL;
    if (get) {
        for (ggml_backend_buffer_type_t *b = get(dev); b && *b; b++) {
            if (strcmp(ggml_backend_buft_name(*b), "CPU_REPACK") == 0) g_repack = *b;
        }
    }
}

/* One ggml type (optionally in the repacking buffer) at one shape: quantize W once, copy it, time. */
static void bench_ggml(shape_data *sd, int si, const float *wf, enum ggml_type type, int repack, int match_bits,
                       const int *batches, int nbatches, int calls, double rotate) {
    const size_t row_size = ggml_row_size(type, sd->cols), bytes = row_size * (size_t) sd->rows;
    /* Quantized once per shape and type (the K-quants take seconds), reused by every round. */
    typedef struct { int shape; enum ggml_type type; void *q; } qcache_t;
    static qcache_t cache[64];
    static int ncache = 0;
    void *q = NULL;
    for (int i = 0; i < ncache; i++) {
        if (cache[i].shape == si && cache[i].type == type) q = cache[i].q;
    }
    if (q == NULL) {
        q = xmalloc(bytes);
        ggml_quantize_chunk(type, wf, q, 0, sd->rows, sd->cols, NULL);
        if (ncache < 64) cache[ncache++] = (qcache_t){si, type, q};
    }
    const size_t ncopies = copies_for((double) bytes, rotate);
    struct ggml_init_params wp = {ggml_tensor_overhead() * (ncopies + 1), NULL, true};
    struct ggml_context *wctx = ggml_init(wp);
    struct ggml_tensor **w = xmalloc(sizeof *w * ncopies);
    for (size_t k = 0; k < ncopies; k++) w[k] = ggml_new_tensor_2d(wctx, type, sd->cols, sd->rows);
    ggml_backend_buffer_type_t buft = repack ? g_repack : ggml_backend_get_default_buffer_type(g_backend);
    ggml_backend_buffer_t wbuf = ggml_backend_alloc_ctx_tensors_from_buft(wctx, buft);
    if (wbuf == NULL) {
        fprintf(stderr, "ggml: cannot allocate %zu copies of %s\n", ncopies, ggml_type_name(type));
        exit(2);
    }
    for (size_t k = 0; k < ncopies; k++) ggml_backend_tensor_set(w[k], q, 0, bytes);
    if (repack && w[0]->extra == NULL) { /* this CPU/ggml has no repacked layout for the type */
        ggml_backend_buffer_free(wbuf);
        ggml_free(wctx);
        free(w);
        return;
    }
    char name[48];
    snprintf(name, sizeof name, "ggml %s%s", ggml_type_name(type), repack ? " repacked" : "");
    const double bpw = 8.0 * (double) row_size / sd->cols;

    for (int b = 0; b < nbatches; b++) {
        const int nb = batches[b];
        const size_t ngraphs = ncopies;
        struct ggml_init_params cp = {ggml_tensor_overhead() * (2 * ngraphs + 2) + ggml_graph_overhead() * ngraphs, NULL,
                                      true};
        struct ggml_context *cctx = ggml_init(cp);
        struct ggml_tensor *x = ggml_new_tensor_2d(cctx, GGML_TYPE_F32, sd->cols, nb);
        struct ggml_cgraph **g = xmalloc(sizeof *g * ngraphs);
        for (size_t k = 0; k < ngraphs; k++) {
            struct ggml_tensor *out = ggml_mul_mat(cctx, w[k], x);
            g[k] = ggml_new_graph(cctx);
            ggml_build_forward_expand(g[k], out);
        }
        ggml_backend_buffer_t cbuf = ggml_backend_alloc_ctx_tensors(cctx, g_backend);
        ggml_backend_tensor_set(x, sd->x, 0, sizeof(float) * (size_t) sd->cols * nb);
        row_t *r = row_for(name, si, nb, bpw, match_bits, 0, (double) bytes);
        for (int i = 0; i < calls + 2; i++) {
            const double t0 = now_s(), c0 = cpu_s();
            ggml_backend_graph_compute(g_backend, g[i % ngraphs]);
            const double t = now_s() - t0, c = cpu_s() - c0;
            if (i >= 2) add_sample(r, t, c);
        }
        ggml_backend_buffer_free(cbuf);
        ggml_free(cctx);
        free(g);
    }
    ggml_backend_buffer_free(wbuf);
    ggml_free(wctx);
    free(w);
}
#endif

/* ---------------------------------------------------------------------------------------------------- */

static int parse_list(const char *s, int *out, int max) {
    int n = 0;
    while (*s && n < max) {
        out[n++] = atoi(s);
        while (*s && *s != ',') s++;
        if (*s == ',') s++;
    }
    return n;
}

static void cpu_model(char *buf, size_t n) {
    snprintf(buf, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *p = strchr(line, ':');
            if (p) {
                p++;
                while (*p == ' ') p++;
                snprintf(buf, n, "%s", p);
                buf[strcspn(buf, "\n")] = 0;
            }
            break;
        }
    }
    fclose(f);
}

int main(int argc, char **argv) {
    int rounds = 3, calls = 31, rotate_mib = 1024;
    int batches[8] = {1, 8, 16}, nbatches = 3;
    int shapes[8][2] = {{4096, 14336}, {14336, 4096}}, nshapes = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--calls")) calls = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rotate-mib")) rotate_mib = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batches")) nbatches = parse_list(argv[i + 1], batches, 8);
        else if (!strcmp(argv[i], "--shapes")) {
            nshapes = 0;
            for (const char *s = argv[i + 1]; *s && nshapes < 8;) {
                shapes[nshapes][0] = atoi(s);
                while (*s && *s != 'x') s++;
                if (*s) s++;
                shapes[nshapes][1] = atoi(s);
                nshapes++;
                while (*s && *s != ',') s++;
                if (*s == ',') s++;
            }
        } else {
            fprintf(stderr, "usage: %s [--rounds N] [--calls N] [--rotate-mib N] [--batches 1,8,16] [--shapes RxC,...]\n",
                    argv[0]);
            return 2;
        }
    }
    if (rounds < 1 || calls < 1 || rotate_mib < 1 || nbatches < 1 || calls * rounds > MAX_SAMPLES) {
        fprintf(stderr, "bench_packed: bad option value\n");
        return 2;
    }
    for (int b = 0; b < nbatches; b++) {
        if (batches[b] < 1 || batches[b] > 16) {
            fprintf(stderr, "bench_packed: batches must be 1..16\n");
            return 2;
        }
    }
    const double rotate = rotate_mib * 1048576.0;
    char cpu[256];
    cpu_model(cpu, sizeof cpu);
    printf("CPU: %s; packed path %s (avx2 %s, avx512 %s, avx512-vnni %s: not used by the fp32 kernels)\n", cpu,
           sq_isa_name(sq_packed_best_isa()), sq_packed_isa_supported(SQ_ISA_AVX2) ? "yes" : "no",
           sq_packed_isa_supported(SQ_ISA_AVX512) ? "yes" : "no", sq_cpu_has_avx512_vnni() ? "yes" : "no");
    printf("one thread; weights rotated through >= %d MiB; %d interleaved rounds x %d calls; medians\n", rotate_mib, rounds,
           calls);
#ifdef SQ_BENCH_GGML
    ggml_setup();
    printf("ggml %s (%s), CPU_REPACK buffer %s\n", ggml_version(), ggml_commit(), g_repack ? "available" : "absent");
#endif
    fflush(stdout);

    shape_data sd[8];
    float *wf[8];
    for (int s = 0; s < nshapes; s++) {
        sd[s].rows = shapes[s][0];
        sd[s].cols = shapes[s][1];
        const size_t n = (size_t) sd[s].rows * sd[s].cols;
        sd[s].codes = xmalloc(n);
        for (size_t i = 0; i < n; i++) sd[s].codes[i] = (uint8_t) next_u32();
        sd[s].x = xmalloc(sizeof(float) * 16 * (size_t) sd[s].cols);
        sd[s].y = xmalloc(sizeof(float) * 16 * (size_t) sd[s].rows);
        for (size_t i = 0; i < 16 * (size_t) sd[s].cols; i++) sd[s].x[i] = (float) ((int) (next_u32() % 2001) - 1000) / 1000.0f;
        wf[s] = NULL;
#ifdef SQ_BENCH_GGML
        wf[s] = xmalloc(sizeof(float) * n); /* Gaussian-ish weights for ggml's quantizers */
        for (size_t i = 0; i < n; i++) {
            const float u = (float) (next_u32() % 65536) / 65536.0f, v = (float) (next_u32() % 65536) / 65536.0f;
            wf[s][i] = 0.02f * (u + v - 1.0f);
        }
#endif
    }

    row_t *bw = NULL;
    for (int round = 0; round < rounds; round++) {
        bw = row_for("read-only sum (AVX2)", -1, 0, 0, 0, 0, 32.0 * 1048576);
        bench_read(bw, (size_t) rotate_mib * 1048576, 32u << 20, calls);
        for (int s = 0; s < nshapes; s++) {
            bench_ours(&sd[s], s, 4, SQ_ISA_AUTO, 0, "", batches, nbatches, calls, rotate, 1);
            bench_ours(&sd[s], s, 4, SQ_ISA_AUTO, 1, " x-int8", batches, nbatches, calls, rotate, 0);
#ifdef SQ_BENCH_GGML
            bench_ggml(&sd[s], s, wf[s], GGML_TYPE_Q4_0, 0, 4, batches, nbatches, calls, rotate);
            if (g_repack) bench_ggml(&sd[s], s, wf[s], GGML_TYPE_Q4_0, 1, 4, batches, nbatches, calls, rotate);
            bench_ggml(&sd[s], s, wf[s], GGML_TYPE_Q4_K, 0, 4, batches, nbatches, calls, rotate);
            if (g_repack) bench_ggml(&sd[s], s, wf[s], GGML_TYPE_Q4_K, 1, 4, batches, nbatches, calls, rotate);
#endif
            if (sq_packed_best_isa() == SQ_ISA_AVX512) {
                bench_ours(&sd[s], s, 4, SQ_ISA_AVX2, 0, " (avx2 path)", batches, nbatches, calls, rotate, 0);
            }
            bench_old_int4(&sd[s], s, batches, nbatches, calls, rotate);
            bench_ours(&sd[s], s, 8, SQ_ISA_AUTO, 0, "", batches, nbatches, calls, rotate, 1);
            bench_ours(&sd[s], s, 3, SQ_ISA_AUTO, 0, "", batches, nbatches, calls, rotate, 1);
            bench_ours(&sd[s], s, 2, SQ_ISA_AUTO, 0, "", batches, nbatches, calls, rotate, 1);
#ifdef SQ_BENCH_GGML
            bench_ggml(&sd[s], s, wf[s], GGML_TYPE_Q8_0, 0, 8, batches, nbatches, calls, rotate);
            bench_ggml(&sd[s], s, wf[s], GGML_TYPE_Q3_K, 0, 3, batches, nbatches, calls, rotate);
            bench_ggml(&sd[s], s, wf[s], GGML_TYPE_Q2_K, 0, 2, batches, nbatches, calls, rotate);
            if (g_repack) bench_ggml(&sd[s], s, wf[s], GGML_TYPE_Q2_K, 1, 2, batches, nbatches, calls, rotate);
            bench_ggml(&sd[s], s, wf[s], GGML_TYPE_F16, 0, 0, batches, nbatches, calls, rotate);
#endif
        }
        fprintf(stderr, "round %d of %d done\n", round + 1, rounds);
    }

    const double bw_wall = 32.0 * 1048576 / median(bw->samples, bw->n);
    const double bw_med = 32.0 * 1048576 / median(bw->cpu, bw->n);
    printf("\nread-only sum over %d MiB: median %.2f GB/s (wall clock: %.2f GB/s)\n", rotate_mib, bw_med / 1e9,
           bw_wall / 1e9);
    printf("GB/s, %% read and speed-up use the thread's CPU time; wall ms is the elapsed time (includes time the\n"
           "thread was descheduled on a busy machine).\n");
    for (int s = 0; s < nshapes; s++) {
        for (int b = 0; b < nbatches; b++) {
            const int nb = batches[b];
            printf("\nW %d x %d (rows x cols), batch %d\n", sd[s].rows, sd[s].cols, nb);
            printf("  %-32s %7s %8s %8s %7s %7s %9s\n", "kernel", "bits/w", "wall ms", "cpu ms", "GB/s", "% read",
                   "speed-up");
            double ours_ms[9] = {0};
            for (int i = 0; i < nrows_tab; i++) {
                row_t *r = &rows_tab[i];
                if (r->shape == s && r->nb == nb && r->is_ours_main) ours_ms[r->match_bits] = median(r->cpu, r->n) * 1e3;
            }
            for (int i = 0; i < nrows_tab; i++) {
                row_t *r = &rows_tab[i];
                if (r->shape != s || r->nb != nb) continue;
                const double wall = median(r->samples, r->n) * 1e3, ms = median(r->cpu, r->n) * 1e3;
                const double gbs = r->bytes / (ms * 1e-3) / 1e9;
                char ratio[32] = "";
                if (!r->is_ours_main && r->match_bits && ours_ms[r->match_bits] > 0 && strncmp(r->name, "ggml", 4) == 0) {
                    snprintf(ratio, sizeof ratio, "%.2fx", ms / ours_ms[r->match_bits]);
                }
                printf("  %-32s %7.2f %8.3f %8.3f %7.2f %6.1f%% %9s\n", r->name, r->bits_per_weight, wall, ms, gbs,
                       100.0 * gbs * 1e9 / bw_med, ratio);
            }
        }
    }
    for (int s = 0; s < nshapes; s++) {
        printf("x-int8 accuracy cost, W %d x %d, batch 8: |y_int8 - y_fp32| / |y_fp32| = %.2e (relative L2)\n",
               sd[s].rows, sd[s].cols, q8_cost[s]);
    }
    printf("\nspeed-up = ggml median CPU time / Squeeze median CPU time at the same width (int4 for q4_*, int8 for q8_0,\n"
           "int3 for q3_K, int2 for q2_K), same run; > 1 means Squeeze is faster.\n");
    for (int s = 0; s < nshapes; s++) {
        free(sd[s].codes);
        free(sd[s].x);
        free(sd[s].y);
        free(wf[s]);
    }
    return 0;
}
