/*
 * sq_cuda: Squeeze's CUDA kernels behind a plain C API (no JNI, no CUDA types in the signatures).
 *
 * What it computes
 *   Weight-only quantized matrix products y = W x for a small batch of activation vectors, and the same
 *   for a dense fp16 W through cuBLAS:
 *     W is rows x cols. Quantized W: integer codes 0 .. 2^bits - 1 (bits 2..8), group-quantized along a row:
 *     columns form groups of group_size consecutive columns (the last group of a row may be partial), and
 *     each (row, group) has a scale s and an integer zero point z:  w = s * (code - z).
 *     Symmetric quantization is z = 2^(bits-1) for every group (as dev.squeeze.engine.compress.RtnQuantizer
 *     writes it); asymmetric quantization stores one integer z per (row, group).
 *     x is [batch][ldx] row-major (elements k >= cols of a row are never read), y is [batch][ldy] float32,
 *     y[b*ldy + r] = sum_k W[r][k] * x[b*ldx + k]  for r < rows, b < batch; other elements of y are untouched.
 *
 * Numerics
 *   Scales are stored in fp16 (fp32 scales are rounded to fp16 on upload). Activations are fp16, or fp32
 *   rounded to fp16 inside the kernel. Each product (code - z) * x is exact in fp32 (tensor-core mma with
 *   fp32 accumulation), each group's sum is accumulated in fp32 and multiplied by its scale in fp32. So the
 *   only roundings are the fp16 roundings of the scales and of x, and fp32 accumulation.
 *   Batch > 16 (prefill) dequantizes W to fp16 ((code - z) * s computed in fp32, rounded once) a slab of rows
 *   at a time and multiplies with cuBLAS (fp16 inputs, fp32 accumulation and output).
 *
 * Supported shapes
 *   rows, cols >= 1; group_size a multiple of 64, or >= cols (one group per row: per-channel scales).
 *   Other group sizes return SQ_CUDA_ERR_UNSUPPORTED with a message (the packed layout processes 64 columns
 *   per tensor-core step and scales each step's sum once).
 *
 * Device layout (built on the host by sq_cuda_repack from one code per byte; documented in sq_cuda_layout.h)
 *   Rows are cut into tiles of 16, columns into steps of 64. Each (tile, step) is one block of 128 * bits bytes
 *   that one warp reads with one coalesced load per bit-plane: lane L gets 32 codes as exactly the operand
 *   fragments of four m16n8k16 tensor-core products. Widths that are not a power of two are stored as
 *   bit planes of 4, 2 and 1 bits (3 = 2+1, 5 = 4+1, 6 = 4+2, 7 = 4+2+1, 8 = 4+4), so a b-bit matrix costs
 *   exactly b bits per weight (rows and columns padded to 16 and 64), plus 4 bytes (fp16 scale, fp16 zero)
 *   per (row, group).
 *
 * Errors
 *   Every call returns an sq_cuda_status; on failure sq_cuda_last_error() (per thread) says what failed and
 *   why. Without an NVIDIA driver or device sq_cuda_device_count() returns 0 (it is not an error) and
 *   sq_cuda_last_error() holds the CUDA runtime's reason (e.g. error 35, driver too old or absent).
 *
 * Threads
 *   A context (one device, one stream, one cuBLAS handle, scratch memory) is used by one thread at a time.
 *   All operations on a context are ordered on its stream; sq_cuda_ctx_sync waits for them. Uploads and
 *   downloads are synchronous.
 *
 * cuBLAS is loaded at run time (dlopen of libcublas.so.13, .so.12 or .so; SQ_CUBLAS_LIB names a file), only
 * when a dense or prefill product is first asked for, so the quantized kernels need nothing but the driver.
 */
#ifndef SQUEEZE_SQ_CUDA_H
#define SQUEEZE_SQ_CUDA_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define SQ_CUDA_API __attribute__((visibility("default")))
#else
#define SQ_CUDA_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sq_cuda_status {
    SQ_CUDA_OK = 0,
    SQ_CUDA_ERR_ARG = 1,         /* bad dimension, pointer, alignment or code value */
    SQ_CUDA_ERR_UNSUPPORTED = 2, /* valid input this build cannot run (group size, bits) */
    SQ_CUDA_ERR_CUDA = 3,        /* the CUDA runtime failed (no device, out of memory, launch failure) */
    SQ_CUDA_ERR_CUBLAS = 4,      /* cuBLAS could not be loaded or failed */
    SQ_CUDA_ERR_NOMEM = 5        /* host allocation failed */
} sq_cuda_status;

