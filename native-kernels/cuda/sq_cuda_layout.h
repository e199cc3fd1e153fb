/*
 * The packed device layout of quantized weights, shared by the host repack, the CUDA kernels and the
 * host-side emulation test (test_cuda_layout), so that all three index the same way.
 *
 * Tiles and steps
 *   Rows are cut into tiles of 16 (kTileRows), columns into steps of 64 (kStepCols); the matrix is padded to
 *   tiles * 16 rows and nsteps * 64 columns (padding codes are 0; padded columns meet activations the kernel
 *   masks to 0, padded rows have scale 0 and are never written). The code array is
 *     block[tile][step]  (tile-major), each block 32 lanes * bits words of 32 bits = 128 * bits bytes.
 *
 * Bit planes
 *   A width b is split into planes of 4, 2 and 1 bits, low bits first:
 *     2 = 2, 3 = 2+1, 4 = 4, 5 = 4+1, 6 = 4+2, 7 = 4+2+1, 8 = 4+4.
 *   Plane i (width p, bit offset plane_shift) occupies 32 * p consecutive words of the block starting at word
 *   32 * plane_word0(i); lane L owns the p words at 32 * plane_word0(i) + L * p. So a warp reads each plane of a
 *   block with one coalesced 128-bit (p = 4), 64-bit (p = 2) or 32-bit (p = 1) load per lane.
 *
 * What a lane holds: the operands of mma.m16n8k16 (PTX ISA, "Matrix Fragments for mma.m16n8k16 with
 * floating point type"). Lane L = 4 g + t (g = groupID, t = threadID_in_group). Per step the warp runs four
 * k16 products j = 0..3. For product j the lane's A register f (f = 0..3) holds two fp16 elements e = 0, 1:
 *     row  = g + 8 * (f & 1)                       (PTX: a0,a1 / a4,a5 are row g; a2,a3 / a6,a7 row g + 8)
 *     kk   = 2 t + 8 * (f >> 1) + e                (the k index inside the 16-wide product)
 *   and its B register r (r = 0, 1) holds B[kk = 2 t + 8 r + e][n = g]. We are free to choose which column of
 *   W each kk of product j stands for, as long as A and B agree; we choose
 *     column = 64 * step + 16 t + 4 j + 2 * (f >> 1) + e     (for B: f >> 1 = r),
 *   so the 16 activations a lane needs for a step are the contiguous x[64 step + 16 t .. + 15] (two 128-bit
 *   loads), and B register r of product j is the (2 j + r)-th fp16 pair of them.
 *   Field F = 4 j + f of a plane of width p is in lane word F / (16 / p), at bit (F % (16 / p)) * p for e = 0
 *   and 16 + that for e = 1. Extracting both halves with one mask gives a pair q_lo | q_hi << 16; OR-ing
 *   0x6400 into each half makes the fp16 numbers 1024 + q exactly, and subtracting 1024 + z (fp16, exact)
 *   gives q - z exactly.
 *
 * Groups
 *   A step never crosses a group: group sizes are multiples of 64, or one group covers the whole row. A warp
 *   accumulates a group's k16 products in fp32 and then multiplies by the group's scale in fp32.
 */
#ifndef SQUEEZE_SQ_CUDA_LAYOUT_H
#define SQUEEZE_SQ_CUDA_LAYOUT_H

#include <stdint.h>

#ifdef __CUDACC__
#define SQL_HD __host__ __device__ __forceinline__
#else
#define SQL_HD inline
#endif

namespace sqcu {

constexpr int kTileRows = 16;
constexpr int kStepCols = 64;
constexpr int kLanes = 32;
constexpr int kProductsPerStep = 4; /* k16 tensor-core products per step */

SQL_HD constexpr int plane_count(int bits) {
    return bits == 2 || bits == 4 ? 1 : bits == 7 ? 3 : 2;
}

SQL_HD constexpr int plane_width(int bits, int i) {
    return bits == 2 ? 2
         : bits == 3 ? (i == 0 ? 2 : 1)
         : bits == 4 ? 4
         : bits == 5 ? (i == 0 ? 4 : 1)
         : bits == 6 ? (i == 0 ? 4 : 2)
         : bits == 7 ? (i == 0 ? 4 : i == 1 ? 2 : 1)
         : 4; /* 8 = 4 + 4 */
}

/* Bit offset of plane i inside a code; equals the lane word index where plane i starts. */
SQL_HD constexpr int plane_shift(int bits, int i) {
    return i == 0 ? 0 : i == 1 ? plane_width(bits, 0) : plane_width(bits, 0) + plane_width(bits, 1);
}

SQL_HD constexpr int plane_word0(int bits, int i) {
    return plane_shift(bits, i);
}

/* Row inside the tile and column inside the step of A register f, element e, for lane (g, t), product j. */
SQL_HD constexpr int frag_row(int g, int f) {
    return g + 8 * (f & 1);
}

SQL_HD constexpr int frag_col(int t, int j, int f, int e) {
    return 16 * t + 4 * j + 2 * (f >> 1) + e;
}

/* Lane word and bit (for e = 0; e = 1 adds 16) of field F = 4 j + f in plane i. */
SQL_HD constexpr int field_word(int bits, int i, int field) {
    return plane_word0(bits, i) + field / (16 / plane_width(bits, i));
}

SQL_HD constexpr int field_bit(int bits, int i, int field) {
    return (field % (16 / plane_width(bits, i))) * plane_width(bits, i);
}

/* Both codes (e = 0 in bits 0..7, e = 1 in bits 16..23) of field F from a lane's BITS words. */
template <int BITS>
SQL_HD uint32_t code_pair(const uint32_t *w, int field) {
    uint32_t q = 0;
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int i = 0; i < plane_count(BITS); ++i) {
        const uint32_t mask = ((1u << plane_width(BITS, i)) - 1u) * 0x00010001u;
        q |= ((w[field_word(BITS, i, field)] >> field_bit(BITS, i, field)) & mask) << plane_shift(BITS, i);
    }
    return q;
}

} // namespace sqcu

#endif
