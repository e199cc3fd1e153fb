/*
 * JNI glue for dev.squeeze.engine.kernels.NativeCuda (libsqueeze_cuda_jni).
 *
 * Natives are bound with RegisterNatives in JNI_OnLoad, as in src/jni_bridge.c: a missing or mis-typed
 * method fails System.load itself, so the Java loader reports the library unusable instead of throwing
 * UnsatisfiedLinkError later. Only JNI_OnLoad is exported.
 *
 * The Java side validates every argument first; the lengths are checked again here because a wrong
 * length reaching the device code is memory corruption, not an exception. Failures become Java
 * exceptions: IllegalArgumentException for bad or unsupported input, IllegalStateException for CUDA,
 * cuBLAS and memory failures, each with sq_cuda_last_error()'s message.
 *
 * Handles are pointers cast to jlong. The context handle carries the device buffers used to move x and y
 * (grown on demand), so a product from Java is: upload x, run, download y, all on the context's stream.
 */
#include <jni.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jni_util.h"
#include "sq_cuda.h"

#define NATIVE_CUDA_CLASS "dev/squeeze/engine/kernels/NativeCuda"

typedef struct jctx {
    sq_cuda_ctx *ctx;
    void *x;
    size_t x_cap;
    void *y;
    size_t y_cap;
    float *host;     /* staging for x with a padded leading dimension */
    size_t host_cap; /* in floats */
} jctx;

typedef struct jmat {
    sq_cuda_qmatrix *q; /* one of q, d */
    sq_cuda_dmatrix *d;
    int rows, cols;
} jmat;

/* Throws for a failed status; returns 1 if it threw. */
static int threw(JNIEnv *env, sq_cuda_status s, const char *what) {
    if (s == SQ_CUDA_OK) return 0;
    const int arg = s == SQ_CUDA_ERR_ARG || s == SQ_CUDA_ERR_UNSUPPORTED;
    throw_new(env, arg ? IAE : ISE, "%s: %s: %s", what, sq_cuda_status_string(s), sq_cuda_last_error());
    return 1;
}

static jint JNICALL abi_version(JNIEnv *env, jclass cls) {
    (void) env;
    (void) cls;
    return sq_cuda_abi_version();
}

static jint JNICALL device_count(JNIEnv *env, jclass cls) {
    (void) env;
    (void) cls;
    return sq_cuda_device_count();
}

static jstring JNICALL last_error(JNIEnv *env, jclass cls) {
    (void) cls;
    return (*env)->NewStringUTF(env, sq_cuda_last_error());
}

static jstring JNICALL device_name(JNIEnv *env, jclass cls, jint device) {
    (void) cls;
    sq_cuda_device_info info;
    if (threw(env, sq_cuda_device_query(device, &info), "device query")) return NULL;
    char buf[400];
    snprintf(buf, sizeof buf, "%s (compute %d.%d, %d SMs, %.0f GB/s peak)", info.name, info.cc_major, info.cc_minor,
             info.sm_count, info.peak_gbps);
    return (*env)->NewStringUTF(env, buf);
}

static jlong JNICALL context_create(JNIEnv *env, jclass cls, jint device) {
    (void) cls;
    jctx *j = calloc(1, sizeof *j);
    if (j == NULL) {
        throw_new(env, ISE, "out of host memory");
        return 0;
    }
    if (threw(env, sq_cuda_ctx_create(device, &j->ctx), "CUDA context")) {
        free(j);
        return 0;
    }
    return (jlong) (intptr_t) j;
}

static void JNICALL context_free(JNIEnv *env, jclass cls, jlong handle) {
    (void) env;
    (void) cls;
    jctx *j = (jctx *) (intptr_t) handle;
    if (j == NULL) return;
    sq_cuda_free(j->ctx, j->x);
    sq_cuda_free(j->ctx, j->y);
    sq_cuda_ctx_free(j->ctx);
    free(j->host);
    free(j);
}

