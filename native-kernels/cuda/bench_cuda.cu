/*
 * bench_cuda: Squeeze's packed int4 kernel against cuBLAS fp16 on the same GPU, in one run.
 *
 *   bench_cuda [--reps N]      (default 200 timed calls per figure)
 *   exit 0 = ran, 77 = skipped (no CUDA device), 1 = an API call failed
 *
 * Every figure is the median of N calls, each timed with its own pair of CUDA events on the stream (so
 * launch overhead is inside each figure, as in PERF-ANCHORS.md). Weights rotate through enough copies
 * (>= 8 x the L2 size and >= 512 MiB) that every call reads them from HBM, not L2.
 * Printed, with the device name:
 *   - peak HBM bandwidth from the device attributes (2 x memory clock x bus width) and the measured read
 *     bandwidth of a read-only kernel over 1 GiB (and a device-to-device copy, read + write counted);
 *   - for W = 14336 x 4096 and 4096 x 14336, batch 1, 8, 16: int4 (group 128, symmetric, fp16 scales, fp16 x)
 *     time, GB/s of weight bytes (codes + scales), % of peak HBM, % of measured read bandwidth; cuBLAS fp16
 *     (cublasGemmEx, fp16 W and x, fp32 accumulation and output) time and GB/s; the speed-up;
 *   - the fused kernel with 1, 2, 4, 8, 16 warps per 16-row tile (to tune the automatic choice on the GPU);
 *   - other widths (2, 3, 8 bits) at batch 1, and the prefill path at batch 512 against dense cuBLAS.
 */
