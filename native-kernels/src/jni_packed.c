/*
 * JNI glue for dev.squeeze.engine.kernels.NativePacked: the packed low-bit kernels of packed.h.
 *
 * sq_register_packed binds the natives with RegisterNatives; jni_bridge.c's JNI_OnLoad calls it, so a missing
 * or mis-typed method fails System.load (NoSuchMethodError) instead of the first call.
 *
 * The Java wrapper (NativePacked + PackedChecks) validates every argument first. Every check is repeated here,
 * because a wrong length reaching the kernel is an out-of-bounds access that kills the JVM: dimensions, bits,
 * group size, flags, the type and length of every array, batch, row range and thread count. A failed check
 * throws IllegalArgumentException and returns before any array is pinned.
 */
#include <jni.h>
#include <stdint.h>

#include "jni_util.h"

#include "packed.h"

#define PACKED_CLASS "dev/squeeze/engine/kernels/NativePacked"

int sq_register_packed(JNIEnv *env);

/* Returns 0 (exception pending) unless array is non-null and has exactly `expected` elements. */
static int check_exact(JNIEnv *env, jarray array, const char *field, int64_t expected, const char *formula) {
    if (array == NULL) {
        throw_new(env, IAE, "%s is null; expected %lld elements", field, (long long) expected);
        return 0;
    }
    const jsize len = (*env)->GetArrayLength(env, array);
    if ((int64_t) len != expected) {
        throw_new(env, IAE, "%s has length %d but %s = %lld", field, (int) len, formula, (long long) expected);
        return 0;
    }
    return 1;
}

/* Returns 0 (exception pending) unless array is non-null and has at least `expected` elements. */
static int check_at_least(JNIEnv *env, jarray array, const char *field, int64_t expected, const char *formula) {
    if (array == NULL) {
        throw_new(env, IAE, "%s is null; expected at least %lld elements", field, (long long) expected);
        return 0;
    }
    const jsize len = (*env)->GetArrayLength(env, array);
    if ((int64_t) len < expected) {
        throw_new(env, IAE, "%s has length %d but %s = %lld", field, (int) len, formula, (long long) expected);
        return 0;
    }
    return 1;
}

/* Fills d and returns 1 if every field is in range; else 0 with an IllegalArgumentException naming the field. */
static int make_desc(JNIEnv *env, sq_packed_desc *d, jint rows, jint cols, jint bits, jint group_size,
                     jint symmetric, jint scale_type) {
    if (rows <= 0) { throw_new(env, IAE, "rows must be > 0, got %d", (int) rows); return 0; }
    if (cols <= 0) { throw_new(env, IAE, "cols must be > 0, got %d", (int) cols); return 0; }
    if (bits < 2 || bits > 8) { throw_new(env, IAE, "bits must be 2..8, got %d", (int) bits); return 0; }
    if (group_size <= 0) { throw_new(env, IAE, "groupSize must be > 0, got %d", (int) group_size); return 0; }
    if (symmetric != 0 && symmetric != 1) {
        throw_new(env, IAE, "symmetric must be 0 or 1, got %d", (int) symmetric);
        return 0;
    }
    if (scale_type != SQ_SCALE_F32 && scale_type != SQ_SCALE_F16) {
        throw_new(env, IAE, "scaleType must be 0 (f32) or 1 (f16), got %d", (int) scale_type);
        return 0;
    }
    d->rows = rows;
    d->cols = cols;
    d->bits = bits;
    d->group_size = group_size;
    d->symmetric = symmetric;
    d->scale_type = scale_type;
    if (sq_packed_check_desc(d) != SQ_OK || sq_packed_groups(d) <= 0 || sq_packed_codes_bytes(d) < 0) {
        throw_new(env, IAE, "the kernels reject the matrix %d x %d, %d-bit, groupSize %d", (int) rows, (int) cols,
                  (int) bits, (int) group_size);
        return 0;
    }
    return 1;
}

static int check_isa(JNIEnv *env, jint isa, int q8) {
    if (isa != SQ_ISA_AUTO && isa != SQ_ISA_SCALAR && isa != SQ_ISA_AVX2 && isa != SQ_ISA_AVX512) {
        throw_new(env, IAE, "isa must be 0 (auto), 1 (scalar), 2 (avx2) or 3 (avx512), got %d", (int) isa);
        return 0;
    }
    if (q8 ? !sq_packed_q8_isa_supported((sq_isa) isa) : !sq_packed_isa_supported((sq_isa) isa)) {
        throw_new(env, IAE, "isa %s is not supported %sby this build or CPU", sq_isa_name((sq_isa) isa),
                  q8 ? "for int8 activations " : "");
        return 0;
    }
    return 1;
}

