/*
 * JNI glue for dev.squeeze.engine.kernels.NativeSparse: the sparse products of sparse.h. Registered from
 * JNI_OnLoad (jni_bridge.c) through sq_register_sparse, with RegisterNatives like the int4 bridge, so a
 * signature mismatch fails System.load rather than the first call.
 *
 * The Java wrappers validate first; every dimension and length is checked again here (a wrong length that
 * reached a kernel would be an out-of-bounds access that kills the JVM), and the kernels themselves check
 * the sparse structure (positions, columns, row pointers) and return SQ_ERR_INDEX, which becomes an
 * IllegalArgumentException. x and y may be longer than batch * cols / batch * rows (LinearOp's reused
 * buffers); the weight arrays must have their exact length.
 */
#include <jni.h>
#include <stdint.h>

#include "jni_util.h"

#include "sparse.h"

#define SPARSE_CLASS "dev/squeeze/engine/kernels/NativeSparse"

int sq_register_sparse(JNIEnv *env);

static int common_ok(JNIEnv *env, jint isa, jint rows, jint cols, jint batch, jint r0, jint r1, jfloatArray x,
                     jfloatArray y) {
    if (rows <= 0 || cols <= 0) {
        throw_new(env, IAE, "matrix must be at least 1 x 1, got %d x %d", (int) rows, (int) cols);
        return 0;
    }
    if (batch <= 0) {
        throw_new(env, IAE, "batch must be > 0, got %d", (int) batch);
        return 0;
    }
    if (r0 < 0 || r1 < r0 || r1 > rows) {
        throw_new(env, IAE, "row range [%d, %d) is not inside [0, %d)", (int) r0, (int) r1, (int) rows);
        return 0;
    }
    if (isa != SQ_ISA_AUTO && !sq_sparse_isa_supported((sq_isa) isa)) {
        throw_new(env, IAE, "isa %d (%s) is not supported by this build or CPU", (int) isa,
                  sq_sparse_isa_name((sq_isa) isa));
        return 0;
    }
    if (!length_ok(env, x, "x", (int64_t) batch * cols, 0)) return 0;
    if (!length_ok(env, y, "y", (int64_t) batch * rows, 0)) return 0;
    if ((*env)->IsSameObject(env, x, y)) {
        throw_new(env, IAE, "x and y must be different arrays (the kernel reads x while writing y)");
        return 0;
    }
    return 1;
}

/* Up to five arrays pinned with critical access; released in reverse order, inputs with JNI_ABORT. */
typedef struct pins {
    int count;
    jarray arrays[5];
    void *ptrs[5];
    int output[5];
} pins;

static void *pin(JNIEnv *env, pins *p, jarray a, int output) {
    void *ptr = (*env)->GetPrimitiveArrayCritical(env, a, NULL);
    if (ptr != NULL) {
        p->arrays[p->count] = a;
        p->ptrs[p->count] = ptr;
        p->output[p->count] = output;
        p->count++;
    }
    return ptr;
}

static void unpin(JNIEnv *env, pins *p, int commit) {
    for (int i = p->count - 1; i >= 0; i--) {
        (*env)->ReleasePrimitiveArrayCritical(env, p->arrays[i], p->ptrs[i], p->output[i] && commit ? 0 : JNI_ABORT);
    }
    p->count = 0;
}

/* Status to exception (nothing for SQ_OK). Called after unpinning: JNI calls are not allowed while pinned. */
static void raise(JNIEnv *env, int acquired, sq_status st, const char *what) {
    if (!acquired) {
        if (!(*env)->ExceptionCheck(env)) throw_new(env, "java/lang/OutOfMemoryError", "could not pin arrays for %s", what);
        return;
    }
    switch ((int) st) {
        case SQ_OK: return;
        case SQ_ERR_NOMEM: throw_new(env, "java/lang/OutOfMemoryError", "%s could not allocate scratch memory", what); return;
        case SQ_ERR_ISA: throw_new(env, IAE, "%s: instruction set not supported here", what); return;
        case 10: /* SQ_ERR_INDEX */
            throw_new(env, IAE, "%s: the sparse structure is invalid (an N:M position >= m, a column index outside"
                      " [0, cols), or row pointers out of order / beyond the values); y is unspecified", what);
            return;
        default: throw_new(env, IAE, "%s rejected its arguments (status %d)", what, (int) st); return;
    }
}

