/*
 * test_cuda_layout: checks on the host (no GPU needed) that the packed layout and the fused kernel's use of
 * it compute y = W x.
 *
 * The emulation follows the kernel lane by lane: it reads each lane's words of a (tile, step) block from
 * the repacked array, decodes them with the same sq_cuda_layout.h helpers the kernel uses, places the
 * values in A and B registers as the kernel does, and then does what the PTX ISA specifies for
 * mma.m16n8k16 (A[row][kk] from register f element e: row = g + 8 (f & 1), kk = 2 t + 8 (f >> 1) + e;
 * B[kk][n] from register r element e: kk = 2 t + 8 r + e, n = g; D = A B). The result is compared with a
 * reference computed straight from the one-code-per-byte matrix. A wrong bit position, plane order, column
 * permutation or padding shows up as a mismatch; exact-valued data make the comparison exact.
 *
 * Also: the host-side argument checks, fp16 conversion against IEEE values, packed sizes, and that asking
 * for devices without a driver gives 0 and a reason instead of an error.
 */
#include "sq_cuda.h"
#include "sq_cuda_layout.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

using namespace sqcu;

static int g_failures = 0;
static int g_checks = 0;

#define CHECK(cond, ...)                                                                                     \
    do {                                                                                                     \
        ++g_checks;                                                                                          \
        if (!(cond)) {                                                                                       \
            ++g_failures;                                                                                    \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                                      \
            printf(__VA_ARGS__);                                                                             \
            printf("\n");                                                                                    \
        }                                                                                                    \
    } while (0)

struct Case {
    int rows, cols, bits, gs;
    bool asym;
    int batch;
    bool exact;
};

struct Data {
    std::vector<uint8_t> codes;
    std::vector<float> scales, zeros; /* scales already fp16-representable */
    std::vector<float> x;             /* [batch][cols], fp16-representable */
};

static float f16r(float v) {
    return sq_cuda_f16_to_f32(sq_cuda_f32_to_f16(v));
}

static Data make_data(const Case &k, unsigned seed) {
    std::mt19937 rng(seed);
    const int ng = (k.cols + k.gs - 1) / k.gs;
    const int maxq = (1 << k.bits) - 1;
    Data d;
    d.codes.resize((size_t) k.rows * k.cols);
    for (auto &c : d.codes) c = (uint8_t) std::uniform_int_distribution<int>(0, maxq)(rng);
    d.scales.resize((size_t) k.rows * ng);
    d.zeros.resize(k.asym ? (size_t) k.rows * ng : 0);
    for (auto &s : d.scales) {
        s = k.exact ? std::ldexp(1.0f, -std::uniform_int_distribution<int>(0, 2)(rng))
                    : f16r(std::uniform_real_distribution<float>(0.001f, 0.05f)(rng));
    }
    for (auto &z : d.zeros) z = (float) std::uniform_int_distribution<int>(0, maxq)(rng);
    d.x.resize((size_t) k.batch * k.cols);
    for (auto &v : d.x) {
        v = k.exact ? (float) std::uniform_int_distribution<int>(-1, 1)(rng)
                    : f16r(std::uniform_real_distribution<float>(-2.0f, 2.0f)(rng));
    }
    return d;
}

/* y_ref[b][r] = sum_k s (q - z) x, in double, straight from the byte codes. */
static std::vector<double> reference(const Case &k, const Data &d, std::vector<double> &absum) {
    const int ng = (k.cols + k.gs - 1) / k.gs;
    const float zsym = (float) (1 << (k.bits - 1));
    std::vector<double> y((size_t) k.batch * k.rows, 0.0);
    absum.assign(y.size(), 0.0);
    for (int b = 0; b < k.batch; ++b) {
        for (int r = 0; r < k.rows; ++r) {
            double acc = 0, aa = 0;
            for (int c = 0; c < k.cols; ++c) {
                const int gi = c / k.gs;
                const double z = k.asym ? d.zeros[(size_t) r * ng + gi] : zsym;
                const double w = d.scales[(size_t) r * ng + gi] * ((double) d.codes[(size_t) r * k.cols + c] - z);
                acc += w * d.x[(size_t) b * k.cols + c];
                aa += std::fabs(w * d.x[(size_t) b * k.cols + c]);
            }
            y[(size_t) b * k.rows + r] = acc;
            absum[(size_t) b * k.rows + r] = aa;
        }
    }
    return y;
}