typedef enum sq_cuda_dtype {
    SQ_CUDA_F32 = 0,
    SQ_CUDA_F16 = 1 /* IEEE binary16, passed as uint16_t bits */
} sq_cuda_dtype;

/* How sq_cuda_qmatmul_ex computes: the default (AUTO) is the fused kernel for batch <= 16, else PREFILL. */
typedef enum sq_cuda_path {
    SQ_CUDA_PATH_AUTO = 0,
    SQ_CUDA_PATH_FUSED = 1,  /* the packed tensor-core kernel (any batch; runs 16 columns per pass) */
    SQ_CUDA_PATH_PREFILL = 2 /* dequantize slabs to fp16, then cuBLAS GemmEx */
} sq_cuda_path;

typedef struct sq_cuda_ctx sq_cuda_ctx;
typedef struct sq_cuda_qmatrix sq_cuda_qmatrix;
typedef struct sq_cuda_dmatrix sq_cuda_dmatrix;

typedef struct sq_cuda_device_info {
    char name[256];
    int cc_major, cc_minor;
    int sm_count;
    size_t global_mem_bytes;
    size_t l2_bytes;
    int mem_clock_khz;      /* peak memory clock */
    int mem_bus_width_bits;
    double peak_gbps;       /* 2 * mem_clock * bus_width / 8 (double data rate), in GB/s (1e9 bytes/s) */
} sq_cuda_device_info;

/* Host description of a quantized matrix (one code per byte). Exactly one of scales_f32 / scales_f16. */
typedef struct sq_cuda_qdesc {
    int rows, cols, bits, group_size;
    const uint8_t *codes;        /* rows * cols, row-major, each < 2^bits */
    const float *scales_f32;     /* rows * ngroups, row-major, ngroups = ceil(cols / group_size) */
    const uint16_t *scales_f16;  /* same shape, fp16 bits */
    const float *zeros;          /* rows * ngroups integer-valued zero points in [-1023, 1023]; NULL = symmetric */
} sq_cuda_qdesc;

/* ---- device and errors ---------------------------------------------------------------------------------- */
SQ_CUDA_API int sq_cuda_device_count(void); /* 0 without a driver or device (reason in sq_cuda_last_error) */
SQ_CUDA_API sq_cuda_status sq_cuda_device_query(int device, sq_cuda_device_info *out);
SQ_CUDA_API const char *sq_cuda_last_error(void);               /* this thread's last failure, "" if none */
SQ_CUDA_API const char *sq_cuda_status_string(sq_cuda_status s); /* "ok", "invalid argument", ... */
SQ_CUDA_API int sq_cuda_abi_version(void);                      /* SQ_CUDA_ABI_VERSION of the built library */
#define SQ_CUDA_ABI_VERSION 1

/* ---- context -------------------------------------------------------------------------------------------- */
SQ_CUDA_API sq_cuda_status sq_cuda_ctx_create(int device, sq_cuda_ctx **out);
SQ_CUDA_API void sq_cuda_ctx_free(sq_cuda_ctx *ctx); /* NULL is ignored */
SQ_CUDA_API sq_cuda_status sq_cuda_ctx_sync(sq_cuda_ctx *ctx);
SQ_CUDA_API void *sq_cuda_ctx_stream(sq_cuda_ctx *ctx); /* its cudaStream_t, for timing with events */

/* ---- device buffers ------------------------------------------------------------------------------------- */
SQ_CUDA_API sq_cuda_status sq_cuda_malloc(sq_cuda_ctx *ctx, size_t bytes, void **dptr); /* 256-byte aligned */
SQ_CUDA_API sq_cuda_status sq_cuda_free(sq_cuda_ctx *ctx, void *dptr);                  /* NULL is ignored */
SQ_CUDA_API sq_cuda_status sq_cuda_upload(sq_cuda_ctx *ctx, void *dst, const void *host_src, size_t bytes);
SQ_CUDA_API sq_cuda_status sq_cuda_download(sq_cuda_ctx *ctx, void *host_dst, const void *src, size_t bytes);
SQ_CUDA_API sq_cuda_status sq_cuda_memset(sq_cuda_ctx *ctx, void *dst, int byte, size_t bytes);

