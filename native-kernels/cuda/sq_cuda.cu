/*
 * sq_cuda: quantized (2..8-bit, group-wise) and dense fp16 matrix products on NVIDIA GPUs.
 * API and numerics: sq_cuda.h. Packed layout: sq_cuda_layout.h.
 *
 * The fused kernel (batch <= 16 per pass): one thread block per 16-row tile; its warps split the tile's
 * 64-column steps. Per step a warp issues one coalesced load per bit plane (128 * bits bytes), turns the
 * codes into exact fp16 (code - zero) with integer masks and one fp16 subtraction, and runs four
 * m16n8k16 tensor-core products (fp32 accumulation) per 8 batch columns; group sums are scaled in fp32.
 * Loads for four steps are issued before any of them is used, so each warp keeps 4 * 128 * bits bytes in
 * flight. Warps then reduce through shared memory and warp 0 writes y.
 */
#include "sq_cuda.h"
#include "sq_cuda_layout.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <vector>

using namespace sqcu;

/* ------------------------------------------------------------------------------------------------------- */
/* errors                                                                                                   */

static thread_local char g_err[1024];

static sq_cuda_status fail(sq_cuda_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_err, sizeof g_err, fmt, ap);
    va_end(ap);
    return s;
}

static sq_cuda_status cuda_fail(const char *what, cudaError_t e) {
    return fail(SQ_CUDA_ERR_CUDA, "%s: %s (CUDA error %d: %s)", what, cudaGetErrorString(e), (int) e,
                cudaGetErrorName(e));
}

#define CK(what, call)                                                                                      \
    do {                                                                                                     \
        cudaError_t e_ = (call);                                                                             \
        if (e_ != cudaSuccess) return cuda_fail(what, e_);                                                   \
    } while (0)

extern "C" const char *sq_cuda_last_error(void) {
    return g_err;
}

extern "C" const char *sq_cuda_status_string(sq_cuda_status s) {
    switch (s) {
    case SQ_CUDA_OK: return "ok";
    case SQ_CUDA_ERR_ARG: return "invalid argument";
    case SQ_CUDA_ERR_UNSUPPORTED: return "unsupported";
    case SQ_CUDA_ERR_CUDA: return "CUDA runtime error";
    case SQ_CUDA_ERR_CUBLAS: return "cuBLAS error";
    case SQ_CUDA_ERR_NOMEM: return "out of host memory";
    }
    return "unknown status";
}

extern "C" int sq_cuda_abi_version(void) {
    return SQ_CUDA_ABI_VERSION;
}

/* ------------------------------------------------------------------------------------------------------- */
/* cuBLAS, loaded at run time                                                                               */
/* The few declarations used, with the values of cublas_api.h / library_types.h (stable since CUDA 11). */

namespace {
typedef void *cublas_handle;
enum { CUBLAS_OK = 0, OP_N = 0, OP_T = 1, R_16F = 2, R_32F = 0, COMPUTE_32F = 68, GEMM_DEFAULT = -1 };

struct CublasApi {
    void *lib = nullptr;
    int (*create)(cublas_handle *) = nullptr;
    int (*destroy)(cublas_handle) = nullptr;
    int (*set_stream)(cublas_handle, cudaStream_t) = nullptr;
    int (*gemm_ex)(cublas_handle, int, int, int, int, int, const void *, const void *, int, int, const void *,
                   int, int, const void *, void *, int, int, int, int) = nullptr;
    const char *(*status_string)(int) = nullptr;
    char problem[512] = "";
};

CublasApi g_cublas;
std::once_flag g_cublas_once;

void load_cublas() {
    const char *names[5] = {getenv("SQ_CUBLAS_LIB"), "libcublas.so.13", "libcublas.so.12", "libcublas.so",
                            nullptr};
    std::string tried;
    for (int i = 0; i < 4; ++i) {
        if (names[i] == nullptr || names[i][0] == 0) continue;
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (h == nullptr) {
            const char *e = dlerror();
            tried += std::string(tried.empty() ? "" : "; ") + (e ? e : names[i]);
            continue;
        }
        g_cublas.create = reinterpret_cast<int (*)(cublas_handle *)>(dlsym(h, "cublasCreate_v2"));
        g_cublas.destroy = reinterpret_cast<int (*)(cublas_handle)>(dlsym(h, "cublasDestroy_v2"));
        g_cublas.set_stream = reinterpret_cast<int (*)(cublas_handle, cudaStream_t)>(dlsym(h, "cublasSetStream_v2"));
        g_cublas.gemm_ex = reinterpret_cast<decltype(g_cublas.gemm_ex)>(dlsym(h, "cublasGemmEx"));
        g_cublas.status_string = reinterpret_cast<const char *(*) (int)>(dlsym(h, "cublasGetStatusString"));
        if (g_cublas.create && g_cublas.destroy && g_cublas.set_stream && g_cublas.gemm_ex) {
            g_cublas.lib = h;
            return;
        }
        tried += std::string(tried.empty() ? "" : "; ") + names[i] + " lacks cublasCreate_v2/cublasGemmEx";
        dlclose(h);
    }
    snprintf(g_cublas.problem, sizeof g_cublas.problem,
             "cuBLAS could not be loaded (%s); install the CUDA toolkit's cuBLAS or set SQ_CUBLAS_LIB to "
             "the path of libcublas.so", tried.c_str());
}

bool cublas_ready() {
    std::call_once(g_cublas_once, load_cublas);
    return g_cublas.lib != nullptr;
}

sq_cuda_status cublas_fail(const char *what, int status) {
    const char *s = g_cublas.status_string ? g_cublas.status_string(status) : "no status string";
    return fail(SQ_CUDA_ERR_CUBLAS, "%s: cuBLAS status %d (%s)", what, status, s ? s : "?");
}
} // namespace

extern "C" int sq_cuda_cublas_available(void) {
    if (cublas_ready()) return 1;
    fail(SQ_CUDA_ERR_CUBLAS, "%s", g_cublas.problem);
    return 0;
}

/* ------------------------------------------------------------------------------------------------------- */
/* objects                                                                                                  */

struct sq_cuda_ctx {
    int device = 0;
    int sm_count = 1;
    cudaStream_t stream = nullptr;
    cublas_handle cublas = nullptr;
    void *scratch = nullptr;
    size_t scratch_bytes = 0;
};

struct sq_cuda_qmatrix {
    int device = 0;
    int rows = 0, cols = 0, bits = 0, group_size = 0;
    int tiles = 0, nsteps = 0, ngroups = 0, spg = 0; /* spg: steps per group */
    uint32_t *codes = nullptr;                       /* packed, tiles * nsteps * 32 * bits words */
    uint32_t *sz = nullptr;                          /* (tiles*16) x ngroups fp16 pairs: low = scale, high = zero */
    size_t code_bytes = 0, sz_bytes = 0;
};

struct sq_cuda_dmatrix {
    int device = 0;
    int rows = 0, cols = 0;
    __half *w = nullptr;
};