static int grow(JNIEnv *env, jctx *j, void **buf, size_t *cap, size_t bytes) {
    if (*cap >= bytes) return 1;
    if (*buf != NULL && threw(env, sq_cuda_free(j->ctx, *buf), "device buffer")) return 0;
    *buf = NULL;
    *cap = 0;
    if (threw(env, sq_cuda_malloc(j->ctx, bytes, buf), "device buffer")) return 0;
    *cap = bytes;
    return 1;
}

static jlong JNICALL quant_create(JNIEnv *env, jclass cls, jlong ctx, jint rows, jint cols, jint bits, jint group,
                                  jbyteArray codes, jfloatArray scales, jfloatArray zeros) {
    (void) cls;
    jctx *j = (jctx *) (intptr_t) ctx;
    if (j == NULL) { throw_new(env, IAE, "context handle is 0"); return 0; }
    if (rows <= 0 || cols <= 0 || group <= 0) {
        throw_new(env, IAE, "rows, cols and groupSize must be > 0, got %d, %d, %d", (int) rows, (int) cols, (int) group);
        return 0;
    }
    const int64_t ngroups = ((int64_t) cols + group - 1) / group;
    if (!length_ok(env, codes, "codes", (int64_t) rows * cols, 1)) return 0;
    if (!length_ok(env, scales, "scales", (int64_t) rows * ngroups, 1)) return 0;
    if (zeros != NULL && !length_ok(env, zeros, "zeros", (int64_t) rows * ngroups, 1)) return 0;
    jmat *m = calloc(1, sizeof *m);
    if (m == NULL) { throw_new(env, ISE, "out of host memory"); return 0; }
    m->rows = rows;
    m->cols = cols;
    jbyte *c = (*env)->GetByteArrayElements(env, codes, NULL);
    jfloat *s = (*env)->GetFloatArrayElements(env, scales, NULL);
    jfloat *z = zeros ? (*env)->GetFloatArrayElements(env, zeros, NULL) : NULL;
    sq_cuda_status st = SQ_CUDA_ERR_NOMEM;
    if (c != NULL && s != NULL && (zeros == NULL || z != NULL)) {
        sq_cuda_qdesc d = {rows, cols, bits, group, (const uint8_t *) c, s, NULL, z};
        st = sq_cuda_qmatrix_create(j->ctx, &d, &m->q);
    }
    if (z) (*env)->ReleaseFloatArrayElements(env, zeros, z, JNI_ABORT);
    if (s) (*env)->ReleaseFloatArrayElements(env, scales, s, JNI_ABORT);
    if (c) (*env)->ReleaseByteArrayElements(env, codes, c, JNI_ABORT);
    if (threw(env, st, "quantized matrix upload")) {
        free(m);
        return 0;
    }
    return (jlong) (intptr_t) m;
}

static jlong JNICALL dense_create(JNIEnv *env, jclass cls, jlong ctx, jint rows, jint cols, jfloatArray w) {
    (void) cls;
    jctx *j = (jctx *) (intptr_t) ctx;
    if (j == NULL) { throw_new(env, IAE, "context handle is 0"); return 0; }
    if (rows <= 0 || cols <= 0) {
        throw_new(env, IAE, "rows and cols must be > 0, got %d, %d", (int) rows, (int) cols);
        return 0;
    }
    if (!length_ok(env, w, "weights", (int64_t) rows * cols, 1)) return 0;
    jmat *m = calloc(1, sizeof *m);
    if (m == NULL) { throw_new(env, ISE, "out of host memory"); return 0; }
    m->rows = rows;
    m->cols = cols;
    jfloat *p = (*env)->GetFloatArrayElements(env, w, NULL);
    sq_cuda_status st = SQ_CUDA_ERR_NOMEM;
    if (p != NULL) {
        st = sq_cuda_dmatrix_create(j->ctx, rows, cols, p, SQ_CUDA_F32, &m->d);
        (*env)->ReleaseFloatArrayElements(env, w, p, JNI_ABORT);
    }
    if (threw(env, st, "dense matrix upload")) {
        free(m);
        return 0;
    }
    return (jlong) (intptr_t) m;
}

