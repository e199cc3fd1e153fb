/*
 * Types shared by every native kernel of Squeeze: the instruction-set paths and the status codes.
 * Plain C11, no JNI. The numbers are part of the JNI contract (NativeBridge.ISA_*): do not renumber.
 */
#ifndef SQUEEZE_SQ_COMMON_H
#define SQUEEZE_SQ_COMMON_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sq_isa {
    SQ_ISA_AUTO = 0,   /* the best path this CPU supports */
    SQ_ISA_SCALAR = 1, /* portable readable reference */
    SQ_ISA_AVX2 = 2,   /* x86-64 AVX2 + FMA (+ F16C for fp16 scales) */
    SQ_ISA_AVX512 = 3  /* x86-64 AVX-512 F/BW/VL (+ VNNI where a kernel uses it) */
} sq_isa;

typedef enum sq_status {
    SQ_OK = 0,
    SQ_ERR_ARG = 1,   /* bad dimension, bad code, bad flag or null pointer */
    SQ_ERR_ISA = 2,   /* requested path not compiled in or not supported by this CPU */
    SQ_ERR_NOMEM = 3  /* scratch allocation failed */
} sq_status;

/* "scalar", "avx2", "avx512", or "unknown". */
const char *sq_isa_name(sq_isa isa);

#ifdef __cplusplus
}
#endif

#endif /* SQUEEZE_SQ_COMMON_H */
