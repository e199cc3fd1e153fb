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
#include <stdint.h>

#include "jni_util.h"

int sq_register_sparse(JNIEnv *env); /* jni_sparse.c */

/* Must equal NativeBridge.ABI_VERSION; bump both when a native signature or meaning changes. */
#define SQ_ABI_VERSION 4

#define BRIDGE_CLASS "dev/squeeze/engine/kernels/NativeBridge"

int sq_register_packed(JNIEnv *env); /* jni_packed.c: the natives of NativePacked */

static jint JNICALL abi_version(JNIEnv *env, jclass cls) {
    (void) env;
    (void) cls;
    return SQ_ABI_VERSION;
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
