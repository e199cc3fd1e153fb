/*
 * test_cuda: the CUDA kernels against a scalar reference computed on the host in double precision.
 *
 *   test_cuda            all cases; prints one line per failure and "test_cuda: ... PASS|FAIL"
 *   test_cuda --quick    a subset, for compute-sanitizer
 *   exit 0 = pass, 1 = a check failed, 77 = skipped (no CUDA device; ctest reports it as skipped)
 *
 * Covered: every width 2..8, symmetric and asymmetric zero points, group sizes 64, 128, 192 and one group
 * per row, odd shapes (rows and columns not multiples of 16 / 64), batch 1..40 (1..16 in one fused pass,
 * more in several passes or through the prefill path), fp16 and fp32 activations, fixed warp splits, the
 * prefill path (dequantize + cuBLAS) and the dense fp16 path. Two kinds of data:
 *   exact: x in {-1, 0, 1}, scales 1, 1/2, 1/4: every product and partial sum is exactly representable in
 *          fp32, so the fused and prefill results must equal the reference exactly;
 *   real:  x uniform in [-2, 2] and scales in [0.001, 0.05] (both rounded to fp16, as the device sees them);
 *          tolerance 5e-5 * sum |w x| (fused, fp32 accumulation) or 1e-3 * sum |w x| (prefill and dense,
 *          where W itself is rounded to fp16).
 * Padding of x (beyond cols) holds NaN and y is filled with a sentinel beyond rows and batch, so reading
 * or writing outside the described region fails the test.
 */
#include "sq_cuda.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

static int g_failures = 0, g_cases = 0;

#define FAILF(...)                                                                                           \
    do {                                                                                                     \
        ++g_failures;                                                                                        \
        if (g_failures <= 40) {                                                                              \
            printf("FAIL: ");                                                                                \
            printf(__VA_ARGS__);                                                                             \
            printf("\n");                                                                                    \
        }                                                                                                    \
    } while (0)