/* ------------------------------------------------------------------------------------------------------- */
/* host helpers                                                                                             */

extern "C" uint16_t sq_cuda_f32_to_f16(float f) {
    __half_raw r = __float2half_rn(f);
    return r.x;
}

extern "C" float sq_cuda_f16_to_f32(uint16_t h) {
    __half_raw r;
    r.x = h;
    return __half2float(__half(r));
}

static int64_t ceil_div(int64_t a, int64_t b) {
    return (a + b - 1) / b;
}

extern "C" size_t sq_cuda_packed_bytes(int rows, int cols, int bits) {
    if (rows <= 0 || cols <= 0 || bits < 2 || bits > 8) return 0;
    return (size_t) ceil_div(rows, kTileRows) * (size_t) ceil_div(cols, kStepCols) * 128u * (size_t) bits;
}

template <int BITS>
static void repack_impl(int rows, int cols, const uint8_t *codes, uint32_t *out) {
    const int64_t tiles = ceil_div(rows, kTileRows), nsteps = ceil_div(cols, kStepCols);
    for (int64_t tile = 0; tile < tiles; ++tile) {
        for (int64_t c = 0; c < nsteps; ++c) {
            uint32_t *blk = out + (size_t) (tile * nsteps + c) * 32u * BITS;
            for (int lane = 0; lane < kLanes; ++lane) {
                const int g = lane >> 2, t = lane & 3;
                uint32_t w[BITS] = {};
                for (int j = 0; j < kProductsPerStep; ++j) {
                    for (int f = 0; f < 4; ++f) {
                        const int64_t row = tile * kTileRows + frag_row(g, f);
                        const int field = 4 * j + f;
                        for (int e = 0; e < 2; ++e) {
                            const int64_t col = c * kStepCols + frag_col(t, j, f, e);
                            const uint32_t q = row < rows && col < cols ? codes[row * cols + col] : 0u;
                            for (int i = 0; i < plane_count(BITS); ++i) {
                                const uint32_t part = (q >> plane_shift(BITS, i)) & ((1u << plane_width(BITS, i)) - 1u);
                                w[field_word(BITS, i, field)] |= part << (field_bit(BITS, i, field) + 16 * e);
                            }
                        }
                    }
                }
                /* lane L's words of plane i go to 32 * word0(i) + L * width(i) */
                for (int i = 0; i < plane_count(BITS); ++i) {
                    const int p = plane_width(BITS, i), w0 = plane_word0(BITS, i);
                    for (int k = 0; k < p; ++k) blk[32 * w0 + lane * p + k] = w[w0 + k];
                }
            }
        }
    }
}

extern "C" sq_cuda_status sq_cuda_repack(int rows, int cols, int bits, const uint8_t *codes, uint32_t *out) {
    if (rows <= 0 || cols <= 0) return fail(SQ_CUDA_ERR_ARG, "repack: rows and cols must be >= 1, got %d x %d", rows, cols);
    if (bits < 2 || bits > 8) return fail(SQ_CUDA_ERR_ARG, "repack: bits must be 2..8, got %d", bits);
    if (codes == nullptr || out == nullptr) return fail(SQ_CUDA_ERR_ARG, "repack: codes and out must not be NULL");
    const uint32_t limit = 1u << bits;
    const int64_t n = (int64_t) rows * cols;
    for (int64_t i = 0; i < n; ++i) {
        if (codes[i] >= limit) {
            return fail(SQ_CUDA_ERR_ARG, "repack: code %u at row %lld, column %lld does not fit in %d bits (max %u)",
                        (unsigned) codes[i], (long long) (i / cols), (long long) (i % cols), bits, limit - 1);
        }
    }
    switch (bits) {
    case 2: repack_impl<2>(rows, cols, codes, out); break;
    case 3: repack_impl<3>(rows, cols, codes, out); break;
    case 4: repack_impl<4>(rows, cols, codes, out); break;
    case 5: repack_impl<5>(rows, cols, codes, out); break;
    case 6: repack_impl<6>(rows, cols, codes, out); break;
    case 7: repack_impl<7>(rows, cols, codes, out); break;
    default: repack_impl<8>(rows, cols, codes, out); break;
    }
    return SQ_CUDA_OK;
}

extern "C" sq_cuda_status sq_cuda_qdesc_check(const sq_cuda_qdesc *d) {
    if (d == nullptr) return fail(SQ_CUDA_ERR_ARG, "quantized matrix: description is NULL");
    if (d->rows <= 0 || d->cols <= 0) {
        return fail(SQ_CUDA_ERR_ARG, "quantized matrix: rows and cols must be >= 1, got %d x %d", d->rows, d->cols);
    }
    if (d->bits < 2 || d->bits > 8) {
        return fail(SQ_CUDA_ERR_UNSUPPORTED, "quantized matrix: %d-bit codes are not supported (2..8)", d->bits);
    }
    if (d->group_size <= 0) {
        return fail(SQ_CUDA_ERR_ARG, "quantized matrix: group size must be >= 1, got %d", d->group_size);
    }
    if (d->group_size % kStepCols != 0 && d->group_size < d->cols) {
        return fail(SQ_CUDA_ERR_UNSUPPORTED,
                    "quantized matrix: group size %d with %d columns is not supported on CUDA: use a multiple of "
                    "64, or one group per row (group size >= columns)", d->group_size, d->cols);
    }
    if ((int64_t) d->rows * d->cols > ((int64_t) 1 << 40)) {
        return fail(SQ_CUDA_ERR_ARG, "quantized matrix: %d x %d is too large", d->rows, d->cols);
    }
    if (d->codes == nullptr) return fail(SQ_CUDA_ERR_ARG, "quantized matrix: codes are NULL");
    if ((d->scales_f32 == nullptr) == (d->scales_f16 == nullptr)) {
        return fail(SQ_CUDA_ERR_ARG, "quantized matrix: give exactly one of scales_f32 and scales_f16");
    }
    const int64_t ngroups = ceil_div(d->cols, d->group_size);
    const int64_t nsz = (int64_t) d->rows * ngroups;
    for (int64_t i = 0; i < nsz; ++i) {
        const float s = d->scales_f32 ? d->scales_f32[i] : sq_cuda_f16_to_f32(d->scales_f16[i]);
        if (!std::isfinite(s)) {
            return fail(SQ_CUDA_ERR_ARG, "quantized matrix: scale of row %lld, group %lld is not finite",
                        (long long) (i / ngroups), (long long) (i % ngroups));
        }
        if (d->zeros) {
            const float z = d->zeros[i];
            if (!(z >= -1023.0f && z <= 1023.0f) || z != std::rint(z)) {
                return fail(SQ_CUDA_ERR_ARG,
                            "quantized matrix: zero point %g of row %lld, group %lld is not an integer in "
                            "[-1023, 1023]; the CUDA kernels need integer zero points",
                            (double) z, (long long) (i / ngroups), (long long) (i % ngroups));
            }
        }
    }
    const uint32_t limit = 1u << d->bits;
    const int64_t n = (int64_t) d->rows * d->cols;
    for (int64_t i = 0; i < n; ++i) {
        if (d->codes[i] >= limit) {
            return fail(SQ_CUDA_ERR_ARG, "quantized matrix: code %u at row %lld, column %lld does not fit in %d bits",
                        (unsigned) d->codes[i], (long long) (i / d->cols), (long long) (i % d->cols), d->bits);
        }
    }
    return SQ_CUDA_OK;
}

