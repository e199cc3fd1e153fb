/*
 * JNI glue for dev.squeeze.engine.kernels.NativeBridge.
 *
 * The natives are bound with RegisterNatives in JNI_OnLoad rather than by Java_... symbol names: a
 * missing or mis-typed method then fails System.load itself (NoSuchMethodError), so the loader reports
 * the library unusable and the tests that require it fail, instead of a surprise UnsatisfiedLinkError
 * on first use. Only JNI_OnLoad is exported (the build uses -fvisibility=hidden).
 *
 * The Java wrapper validates first; every check is repeated here because a wrong length reaching the
 * kernel is a segfault that kills the JVM. Errors become Java exceptions, never crashes; the one deliberate
 * exception is the test-only fault_for_test below.
 */
#include <jni.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "int4_matvec.h"

int sq_register_sparse(JNIEnv *env); /* jni_sparse.c */

/* Must equal NativeBridge.ABI_VERSION; bump both when a native signature or meaning changes. */
#define SQ_ABI_VERSION 3

#define BRIDGE_CLASS "dev/squeeze/engine/kernels/NativeBridge"

int sq_register_packed(JNIEnv *env); /* jni_packed.c: the natives of NativePacked */

static void throw_new(JNIEnv *env, const char *class_name, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jclass cls = (*env)->FindClass(env, class_name);
    if (cls != NULL) { /* else FindClass left its own error pending */
        (*env)->ThrowNew(env, cls, msg);
    }
}

#define IAE "java/lang/IllegalArgumentException"

/* Returns 0 (with an exception pending) unless array is non-null and holds exactly `expected` elements. */
static int check_len(JNIEnv *env, jarray array, const char *field, int64_t expected, const char *formula) {
    if (array == NULL) {
        throw_new(env, IAE, "%s is null", field);
        return 0;
    }
    const jsize len = (*env)->GetArrayLength(env, array);
    if ((int64_t) len != expected) {
        throw_new(env, IAE, "%s has length %d but %s = %lld", field, (int) len, formula, (long long) expected);
        return 0;
    }
    return 1;
}

static jint JNICALL abi_version(JNIEnv *env, jclass cls) {
    (void) env;
    (void) cls;
    return SQ_ABI_VERSION;
}

static jint JNICALL best_isa(JNIEnv *env, jclass cls) {
    (void) env;
    (void) cls;
    return (jint) sq_int4_best_isa();
}

static void JNICALL int4_mat_vec(JNIEnv *env, jclass cls, jint isa, jint rows, jint cols, jint group_size,
                                 jbyteArray codes, jfloatArray scales, jfloatArray zeros, jfloatArray x,
                                 jfloatArray y, jint batch) {
    (void) cls;
    if (rows <= 0) { throw_new(env, IAE, "rows must be > 0, got %d", (int) rows); return; }
    if (cols <= 0) { throw_new(env, IAE, "cols must be > 0, got %d", (int) cols); return; }
    if (group_size <= 0) { throw_new(env, IAE, "groupSize must be > 0, got %d", (int) group_size); return; }
    if (batch <= 0) { throw_new(env, IAE, "batch must be > 0, got %d", (int) batch); return; }
    if (isa != SQ_ISA_AUTO && isa != SQ_ISA_SCALAR && isa != SQ_ISA_AVX2) {
        throw_new(env, IAE, "isa must be 0 (auto), 1 (scalar) or 2 (avx2), got %d", (int) isa);
        return;
    }
    if (isa != SQ_ISA_AUTO && !sq_int4_isa_supported((sq_isa) isa)) {
        throw_new(env, IAE, "isa %s is not supported by this build or CPU", sq_isa_name((sq_isa) isa));
        return;
    }
    const int64_t ngroups = sq_int4_groups(cols, group_size);
    if (!check_len(env, codes, "codes", rows * sq_int4_row_stride(cols), "rows * ceil(cols / 2)")) return;
    if (!check_len(env, scales, "scales", rows * ngroups, "rows * ceil(cols / groupSize)")) return;
    if (!check_len(env, zeros, "zeros", rows * ngroups, "rows * ceil(cols / groupSize)")) return;
    if (!check_len(env, x, "x", (int64_t) batch * cols, "batch * cols")) return;
    if (!check_len(env, y, "y", (int64_t) batch * rows, "batch * rows")) return;
    if ((*env)->IsSameObject(env, x, y)) {
        throw_new(env, IAE, "x and y must be different arrays (the kernel reads x while writing y)");
        return;
    }

    /*
     * Critical access pins the arrays (no copy) and holds off GC until release; no JNI calls may happen
     * in between, hence all checks above and the status handling below. Releases go in reverse order.
     */
    void *c_codes = NULL, *c_scales = NULL, *c_zeros = NULL, *c_x = NULL, *c_y = NULL;
    sq_status status = SQ_OK;
    int acquired = 0;
    if ((c_codes = (*env)->GetPrimitiveArrayCritical(env, codes, NULL)) != NULL
        && (c_scales = (*env)->GetPrimitiveArrayCritical(env, scales, NULL)) != NULL
        && (c_zeros = (*env)->GetPrimitiveArrayCritical(env, zeros, NULL)) != NULL
        && (c_x = (*env)->GetPrimitiveArrayCritical(env, x, NULL)) != NULL
        && (c_y = (*env)->GetPrimitiveArrayCritical(env, y, NULL)) != NULL) {
        acquired = 1;
        const sq_int4_matrix w = {rows, cols, group_size, c_codes, c_scales, c_zeros};
        status = sq_int4_matvec((sq_isa) isa, &w, c_x, c_y, batch);
    }
    /* Inputs were not written: JNI_ABORT skips a copy-back if the VM had to copy. */
    if (c_y != NULL) (*env)->ReleasePrimitiveArrayCritical(env, y, c_y, acquired && status == SQ_OK ? 0 : JNI_ABORT);
    if (c_x != NULL) (*env)->ReleasePrimitiveArrayCritical(env, x, c_x, JNI_ABORT);
    if (c_zeros != NULL) (*env)->ReleasePrimitiveArrayCritical(env, zeros, c_zeros, JNI_ABORT);
    if (c_scales != NULL) (*env)->ReleasePrimitiveArrayCritical(env, scales, c_scales, JNI_ABORT);
    if (c_codes != NULL) (*env)->ReleasePrimitiveArrayCritical(env, codes, c_codes, JNI_ABORT);

    if (!acquired) {
        if (!(*env)->ExceptionCheck(env)) {
            throw_new(env, "java/lang/OutOfMemoryError", "could not pin arrays for the int4 kernel");
        }
        return;
    }
    switch (status) {
        case SQ_OK:
            break;
        case SQ_ERR_NOMEM:
            throw_new(env, "java/lang/OutOfMemoryError", "int4 kernel could not allocate its scratch buffer");
            break;
        case SQ_ERR_ISA:
            throw_new(env, IAE, "isa %s is not supported by this build or CPU", sq_isa_name((sq_isa) isa));
            break;
        default:
            throw_new(env, IAE, "int4 kernel rejected its arguments (status %d)", (int) status);
            break;
    }
}

