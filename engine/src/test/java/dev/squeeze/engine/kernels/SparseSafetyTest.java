package dev.squeeze.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Wrong shapes, short buffers and bad sparse structure give exceptions, never a crash: first at the Java
 * wrappers (matrix factories and {@link SparseKernels}), then — bypassing them — at the natives themselves,
 * whose C side re-checks every length and whose kernels check positions, columns and row pointers.
 */
class SparseSafetyTest {

    static void refused(String what, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, what);
        assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), what + ": the message says what is wrong");
    }

    @Test
    void theJavaWrappersRefuseBadInput() {
        refused("position >= m", () -> NmSparseMatrix.fp32(1, 8, 2, 8, new int[] {0, 8}, new float[2]));
        refused("negative position", () -> NmSparseMatrix.fp32(1, 8, 2, 8, new int[] {-1, 2}, new float[2]));
        refused("too few positions", () -> NmSparseMatrix.fp32(2, 8, 2, 8, new int[] {0, 1}, new float[4]));
        refused("too few values", () -> NmSparseMatrix.fp16(1, 8, 2, 4, new int[] {0, 1, 0, 1}, new short[3]));
        refused("n > m", () -> NmSparseMatrix.fp32(1, 8, 5, 4, new int[10], new float[10]));
        refused("m > 255", () -> NmSparseMatrix.fp32(1, 8, 1, 256, new int[1], new float[1]));
        refused("zero rows", () -> NmSparseMatrix.fp32(0, 8, 2, 4, new int[0], new float[0]));
        refused("column out of range", () -> CsrMatrix.of(1, 4, new int[] {0, 1}, new int[] {4}, new float[1]));
        refused("negative column", () -> CsrMatrix.of(1, 4, new int[] {0, 1}, new int[] {-1}, new float[1]));
        refused("row pointers decrease", () -> CsrMatrix.of(2, 4, new int[] {0, 2, 1}, new int[] {0}, new float[1]));
        refused("row pointers end early", () -> CsrMatrix.of(1, 4, new int[] {0, 1}, new int[] {0, 1}, new float[2]));
        refused("columns and values differ", () -> CsrMatrix.of(1, 4, new int[] {0, 1}, new int[] {0, 1}, new float[1]));
        refused("dense of wrong size", () -> DenseMatrix.fp32(2, 3, new float[5]));

        NmSparseMatrix nm = NmSparseMatrix.fp32(2, 8, 2, 4, new int[] {0, 1, 2, 3, 0, 1, 2, 3}, new float[8]);
        CsrMatrix csr = CsrMatrix.fromDense(2, 8, new float[16]);
        DenseMatrix dense = DenseMatrix.fp32(2, 8, new float[16]);
        for (SparseKernels.Backend b : SparseKernels.Backend.values()) {
            if (b == SparseKernels.Backend.NATIVE && !NativeLibrary.status().available()) {
                continue;
            }
            refused("short x " + b, () -> SparseKernels.nm(b, nm, new float[15], new float[4], 2, 0, 2));
            refused("short y " + b, () -> SparseKernels.csrAdd(b, csr, new float[16], new float[3], 2, 0, 2));
            refused("batch 0 " + b, () -> SparseKernels.dense(b, dense, new float[16], new float[4], 0, 0, 2));
            refused("row range " + b, () -> SparseKernels.dense(b, dense, new float[16], new float[4], 2, 1, 3));
            refused("x is y " + b, () -> {
                float[] same = new float[32];
                SparseKernels.dense(b, dense, same, same, 2, 0, 2);
            });
            refused("null matrix " + b, () -> SparseKernels.nm(b, null, new float[16], new float[4], 2, 0, 2));
            refused("linear op short y " + b, () -> new NmSparseLinear(nm, b, "t").forward(new float[16], 2, new float[3]));
        }
    }

    @Test
    void theNativesRefuseBadInputWithoutTheWrappers() {
        List<Integer> paths = SparseKernelsTest.nativePaths();
        for (int isa : paths) {
            float[] x = new float[16];
            float[] y = new float[4];
            // N:M 4:8, 2 x 8: one group of 4 values per row, one byte per position.
            byte[] idx = {0, 1, 2, 3, 0, 1, 2, 3};
            float[] v = new float[8];
            NativeSparse.nmMatMulF32(isa, 2, 8, 4, 8, v, idx, x, y, 2, 0, 2); // valid: no exception
            refused("position >= m", () -> NativeSparse.nmMatMulF32(isa, 2, 8, 4, 8, v, new byte[] {0, 1, 2, 3, 0, 1, 8, 3},
                    x, y, 2, 0, 2));
            refused("position 255", () -> NativeSparse.nmMatMulF32(isa, 2, 8, 4, 8, v, new byte[] {0, 1, 2, 3, 0, 1, -1, 3},
                    x, y, 2, 0, 2));
            refused("short values", () -> NativeSparse.nmMatMulF32(isa, 2, 8, 4, 8, new float[7], idx, x, y, 2, 0, 2));
            refused("short index", () -> NativeSparse.nmMatMulF32(isa, 2, 8, 4, 8, v, new byte[7], x, y, 2, 0, 2));
            refused("short fp16 values", () -> NativeSparse.nmMatMulF16(isa, 2, 8, 2, 4, new short[7], new byte[2], x, y, 2, 0, 2));
            refused("short 2:4 index", () -> NativeSparse.nmMatMulF16(isa, 2, 8, 2, 4, new short[8], new byte[1], x, y, 2, 0, 2));
            refused("short x", () -> NativeSparse.nmMatMulF32(isa, 2, 8, 4, 8, v, idx, new float[15], y, 2, 0, 2));
            refused("short y", () -> NativeSparse.nmMatMulF32(isa, 2, 8, 4, 8, v, idx, x, new float[3], 2, 0, 2));
            refused("null y", () -> NativeSparse.nmMatMulF32(isa, 2, 8, 4, 8, v, idx, x, null, 2, 0, 2));
            refused("x is y", () -> NativeSparse.nmMatMulF32(isa, 2, 8, 4, 8, v, idx, x, x, 1, 0, 2));
            refused("n > m", () -> NativeSparse.nmMatMulF32(isa, 2, 8, 9, 8, v, idx, x, y, 2, 0, 2));
            refused("m = 0", () -> NativeSparse.nmMatMulF32(isa, 2, 8, 0, 0, v, idx, x, y, 2, 0, 2));
            refused("negative rows", () -> NativeSparse.nmMatMulF32(isa, -2, 8, 4, 8, v, idx, x, y, 2, 0, 2));
            refused("huge cols", () -> NativeSparse.nmMatMulF32(isa, 2, Integer.MAX_VALUE, 4, 8, v, idx, x, y, 2, 0, 2));
            refused("batch 0", () -> NativeSparse.nmMatMulF32(isa, 2, 8, 4, 8, v, idx, x, y, 0, 0, 2));
            refused("row range past the end", () -> NativeSparse.nmMatMulF32(isa, 2, 8, 4, 8, v, idx, x, y, 2, 1, 3));
            refused("row range reversed", () -> NativeSparse.nmMatMulF32(isa, 2, 8, 4, 8, v, idx, x, y, 2, 2, 1));
            refused("unknown isa", () -> NativeSparse.nmMatMulF32(99, 2, 8, 4, 8, v, idx, x, y, 2, 0, 2));

            int[] rp = {0, 1, 2};
            float[] sv = {1, 2};
            NativeSparse.csrMatMulAddI32(isa, 2, 8, rp, new int[] {0, 7}, sv, x, y, 2, 0, 2); // valid
            refused("column = cols", () -> NativeSparse.csrMatMulAddI32(isa, 2, 8, rp, new int[] {0, 8}, sv, x, y, 2, 0, 2));
            refused("negative column", () -> NativeSparse.csrMatMulAddI32(isa, 2, 8, rp, new int[] {-5, 1}, sv, x, y, 2, 0, 2));
            refused("u16 column out of range", () -> NativeSparse.csrMatMulAddU16(isa, 2, 8, rp, new char[] {0, 65535}, sv,
                    x, y, 2, 0, 2));
            // batch >= 2 with at least cols non-zeros takes the transposed CSR form, which checks columns too
            refused("column = cols, transposed form", () -> NativeSparse.csrMatMulAddI32(isa, 2, 2, new int[] {0, 2, 4},
                    new int[] {0, 1, 1, 2}, new float[4], new float[6], new float[6], 3, 0, 2));
            refused("row pointers decrease", () -> NativeSparse.csrMatMulAddI32(isa, 2, 8, new int[] {0, 2, 1},
                    new int[] {0, 1}, sv, x, y, 2, 0, 2));
            refused("row pointer past nnz", () -> NativeSparse.csrMatMulAddI32(isa, 2, 8, new int[] {0, 1, 3},
                    new int[] {0, 1}, sv, x, y, 2, 0, 2));
            refused("negative row pointer", () -> NativeSparse.csrMatMulAddI32(isa, 2, 8, new int[] {-4, 1, 2},
                    new int[] {0, 1}, sv, x, y, 2, 0, 2));
            refused("short row pointers", () -> NativeSparse.csrMatMulAddI32(isa, 2, 8, new int[] {0, 2},
                    new int[] {0, 1}, sv, x, y, 2, 0, 2));
            refused("columns shorter than values", () -> NativeSparse.csrMatMulAddI32(isa, 2, 8, rp, new int[] {0}, sv,
                    x, y, 2, 0, 2));
            refused("csr short x", () -> NativeSparse.csrMatMulAddI32(isa, 2, 8, rp, new int[] {0, 1}, sv, new float[8],
                    y, 2, 0, 2));

            refused("dense short weights", () -> NativeSparse.denseMatMulF32(isa, 2, 8, new float[15], x, y, 2, 0, 2));
            refused("dense fp16 short weights", () -> NativeSparse.denseMatMulF16(isa, 2, 8, new short[15], x, y, 2, 0, 2));
            refused("dense null weights", () -> NativeSparse.denseMatMulF16(isa, 2, 8, null, x, y, 2, 0, 2));
            refused("dense short y", () -> NativeSparse.denseMatMulF32(isa, 2, 8, new float[16], x, new float[3], 2, 0, 2));
        }
    }
}