/* ------------------------------------------------------------------------------------------------------- */
/* device count, info, context, buffers                                                                     */

extern "C" int sq_cuda_device_count(void) {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        cuda_fail("no usable CUDA device", e);
        (void) cudaGetLastError();
        return 0;
    }
    if (n == 0) fail(SQ_CUDA_ERR_CUDA, "the CUDA driver reports no device");
    return n;
}

extern "C" sq_cuda_status sq_cuda_device_query(int device, sq_cuda_device_info *out) {
    if (out == nullptr) return fail(SQ_CUDA_ERR_ARG, "device_query: out is NULL");
    const int n = sq_cuda_device_count();
    if (device < 0 || device >= n) {
        return fail(n == 0 ? SQ_CUDA_ERR_CUDA : SQ_CUDA_ERR_ARG, "device %d does not exist (%d devices)%s%s",
                    device, n, n == 0 ? ": " : "", n == 0 ? g_err : "");
    }
    cudaDeviceProp p;
    CK("cudaGetDeviceProperties", cudaGetDeviceProperties(&p, device));
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", p.name);
    out->cc_major = p.major;
    out->cc_minor = p.minor;
    out->sm_count = p.multiProcessorCount;
    out->global_mem_bytes = p.totalGlobalMem;
    out->l2_bytes = (size_t) p.l2CacheSize;
    CK("memory clock", cudaDeviceGetAttribute(&out->mem_clock_khz, cudaDevAttrMemoryClockRate, device));
    CK("memory bus width", cudaDeviceGetAttribute(&out->mem_bus_width_bits, cudaDevAttrGlobalMemoryBusWidth, device));
    out->peak_gbps = 2.0 * out->mem_clock_khz * 1e3 * (out->mem_bus_width_bits / 8.0) / 1e9;
    return SQ_CUDA_OK;
}

extern "C" sq_cuda_status sq_cuda_ctx_create(int device, sq_cuda_ctx **out) {
    if (out == nullptr) return fail(SQ_CUDA_ERR_ARG, "ctx_create: out is NULL");
    *out = nullptr;
    const int n = sq_cuda_device_count();
    if (n == 0) return SQ_CUDA_ERR_CUDA; /* message already set */
    if (device < 0 || device >= n) return fail(SQ_CUDA_ERR_ARG, "device %d does not exist (%d devices)", device, n);
    CK("cudaSetDevice", cudaSetDevice(device));
    int sms = 1;
    CK("SM count", cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    int major = 0;
    CK("compute capability", cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    if (major < 8) {
        return fail(SQ_CUDA_ERR_UNSUPPORTED, "device %d has compute capability %d.x; the kernels need 8.0 or newer "
                    "(Ampere, Hopper)", device, major);
    }
    sq_cuda_ctx *c = new (std::nothrow) sq_cuda_ctx();
    if (c == nullptr) return fail(SQ_CUDA_ERR_NOMEM, "ctx_create: out of host memory");
    c->device = device;
    c->sm_count = sms;
    const cudaError_t e = cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        delete c;
        return cuda_fail("cudaStreamCreate", e);
    }
    *out = c;
    return SQ_CUDA_OK;
}

extern "C" void sq_cuda_ctx_free(sq_cuda_ctx *c) {
    if (c == nullptr) return;
    cudaSetDevice(c->device);
    cudaStreamSynchronize(c->stream);
    if (c->cublas) g_cublas.destroy(c->cublas);
    if (c->scratch) cudaFree(c->scratch);
    cudaStreamDestroy(c->stream);
    delete c;
}

#define NEED_CTX(c)                                                                                          \
    do {                                                                                                     \
        if ((c) == nullptr) return fail(SQ_CUDA_ERR_ARG, "context is NULL");                                 \
        CK("cudaSetDevice", cudaSetDevice((c)->device));                                                     \
    } while (0)

extern "C" sq_cuda_status sq_cuda_ctx_sync(sq_cuda_ctx *c) {
    NEED_CTX(c);
    CK("stream synchronize (an earlier kernel may have failed)", cudaStreamSynchronize(c->stream));
    return SQ_CUDA_OK;
}

extern "C" void *sq_cuda_ctx_stream(sq_cuda_ctx *c) {
    return c ? (void *) c->stream : nullptr;
}

extern "C" sq_cuda_status sq_cuda_malloc(sq_cuda_ctx *c, size_t bytes, void **dptr) {
    NEED_CTX(c);
    if (dptr == nullptr) return fail(SQ_CUDA_ERR_ARG, "malloc: dptr is NULL");
    *dptr = nullptr;
    CK("cudaMalloc", cudaMalloc(dptr, bytes == 0 ? 1 : bytes));
    return SQ_CUDA_OK;
}

extern "C" sq_cuda_status sq_cuda_free(sq_cuda_ctx *c, void *dptr) {
    NEED_CTX(c);
    if (dptr == nullptr) return SQ_CUDA_OK;
    CK("stream synchronize before cudaFree", cudaStreamSynchronize(c->stream));
    CK("cudaFree", cudaFree(dptr));
    return SQ_CUDA_OK;
}

extern "C" sq_cuda_status sq_cuda_upload(sq_cuda_ctx *c, void *dst, const void *src, size_t bytes) {
    NEED_CTX(c);
    if (bytes == 0) return SQ_CUDA_OK;
    if (dst == nullptr || src == nullptr) return fail(SQ_CUDA_ERR_ARG, "upload: NULL pointer");
    CK("upload", cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, c->stream));
    CK("upload (synchronize)", cudaStreamSynchronize(c->stream));
    return SQ_CUDA_OK;
}

extern "C" sq_cuda_status sq_cuda_download(sq_cuda_ctx *c, void *dst, const void *src, size_t bytes) {
    NEED_CTX(c);
    if (bytes == 0) return SQ_CUDA_OK;
    if (dst == nullptr || src == nullptr) return fail(SQ_CUDA_ERR_ARG, "download: NULL pointer");
    CK("download", cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, c->stream));
    CK("download (synchronize)", cudaStreamSynchronize(c->stream));
    return SQ_CUDA_OK;
}

extern "C" sq_cuda_status sq_cuda_memset(sq_cuda_ctx *c, void *dst, int byte, size_t bytes) {
    NEED_CTX(c);
    if (bytes == 0) return SQ_CUDA_OK;
    if (dst == nullptr) return fail(SQ_CUDA_ERR_ARG, "memset: NULL pointer");
    CK("memset", cudaMemsetAsync(dst, byte, bytes, c->stream));
    return SQ_CUDA_OK;
}