static void JNICALL matrix_free(JNIEnv *env, jclass cls, jlong handle) {
    (void) env;
    (void) cls;
    jmat *m = (jmat *) (intptr_t) handle;
    if (m == NULL) return;
    sq_cuda_qmatrix_free(m->q);
    sq_cuda_dmatrix_free(m->d);
    free(m);
}

static void JNICALL matmul(JNIEnv *env, jclass cls, jlong ctx, jlong handle, jfloatArray x, jint batch,
                           jfloatArray y) {
    (void) cls;
    jctx *j = (jctx *) (intptr_t) ctx;
    jmat *m = (jmat *) (intptr_t) handle;
    if (j == NULL || m == NULL) { throw_new(env, IAE, "context or matrix handle is 0"); return; }
    if (batch <= 0) { throw_new(env, IAE, "batch must be > 0, got %d", (int) batch); return; }
    if (!length_ok(env, x, "x", (int64_t) batch * m->cols, 1)) return;
    if (!length_ok(env, y, "y", (int64_t) batch * m->rows, 1)) return;
    const int ldx = (m->cols + 3) / 4 * 4;
    const size_t nx = (size_t) batch * ldx, ny = (size_t) batch * m->rows;
    if (j->host_cap < nx) {
        float *h = realloc(j->host, nx * sizeof(float));
        if (h == NULL) { throw_new(env, ISE, "out of host memory for %zu floats", nx); return; }
        j->host = h;
        j->host_cap = nx;
    }
    if (!grow(env, j, &j->x, &j->x_cap, nx * sizeof(float))) return;
    if (!grow(env, j, &j->y, &j->y_cap, ny * sizeof(float))) return;
    for (int b = 0; b < batch; ++b) {
        (*env)->GetFloatArrayRegion(env, x, (jsize) ((int64_t) b * m->cols), m->cols, j->host + (size_t) b * ldx);
        for (int k = m->cols; k < ldx; ++k) j->host[(size_t) b * ldx + k] = 0.0f;
    }
    if (threw(env, sq_cuda_upload(j->ctx, j->x, j->host, nx * sizeof(float)), "upload x")) return;
    sq_cuda_status st = m->q != NULL
        ? sq_cuda_qmatmul(j->ctx, m->q, j->x, SQ_CUDA_F32, ldx, batch, (float *) j->y, m->rows)
        : sq_cuda_dmatmul(j->ctx, m->d, j->x, SQ_CUDA_F32, ldx, batch, (float *) j->y, m->rows);
    if (threw(env, st, "matrix product")) return;
    if (threw(env, sq_cuda_download(j->ctx, j->host, j->y, ny * sizeof(float)), "download y")) return;
    (*env)->SetFloatArrayRegion(env, y, 0, (jsize) ny, j->host);
}

static const JNINativeMethod METHODS[] = {
    {"abiVersion", "()I", (void *) abi_version},
    {"nativeDeviceCount", "()I", (void *) device_count},
    {"lastError", "()Ljava/lang/String;", (void *) last_error},
    {"deviceName", "(I)Ljava/lang/String;", (void *) device_name},
    {"contextCreate", "(I)J", (void *) context_create},
    {"contextFree", "(J)V", (void *) context_free},
    {"quantCreate", "(JIIII[B[F[F)J", (void *) quant_create},
    {"denseCreate", "(JII[F)J", (void *) dense_create},
    {"matrixFree", "(J)V", (void *) matrix_free},
    {"matmul", "(JJ[FI[F)V", (void *) matmul},
};

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved) {
    (void) reserved;
    JNIEnv *env;
    if ((*vm)->GetEnv(vm, (void **) &env, JNI_VERSION_1_8) != JNI_OK) return JNI_ERR;
    jclass cls = (*env)->FindClass(env, NATIVE_CUDA_CLASS);
    if (cls == NULL) return JNI_ERR;
    if ((*env)->RegisterNatives(env, cls, METHODS, (jint) (sizeof METHODS / sizeof METHODS[0])) != 0) return JNI_ERR;
    return JNI_VERSION_1_8;
}
