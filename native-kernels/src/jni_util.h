/*
 * Helpers shared by the JNI glue files (jni_bridge.c, jni_packed.c, jni_sparse.c and cuda/jni_cuda.c, which is a
 * separate library): static inline, so each file gets its own copy and an unused one draws no warning.
 */
#ifndef SQ_JNI_UTIL_H
#define SQ_JNI_UTIL_H

#include <jni.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#define IAE "java/lang/IllegalArgumentException"
#define ISE "java/lang/IllegalStateException"

/* Throws a new class_name (a JNI class name) with a printf-style message, cut at 1199 bytes. */
static inline void throw_new(JNIEnv *env, const char *class_name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void throw_new(JNIEnv *env, const char *class_name, const char *fmt, ...) {
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jclass cls = (*env)->FindClass(env, class_name);
    if (cls != NULL) { /* else FindClass left its own error pending */
        (*env)->ThrowNew(env, cls, msg);
    }
}

/*
 * Returns 1 if a is non-null and has exactly (exact != 0) or at least (exact == 0) `expected` elements; else 0
 * with an IllegalArgumentException pending that names the array.
 */
static inline int length_ok(JNIEnv *env, jarray a, const char *name, int64_t expected, int exact) {
    if (a == NULL) {
        throw_new(env, IAE, "%s is null", name);
        return 0;
    }
    const int64_t len = (*env)->GetArrayLength(env, a);
    if (exact ? len != expected : len < expected) {
        throw_new(env, IAE, "%s has length %lld but %s%lld are needed", name, (long long) len,
                  exact ? "" : "at least ", (long long) expected);
        return 0;
    }
    return 1;
}

#endif