static sq_cuda_status ensure_scratch(sq_cuda_ctx *c, size_t bytes) {
    if (c->scratch_bytes >= bytes) return SQ_CUDA_OK;
    CK("stream synchronize before growing scratch", cudaStreamSynchronize(c->stream));
    if (c->scratch) cudaFree(c->scratch);
    c->scratch = nullptr;
    c->scratch_bytes = 0;
    CK("cudaMalloc (scratch)", cudaMalloc(&c->scratch, bytes));
    c->scratch_bytes = bytes;
    return SQ_CUDA_OK;
}

static sq_cuda_status ensure_cublas(sq_cuda_ctx *c) {
    if (c->cublas) return SQ_CUDA_OK;
    if (!cublas_ready()) return fail(SQ_CUDA_ERR_CUBLAS, "%s", g_cublas.problem);
    cublas_handle h = nullptr;
    int s = g_cublas.create(&h);
    if (s != CUBLAS_OK) return cublas_fail("cublasCreate", s);
    s = g_cublas.set_stream(h, c->stream);
    if (s != CUBLAS_OK) {
        g_cublas.destroy(h);
        return cublas_fail("cublasSetStream", s);
    }
    c->cublas = h;
    return SQ_CUDA_OK;
}

/* ------------------------------------------------------------------------------------------------------- */
/* kernels                                                                                                  */

__device__ __forceinline__ __half2 u2h2(uint32_t u) {
    __half2 h;
    memcpy(&h, &u, 4);
    return h;
}

__device__ __forceinline__ uint32_t h22u(__half2 h) {
    uint32_t u;
    memcpy(&u, &h, 4);
    return u;
}

/* D += A B, m16n8k16, fp16 inputs, fp32 accumulation (sm_80+). */
__device__ __forceinline__ void mma16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* A lane's codes of one step: plane by plane, one vector load each, streamed (evict-first). */
template <int BITS>
__device__ __forceinline__ void load_codes(const uint32_t *__restrict__ blk, int lane, uint32_t (&w)[BITS]) {
#pragma unroll
    for (int i = 0; i < plane_count(BITS); ++i) {
        const int p = plane_width(BITS, i), w0 = plane_word0(BITS, i);
        const uint32_t *src = blk + 32 * w0 + lane * p;
        if (p == 4) {
            const uint4 v = __ldcs(reinterpret_cast<const uint4 *>(src));
            w[w0] = v.x;
            w[w0 + 1] = v.y;
            w[w0 + 2] = v.z;
            w[w0 + 3] = v.w;
        } else if (p == 2) {
            const uint2 v = __ldcs(reinterpret_cast<const uint2 *>(src));
            w[w0] = v.x;
            w[w0 + 1] = v.y;
        } else {
            w[w0] = __ldcs(src);
        }
    }
}

/* The 16 activations x[kb .. kb+15] of one row as 8 fp16 pairs; columns >= cols read as 0. */
__device__ __forceinline__ void load_x16(const __half *__restrict__ row, int kb, int cols, uint32_t (&b)[8]) {
    if (kb + 16 <= cols) {
        const uint4 v0 = __ldg(reinterpret_cast<const uint4 *>(row + kb));
        const uint4 v1 = __ldg(reinterpret_cast<const uint4 *>(row + kb + 8));
        b[0] = v0.x; b[1] = v0.y; b[2] = v0.z; b[3] = v0.w;
        b[4] = v1.x; b[5] = v1.y; b[6] = v1.z; b[7] = v1.w;
    } else {
        const unsigned short *r = reinterpret_cast<const unsigned short *>(row);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            const uint32_t lo = kb + 2 * i < cols ? r[kb + 2 * i] : 0u;
            const uint32_t hi = kb + 2 * i + 1 < cols ? r[kb + 2 * i + 1] : 0u;
            b[i] = lo | (hi << 16);
        }
    }
}

__device__ __forceinline__ void load_x16(const float *__restrict__ row, int kb, int cols, uint32_t (&b)[8]) {
    if (kb + 16 <= cols) {
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            const float4 v = __ldg(reinterpret_cast<const float4 *>(row + kb) + q);
            b[2 * q] = h22u(__floats2half2_rn(v.x, v.y));
            b[2 * q + 1] = h22u(__floats2half2_rn(v.z, v.w));
        }
    } else {
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            const float lo = kb + 2 * i < cols ? row[kb + 2 * i] : 0.0f;
            const float hi = kb + 2 * i + 1 < cols ? row[kb + 2 * i + 1] : 0.0f;
            b[i] = h22u(__floats2half2_rn(lo, hi));
        }
    }
}

/* One 64-column step for one lane: 4 k16 products per 8 batch columns. */
template <int BITS, int NT, typename XT>
__device__ __forceinline__ void fused_step(const uint32_t (&w)[BITS], int c, int t, const XT *const (&xr)[NT],
                                           int cols, __half2 z_lo, __half2 z_hi,
                                           float (&tmp)[NT][4]) {
    uint32_t b[NT][8];
    const int kb = c * kStepCols + 16 * t;
    /* Lanes whose batch column n = g + 8 nt is past the batch read row 0 instead: column n of the product
     * depends only on column n of B, and those columns of D are never written. */
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) load_x16(xr[nt], kb, cols, b[nt]);
    __syncwarp();
#pragma unroll
    for (int j = 0; j < kProductsPerStep; ++j) {
        uint32_t a[4];
#pragma unroll
        for (int f = 0; f < 4; ++f) {
            const uint32_t q = code_pair<BITS>(w, 4 * j + f) | 0x64006400u; /* fp16 pair 1024 + q */
            a[f] = h22u(__hsub2(u2h2(q), (f & 1) ? z_hi : z_lo));        /* exact q - z */
        }
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) mma16816(tmp[nt], a, b[nt][2 * j], b[nt][2 * j + 1]);
    }
}

/* Steps whose code loads are issued together: about 2 KiB in flight per warp, within 64 registers (NT = 1)
 * or 128 registers (NT = 2) without spilling. */
template <int BITS>
__host__ __device__ constexpr int prefetch_steps() {
    return BITS <= 4 ? 4 : 2;
}

template <int BITS, int NT, typename XT>
__global__ void __launch_bounds__(512, NT == 1 ? 2 : 1)
fused_kernel(const uint32_t *__restrict__ codes, const uint32_t *__restrict__ sz, const XT *__restrict__ x,
             float *__restrict__ y, int rows, int cols, int nsteps, int spg, int ngroups, int ldx, int batch,
             int ldy) {
    extern __shared__ float red[];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int tile = blockIdx.x;
    const int r_lo = tile * kTileRows + g, r_hi = r_lo + 8;
    const int per = (nsteps + nwarps - 1) / nwarps;
    const int cbeg = min(nsteps, warp * per), cend = min(nsteps, cbeg + per);
    const uint32_t *tcodes = codes + (size_t) tile * nsteps * (32 * BITS);

    const XT *xr[NT]; /* this lane's activation row per 8 batch columns (row 0 past the batch) */
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
        const int n = g + 8 * nt;
        xr[nt] = x + (size_t) (n < batch ? n : 0) * ldx;
    }

    float acc[NT][4];