/*
 * Test-only: a genuine invalid memory access in this library, so the job-engine tests can show that a
 * worker JVM killed by a native crash is reported and its parent keeps running (issue #5). The Java side
 * (NativeFaults) refuses unless -Dsqueeze.test.faults=true. The address is read from a volatile object, so
 * the compiler cannot see that it is NULL: it can neither drop the store nor turn it into a trap
 * instruction (which would be SIGILL, not the SIGSEGV a real kernel bug gives). The JVM's signal handler
 * then finds the faulting pc in libsqueeze_kernels, writes its fatal-error report and aborts.
 */
#define SQ_FAULT_SEGV 1

static volatile uintptr_t sq_fault_address = 0;

static void JNICALL fault_for_test(JNIEnv *env, jclass cls, jint kind) {
    (void) cls;
    if (kind != SQ_FAULT_SEGV) {
        throw_new(env, IAE, "fault kind must be %d (segfault), got %d", SQ_FAULT_SEGV, (int) kind);
        return;
    }
    volatile int *target = (volatile int *) sq_fault_address;
    *target = 0x5EC;
}

/* Signatures must match NativeBridge exactly; RegisterNatives checks them against the class. */
static const JNINativeMethod METHODS[] = {
    {"abiVersion", "()I", (void *) abi_version},
    {"bestIsa", "()I", (void *) best_isa},
    {"int4MatVec", "(IIII[B[F[F[F[FI)V", (void *) int4_mat_vec},
    {"faultForTest", "(I)V", (void *) fault_for_test},
};

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved) {
    (void) reserved;
    JNIEnv *env = NULL;
    if ((*vm)->GetEnv(vm, (void **) &env, JNI_VERSION_1_8) != JNI_OK) {
        return JNI_ERR;
    }
    /* During JNI_OnLoad, FindClass uses the loader of the class that called System.load. */
    jclass cls = (*env)->FindClass(env, BRIDGE_CLASS);
    if (cls == NULL) {
        return JNI_ERR; /* NoClassDefFoundError pending */
    }
    if ((*env)->RegisterNatives(env, cls, METHODS, (jint) (sizeof METHODS / sizeof METHODS[0])) != JNI_OK) {
        return JNI_ERR; /* NoSuchMethodError pending, naming the method */
    }
    if (sq_register_packed(env) != 0) return JNI_ERR;
    if (sq_register_sparse(env) != JNI_OK) return JNI_ERR; /* jni_sparse.c: NativeSparse's natives */
    return JNI_VERSION_1_8;
}