/* The fused kernel, lane by lane, with the tensor-core product done as the PTX ISA defines it. */
template <int BITS>
static std::vector<double> emulate(const Case &k, const Data &d, const std::vector<uint32_t> &packed) {
    const int tiles = (k.rows + 15) / 16, nsteps = (k.cols + 63) / 64, ng = (k.cols + k.gs - 1) / k.gs;
    const int spg = ng == 1 ? nsteps : k.gs / 64;
    const float zsym = (float) (1 << (k.bits - 1));
    std::vector<double> y((size_t) k.batch * k.rows, 0.0);
    for (int tile = 0; tile < tiles; ++tile) {
        for (int b0 = 0; b0 < k.batch; b0 += 8) {
            double acc[16][8] = {};
            double tmp[16][8] = {};
            for (int c = 0; c < nsteps; ++c) {
                const int grp = c / spg;
                const uint32_t *blk = packed.data() + (size_t) (tile * nsteps + c) * 32 * BITS;
                for (int j = 0; j < 4; ++j) {
                    double A[16][16] = {}, B[16][8] = {};
                    for (int lane = 0; lane < 32; ++lane) {
                        const int g = lane >> 2, t = lane & 3;
                        uint32_t w[BITS];
                        for (int i = 0; i < plane_count(BITS); ++i) {
                            const int p = plane_width(BITS, i), w0 = plane_word0(BITS, i);
                            for (int q = 0; q < p; ++q) w[w0 + q] = blk[32 * w0 + lane * p + q];
                        }
                        for (int f = 0; f < 4; ++f) {
                            const int row = tile * 16 + frag_row(g, f);
                            double z = zsym;
                            if (k.asym) z = row < k.rows ? d.zeros[(size_t) row * ng + grp] : 0.0;
                            if (row >= k.rows) z = 0.0; /* padded rows: s = 0, z = 0 on the device */
                            const uint32_t qq = code_pair<BITS>(w, 4 * j + f);
                            const double q[2] = {(double) (qq & 0xffffu), (double) (qq >> 16)};
                            for (int e = 0; e < 2; ++e) A[g + 8 * (f & 1)][2 * t + 8 * (f >> 1) + e] = q[e] - z;
                        }
                        for (int r = 0; r < 2; ++r) {
                            for (int e = 0; e < 2; ++e) {
                                /* the kernel's B register r of product j: element 4 j + 2 r + e of x[64 c + 16 t ..] */
                                const int n = b0 + g, col = c * 64 + 16 * t + 4 * j + 2 * r + e;
                                const double xv = n < k.batch && col < k.cols ? d.x[(size_t) n * k.cols + col] : 0.0;
                                B[2 * t + 8 * r + e][g] = xv;
                            }
                        }
                    }
                    for (int m = 0; m < 16; ++m)
                        for (int n = 0; n < 8; ++n)
                            for (int kk = 0; kk < 16; ++kk) tmp[m][n] += A[m][kk] * B[kk][n];
                }
                const bool group_ends = c + 1 == nsteps || (c + 1) / spg != grp;
                if (group_ends) {
                    for (int m = 0; m < 16; ++m) {
                        const int row = tile * 16 + m;
                        const double s = row < k.rows ? d.scales[(size_t) row * ng + grp] : 0.0;
                        for (int n = 0; n < 8; ++n) {
                            acc[m][n] += s * tmp[m][n];
                            tmp[m][n] = 0;
                        }
                    }
                }
            }
            for (int m = 0; m < 16; ++m) {
                for (int n = 0; n < 8; ++n) {
                    const int row = tile * 16 + m, b = b0 + n;
                    if (row < k.rows && b < k.batch) y[(size_t) b * k.rows + row] = acc[m][n];
                }
            }
        }
    }
    return y;
}

static void run_case(const Case &k, unsigned seed) {
    const Data d = make_data(k, seed);
    std::vector<uint32_t> packed(sq_cuda_packed_bytes(k.rows, k.cols, k.bits) / 4, 0xdeadbeefu);
    const sq_cuda_status st = sq_cuda_repack(k.rows, k.cols, k.bits, d.codes.data(), packed.data());
    CHECK(st == SQ_CUDA_OK, "repack %dx%d %d-bit: %s", k.rows, k.cols, k.bits, sq_cuda_last_error());
    if (st != SQ_CUDA_OK) return;
    std::vector<double> absum;
    const std::vector<double> ref = reference(k, d, absum);
    std::vector<double> emu;
    switch (k.bits) {
    case 2: emu = emulate<2>(k, d, packed); break;
    case 3: emu = emulate<3>(k, d, packed); break;
    case 4: emu = emulate<4>(k, d, packed); break;
    case 5: emu = emulate<5>(k, d, packed); break;
    case 6: emu = emulate<6>(k, d, packed); break;
    case 7: emu = emulate<7>(k, d, packed); break;
    default: emu = emulate<8>(k, d, packed); break;
    }
    int bad = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        /* exact data: every partial sum is a small dyadic rational, so the sums agree exactly */
        const double tol = k.exact ? 0.0 : 1e-12 * absum[i] + 1e-12;
        if (!(std::fabs(emu[i] - ref[i]) <= tol)) {
            if (bad++ < 3) {
                printf("  mismatch %dx%d bits=%d gs=%d %s batch=%d %s: y[%zu][%zu] = %.9g, reference %.9g\n", k.rows,
                       k.cols, k.bits, k.gs, k.asym ? "asym" : "sym", k.batch, k.exact ? "exact" : "real",
                       i / k.rows, i % k.rows, emu[i], ref[i]);
            }
        }
    }
    CHECK(bad == 0, "layout emulation %dx%d bits=%d gs=%d %s batch=%d: %d of %zu outputs differ", k.rows, k.cols,
          k.bits, k.gs, k.asym ? "asym" : "sym", k.batch, bad, ref.size());
}