static jint JNICALL best_isa(JNIEnv *env, jclass cls) {
    (void) env;
    (void) cls;
    return (jint) sq_sparse_best_isa();
}

static jboolean JNICALL isa_supported(JNIEnv *env, jclass cls, jint isa) {
    (void) env;
    (void) cls;
    return sq_sparse_isa_supported((sq_isa) isa) ? JNI_TRUE : JNI_FALSE;
}

static void nm_common(JNIEnv *env, jint isa, jint rows, jint cols, jint n, jint m, sq_dtype dtype, jarray values,
                      jbyteArray index, jfloatArray x, jfloatArray y, jint batch, jint r0, jint r1) {
    if (!common_ok(env, isa, rows, cols, batch, r0, r1, x, y)) return;
    if (n < 1 || m < n || m > 255) {
        throw_new(env, IAE, "N:M pattern %d:%d must have 1 <= n <= m <= 255", (int) n, (int) m);
        return;
    }
    if (!length_ok(env, values, "values", (int64_t) rows * sq_nm_row_values(n, m, cols), 1)) return;
    if (!length_ok(env, index, "index", (int64_t) rows * sq_nm_index_stride(n, m, cols), 1)) return;
    pins p = {0};
    sq_status st = SQ_OK;
    void *cv, *ci, *cx, *cy;
    const int acquired = (cv = pin(env, &p, values, 0)) != NULL && (ci = pin(env, &p, index, 0)) != NULL
                         && (cx = pin(env, &p, x, 0)) != NULL && (cy = pin(env, &p, y, 1)) != NULL;
    if (acquired) {
        const sq_nm_matrix w = {rows, cols, n, m, dtype, cv, ci};
        st = sq_nm_matmul((sq_isa) isa, &w, cx, cy, batch, r0, r1);
    }
    unpin(env, &p, 1);
    raise(env, acquired, st, "N:M sparse kernel");
}

static void JNICALL nm_f16(JNIEnv *env, jclass cls, jint isa, jint rows, jint cols, jint n, jint m,
                           jshortArray values, jbyteArray index, jfloatArray x, jfloatArray y, jint batch, jint r0,
                           jint r1) {
    (void) cls;
    nm_common(env, isa, rows, cols, n, m, SQ_DTYPE_F16, values, index, x, y, batch, r0, r1);
}

static void JNICALL nm_f32(JNIEnv *env, jclass cls, jint isa, jint rows, jint cols, jint n, jint m,
                           jfloatArray values, jbyteArray index, jfloatArray x, jfloatArray y, jint batch, jint r0,
                           jint r1) {
    (void) cls;
    nm_common(env, isa, rows, cols, n, m, SQ_DTYPE_F32, values, index, x, y, batch, r0, r1);
}

static void csr_common(JNIEnv *env, jint isa, jint rows, jint cols, jintArray row_ptr, jarray col, int col16,
                       jfloatArray values, jfloatArray x, jfloatArray y, jint batch, jint r0, jint r1) {
    if (!common_ok(env, isa, rows, cols, batch, r0, r1, x, y)) return;
    if (!length_ok(env, row_ptr, "rowPtr", (int64_t) rows + 1, 1)) return;
    if (values == NULL) {
        throw_new(env, IAE, "values is null");
        return;
    }
    const jsize nnz = (*env)->GetArrayLength(env, values);
    if (!length_ok(env, col, "columns", nnz, 1)) return;
    pins p = {0};
    sq_status st = SQ_OK;
    void *crp, *cx, *cy;
    void *cc = NULL, *cv = NULL;
    /* Empty arrays are not pinned (a VM may return NULL for them); the kernel accepts NULL when nnz is 0. */
    const int acquired = (crp = pin(env, &p, row_ptr, 0)) != NULL
                         && (nnz == 0 || ((cc = pin(env, &p, col, 0)) != NULL && (cv = pin(env, &p, values, 0)) != NULL))
                         && (cx = pin(env, &p, x, 0)) != NULL && (cy = pin(env, &p, y, 1)) != NULL;
    if (acquired) {
        const sq_csr_matrix s = {rows, cols, nnz, crp, col16 ? NULL : cc, col16 ? cc : NULL, cv};
        st = sq_csr_matmul_add((sq_isa) isa, &s, cx, cy, batch, r0, r1);
    }
    unpin(env, &p, 1);
    raise(env, acquired, st, "CSR kernel");
}