/* ---- quantized matrices --------------------------------------------------------------------------------- */
/* Validates the description, repacks on the host and uploads (synchronously). */
SQ_CUDA_API sq_cuda_status sq_cuda_qmatrix_create(sq_cuda_ctx *ctx, const sq_cuda_qdesc *desc, sq_cuda_qmatrix **out);
/* A device-side copy (the benchmark rotates copies so that weights come from memory, not cache). */
SQ_CUDA_API sq_cuda_status sq_cuda_qmatrix_clone(sq_cuda_ctx *ctx, const sq_cuda_qmatrix *src, sq_cuda_qmatrix **out);
SQ_CUDA_API void sq_cuda_qmatrix_free(sq_cuda_qmatrix *m); /* NULL is ignored */
SQ_CUDA_API size_t sq_cuda_qmatrix_device_bytes(const sq_cuda_qmatrix *m); /* packed codes + scales/zeros */
/*
 * y = W x on the context's stream (asynchronous). x, y are device pointers; x 16-byte aligned with
 * ldx >= cols and ldx a multiple of 8 (fp16) or 4 (fp32); ldy >= rows. batch >= 1.
 */
SQ_CUDA_API sq_cuda_status sq_cuda_qmatmul(sq_cuda_ctx *ctx, const sq_cuda_qmatrix *m, const void *x,
                                           sq_cuda_dtype xtype, int ldx, int batch, float *y, int ldy);
/* As sq_cuda_qmatmul with a forced path and, for the fused kernel, warps per 16-row tile (0 = automatic;
 * else 1, 2, 4, 8 or 16). The benchmark uses it to compare configurations. */
SQ_CUDA_API sq_cuda_status sq_cuda_qmatmul_ex(sq_cuda_ctx *ctx, const sq_cuda_qmatrix *m, const void *x,
                                              sq_cuda_dtype xtype, int ldx, int batch, float *y, int ldy,
                                              sq_cuda_path path, int warps_per_tile);

/* ---- dense fp16 matrices (cuBLAS) ----------------------------------------------------------------------- */
/* w is rows x cols row-major on the host: fp32 (rounded to fp16) or fp16 bits. */
SQ_CUDA_API sq_cuda_status sq_cuda_dmatrix_create(sq_cuda_ctx *ctx, int rows, int cols, const void *w,
                                                  sq_cuda_dtype wtype, sq_cuda_dmatrix **out);
SQ_CUDA_API void sq_cuda_dmatrix_free(sq_cuda_dmatrix *m);
SQ_CUDA_API sq_cuda_status sq_cuda_dmatmul(sq_cuda_ctx *ctx, const sq_cuda_dmatrix *m, const void *x,
                                           sq_cuda_dtype xtype, int ldx, int batch, float *y, int ldy);
/* Whether cuBLAS can be loaded (loads it on first call); 0 with the reason in sq_cuda_last_error. */
SQ_CUDA_API int sq_cuda_cublas_available(void);

/* ---- host helpers (no device needed) -------------------------------------------------------------------- */
/* The checks sq_cuda_qmatrix_create runs before touching the device (shape, group size, codes, scales, zeros). */
SQ_CUDA_API sq_cuda_status sq_cuda_qdesc_check(const sq_cuda_qdesc *desc);
/* Bytes of the packed code array for rows x cols at this width (0 for bad arguments). */
SQ_CUDA_API size_t sq_cuda_packed_bytes(int rows, int cols, int bits);
/* Repacks one-code-per-byte codes into the device layout (out: sq_cuda_packed_bytes bytes, 4-byte aligned).
 * Codes >= 2^bits are an error. Padding codes are 0 (their activations are masked to 0 by the kernel). */
SQ_CUDA_API sq_cuda_status sq_cuda_repack(int rows, int cols, int bits, const uint8_t *codes, uint32_t *out);
/* Round to nearest even fp32 -> fp16 bits and back, as the device does. */
SQ_CUDA_API uint16_t sq_cuda_f32_to_f16(float f);
SQ_CUDA_API float sq_cuda_f16_to_f32(uint16_t h);

#ifdef __cplusplus
}
#endif

#endif