static void test_emulation() {
    const int shapes[][3] = {
        {16, 64, 64},    /* one tile, one step */
        {37, 200, 64},   /* padded rows and columns, partial last group */
        {5, 1000, 1000}, /* one group per row, odd column count */
        {33, 130, 4096}, /* group size larger than the row */
        {48, 512, 128},  /* several steps per group */
        {20, 320, 192},  /* group of three steps, last group partial */
    };
    const int batches[] = {1, 3, 9, 16};
    unsigned seed = 1;
    for (int bits = 2; bits <= 8; ++bits) {
        for (const auto &s : shapes) {
            for (int asym = 0; asym < 2; ++asym) {
                for (int bi = 0; bi < 4; ++bi) {
                    for (int exact = 0; exact < 2; ++exact) {
                        run_case(Case{s[0], s[1], bits, s[2], asym != 0, batches[bi], exact != 0}, seed++);
                    }
                }
            }
        }
    }
}

static void test_repack_errors_and_sizes() {
    CHECK(sq_cuda_packed_bytes(17, 65, 3) == 2u * 2u * 128u * 3u, "packed bytes 17x65x3 = %zu",
          sq_cuda_packed_bytes(17, 65, 3));
    CHECK(sq_cuda_packed_bytes(16, 64, 4) == 512u, "packed bytes 16x64x4 = %zu", sq_cuda_packed_bytes(16, 64, 4));
    CHECK(sq_cuda_packed_bytes(0, 64, 4) == 0u, "packed bytes of an empty matrix must be 0");
    CHECK(sq_cuda_packed_bytes(16, 64, 9) == 0u, "packed bytes of 9-bit codes must be 0");
    std::vector<uint8_t> codes(16 * 64, 3);
    codes[5 * 64 + 7] = 4; /* does not fit in 2 bits */
    std::vector<uint32_t> out(sq_cuda_packed_bytes(16, 64, 2) / 4);
    CHECK(sq_cuda_repack(16, 64, 2, codes.data(), out.data()) == SQ_CUDA_ERR_ARG, "code 4 in 2 bits must be rejected");
    CHECK(strstr(sq_cuda_last_error(), "row 5, column 7") != nullptr, "message names the place: %s",
          sq_cuda_last_error());
}

