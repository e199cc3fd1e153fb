/*
 * Packed low-bit matrix products: y = W x for W quantized to 2..8 bits per weight in groups, with fp32
 * activations (x, y) and fp32 or fp16 scales and zeros. Plain C11, no JNI.
 *
 * Logical format (what callers give):
 *   W is rows x cols. codes[r][c] is an unsigned integer < 2^bits. Columns form groups of group_size
 *   consecutive columns per row (the last may be partial); groups = ceil(cols / group_size). Per (row,
 *   group) one scale and one zero, stored [rows][groups] row-major as float or IEEE binary16
 *   (scale_type). Symmetric: zero = 2^(bits-1) for every group and the zeros pointer is NULL.
 *   Dequantized weight w = scale * (code - zero). x is [batch][cols], y is [batch][rows] (row-major).
 *
 * Packed layout (sq_packed_pack writes it; only this library reads it): each row is cut into blocks of
 * SQ_PACKED_BLOCK = 64 columns (the last block zero-padded), so a row takes blocks * 8 * bits bytes and
 * rows follow each other. A block is a sequence of bit planes of width 4, 2 and 1 (8-bit codes are plain
 * bytes), low bits first: 8 = {8}, 7 = {4,2,1}, 6 = {4,2}, 5 = {4,1}, 4 = {4}, 3 = {2,1}, 2 = {2}. The
 * code is the planes' values ORed together at their bit offsets. Within a block (column i = 0..63):
 *   width 8: 64 bytes, byte i = column i;
 *   width 4: 32 bytes, byte i holds column i (low nibble) and column i + 32 (high nibble);
 *   width 2: 16 bytes, byte i holds columns i, i + 16, i + 32, i + 48 (bits 0-1, 2-3, 4-5, 6-7);
 *   width 1:  8 bytes, a little-endian 64-bit word whose bit i is column i.
 * So every width costs exactly its bits in memory (3-bit: 24 bytes per 64 weights), and a SIMD path
 * decodes 16 (or 8) consecutive columns of a plane with one zero-extending load and a shift/mask
 * (ABQ-LLM's bit-plane idea, with ggml-style dedicated nibble packing for 4 and bytes for 8).
 */
#ifndef SQUEEZE_PACKED_H
#define SQUEEZE_PACKED_H

#include <stdint.h>

#include "sq_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SQ_PACKED_BLOCK 64

typedef enum { SQ_SCALE_F32 = 0, SQ_SCALE_F16 = 1 } sq_scale_type;

typedef struct sq_packed_desc {
    int32_t rows, cols;     /* W is rows x cols (out x in) */
    int32_t bits;           /* 2..8 */
    int32_t group_size;     /* > 0; groups of consecutive columns within a row; the last may be partial */
    int32_t symmetric;      /* 1: zero = 2^(bits-1) for every group, zeros pointer must be NULL; 0: zeros given */
    int32_t scale_type;     /* sq_scale_type of scales and zeros */
} sq_packed_desc;

/* ceil(cols/group_size); -1 if d is NULL or invalid (see sq_packed_check_desc). */
int64_t sq_packed_groups(const sq_packed_desc *d);

/* Size in bytes of the packed code buffer; -1 if d is NULL or invalid. */
int64_t sq_packed_codes_bytes(const sq_packed_desc *d);

/* SQ_OK if every field of d is in range (rows, cols, group_size > 0; bits 2..8; symmetric 0/1;
 * scale_type F32/F16), else SQ_ERR_ARG. */
sq_status sq_packed_check_desc(const sq_packed_desc *d);

/* codes: rows*cols bytes, one code per byte, row-major, each < 2^bits (else SQ_ERR_ARG, packed untouched).
 * packed: sq_packed_codes_bytes(d) bytes. */
sq_status sq_packed_pack(const sq_packed_desc *d, const uint8_t *codes, uint8_t *packed);

/* scales/zeros: [rows][groups] of scale_type; x: [batch][cols] fp32; y: [batch][rows] fp32 (full rows stride);
   computes y for rows [row_begin, row_end) only, so a caller can split rows over its own threads.
   dequantized w = scale * (code - zero). Any batch >= 1; at most 16 vectors per pass over W. */
sq_status sq_packed_matmul(sq_isa isa, const sq_packed_desc *d, const uint8_t *packed, const void *scales,
                           const void *zeros, const float *x, float *y, int32_t batch, int32_t row_begin, int32_t row_end);

/* the same over `threads` threads (pthreads; threads <= 1 = calling thread) */
sq_status sq_packed_matmul_mt(sq_isa isa, const sq_packed_desc *d, const uint8_t *packed, const void *scales,
                              const void *zeros, const float *x, float *y, int32_t batch, int32_t threads);

/*
 * Approximate, faster variant (what ggml does): each batch vector of x is quantized inside the call to int8
 * in blocks of sq_packed_q8_block(d) columns: sx = max|x| / 127 and xq = round-half-even(x * (127 / max|x|)),
 * both in float (0 for an all-zero block); y = sum over blocks of s * sx * sum (code - zero) * xq. The
 * products use integer dot products (AVX-512 VNNI) with one float scale per block. Not faithful to fp32:
 * the error is that of 8-bit activations (see bench_packed's accuracy line and the test's bound).
 * Needs group_size % 64 == 0 (else SQ_ERR_ARG). Paths: SQ_ISA_SCALAR (reference) and SQ_ISA_AVX512 (needs
 * AVX-512 VNNI; sq_packed_q8_isa_supported); SQ_ISA_AUTO picks the best. Other arguments as sq_packed_matmul.
 */
sq_status sq_packed_matmul_q8(sq_isa isa, const sq_packed_desc *d, const uint8_t *packed, const void *scales,
                              const void *zeros, const float *x, float *y, int32_t batch, int32_t row_begin,
                              int32_t row_end);

/* Columns per int8 block of x in sq_packed_matmul_q8: the largest of 256, 128, 64 dividing group_size
 * (64..256); -1 if d is invalid or group_size is not a multiple of 64. */
int32_t sq_packed_q8_block(const sq_packed_desc *d);

/* Whether sq_packed_matmul_q8 can run on the given path here (SQ_ISA_AUTO: 1). */
int sq_packed_q8_isa_supported(sq_isa isa);

/* Whether this build and this CPU can run the packed kernels on the given path (SQ_ISA_AUTO: 1). */
int sq_packed_isa_supported(sq_isa isa);

/* The best path this CPU supports for the packed kernels (never SQ_ISA_AUTO). */
sq_isa sq_packed_best_isa(void);

/* Whether the CPU has AVX-512 VNNI (reported for provenance; the fp32-activation kernels do not need it). */
int sq_cpu_has_avx512_vnni(void);

/* IEEE binary16 <-> binary32. f32 -> f16 rounds to nearest, ties to even; overflow gives infinity; NaN
 * stays NaN. Portable C (no F16C needed). */
float sq_f16_to_f32(uint16_t h);
uint16_t sq_f32_to_f16(float f);

#ifdef __cplusplus
}
#endif

#endif /* SQUEEZE_PACKED_H */