/* scales or zeros: a float[] for f32, a short[] (binary16 bits) for f16, of exactly rows * groups elements. */
static int check_params(JNIEnv *env, jobject array, const char *field, const sq_packed_desc *d) {
    const int64_t expected = (int64_t) d->rows * sq_packed_groups(d);
    if (array == NULL) {
        throw_new(env, IAE, "%s is null; expected %lld elements", field, (long long) expected);
        return 0;
    }
    const char *type = d->scale_type == SQ_SCALE_F16 ? "[S" : "[F";
    jclass cls = (*env)->FindClass(env, type);
    if (cls == NULL) {
        return 0; /* NoClassDefFoundError pending */
    }
    const jboolean ok = (*env)->IsInstanceOf(env, array, cls);
    (*env)->DeleteLocalRef(env, cls);
    if (!ok) {
        throw_new(env, IAE, "%s must be a %s for scaleType %s", field,
                  d->scale_type == SQ_SCALE_F16 ? "short[] of binary16 bits" : "float[]",
                  d->scale_type == SQ_SCALE_F16 ? "f16" : "f32");
        return 0;
    }
    return check_exact(env, (jarray) array, field, expected, "rows * ceil(cols / groupSize)");
}

static void throw_status(JNIEnv *env, sq_status status, jint isa, const char *what) {
    switch (status) {
        case SQ_OK:
            break;
        case SQ_ERR_NOMEM:
            throw_new(env, "java/lang/OutOfMemoryError", "packed %s could not allocate its scratch memory", what);
            break;
        case SQ_ERR_ISA:
            throw_new(env, IAE, "isa %s is not supported by this build or CPU", sq_isa_name((sq_isa) isa));
            break;
        default:
            throw_new(env, IAE, "packed %s rejected its arguments (status %d)", what, (int) status);
            break;
    }
}

static jint JNICALL best_isa(JNIEnv *env, jclass cls) {
    (void) env;
    (void) cls;
    return (jint) sq_packed_best_isa();
}

static jboolean JNICALL isa_supported(JNIEnv *env, jclass cls, jint isa) {
    (void) env;
    (void) cls;
    if (isa < SQ_ISA_AUTO || isa > SQ_ISA_AVX512) {
        return JNI_FALSE;
    }
    return sq_packed_isa_supported((sq_isa) isa) ? JNI_TRUE : JNI_FALSE;
}

static jboolean JNICALL cpu_has_vnni(JNIEnv *env, jclass cls) {
    (void) env;
    (void) cls;
    return sq_cpu_has_avx512_vnni() ? JNI_TRUE : JNI_FALSE;
}

static jlong JNICALL codes_bytes(JNIEnv *env, jclass cls, jint rows, jint cols, jint bits, jint group_size,
                                 jint symmetric, jint scale_type) {
    (void) cls;
    sq_packed_desc d;
    if (!make_desc(env, &d, rows, cols, bits, group_size, symmetric, scale_type)) return -1;
    return (jlong) sq_packed_codes_bytes(&d);
}

static void JNICALL pack(JNIEnv *env, jclass cls, jint rows, jint cols, jint bits, jint group_size, jint symmetric,
                         jint scale_type, jbyteArray codes, jbyteArray packed) {
    (void) cls;
    sq_packed_desc d;
    if (!make_desc(env, &d, rows, cols, bits, group_size, symmetric, scale_type)) return;
    if (!check_exact(env, codes, "codes", (int64_t) rows * cols, "rows * cols")) return;
    if (!check_exact(env, packed, "packed", sq_packed_codes_bytes(&d), "sq_packed_codes_bytes")) return;
    if ((*env)->IsSameObject(env, codes, packed)) {
        throw_new(env, IAE, "codes and packed must be different arrays");
        return;
    }
    void *c_codes = NULL, *c_packed = NULL;
    sq_status status = SQ_OK;
    int acquired = 0;
    if ((c_codes = (*env)->GetPrimitiveArrayCritical(env, codes, NULL)) != NULL
        && (c_packed = (*env)->GetPrimitiveArrayCritical(env, packed, NULL)) != NULL) {
        acquired = 1;
        status = sq_packed_pack(&d, c_codes, c_packed);
    }
    if (c_packed != NULL) {
        (*env)->ReleasePrimitiveArrayCritical(env, packed, c_packed, status == SQ_OK ? 0 : JNI_ABORT);
    }
    if (c_codes != NULL) (*env)->ReleasePrimitiveArrayCritical(env, codes, c_codes, JNI_ABORT);
    if (!acquired) {
        if (!(*env)->ExceptionCheck(env)) {
            throw_new(env, "java/lang/OutOfMemoryError", "could not pin arrays for the packer");
        }
        return;
    }
    if (status == SQ_ERR_ARG) {
        throw_new(env, IAE, "codes hold a value above the %d-bit maximum %d", (int) bits, (1 << bits) - 1);
        return;
    }
    throw_status(env, status, SQ_ISA_AUTO, "pack");
}