#include "sq_cuda.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#define OK(call)                                                                                             \
    do {                                                                                                     \
        sq_cuda_status s_ = (call);                                                                          \
        if (s_ != SQ_CUDA_OK) {                                                                              \
            printf("FATAL: %s -> %s: %s\n", #call, sq_cuda_status_string(s_), sq_cuda_last_error());         \
            exit(1);                                                                                         \
        }                                                                                                    \
    } while (0)

#define CU(call)                                                                                             \
    do {                                                                                                     \
        cudaError_t e_ = (call);                                                                             \
        if (e_ != cudaSuccess) {                                                                             \
            printf("FATAL: %s -> %s\n", #call, cudaGetErrorString(e_));                                      \
            exit(1);                                                                                         \
        }                                                                                                    \
    } while (0)

static int g_reps = 200;
static sq_cuda_ctx *g_ctx;
static cudaStream_t g_stream;

/* Median microseconds of g_reps calls of fn(i), each between its own two events. */
template <typename F>
static double median_us(F fn) {
    for (int i = 0; i < 5; ++i) fn(i); /* warm-up */
    std::vector<cudaEvent_t> ev(2 * (size_t) g_reps);
    for (auto &e : ev) CU(cudaEventCreate(&e));
    for (int i = 0; i < g_reps; ++i) {
        CU(cudaEventRecord(ev[2 * i], g_stream));
        fn(i);
        CU(cudaEventRecord(ev[2 * i + 1], g_stream));
    }
    CU(cudaStreamSynchronize(g_stream));
    std::vector<double> t(g_reps);
    for (int i = 0; i < g_reps; ++i) {
        float ms = 0;
        CU(cudaEventElapsedTime(&ms, ev[2 * i], ev[2 * i + 1]));
        t[i] = ms * 1e3;
    }
    for (auto &e : ev) cudaEventDestroy(e);
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

/* Mean microseconds per call of `calls` calls captured in one CUDA graph (median of 11 graph launches):
 * GPU time without the host's launch gaps, as a decode loop replaying a graph would see it. */
template <typename F>
static double graph_us(F fn, int calls) {
    fn(0); /* first use outside the capture: cuBLAS sets up its workspace here */
    CU(cudaStreamSynchronize(g_stream));
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    cudaError_t e = cudaStreamBeginCapture(g_stream, cudaStreamCaptureModeRelaxed);
    if (e == cudaSuccess) {
        for (int i = 0; i < calls; ++i) fn(i);
        e = cudaStreamEndCapture(g_stream, &graph);
    }
    if (e == cudaSuccess) e = cudaGraphInstantiate(&exec, graph, 0);
    if (e == cudaSuccess) e = cudaGraphLaunch(exec, g_stream);
    if (e == cudaSuccess) e = cudaStreamSynchronize(g_stream);
    if (e != cudaSuccess) {
        printf("(graph timing unavailable: %s)\n", cudaGetErrorString(e));
        (void) cudaGetLastError();
        if (exec) cudaGraphExecDestroy(exec);
        if (graph) cudaGraphDestroy(graph);
        return -1;
    }
    std::vector<double> t;
    cudaEvent_t a, b;
    CU(cudaEventCreate(&a));
    CU(cudaEventCreate(&b));
    for (int r = 0; r < 11; ++r) {
        CU(cudaEventRecord(a, g_stream));
        CU(cudaGraphLaunch(exec, g_stream));
        CU(cudaEventRecord(b, g_stream));
        CU(cudaEventSynchronize(b));
        float ms = 0;
        CU(cudaEventElapsedTime(&ms, a, b));
        t.push_back(ms * 1e3 / calls);
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

__global__ void read_kernel(const uint4 *__restrict__ p, size_t n, unsigned *out) {
    unsigned acc = 0;
    for (size_t i = blockIdx.x * (size_t) blockDim.x + threadIdx.x; i < n; i += (size_t) gridDim.x * blockDim.x) {
        const uint4 v = __ldcs(p + i);
        acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (acc == 0x9e3779b9u) out[0] = acc; /* keeps the loads; practically never true */
}

struct Bw {
    double read_gbps, copy_gbps;
};

static Bw measure_bandwidth(int sms) {
    const size_t bytes = (size_t) 1 << 30;
    void *a = nullptr, *b = nullptr;
    OK(sq_cuda_malloc(g_ctx, bytes, &a));
    OK(sq_cuda_malloc(g_ctx, bytes / 2, &b));
    OK(sq_cuda_memset(g_ctx, a, 1, bytes));
    unsigned *out = static_cast<unsigned *>(b);
    const int saved = g_reps;
    g_reps = 21;
    const double tr = median_us([&](int) {
        read_kernel<<<sms * 8, 512, 0, g_stream>>>(static_cast<const uint4 *>(a), bytes / 16, out);
    });
    const double tc = median_us([&](int) {
        cudaMemcpyAsync(b, a, bytes / 2, cudaMemcpyDeviceToDevice, g_stream);
    });
    g_reps = saved;
    CU(cudaGetLastError());
    OK(sq_cuda_free(g_ctx, a));
    OK(sq_cuda_free(g_ctx, b));
    return Bw{bytes / tr / 1e3, bytes / tc / 1e3}; /* copy: bytes/2 read + bytes/2 written */
}

struct Shape {
    int rows, cols;
};

static std::vector<uint8_t> random_codes(size_t n, int bits, std::mt19937 &rng) {
    std::vector<uint8_t> c(n);
    const uint32_t mask = (1u << bits) - 1u;
    for (size_t i = 0; i < n; i += 4) {
        const uint32_t r = rng();
        for (size_t k = 0; k < 4 && i + k < n; ++k) c[i + k] = (uint8_t) ((r >> (8 * k)) & mask);
    }
    return c;
}

/* Copies of a quantized matrix totalling >= min_bytes. */
static std::vector<sq_cuda_qmatrix *> q_copies(const Shape &s, int bits, int gs, size_t min_bytes, std::mt19937 &rng) {
    const std::vector<uint8_t> codes = random_codes((size_t) s.rows * s.cols, bits, rng);
    const int ng = (s.cols + gs - 1) / gs;
    std::vector<float> scales((size_t) s.rows * ng);
    for (auto &v : scales) v = std::uniform_real_distribution<float>(0.001f, 0.02f)(rng);
    sq_cuda_qdesc d = {s.rows, s.cols, bits, gs, codes.data(), scales.data(), nullptr, nullptr};
    std::vector<sq_cuda_qmatrix *> v(1);
    OK(sq_cuda_qmatrix_create(g_ctx, &d, &v[0]));
    const size_t each = sq_cuda_qmatrix_device_bytes(v[0]);
    while (v.size() * each < min_bytes) {
        sq_cuda_qmatrix *c = nullptr;
        OK(sq_cuda_qmatrix_clone(g_ctx, v[0], &c));
        v.push_back(c);
    }
    return v;
}

static std::vector<sq_cuda_dmatrix *> d_copies(const Shape &s, size_t min_bytes, std::mt19937 &rng) {
    std::vector<uint16_t> w((size_t) s.rows * s.cols);
    for (auto &h : w) h = sq_cuda_f32_to_f16(std::uniform_real_distribution<float>(-0.05f, 0.05f)(rng));
    std::vector<sq_cuda_dmatrix *> v;
    const size_t each = w.size() * 2;
    do {
        sq_cuda_dmatrix *m = nullptr;
        OK(sq_cuda_dmatrix_create(g_ctx, s.rows, s.cols, w.data(), SQ_CUDA_F16, &m));
        v.push_back(m);
    } while (v.size() * each < min_bytes);
    return v;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            g_reps = std::max(11, atoi(argv[++i]));
        } else {
            printf("usage: bench_cuda [--reps N]\n");
            return 2;
        }
    }
    if (sq_cuda_device_count() == 0) {
        printf("bench_cuda: SKIPPED: no CUDA device (%s)\n", sq_cuda_last_error());
        return 77;
    }
    sq_cuda_device_info info;
    OK(sq_cuda_device_query(0, &info));
    OK(sq_cuda_ctx_create(0, &g_ctx));
    g_stream = static_cast<cudaStream_t>(sq_cuda_ctx_stream(g_ctx));
    const bool cublas = sq_cuda_cublas_available() != 0;
    printf("device: %s (compute %d.%d, %d SMs, %.1f GiB, L2 %.0f MB)\n", info.name, info.cc_major, info.cc_minor,
           info.sm_count, info.global_mem_bytes / 1073741824.0, info.l2_bytes / 1e6);
    printf("peak HBM bandwidth (2 x %d MHz x %d bit): %.0f GB/s\n", info.mem_clock_khz / 1000, info.mem_bus_width_bits,
           info.peak_gbps);
    const Bw bw = measure_bandwidth(info.sm_count);
    printf("measured: read-only kernel %.0f GB/s (%.0f%% of peak); device copy %.0f GB/s (read + write)\n",
           bw.read_gbps, 100 * bw.read_gbps / info.peak_gbps, bw.copy_gbps);
    if (!cublas) printf("cuBLAS unavailable (%s): fp16 and prefill columns are skipped\n", sq_cuda_last_error());
    printf("median of %d calls each; weights rotated through >= %.0f MB\n\n", g_reps,
           std::max<double>(8.0 * info.l2_bytes, 512.0 * 1048576) / 1e6);

    const size_t rotate = std::max<size_t>(8 * info.l2_bytes, (size_t) 512 << 20);
    std::mt19937 rng(7);
    const Shape shapes[] = {{14336, 4096}, {4096, 14336}};
    const int batches[] = {1, 8, 16};
    void *x = nullptr, *y = nullptr;
    OK(sq_cuda_malloc(g_ctx, (size_t) 512 * 14336 * 2, &x));
    OK(sq_cuda_malloc(g_ctx, (size_t) 512 * 14336 * 4, &y));
    {
        std::vector<uint16_t> hx((size_t) 512 * 14336);
        for (auto &h : hx) h = sq_cuda_f32_to_f16(std::uniform_real_distribution<float>(-1.f, 1.f)(rng));
        OK(sq_cuda_upload(g_ctx, x, hx.data(), hx.size() * 2));
    }
    float *yf = static_cast<float *>(y);

    printf("%-13s %5s | %9s %8s %7s %7s | %9s %8s | %8s\n", "W (rows x cols)", "batch", "int4 us", "GB/s", "%HBM",
           "%read", "fp16 us", "GB/s", "speed-up");
    printf("--------------------------------------------------------------------------------------------\n");
    struct Tune {
        Shape s;
        int batch;
        double us[5];
    };
    std::vector<Tune> tunes;
    std::vector<std::string> verdicts;
    std::vector<std::string> graph_rows;
    for (const Shape &s : shapes) {
        std::vector<sq_cuda_qmatrix *> q = q_copies(s, 4, 128, rotate, rng);
        std::vector<sq_cuda_dmatrix *> d;
        if (cublas) d = d_copies(s, rotate, rng);
        const double qbytes = (double) sq_cuda_qmatrix_device_bytes(q[0]);
        const double dbytes = 2.0 * s.rows * s.cols;
        for (int batch : batches) {
            const double tq = median_us([&](int i) {
                OK(sq_cuda_qmatmul(g_ctx, q[i % q.size()], x, SQ_CUDA_F16, s.cols, batch, yf, s.rows));
            });
            OK(sq_cuda_ctx_sync(g_ctx));
            double td = 0;
            if (cublas) {
                td = median_us([&](int i) {
                    OK(sq_cuda_dmatmul(g_ctx, d[i % d.size()], x, SQ_CUDA_F16, s.cols, batch, yf, s.rows));
                });
                OK(sq_cuda_ctx_sync(g_ctx));
            }
            const double gq = qbytes / tq / 1e3;
            char row[32];
            snprintf(row, sizeof row, "%d x %d", s.rows, s.cols);
            if (cublas) {
                printf("%-15s %5d | %9.1f %8.0f %6.0f%% %6.0f%% | %9.1f %8.0f | %7.2fx\n", row, batch, tq, gq,
                       100 * gq / info.peak_gbps, 100 * gq / bw.read_gbps, td, dbytes / td / 1e3, td / tq);
            } else {
                printf("%-15s %5d | %9.1f %8.0f %6.0f%% %6.0f%% | %9s %8s | %8s\n", row, batch, tq, gq,
                       100 * gq / info.peak_gbps, 100 * gq / bw.read_gbps, "-", "-", "-");
            }
            /* the same products replayed from a CUDA graph (rotating copies), no host launch gaps */
            const int gcalls = (int) std::max<size_t>(q.size(), 20);
            const double tqg = graph_us([&](int i) {
                OK(sq_cuda_qmatmul(g_ctx, q[i % q.size()], x, SQ_CUDA_F16, s.cols, batch, yf, s.rows));
            }, gcalls);
            double tdg = 0;
            if (cublas) {
                tdg = graph_us([&](int i) {
                    OK(sq_cuda_dmatmul(g_ctx, d[i % d.size()], x, SQ_CUDA_F16, s.cols, batch, yf, s.rows));
                }, (int) std::max<size_t>(d.size(), 20));
            }
            const double gqg = qbytes / tqg / 1e3;
            {
                char line[200];
                snprintf(line, sizeof line, "%-15s %5d | %9.1f %8.0f %6.0f%% %6.0f%% | %9.1f %8.0f | %7.2fx", row, batch,
                         tqg, gqg, 100 * gqg / info.peak_gbps, 100 * gqg / bw.read_gbps, tdg,
                         cublas ? dbytes / tdg / 1e3 : 0.0, cublas ? tdg / tqg : 0.0);
                if (tqg < 0 || (cublas && tdg < 0)) snprintf(line, sizeof line, "%-15s %5d | graph timing unavailable", row, batch);
                graph_rows.push_back(line);
            }
            char v[200];
            if (batch == 1) {
                snprintf(v, sizeof v, "%d x %d batch 1, in a CUDA graph: int4 at %.0f%% of peak HBM (target >= 80%%): %s",
                         s.rows, s.cols, 100 * gqg / info.peak_gbps, gqg >= 0.8 * info.peak_gbps ? "met" : "MISSED");
                verdicts.push_back(v);
                snprintf(v, sizeof v, "%d x %d batch 1: int4 at %.0f%% of peak HBM (target >= 80%%): %s", s.rows,
                         s.cols, 100 * gq / info.peak_gbps, gq >= 0.8 * info.peak_gbps ? "met" : "MISSED");
                verdicts.push_back(v);
            }
            if (cublas) {
                snprintf(v, sizeof v, "%d x %d batch %d: %.2fx cuBLAS fp16 per call, %.2fx in a graph (target >= 3x): %s",
                         s.rows, s.cols, batch, td / tq, tdg / tqg, td / tq >= 3.0 ? "met" : "MISSED");
                verdicts.push_back(v);
            }
            Tune tu{s, batch, {0, 0, 0, 0, 0}};
            const int ws[5] = {1, 2, 4, 8, 16};
            for (int k = 0; k < 5; ++k) {
                tu.us[k] = median_us([&](int i) {
                    OK(sq_cuda_qmatmul_ex(g_ctx, q[i % q.size()], x, SQ_CUDA_F16, s.cols, batch, yf, s.rows,
                                       SQ_CUDA_PATH_FUSED, ws[k]));
                });
                OK(sq_cuda_ctx_sync(g_ctx));
            }
            tunes.push_back(tu);
        }
        for (auto *m : q) sq_cuda_qmatrix_free(m);
        for (auto *m : d) sq_cuda_dmatrix_free(m);
    }

    printf("\nthe same, replayed from a CUDA graph (GPU time per call without host launch gaps):\n");
    printf("%-15s %5s | %9s %8s %7s %7s | %9s %8s | %8s\n", "W (rows x cols)", "batch", "int4 us", "GB/s", "%HBM",
           "%read", "fp16 us", "GB/s", "speed-up");
    for (const auto &r : graph_rows) printf("%s\n", r.c_str());
    printf("\ntargets (issue 12):\n");
    for (const auto &v : verdicts) printf("  %s\n", v.c_str());
    printf("\nfused kernel, warps per 16-row tile (us, median):\n");
    printf("%-15s %5s | %8s %8s %8s %8s %8s\n", "W", "batch", "1", "2", "4", "8", "16");
    for (const Tune &t : tunes) {
        char row[32];
        snprintf(row, sizeof row, "%d x %d", t.s.rows, t.s.cols);
        printf("%-15s %5d | %8.1f %8.1f %8.1f %8.1f %8.1f\n", row, t.batch, t.us[0], t.us[1], t.us[2], t.us[3],
               t.us[4]);
    }

    printf("\nother widths, batch 1, group 128, symmetric (us, GB/s of weight bytes, %% of peak HBM):\n");
    for (const Shape &s : shapes) {
        for (int bits : {2, 3, 8}) {
            std::vector<sq_cuda_qmatrix *> q = q_copies(s, bits, 128, rotate, rng);
            const double t = median_us([&](int i) {
                OK(sq_cuda_qmatmul(g_ctx, q[i % q.size()], x, SQ_CUDA_F16, s.cols, 1, yf, s.rows));
            });
            OK(sq_cuda_ctx_sync(g_ctx));
            const double gb = sq_cuda_qmatrix_device_bytes(q[0]) / t / 1e3;
            printf("  %5d x %-5d int%d: %8.1f us %8.0f GB/s %5.0f%%\n", s.rows, s.cols, bits, t, gb,
                   100 * gb / info.peak_gbps);
            for (auto *m : q) sq_cuda_qmatrix_free(m);
        }
    }

    if (cublas) {
        printf("\nprefill (dequantize to fp16 + cuBLAS) vs dense fp16 cuBLAS, batch 512:\n");
        const int saved = g_reps;
        g_reps = 31;
        for (const Shape &s : shapes) {
            std::vector<sq_cuda_qmatrix *> q = q_copies(s, 4, 128, 0, rng);
            std::vector<sq_cuda_dmatrix *> d = d_copies(s, 0, rng);
            const double tq = median_us([&](int) {
                OK(sq_cuda_qmatmul(g_ctx, q[0], x, SQ_CUDA_F16, s.cols, 512, yf, s.rows));
            });
            OK(sq_cuda_ctx_sync(g_ctx));
            const double td = median_us([&](int) {
                OK(sq_cuda_dmatmul(g_ctx, d[0], x, SQ_CUDA_F16, s.cols, 512, yf, s.rows));
            });
            OK(sq_cuda_ctx_sync(g_ctx));
            const double flop = 2.0 * s.rows * s.cols * 512;
            printf("  %5d x %-5d int4 prefill %8.1f us (%6.1f TFLOP/s)   fp16 %8.1f us (%6.1f TFLOP/s)\n", s.rows,
                   s.cols, tq, flop / tq / 1e6, td, flop / td / 1e6);
            for (auto *m : q) sq_cuda_qmatrix_free(m);
            for (auto *m : d) sq_cuda_dmatrix_free(m);
        }
        g_reps = saved;
    }
    OK(sq_cuda_free(g_ctx, x));
    OK(sq_cuda_free(g_ctx, y));
    sq_cuda_ctx_free(g_ctx);
    return 0;
}