#define OK(call)                                                                                             \
    do {                                                                                                     \
        sq_cuda_status s_ = (call);                                                                          \
        if (s_ != SQ_CUDA_OK) {                                                                              \
            printf("FATAL: %s -> %s: %s\n", #call, sq_cuda_status_string(s_), sq_cuda_last_error());         \
            exit(1);                                                                                         \
        }                                                                                                    \
    } while (0)

static float f16r(float v) {
    return sq_cuda_f16_to_f32(sq_cuda_f32_to_f16(v));
}

static const float SENTINEL = -12345.5f;

struct QCase {
    int rows, cols, bits, gs;
    bool asym, exact;
};

struct QData {
    std::vector<uint8_t> codes;
    std::vector<float> scales, zeros;
};

static QData make_q(const QCase &k, std::mt19937 &rng) {
    const int ng = (k.cols + k.gs - 1) / k.gs, maxq = (1 << k.bits) - 1;
    QData d;
    d.codes.resize((size_t) k.rows * k.cols);
    for (auto &c : d.codes) c = (uint8_t) std::uniform_int_distribution<int>(0, maxq)(rng);
    d.scales.resize((size_t) k.rows * ng);
    for (auto &s : d.scales) {
        s = k.exact ? std::ldexp(1.0f, -std::uniform_int_distribution<int>(0, 2)(rng))
                    : f16r(std::uniform_real_distribution<float>(0.001f, 0.05f)(rng));
    }
    if (k.asym) {
        d.zeros.resize(d.scales.size());
        for (auto &z : d.zeros) z = (float) std::uniform_int_distribution<int>(0, maxq)(rng);
    }
    return d;
}

static std::vector<float> make_x(int batch, int cols, bool exact, std::mt19937 &rng) {
    std::vector<float> x((size_t) batch * cols);
    for (auto &v : x) {
        v = exact ? (float) std::uniform_int_distribution<int>(-1, 1)(rng)
                  : f16r(std::uniform_real_distribution<float>(-2.0f, 2.0f)(rng));
    }
    return x;
}

/* W as the device sees it (fp32 values; scales already fp16-representable). */
static std::vector<double> dequant(const QCase &k, const QData &d) {
    const int ng = (k.cols + k.gs - 1) / k.gs;
    const double zsym = (double) (1 << (k.bits - 1));
    std::vector<double> w((size_t) k.rows * k.cols);
    for (int r = 0; r < k.rows; ++r) {
        for (int c = 0; c < k.cols; ++c) {
            const size_t gi = (size_t) r * ng + c / k.gs;
            const double z = k.asym ? d.zeros[gi] : zsym;
            w[(size_t) r * k.cols + c] = d.scales[gi] * ((double) d.codes[(size_t) r * k.cols + c] - z);
        }
    }
    return w;
}

/* Uploads x with leading dimension ldx, NaN in the padding. */
static void *upload_x(sq_cuda_ctx *ctx, const std::vector<float> &x, int batch, int cols, sq_cuda_dtype t, int ldx) {
    void *d = nullptr;
    if (t == SQ_CUDA_F32) {
        std::vector<float> h((size_t) batch * ldx, NAN);
        for (int b = 0; b < batch; ++b) memcpy(&h[(size_t) b * ldx], &x[(size_t) b * cols], cols * sizeof(float));
        OK(sq_cuda_malloc(ctx, h.size() * sizeof(float), &d));
        OK(sq_cuda_upload(ctx, d, h.data(), h.size() * sizeof(float)));
    } else {
        std::vector<uint16_t> h((size_t) batch * ldx, 0x7e00); /* fp16 NaN */
        for (int b = 0; b < batch; ++b)
            for (int c = 0; c < cols; ++c) h[(size_t) b * ldx + c] = sq_cuda_f32_to_f16(x[(size_t) b * cols + c]);
        OK(sq_cuda_malloc(ctx, h.size() * 2, &d));
        OK(sq_cuda_upload(ctx, d, h.data(), h.size() * 2));
    }
    return d;
}

/* Compares y (batch+1 rows of ldy) with w x; the extra row and columns >= rows must hold the sentinel. */
static bool compare(const char *what, const std::vector<float> &y, const std::vector<double> &w,
                    const std::vector<float> &x, int rows, int cols, int batch, int ldy, double rel, bool exact) {
    int bad = 0;
    for (int b = 0; b <= batch; ++b) {
        for (int r = 0; r < ldy; ++r) {
            const float got = y[(size_t) b * ldy + r];
            if (b == batch || r >= rows) {
                if (got != SENTINEL && bad++ < 3) printf("  %s: y[%d][%d] = %g was written (outside the output)\n", what, b, r, got);
                continue;
            }
            double ref = 0, abs = 0;
            for (int c = 0; c < cols; ++c) {
                const double p = w[(size_t) r * cols + c] * x[(size_t) b * cols + c];
                ref += p;
                abs += std::fabs(p);
            }
            const double tol = exact ? 0.0 : rel * abs + 1e-6;
            if (!(std::fabs(got - ref) <= tol) && bad++ < 3) {
                printf("  %s: y[%d][%d] = %.8g, reference %.8g (|diff| %.3g > tol %.3g)\n", what, b, r, got, ref,
                       std::fabs(got - ref), tol);
            }
        }
    }
    return bad == 0;
}

static void run_q(sq_cuda_ctx *ctx, const QCase &k, const int *batches, int nb, bool prefill_ok, std::mt19937 &rng) {
    const QData d = make_q(k, rng);
    sq_cuda_qdesc desc = {k.rows, k.cols, k.bits, k.gs, d.codes.data(), d.scales.data(), nullptr,
                          k.asym ? d.zeros.data() : nullptr};
    sq_cuda_qmatrix *m = nullptr;
    OK(sq_cuda_qmatrix_create(ctx, &desc, &m));
    const std::vector<double> w = dequant(k, d);
    for (int bi = 0; bi < nb; ++bi) {
        const int batch = batches[bi];
        const std::vector<float> x = make_x(batch, k.cols, k.exact, rng);
        for (int xt = 0; xt < 2; ++xt) {
            const sq_cuda_dtype t = xt ? SQ_CUDA_F16 : SQ_CUDA_F32;
            const int align = t == SQ_CUDA_F16 ? 8 : 4;
            const int ldx = (k.cols + align - 1) / align * align + align; /* always some NaN padding */
            void *dx = upload_x(ctx, x, batch, k.cols, t, ldx);
            const int ldy = k.rows + 3;
            const std::vector<float> sentinel((size_t) (batch + 1) * ldy, SENTINEL);
            void *dy = nullptr;
            OK(sq_cuda_malloc(ctx, sentinel.size() * sizeof(float), &dy));
            struct Run { sq_cuda_path path; int warps; };
            const Run runs[] = {{SQ_CUDA_PATH_AUTO, 0}, {SQ_CUDA_PATH_FUSED, 1}, {SQ_CUDA_PATH_FUSED, 16},
                                {SQ_CUDA_PATH_PREFILL, 0}};
            for (const Run &run : runs) {
                if (run.path == SQ_CUDA_PATH_PREFILL && !prefill_ok) continue;
                if (run.path == SQ_CUDA_PATH_AUTO && batch > 16 && !prefill_ok) continue;
                ++g_cases;
                OK(sq_cuda_upload(ctx, dy, sentinel.data(), sentinel.size() * sizeof(float)));
                const sq_cuda_status s = sq_cuda_qmatmul_ex(ctx, m, dx, t, ldx, batch, static_cast<float *>(dy), ldy,
                                                            run.path, run.warps);
                const sq_cuda_status s2 = s == SQ_CUDA_OK ? sq_cuda_ctx_sync(ctx) : s;
                char what[256];
                const bool prefill = run.path == SQ_CUDA_PATH_PREFILL || (run.path == SQ_CUDA_PATH_AUTO && batch > 16);
                snprintf(what, sizeof what, "%dx%d bits=%d gs=%d %s %s batch=%d x=%s path=%s warps=%d", k.rows,
                         k.cols, k.bits, k.gs, k.asym ? "asym" : "sym", k.exact ? "exact" : "real", batch,
                         t == SQ_CUDA_F16 ? "f16" : "f32", prefill ? "prefill" : "fused", run.warps);
                if (s2 != SQ_CUDA_OK) {
                    FAILF("%s: %s: %s", what, sq_cuda_status_string(s2), sq_cuda_last_error());
                    continue;
                }
                std::vector<float> y(sentinel.size());
                OK(sq_cuda_download(ctx, y.data(), dy, y.size() * sizeof(float)));
                if (!compare(what, y, w, x, k.rows, k.cols, batch, ldy, prefill ? 1e-3 : 5e-5, k.exact)) {
                    FAILF("%s", what);
                }
            }
            OK(sq_cuda_free(ctx, dx));
            OK(sq_cuda_free(ctx, dy));
        }
    }
    sq_cuda_qmatrix_free(m);
}

static void run_dense(sq_cuda_ctx *ctx, int rows, int cols, int batch, std::mt19937 &rng) {
    std::vector<float> wf((size_t) rows * cols);
    for (auto &v : wf) v = std::uniform_real_distribution<float>(-0.1f, 0.1f)(rng);
    std::vector<double> w(wf.size());
    for (size_t i = 0; i < wf.size(); ++i) w[i] = f16r(wf[i]);
    sq_cuda_dmatrix *m = nullptr;
    OK(sq_cuda_dmatrix_create(ctx, rows, cols, wf.data(), SQ_CUDA_F32, &m));
    const std::vector<float> x = make_x(batch, cols, false, rng);
    for (int xt = 0; xt < 2; ++xt) {
        const sq_cuda_dtype t = xt ? SQ_CUDA_F16 : SQ_CUDA_F32;
        const int ldx = (cols + 7) / 8 * 8 + 8;
        void *dx = upload_x(ctx, x, batch, cols, t, ldx);
        const int ldy = rows + 3;
        const std::vector<float> sentinel((size_t) (batch + 1) * ldy, SENTINEL);
        void *dy = nullptr;
        OK(sq_cuda_malloc(ctx, sentinel.size() * sizeof(float), &dy));
        OK(sq_cuda_upload(ctx, dy, sentinel.data(), sentinel.size() * sizeof(float)));
        ++g_cases;
        char what[128];
        snprintf(what, sizeof what, "dense %dx%d batch=%d x=%s", rows, cols, batch, xt ? "f16" : "f32");
        sq_cuda_status s = sq_cuda_dmatmul(ctx, m, dx, t, ldx, batch, static_cast<float *>(dy), ldy);
        if (s == SQ_CUDA_OK) s = sq_cuda_ctx_sync(ctx);
        if (s != SQ_CUDA_OK) {
            FAILF("%s: %s", what, sq_cuda_last_error());
        } else {
            std::vector<float> y(sentinel.size());
            OK(sq_cuda_download(ctx, y.data(), dy, y.size() * sizeof(float)));
            if (!compare(what, y, w, x, rows, cols, batch, ldy, 1e-3, false)) FAILF("%s", what);
        }
        OK(sq_cuda_free(ctx, dx));
        OK(sq_cuda_free(ctx, dy));
    }
    sq_cuda_dmatrix_free(m);
}

static void run_argument_errors(sq_cuda_ctx *ctx) {
    std::vector<uint8_t> codes(32 * 128, 1);
    std::vector<float> scales(32 * 1, 0.5f);
    sq_cuda_qdesc desc = {32, 128, 4, 128, codes.data(), scales.data(), nullptr, nullptr};
    sq_cuda_qmatrix *m = nullptr;
    OK(sq_cuda_qmatrix_create(ctx, &desc, &m));
    void *buf = nullptr;
    OK(sq_cuda_malloc(ctx, 1 << 20, &buf));
    float *y = static_cast<float *>(buf) + 4096;
    struct Bad { const char *what; const void *x; sq_cuda_dtype t; int ldx, batch, ldy; };
    const Bad bads[] = {
        {"ldx < cols", buf, SQ_CUDA_F32, 64, 1, 32},
        {"ldx not a multiple of 8 for fp16", buf, SQ_CUDA_F16, 130, 1, 32},
        {"x not 16-byte aligned", static_cast<char *>(buf) + 4, SQ_CUDA_F32, 128, 1, 32},
        {"batch 0", buf, SQ_CUDA_F32, 128, 0, 32},
        {"ldy < rows", buf, SQ_CUDA_F32, 128, 1, 31},
        {"x NULL", nullptr, SQ_CUDA_F32, 128, 1, 32},
    };
    for (const Bad &b : bads) {
        ++g_cases;
        const sq_cuda_status s = sq_cuda_qmatmul(ctx, m, b.x, b.t, b.ldx, b.batch, y, b.ldy);
        if (s != SQ_CUDA_ERR_ARG) FAILF("%s: expected an argument error, got %s", b.what, sq_cuda_status_string(s));
    }
    ++g_cases;
    if (sq_cuda_qmatmul_ex(ctx, m, buf, SQ_CUDA_F32, 128, 1, y, 32, SQ_CUDA_PATH_FUSED, 3) != SQ_CUDA_ERR_ARG) {
        FAILF("warps = 3 must be rejected");
    }
    desc.group_size = 32;
    sq_cuda_qmatrix *m2 = nullptr;
    ++g_cases;
    if (sq_cuda_qmatrix_create(ctx, &desc, &m2) != SQ_CUDA_ERR_UNSUPPORTED || m2 != nullptr) {
        FAILF("group size 32 must be unsupported");
    }
    OK(sq_cuda_free(ctx, buf));
    sq_cuda_qmatrix_free(m);
    OK(sq_cuda_ctx_sync(ctx));
}

int main(int argc, char **argv) {
    /* --quick: a subset (widths 3, 4, 8; small shapes; batch 1, 9, 17) for runs under compute-sanitizer */
    const bool quick = argc > 1 && !strcmp(argv[1], "--quick");
    if (argc > 1 && !quick) {
        printf("usage: test_cuda [--quick]\n");
        return 2;
    }
    const int n = sq_cuda_device_count();
    if (n == 0) {
        printf("test_cuda: SKIPPED: no CUDA device (%s)\n", sq_cuda_last_error());
        return 77;
    }
    sq_cuda_device_info info;
    OK(sq_cuda_device_query(0, &info));
    printf("test_cuda: device 0: %s, compute capability %d.%d, %d SMs\n", info.name, info.cc_major, info.cc_minor,
           info.sm_count);
    sq_cuda_ctx *ctx = nullptr;
    OK(sq_cuda_ctx_create(0, &ctx));
    const bool cublas = sq_cuda_cublas_available() != 0;
    if (!cublas) FAILF("cuBLAS is not available, so the prefill and dense paths cannot be checked: %s", sq_cuda_last_error());

    std::mt19937 rng(12345);
    run_argument_errors(ctx);
    const QCase shapes[] = {
        {16, 64, 0, 64, false, false},   /* one tile, one step */
        {37, 200, 0, 64, false, false},  /* padded rows and columns, partial last group */
        {5, 1000, 0, 1000, false, false},/* one group per row, odd columns */
        {48, 512, 0, 128, false, false}, /* several steps per group */
        {20, 320, 0, 192, false, false}, /* three-step groups, last one partial */
        {130, 4100, 0, 128, false, false}/* larger: many steps per warp, odd sizes */
    };
    const int batches[] = {1, 2, 5, 8, 9, 16, 17, 40};
    for (int bits = 2; bits <= 8; ++bits) {
        if (quick && bits != 3 && bits != 4 && bits != 8) continue;
        for (const QCase &s : shapes) {
            if (quick && s.cols > 1000) continue;
            for (int asym = 0; asym < 2; ++asym) {
                for (int exact = 0; exact < 2; ++exact) {
                    QCase k = s;
                    k.bits = bits;
                    k.asym = asym != 0;
                    k.exact = exact != 0;
                    /* the large shape with every batch for int4; a few batches for the other widths */
                    const bool big = k.cols > 1000;
                    const int *bs = batches;
                    int nb = 8;
                    static const int few[] = {1, 9};
                    static const int quick_batches[] = {1, 9, 17};
                    if (big && bits != 4) {
                        bs = few;
                        nb = 2;
                    }
                    if (quick) {
                        bs = quick_batches;
                        nb = 3;
                    }
                    run_q(ctx, k, bs, nb, cublas, rng);
                }
            }
        }
    }
    if (cublas) {
        run_dense(ctx, 37, 200, 1, rng);
        if (!quick) run_dense(ctx, 130, 4100, 16, rng);
        run_dense(ctx, 64, 512, 40, rng);
    }
    sq_cuda_ctx_free(ctx);
    printf("test_cuda: %d cases, %d failed: %s\n", g_cases, g_failures, g_failures ? "FAIL" : "PASS");
    return g_failures ? 1 : 0;
}