#pragma unroll
    for (int nt = 0; nt < NT; ++nt)
#pragma unroll
        for (int i = 0; i < 4; ++i) acc[nt][i] = 0.0f;

    int c = cbeg;
    while (c < cend) {
        const int grp = c / spg;
        const int gend = min(cend, (grp + 1) * spg);
        const __half2 sz_lo = u2h2(__ldg(sz + (size_t) r_lo * ngroups + grp));
        const __half2 sz_hi = u2h2(__ldg(sz + (size_t) r_hi * ngroups + grp));
        const __half k1024 = __float2half(1024.0f);
        const __half2 z_lo = __half2half2(__hadd(k1024, __high2half(sz_lo))); /* 1024 + z, exact */
        const __half2 z_hi = __half2half2(__hadd(k1024, __high2half(sz_hi)));
        float tmp[NT][4];
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int i = 0; i < 4; ++i) tmp[nt][i] = 0.0f;

        constexpr int P = prefetch_steps<BITS>();
        for (; c + P <= gend; c += P) {
            uint32_t w[P][BITS];
#pragma unroll
            for (int u = 0; u < P; ++u) load_codes<BITS>(tcodes + (size_t) (c + u) * (32 * BITS), lane, w[u]);
#pragma unroll
            for (int u = 0; u < P; ++u) fused_step<BITS, NT, XT>(w[u], c + u, t, xr, cols, z_lo, z_hi, tmp);
        }
        for (; c < gend; ++c) {
            uint32_t w[BITS];
            load_codes<BITS>(tcodes + (size_t) c * (32 * BITS), lane, w);
            fused_step<BITS, NT, XT>(w, c, t, xr, cols, z_lo, z_hi, tmp);
        }
        const float s_lo = __low2float(sz_lo), s_hi = __low2float(sz_hi);
#pragma unroll
        for (int nt = 0; nt < NT; ++nt) {
            acc[nt][0] = fmaf(s_lo, tmp[nt][0], acc[nt][0]);
            acc[nt][1] = fmaf(s_lo, tmp[nt][1], acc[nt][1]);
            acc[nt][2] = fmaf(s_hi, tmp[nt][2], acc[nt][2]);
            acc[nt][3] = fmaf(s_hi, tmp[nt][3], acc[nt][3]);
        }
    }

    if (nwarps > 1) {
        float *mine = red + (size_t) (warp * 32 + lane) * (NT * 4);
#pragma unroll
        for (int nt = 0; nt < NT; ++nt)
#pragma unroll
            for (int i = 0; i < 4; ++i) mine[nt * 4 + i] = acc[nt][i];
        __syncthreads();
        if (warp != 0) return;
        for (int w2 = 1; w2 < nwarps; ++w2) {
            const float *other = red + (size_t) (w2 * 32 + lane) * (NT * 4);
#pragma unroll
            for (int nt = 0; nt < NT; ++nt)
#pragma unroll
                for (int i = 0; i < 4; ++i) acc[nt][i] += other[nt * 4 + i];
        }
    }
    /* C fragment: c0, c1 = (row g, n = 2t, 2t+1); c2, c3 = (row g + 8, same n) */
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
        const int n0 = 2 * t + 8 * nt;
        if (r_lo < rows) {
            if (n0 < batch) y[(size_t) n0 * ldy + r_lo] = acc[nt][0];
            if (n0 + 1 < batch) y[(size_t) (n0 + 1) * ldy + r_lo] = acc[nt][1];
        }
        if (r_hi < rows) {
            if (n0 < batch) y[(size_t) n0 * ldy + r_hi] = acc[nt][2];
            if (n0 + 1 < batch) y[(size_t) (n0 + 1) * ldy + r_hi] = acc[nt][3];
        }
    }
}

/* Prefill: tiles [tile0, tile0 + ntiles) to fp16 rows (row - 16 tile0) of out, ld = ldo (>= nsteps * 64). */
template <int BITS>
__global__ void dequant_kernel(const uint32_t *__restrict__ codes, const uint32_t *__restrict__ sz,
                               __half *__restrict__ out, int tile0, int ntiles, int nsteps, int spg, int ngroups,
                               int ldo) {
    const int64_t idx = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (int64_t) ntiles * nsteps * 32) return;
    const int lane = (int) (idx & 31);
    const int64_t blk = idx >> 5;
    const int c = (int) (blk % nsteps);
    const int tl = (int) (blk / nsteps);
    const int tile = tile0 + tl;
    const int g = lane >> 2, t = lane & 3;
    const uint32_t *src = codes + ((size_t) tile * nsteps + c) * (32 * BITS);
    uint32_t w[BITS];
#pragma unroll
    for (int i = 0; i < plane_count(BITS); ++i) {
        const int p = plane_width(BITS, i), w0 = plane_word0(BITS, i);
#pragma unroll
        for (int k = 0; k < p; ++k) w[w0 + k] = src[32 * w0 + lane * p + k];
    }
    const int grp = c / spg;
    const __half2 sz_lo = u2h2(sz[(size_t) (tile * kTileRows + g) * ngroups + grp]);
    const __half2 sz_hi = u2h2(sz[(size_t) (tile * kTileRows + g + 8) * ngroups + grp]);
#pragma unroll
    for (int j = 0; j < kProductsPerStep; ++j) {
#pragma unroll
        for (int f = 0; f < 4; ++f) {
            const uint32_t q = code_pair<BITS>(w, 4 * j + f);
            const __half2 s_z = (f & 1) ? sz_hi : sz_lo;
            const float s = __low2float(s_z), z = __high2float(s_z);
            const size_t o = (size_t) (tl * kTileRows + frag_row(g, f)) * ldo + (size_t) c * kStepCols;
            out[o + frag_col(t, j, f, 0)] = __float2half_rn(s * ((float) (q & 0xffu) - z));
            out[o + frag_col(t, j, f, 1)] = __float2half_rn(s * ((float) (q >> 16) - z));
        }
    }
}

template <typename XT>
__global__ void to_f16_kernel(const XT *__restrict__ x, int ldx, int cols, int batch, __half *__restrict__ out,
                              int ldo) {
    const int64_t idx = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (int64_t) batch * ldo) return;
    const int b = (int) (idx / ldo), k = (int) (idx % ldo);
    out[idx] = k < cols ? __float2half_rn((float) x[(size_t) b * ldx + k]) : __float2half_rn(0.0f);
}

/* ------------------------------------------------------------------------------------------------------- */
/* quantized matrices                                                                                       */