static void test_desc_checks() {
    std::vector<uint8_t> codes(100 * 100, 1);
    std::vector<float> scales(100 * 4, 0.5f), zeros(100 * 4, 2.0f);
    sq_cuda_qdesc d = {100, 100, 4, 32, codes.data(), scales.data(), nullptr, nullptr};
    CHECK(sq_cuda_qdesc_check(&d) == SQ_CUDA_ERR_UNSUPPORTED, "group size 32 on 100 columns is unsupported");
    CHECK(strstr(sq_cuda_last_error(), "multiple of 64") != nullptr, "message says what to do: %s", sq_cuda_last_error());
    d.group_size = 64; /* 2 groups */
    CHECK(sq_cuda_qdesc_check(&d) == SQ_CUDA_OK, "group size 64: %s", sq_cuda_last_error());
    d.group_size = 100; /* one group per row */
    CHECK(sq_cuda_qdesc_check(&d) == SQ_CUDA_OK, "one group per row: %s", sq_cuda_last_error());
    d.group_size = 64;
    d.zeros = zeros.data();
    CHECK(sq_cuda_qdesc_check(&d) == SQ_CUDA_OK, "integer zeros: %s", sq_cuda_last_error());
    zeros[3] = 2.5f;
    CHECK(sq_cuda_qdesc_check(&d) == SQ_CUDA_ERR_ARG, "fractional zero point is rejected");
    CHECK(strstr(sq_cuda_last_error(), "row 1, group 1") != nullptr, "zero message names row and group: %s",
          sq_cuda_last_error());
    zeros[3] = 2000.0f;
    CHECK(sq_cuda_qdesc_check(&d) == SQ_CUDA_ERR_ARG, "zero point 2000 is rejected");
    zeros[3] = 2.0f;
    scales[7] = NAN;
    CHECK(sq_cuda_qdesc_check(&d) == SQ_CUDA_ERR_ARG, "NaN scale is rejected");
    scales[7] = 0.5f;
    std::vector<uint16_t> s16(100 * 2, 0x3c00);
    d.scales_f16 = s16.data();
    CHECK(sq_cuda_qdesc_check(&d) == SQ_CUDA_ERR_ARG, "two scale arrays are rejected");
    d.scales_f32 = nullptr;
    CHECK(sq_cuda_qdesc_check(&d) == SQ_CUDA_OK, "fp16 scales: %s", sq_cuda_last_error());
    codes[99 * 100 + 99] = 16;
    CHECK(sq_cuda_qdesc_check(&d) == SQ_CUDA_ERR_ARG, "code 16 in 4 bits is rejected");
    codes[99 * 100 + 99] = 15;
    d.bits = 9;
    CHECK(sq_cuda_qdesc_check(&d) == SQ_CUDA_ERR_UNSUPPORTED, "9-bit codes are unsupported");
    d.bits = 4;
    d.rows = 0;
    CHECK(sq_cuda_qdesc_check(&d) == SQ_CUDA_ERR_ARG, "zero rows are rejected");
    CHECK(sq_cuda_qdesc_check(nullptr) == SQ_CUDA_ERR_ARG, "NULL description is rejected");
}

static void test_f16() {
    /* IEEE 754 binary16 encodings */
    CHECK(sq_cuda_f32_to_f16(1.0f) == 0x3c00, "1.0 -> %04x", sq_cuda_f32_to_f16(1.0f));
    CHECK(sq_cuda_f32_to_f16(-2.0f) == 0xc000, "-2.0 -> %04x", sq_cuda_f32_to_f16(-2.0f));
    CHECK(sq_cuda_f32_to_f16(65504.0f) == 0x7bff, "65504 -> %04x", sq_cuda_f32_to_f16(65504.0f));
    CHECK(sq_cuda_f32_to_f16(65520.0f) == 0x7c00, "65520 rounds to +inf, got %04x", sq_cuda_f32_to_f16(65520.0f));
    CHECK(sq_cuda_f32_to_f16(0.1f) == 0x2e66, "0.1 -> %04x", sq_cuda_f32_to_f16(0.1f));
    CHECK(sq_cuda_f32_to_f16(1.0f / 3.0f) == 0x3555, "1/3 -> %04x", sq_cuda_f32_to_f16(1.0f / 3.0f));
    CHECK(sq_cuda_f32_to_f16(1e-8f) == 0x0000, "1e-8 -> %04x", sq_cuda_f32_to_f16(1e-8f));
    CHECK(sq_cuda_f16_to_f32(0x0001) == std::ldexp(1.0f, -24), "smallest subnormal");
    CHECK(sq_cuda_f16_to_f32(0x6400) == 1024.0f, "0x6400 is 1024 (the kernels' magic number)");
    CHECK(sq_cuda_f16_to_f32(0x64ff) == 1279.0f, "0x64ff is 1024 + 255");
}

static void test_no_device_is_not_an_error() {
    const int n = sq_cuda_device_count();
    CHECK(n >= 0, "device count %d", n);
    if (n == 0) {
        CHECK(strlen(sq_cuda_last_error()) > 0, "no device: a reason must be given");
        printf("no CUDA device here: %s\n", sq_cuda_last_error());
        sq_cuda_ctx *ctx = reinterpret_cast<sq_cuda_ctx *>(1);
        CHECK(sq_cuda_ctx_create(0, &ctx) == SQ_CUDA_ERR_CUDA && ctx == nullptr,
              "ctx_create without a device fails cleanly");
    } else {
        printf("%d CUDA device(s) here\n", n);
    }
    CHECK(sq_cuda_abi_version() == SQ_CUDA_ABI_VERSION, "ABI version");
}

int main() {
    test_f16();
    test_repack_errors_and_sizes();
    test_desc_checks();
    test_no_device_is_not_an_error();
    test_emulation();
    printf("test_cuda_layout: %d checks, %d failed: %s\n", g_checks, g_failures, g_failures ? "FAIL" : "PASS");
    return g_failures ? 1 : 0;
}