static void JNICALL csr_i32(JNIEnv *env, jclass cls, jint isa, jint rows, jint cols, jintArray row_ptr,
                            jintArray col, jfloatArray values, jfloatArray x, jfloatArray y, jint batch, jint r0,
                            jint r1) {
    (void) cls;
    csr_common(env, isa, rows, cols, row_ptr, col, 0, values, x, y, batch, r0, r1);
}

static void JNICALL csr_u16(JNIEnv *env, jclass cls, jint isa, jint rows, jint cols, jintArray row_ptr,
                            jcharArray col, jfloatArray values, jfloatArray x, jfloatArray y, jint batch, jint r0,
                            jint r1) {
    (void) cls;
    csr_common(env, isa, rows, cols, row_ptr, col, 1, values, x, y, batch, r0, r1);
}

static void dense_common(JNIEnv *env, jint isa, jint rows, jint cols, sq_dtype dtype, jarray w, jfloatArray x,
                         jfloatArray y, jint batch, jint r0, jint r1) {
    if (!common_ok(env, isa, rows, cols, batch, r0, r1, x, y)) return;
    if (!length_ok(env, w, "weights", (int64_t) rows * cols, 1)) return;
    pins p = {0};
    sq_status st = SQ_OK;
    void *cw, *cx, *cy;
    const int acquired = (cw = pin(env, &p, w, 0)) != NULL && (cx = pin(env, &p, x, 0)) != NULL
                         && (cy = pin(env, &p, y, 1)) != NULL;
    if (acquired) {
        const sq_dense_matrix m = {rows, cols, dtype, cw};
        st = sq_dense_matmul((sq_isa) isa, &m, cx, cy, batch, r0, r1);
    }
    unpin(env, &p, 1);
    raise(env, acquired, st, "dense kernel");
}

static void JNICALL dense_f16(JNIEnv *env, jclass cls, jint isa, jint rows, jint cols, jshortArray w,
                              jfloatArray x, jfloatArray y, jint batch, jint r0, jint r1) {
    (void) cls;
    dense_common(env, isa, rows, cols, SQ_DTYPE_F16, w, x, y, batch, r0, r1);
}

static void JNICALL dense_f32(JNIEnv *env, jclass cls, jint isa, jint rows, jint cols, jfloatArray w,
                              jfloatArray x, jfloatArray y, jint batch, jint r0, jint r1) {
    (void) cls;
    dense_common(env, isa, rows, cols, SQ_DTYPE_F32, w, x, y, batch, r0, r1);
}

/* Signatures must match NativeSparse exactly; RegisterNatives checks them. */
static const JNINativeMethod SPARSE_METHODS[] = {
    {"bestIsa", "()I", (void *) best_isa},
    {"isaSupported", "(I)Z", (void *) isa_supported},
    {"nmMatMulF16", "(IIIII[S[B[F[FIII)V", (void *) nm_f16},
    {"nmMatMulF32", "(IIIII[F[B[F[FIII)V", (void *) nm_f32},
    {"csrMatMulAddI32", "(III[I[I[F[F[FIII)V", (void *) csr_i32},
    {"csrMatMulAddU16", "(III[I[C[F[F[FIII)V", (void *) csr_u16},
    {"denseMatMulF16", "(III[S[F[FIII)V", (void *) dense_f16},
    {"denseMatMulF32", "(III[F[F[FIII)V", (void *) dense_f32},
};

/* Returns JNI_OK, or JNI_ERR with NoClassDefFoundError / NoSuchMethodError pending. */
int sq_register_sparse(JNIEnv *env) {
    jclass cls = (*env)->FindClass(env, SPARSE_CLASS);
    if (cls == NULL) return JNI_ERR;
    return (*env)->RegisterNatives(env, cls, SPARSE_METHODS, (jint) (sizeof SPARSE_METHODS / sizeof SPARSE_METHODS[0]))
                   == JNI_OK ? JNI_OK : JNI_ERR;
}