extern "C" sq_cuda_status sq_cuda_qmatrix_create(sq_cuda_ctx *c, const sq_cuda_qdesc *d, sq_cuda_qmatrix **out) {
    if (out == nullptr) return fail(SQ_CUDA_ERR_ARG, "qmatrix_create: out is NULL");
    *out = nullptr;
    NEED_CTX(c);
    const sq_cuda_status st = sq_cuda_qdesc_check(d);
    if (st != SQ_CUDA_OK) return st;
    sq_cuda_qmatrix *m = new (std::nothrow) sq_cuda_qmatrix();
    if (m == nullptr) return fail(SQ_CUDA_ERR_NOMEM, "qmatrix_create: out of host memory");
    m->device = c->device;
    m->rows = d->rows;
    m->cols = d->cols;
    m->bits = d->bits;
    m->group_size = d->group_size;
    m->tiles = (int) ceil_div(d->rows, kTileRows);
    m->nsteps = (int) ceil_div(d->cols, kStepCols);
    m->ngroups = (int) ceil_div(d->cols, d->group_size);
    m->spg = m->ngroups == 1 ? m->nsteps : d->group_size / kStepCols;
    m->code_bytes = sq_cuda_packed_bytes(d->rows, d->cols, d->bits);
    m->sz_bytes = (size_t) m->tiles * kTileRows * m->ngroups * sizeof(uint32_t);
    try {
        std::vector<uint32_t> packed(m->code_bytes / 4);
        sq_cuda_status s = sq_cuda_repack(d->rows, d->cols, d->bits, d->codes, packed.data());
        if (s != SQ_CUDA_OK) {
            delete m;
            return s;
        }
        std::vector<uint32_t> sz((size_t) m->tiles * kTileRows * m->ngroups, 0u); /* padded rows: s = 0, z = 0 */
        const uint32_t zsym = sq_cuda_f32_to_f16((float) (1 << (d->bits - 1)));
        for (int64_t r = 0; r < d->rows; ++r) {
            for (int64_t gi = 0; gi < m->ngroups; ++gi) {
                const size_t i = (size_t) (r * m->ngroups + gi);
                const uint32_t s16 = d->scales_f16 ? d->scales_f16[i] : sq_cuda_f32_to_f16(d->scales_f32[i]);
                const uint32_t z16 = d->zeros ? sq_cuda_f32_to_f16(d->zeros[i]) : zsym;
                sz[i] = s16 | (z16 << 16);
            }
        }
        cudaError_t e = cudaMalloc(&m->codes, m->code_bytes);
        if (e == cudaSuccess) e = cudaMalloc(&m->sz, m->sz_bytes);
        if (e == cudaSuccess) e = cudaMemcpy(m->codes, packed.data(), m->code_bytes, cudaMemcpyHostToDevice);
        if (e == cudaSuccess) e = cudaMemcpy(m->sz, sz.data(), m->sz_bytes, cudaMemcpyHostToDevice);
        if (e != cudaSuccess) {
            sq_cuda_qmatrix_free(m);
            return cuda_fail("qmatrix_create: device allocation or upload", e);
        }
    } catch (const std::bad_alloc &) {
        sq_cuda_qmatrix_free(m);
        return fail(SQ_CUDA_ERR_NOMEM, "qmatrix_create: out of host memory for the repacked codes");
    }
    *out = m;
    return SQ_CUDA_OK;
}

extern "C" sq_cuda_status sq_cuda_qmatrix_clone(sq_cuda_ctx *c, const sq_cuda_qmatrix *src, sq_cuda_qmatrix **out) {
    if (out == nullptr || src == nullptr) return fail(SQ_CUDA_ERR_ARG, "qmatrix_clone: NULL argument");
    *out = nullptr;
    NEED_CTX(c);
    sq_cuda_qmatrix *m = new (std::nothrow) sq_cuda_qmatrix(*src);
    if (m == nullptr) return fail(SQ_CUDA_ERR_NOMEM, "qmatrix_clone: out of host memory");
    m->codes = nullptr;
    m->sz = nullptr;
    cudaError_t e = cudaMalloc(&m->codes, m->code_bytes);
    if (e == cudaSuccess) e = cudaMalloc(&m->sz, m->sz_bytes);
    if (e == cudaSuccess) e = cudaMemcpy(m->codes, src->codes, m->code_bytes, cudaMemcpyDeviceToDevice);
    if (e == cudaSuccess) e = cudaMemcpy(m->sz, src->sz, m->sz_bytes, cudaMemcpyDeviceToDevice);
    if (e != cudaSuccess) {
        sq_cuda_qmatrix_free(m);
        return cuda_fail("qmatrix_clone", e);
    }
    *out = m;
    return SQ_CUDA_OK;
}

extern "C" void sq_cuda_qmatrix_free(sq_cuda_qmatrix *m) {
    if (m == nullptr) return;
    cudaSetDevice(m->device);
    if (m->codes) cudaFree(m->codes);
    if (m->sz) cudaFree(m->sz);
    delete m;
}

extern "C" size_t sq_cuda_qmatrix_device_bytes(const sq_cuda_qmatrix *m) {
    return m ? m->code_bytes + m->sz_bytes : 0;
}

static sq_cuda_status check_io(const char *what, int rows, int cols, const void *x, sq_cuda_dtype xtype, int ldx,
                               int batch, const float *y, int ldy) {
    if (x == nullptr || y == nullptr) return fail(SQ_CUDA_ERR_ARG, "%s: x and y must not be NULL", what);
    if (xtype != SQ_CUDA_F32 && xtype != SQ_CUDA_F16) return fail(SQ_CUDA_ERR_ARG, "%s: unknown x type %d", what, (int) xtype);
    if (batch < 1) return fail(SQ_CUDA_ERR_ARG, "%s: batch must be >= 1, got %d", what, batch);
    if (ldx < cols) return fail(SQ_CUDA_ERR_ARG, "%s: ldx %d is smaller than cols %d", what, ldx, cols);
    if (ldy < rows) return fail(SQ_CUDA_ERR_ARG, "%s: ldy %d is smaller than rows %d", what, ldy, rows);
    const int align = xtype == SQ_CUDA_F16 ? 8 : 4;
    if (ldx % align != 0) {
        return fail(SQ_CUDA_ERR_ARG, "%s: ldx %d must be a multiple of %d (16-byte rows) for %s x", what, ldx, align,
                    xtype == SQ_CUDA_F16 ? "fp16" : "fp32");
    }
    if (((uintptr_t) x) % 16 != 0) return fail(SQ_CUDA_ERR_ARG, "%s: x must be 16-byte aligned", what);
    return SQ_CUDA_OK;
}

template <int BITS, int NT, typename XT>
static void launch_fused(const sq_cuda_qmatrix *m, const XT *x, int ldx, int batch, float *y, int ldy, int nwarps,
                         cudaStream_t s) {
    const size_t smem = nwarps > 1 ? (size_t) nwarps * 32 * NT * 4 * sizeof(float) : 0;
    fused_kernel<BITS, NT, XT><<<m->tiles, nwarps * 32, smem, s>>>(m->codes, m->sz, x, y, m->rows, m->cols, m->nsteps,
                                                                   m->spg, m->ngroups, ldx, batch, ldy);
}