/* Checks shared by both products; returns 0 with an exception pending on the first failure. */
static int check_product(JNIEnv *env, sq_packed_desc *d, int q8, jint isa, jint rows, jint cols, jint bits,
                         jint group_size, jint symmetric, jint scale_type, jbyteArray packed, jobject scales,
                         jobject zeros, jfloatArray x, jfloatArray y, jint batch) {
    if (!check_isa(env, isa, q8)) return 0;
    if (!make_desc(env, d, rows, cols, bits, group_size, symmetric, scale_type)) return 0;
    if (q8 && sq_packed_q8_block(d) < 0) {
        throw_new(env, IAE, "int8 activations need groupSize a multiple of 64, got %d", (int) group_size);
        return 0;
    }
    if (batch <= 0) { throw_new(env, IAE, "batch must be > 0, got %d", (int) batch); return 0; }
    if (!check_exact(env, packed, "packed", sq_packed_codes_bytes(d), "sq_packed_codes_bytes")) return 0;
    if (!check_params(env, scales, "scales", d)) return 0;
    if (symmetric) {
        if (zeros != NULL) {
            throw_new(env, IAE, "zeros must be null for a symmetric matrix (the zero point is 2^(bits-1))");
            return 0;
        }
    } else if (!check_params(env, zeros, "zeros", d)) {
        return 0;
    }
    if (!check_at_least(env, x, "x", (int64_t) batch * cols, "batch * cols")) return 0;
    if (!check_at_least(env, y, "y", (int64_t) batch * rows, "batch * rows")) return 0;
    if ((*env)->IsSameObject(env, x, y)) {
        throw_new(env, IAE, "x and y must be different arrays (the kernel reads x while writing y)");
        return 0;
    }
    return 1;
}

/*
 * Pins the five arrays (critical access: no copy, GC held off until release; no JNI calls in between, hence
 * every check before), runs the product, releases in reverse order, turns a status into an exception.
 */
enum { RUN_ROWS, RUN_THREADS, RUN_Q8 };

static void run_product(JNIEnv *env, const sq_packed_desc *d, int mode, jint isa, jbyteArray packed,
                        jobject scales, jobject zeros, jfloatArray x, jfloatArray y, jint batch, jint row_begin,
                        jint row_end, jint threads) {
    void *c_packed = NULL, *c_scales = NULL, *c_zeros = NULL, *c_x = NULL, *c_y = NULL;
    sq_status status = SQ_OK;
    int acquired = 0;
    if ((c_packed = (*env)->GetPrimitiveArrayCritical(env, packed, NULL)) != NULL
        && (c_scales = (*env)->GetPrimitiveArrayCritical(env, (jarray) scales, NULL)) != NULL
        && (zeros == NULL || (c_zeros = (*env)->GetPrimitiveArrayCritical(env, (jarray) zeros, NULL)) != NULL)
        && (c_x = (*env)->GetPrimitiveArrayCritical(env, x, NULL)) != NULL
        && (c_y = (*env)->GetPrimitiveArrayCritical(env, y, NULL)) != NULL) {
        acquired = 1;
        switch (mode) {
            case RUN_THREADS:
                status = sq_packed_matmul_mt((sq_isa) isa, d, c_packed, c_scales, c_zeros, c_x, c_y, batch, threads);
                break;
            case RUN_Q8:
                status = sq_packed_matmul_q8((sq_isa) isa, d, c_packed, c_scales, c_zeros, c_x, c_y, batch,
                                             row_begin, row_end);
                break;
            default:
                status = sq_packed_matmul((sq_isa) isa, d, c_packed, c_scales, c_zeros, c_x, c_y, batch, row_begin,
                                          row_end);
                break;
        }
    }
    /* Inputs were not written: JNI_ABORT skips a copy-back if the VM had to copy. */
    if (c_y != NULL) (*env)->ReleasePrimitiveArrayCritical(env, y, c_y, acquired && status == SQ_OK ? 0 : JNI_ABORT);
    if (c_x != NULL) (*env)->ReleasePrimitiveArrayCritical(env, x, c_x, JNI_ABORT);
    if (c_zeros != NULL) (*env)->ReleasePrimitiveArrayCritical(env, (jarray) zeros, c_zeros, JNI_ABORT);
    if (c_scales != NULL) (*env)->ReleasePrimitiveArrayCritical(env, (jarray) scales, c_scales, JNI_ABORT);
    if (c_packed != NULL) (*env)->ReleasePrimitiveArrayCritical(env, packed, c_packed, JNI_ABORT);
    if (!acquired) {
        if (!(*env)->ExceptionCheck(env)) {
            throw_new(env, "java/lang/OutOfMemoryError", "could not pin arrays for the packed kernel");
        }
        return;
    }
    throw_status(env, status, isa, "kernel");
}