template <int NT, typename XT>
static void launch_fused_bits(const sq_cuda_qmatrix *m, const XT *x, int ldx, int batch, float *y, int ldy,
                              int nwarps, cudaStream_t s) {
    switch (m->bits) {
    case 2: launch_fused<2, NT, XT>(m, x, ldx, batch, y, ldy, nwarps, s); break;
    case 3: launch_fused<3, NT, XT>(m, x, ldx, batch, y, ldy, nwarps, s); break;
    case 4: launch_fused<4, NT, XT>(m, x, ldx, batch, y, ldy, nwarps, s); break;
    case 5: launch_fused<5, NT, XT>(m, x, ldx, batch, y, ldy, nwarps, s); break;
    case 6: launch_fused<6, NT, XT>(m, x, ldx, batch, y, ldy, nwarps, s); break;
    case 7: launch_fused<7, NT, XT>(m, x, ldx, batch, y, ldy, nwarps, s); break;
    default: launch_fused<8, NT, XT>(m, x, ldx, batch, y, ldy, nwarps, s); break;
    }
}

static int auto_warps(const sq_cuda_ctx *c, const sq_cuda_qmatrix *m) {
    const int64_t target = (int64_t) c->sm_count * 32; /* about half of the resident warps of the device */
    int nw = 1;
    while (nw < 16 && (int64_t) m->tiles * nw < target) nw *= 2;
    while (nw > 1 && m->nsteps / nw < 4) nw /= 2;
    return nw;
}

template <typename XT>
static sq_cuda_status run_fused(sq_cuda_ctx *c, const sq_cuda_qmatrix *m, const XT *x, int ldx, int batch, float *y,
                                int ldy, int nwarps) {
    for (int b0 = 0; b0 < batch; b0 += 16) {
        const int nb = std::min(16, batch - b0);
        const XT *xb = x + (size_t) b0 * ldx;
        float *yb = y + (size_t) b0 * ldy;
        if (nb <= 8) launch_fused_bits<1, XT>(m, xb, ldx, nb, yb, ldy, nwarps, c->stream);
        else launch_fused_bits<2, XT>(m, xb, ldx, nb, yb, ldy, nwarps, c->stream);
        CK("fused quantized kernel launch", cudaGetLastError());
    }
    return SQ_CUDA_OK;
}

static sq_cuda_status gemm_f16(sq_cuda_ctx *c, int m, int n, int k, const __half *a, int lda, const __half *b, int ldb,
                               float *y, int ldy) {
    const float one = 1.0f, zero = 0.0f;
    /* column-major view: Y (m x n, ldy) = A^T (A is k x m col-major = W row-major) * X (k x n, ldb) */
    const int s = g_cublas.gemm_ex(c->cublas, OP_T, OP_N, m, n, k, &one, a, R_16F, lda, b, R_16F, ldb, &zero, y, R_32F,
                                   ldy, COMPUTE_32F, GEMM_DEFAULT);
    if (s != CUBLAS_OK) return cublas_fail("cublasGemmEx", s);
    return SQ_CUDA_OK;
}

/* x as fp16 with a 16-byte-multiple leading dimension: the input itself, or a converted copy in scratch at
 * offset 0 (the caller places other scratch after x16_bytes). */
static sq_cuda_status x_as_f16(sq_cuda_ctx *c, int cols, const void *x, sq_cuda_dtype xtype, int ldx, int batch,
                               size_t extra_bytes, const __half **x16, int *ld16, size_t *x16_bytes) {
    if (xtype == SQ_CUDA_F16) {
        *x16 = static_cast<const __half *>(x);
        *ld16 = ldx;
        *x16_bytes = 0;
        sq_cuda_status s = extra_bytes ? ensure_scratch(c, extra_bytes) : SQ_CUDA_OK;
        return s;
    }
    const int ld = (int) ceil_div(cols, 64) * 64;
    *x16_bytes = (size_t) ld * batch * sizeof(__half);
    *x16_bytes = (*x16_bytes + 255) / 256 * 256;
    sq_cuda_status s = ensure_scratch(c, *x16_bytes + extra_bytes);
    if (s != SQ_CUDA_OK) return s;
    __half *dst = static_cast<__half *>(c->scratch);
    const int64_t n = (int64_t) batch * ld;
    to_f16_kernel<float><<<(unsigned) ceil_div(n, 256), 256, 0, c->stream>>>(static_cast<const float *>(x), ldx, cols,
                                                                           batch, dst, ld);
    CK("fp32 -> fp16 conversion launch", cudaGetLastError());
    *x16 = dst;
    *ld16 = ld;
    return SQ_CUDA_OK;
}

static sq_cuda_status run_prefill(sq_cuda_ctx *c, const sq_cuda_qmatrix *m, const void *x, sq_cuda_dtype xtype,
                                  int ldx, int batch, float *y, int ldy) {
    sq_cuda_status s = ensure_cublas(c);
    if (s != SQ_CUDA_OK) return s;
    const int ldw = m->nsteps * kStepCols;
    int slab_tiles = (int) std::max<int64_t>(1, ((int64_t) 64 << 20) / ((int64_t) ldw * 2 * kTileRows));
    slab_tiles = std::min(slab_tiles, m->tiles);
    const size_t w_bytes = (size_t) slab_tiles * kTileRows * ldw * sizeof(__half);
    const __half *x16;
    int ld16;
    size_t x16_bytes;
    s = x_as_f16(c, m->cols, x, xtype, ldx, batch, w_bytes, &x16, &ld16, &x16_bytes);
    if (s != SQ_CUDA_OK) return s;
    __half *w16 = reinterpret_cast<__half *>(static_cast<char *>(c->scratch) + x16_bytes);
    for (int tile0 = 0; tile0 < m->tiles; tile0 += slab_tiles) {
        const int nt = std::min(slab_tiles, m->tiles - tile0);
        const int64_t threads = (int64_t) nt * m->nsteps * 32;
        const unsigned blocks = (unsigned) ceil_div(threads, 256);
        switch (m->bits) {
        case 2: dequant_kernel<2><<<blocks, 256, 0, c->stream>>>(m->codes, m->sz, w16, tile0, nt, m->nsteps, m->spg, m->ngroups, ldw); break;
        case 3: dequant_kernel<3><<<blocks, 256, 0, c->stream>>>(m->codes, m->sz, w16, tile0, nt, m->nsteps, m->spg, m->ngroups, ldw); break;
        case 4: dequant_kernel<4><<<blocks, 256, 0, c->stream>>>(m->codes, m->sz, w16, tile0, nt, m->nsteps, m->spg, m->ngroups, ldw); break;
        case 5: dequant_kernel<5><<<blocks, 256, 0, c->stream>>>(m->codes, m->sz, w16, tile0, nt, m->nsteps, m->spg, m->ngroups, ldw); break;
        case 6: dequant_kernel<6><<<blocks, 256, 0, c->stream>>>(m->codes, m->sz, w16, tile0, nt, m->nsteps, m->spg, m->ngroups, ldw); break;
        case 7: dequant_kernel<7><<<blocks, 256, 0, c->stream>>>(m->codes, m->sz, w16, tile0, nt, m->nsteps, m->spg, m->ngroups, ldw); break;
        default: dequant_kernel<8><<<blocks, 256, 0, c->stream>>>(m->codes, m->sz, w16, tile0, nt, m->nsteps, m->spg, m->ngroups, ldw); break;
        }
        CK("dequantize kernel launch", cudaGetLastError());
        const int r0 = tile0 * kTileRows;
        const int mrows = std::min(m->rows - r0, nt * kTileRows);
        if (mrows <= 0) break;
        s = gemm_f16(c, mrows, batch, m->cols, w16, ldw, x16, ld16, y + r0, ldy);
        if (s != SQ_CUDA_OK) return s;
    }
    return SQ_CUDA_OK;
}