static void rows_product(JNIEnv *env, int q8, jint isa, jint rows, jint cols, jint bits, jint group_size,
                         jint symmetric, jint scale_type, jbyteArray packed, jobject scales, jobject zeros,
                         jfloatArray x, jfloatArray y, jint batch, jint row_begin, jint row_end) {
    sq_packed_desc d;
    if (!check_product(env, &d, q8, isa, rows, cols, bits, group_size, symmetric, scale_type, packed, scales, zeros,
                       x, y, batch)) {
        return;
    }
    if (row_begin < 0 || row_end > rows || row_begin > row_end) {
        throw_new(env, IAE, "row range [%d, %d) is not inside [0, %d)", (int) row_begin, (int) row_end, (int) rows);
        return;
    }
    if (row_begin == row_end) {
        return;
    }
    run_product(env, &d, q8 ? RUN_Q8 : RUN_ROWS, isa, packed, scales, zeros, x, y, batch, row_begin, row_end, 0);
}

static void JNICALL matmul(JNIEnv *env, jclass cls, jint isa, jint rows, jint cols, jint bits, jint group_size,
                           jint symmetric, jint scale_type, jbyteArray packed, jobject scales, jobject zeros,
                           jfloatArray x, jfloatArray y, jint batch, jint row_begin, jint row_end) {
    (void) cls;
    rows_product(env, 0, isa, rows, cols, bits, group_size, symmetric, scale_type, packed, scales, zeros, x, y, batch,
                 row_begin, row_end);
}

static void JNICALL matmul_q8(JNIEnv *env, jclass cls, jint isa, jint rows, jint cols, jint bits, jint group_size,
                              jint symmetric, jint scale_type, jbyteArray packed, jobject scales, jobject zeros,
                              jfloatArray x, jfloatArray y, jint batch, jint row_begin, jint row_end) {
    (void) cls;
    rows_product(env, 1, isa, rows, cols, bits, group_size, symmetric, scale_type, packed, scales, zeros, x, y, batch,
                 row_begin, row_end);
}

static jboolean JNICALL q8_isa_supported(JNIEnv *env, jclass cls, jint isa) {
    (void) env;
    (void) cls;
    if (isa < SQ_ISA_AUTO || isa > SQ_ISA_AVX512) {
        return JNI_FALSE;
    }
    return sq_packed_q8_isa_supported((sq_isa) isa) ? JNI_TRUE : JNI_FALSE;
}

static void JNICALL matmul_mt(JNIEnv *env, jclass cls, jint isa, jint rows, jint cols, jint bits, jint group_size,
                              jint symmetric, jint scale_type, jbyteArray packed, jobject scales, jobject zeros,
                              jfloatArray x, jfloatArray y, jint batch, jint threads) {
    (void) cls;
    sq_packed_desc d;
    if (!check_product(env, &d, 0, isa, rows, cols, bits, group_size, symmetric, scale_type, packed, scales, zeros,
                       x, y, batch)) {
        return;
    }
    if (threads <= 0) {
        throw_new(env, IAE, "threads must be > 0, got %d", (int) threads);
        return;
    }
    run_product(env, &d, RUN_THREADS, isa, packed, scales, zeros, x, y, batch, 0, rows, threads);
}

/* Signatures must match NativePacked exactly; RegisterNatives checks them against the class. */
static const JNINativeMethod METHODS[] = {
    {"bestIsa", "()I", (void *) best_isa},
    {"isaSupported", "(I)Z", (void *) isa_supported},
    {"cpuHasVnni", "()Z", (void *) cpu_has_vnni},
    {"codesBytes", "(IIIIII)J", (void *) codes_bytes},
    {"pack", "(IIIIII[B[B)V", (void *) pack},
    {"matmul", "(IIIIIII[BLjava/lang/Object;Ljava/lang/Object;[F[FIII)V", (void *) matmul},
    {"matmulMt", "(IIIIIII[BLjava/lang/Object;Ljava/lang/Object;[F[FII)V", (void *) matmul_mt},
    {"matmulQ8", "(IIIIIII[BLjava/lang/Object;Ljava/lang/Object;[F[FIII)V", (void *) matmul_q8},
    {"q8IsaSupported", "(I)Z", (void *) q8_isa_supported},
};

/* Called from JNI_OnLoad (jni_bridge.c): 0 on success, else -1 with NoClassDefFoundError/NoSuchMethodError pending. */
int sq_register_packed(JNIEnv *env) {
    jclass cls = (*env)->FindClass(env, PACKED_CLASS);
    if (cls == NULL) {
        return -1;
    }
    const jint rc = (*env)->RegisterNatives(env, cls, METHODS, (jint) (sizeof METHODS / sizeof METHODS[0]));
    (*env)->DeleteLocalRef(env, cls);
    return rc == JNI_OK ? 0 : -1;
}