extern "C" sq_cuda_status sq_cuda_qmatmul_ex(sq_cuda_ctx *c, const sq_cuda_qmatrix *m, const void *x,
                                             sq_cuda_dtype xtype, int ldx, int batch, float *y, int ldy,
                                             sq_cuda_path path, int warps) {
    NEED_CTX(c);
    if (m == nullptr) return fail(SQ_CUDA_ERR_ARG, "qmatmul: matrix is NULL");
    if (m->device != c->device) {
        return fail(SQ_CUDA_ERR_ARG, "qmatmul: matrix lives on device %d, context on device %d", m->device, c->device);
    }
    sq_cuda_status s = check_io("qmatmul", m->rows, m->cols, x, xtype, ldx, batch, y, ldy);
    if (s != SQ_CUDA_OK) return s;
    if (warps != 0 && warps != 1 && warps != 2 && warps != 4 && warps != 8 && warps != 16) {
        return fail(SQ_CUDA_ERR_ARG, "qmatmul: warps per tile must be 0 (auto), 1, 2, 4, 8 or 16, got %d", warps);
    }
    if (path != SQ_CUDA_PATH_AUTO && path != SQ_CUDA_PATH_FUSED && path != SQ_CUDA_PATH_PREFILL) {
        return fail(SQ_CUDA_ERR_ARG, "qmatmul: unknown path %d", (int) path);
    }
    if (path == SQ_CUDA_PATH_AUTO) {
        path = batch <= 16 || !cublas_ready() ? SQ_CUDA_PATH_FUSED : SQ_CUDA_PATH_PREFILL;
    }
    if (path == SQ_CUDA_PATH_PREFILL) return run_prefill(c, m, x, xtype, ldx, batch, y, ldy);
    const int nw = warps == 0 ? auto_warps(c, m) : warps;
    if (xtype == SQ_CUDA_F16) return run_fused<__half>(c, m, static_cast<const __half *>(x), ldx, batch, y, ldy, nw);
    return run_fused<float>(c, m, static_cast<const float *>(x), ldx, batch, y, ldy, nw);
}

extern "C" sq_cuda_status sq_cuda_qmatmul(sq_cuda_ctx *c, const sq_cuda_qmatrix *m, const void *x, sq_cuda_dtype xtype,
                                          int ldx, int batch, float *y, int ldy) {
    return sq_cuda_qmatmul_ex(c, m, x, xtype, ldx, batch, y, ldy, SQ_CUDA_PATH_AUTO, 0);
}

/* ------------------------------------------------------------------------------------------------------- */
/* dense fp16 matrices                                                                                      */

extern "C" sq_cuda_status sq_cuda_dmatrix_create(sq_cuda_ctx *c, int rows, int cols, const void *w,
                                                 sq_cuda_dtype wtype, sq_cuda_dmatrix **out) {
    if (out == nullptr) return fail(SQ_CUDA_ERR_ARG, "dmatrix_create: out is NULL");
    *out = nullptr;
    NEED_CTX(c);
    if (rows <= 0 || cols <= 0) return fail(SQ_CUDA_ERR_ARG, "dmatrix_create: rows and cols must be >= 1, got %d x %d", rows, cols);
    if (w == nullptr) return fail(SQ_CUDA_ERR_ARG, "dmatrix_create: w is NULL");
    if (wtype != SQ_CUDA_F32 && wtype != SQ_CUDA_F16) return fail(SQ_CUDA_ERR_ARG, "dmatrix_create: unknown type %d", (int) wtype);
    const size_t n = (size_t) rows * cols;
    sq_cuda_dmatrix *m = new (std::nothrow) sq_cuda_dmatrix();
    if (m == nullptr) return fail(SQ_CUDA_ERR_NOMEM, "dmatrix_create: out of host memory");
    m->device = c->device;
    m->rows = rows;
    m->cols = cols;
    cudaError_t e = cudaMalloc(&m->w, n * sizeof(__half));
    if (e != cudaSuccess) {
        delete m;
        return cuda_fail("dmatrix_create: cudaMalloc", e);
    }
    if (wtype == SQ_CUDA_F16) {
        e = cudaMemcpy(m->w, w, n * sizeof(__half), cudaMemcpyHostToDevice);
    } else {
        try {
            std::vector<uint16_t> h(n);
            const float *wf = static_cast<const float *>(w);
            for (size_t i = 0; i < n; ++i) h[i] = sq_cuda_f32_to_f16(wf[i]);
            e = cudaMemcpy(m->w, h.data(), n * sizeof(__half), cudaMemcpyHostToDevice);
        } catch (const std::bad_alloc &) {
            sq_cuda_dmatrix_free(m);
            return fail(SQ_CUDA_ERR_NOMEM, "dmatrix_create: out of host memory");
        }
    }
    if (e != cudaSuccess) {
        sq_cuda_dmatrix_free(m);
        return cuda_fail("dmatrix_create: upload", e);
    }
    *out = m;
    return SQ_CUDA_OK;
}

extern "C" void sq_cuda_dmatrix_free(sq_cuda_dmatrix *m) {
    if (m == nullptr) return;
    cudaSetDevice(m->device);
    if (m->w) cudaFree(m->w);
    delete m;
}

extern "C" sq_cuda_status sq_cuda_dmatmul(sq_cuda_ctx *c, const sq_cuda_dmatrix *m, const void *x,
                                          sq_cuda_dtype xtype, int ldx, int batch, float *y, int ldy) {
    NEED_CTX(c);
    if (m == nullptr) return fail(SQ_CUDA_ERR_ARG, "dmatmul: matrix is NULL");
    if (m->device != c->device) {
        return fail(SQ_CUDA_ERR_ARG, "dmatmul: matrix lives on device %d, context on device %d", m->device, c->device);
    }
    sq_cuda_status s = check_io("dmatmul", m->rows, m->cols, x, xtype, ldx, batch, y, ldy);
    if (s != SQ_CUDA_OK) return s;
    s = ensure_cublas(c);
    if (s != SQ_CUDA_OK) return s;
    const __half *x16;
    int ld16;
    size_t x16_bytes;
    s = x_as_f16(c, m->cols, x, xtype, ldx, batch, 0, &x16, &ld16, &x16_bytes);
    if (s != SQ_CUDA_OK) return s;
    return gemm_f16(c, m->rows, batch, m->cols, m->w, m->cols, x16, ld16, y, ldy);
}
