package dev.squeeze.engine.kernels;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/**
 * A generated test case. The unpacked codes {@code q} are kept beside the packed matrix so that the oracle
 * never reads the packed bytes: packing here and unpacking in the code under test are checked against
 * each other, not against themselves.
 */
record Int4Case(int rows, int cols, int groupSize, int batch, int[][] q, float[][] scale, float[][] zero,
        float[] x, Int4Matrix matrix) {

    /**
     * Shapes: partial last groups, odd column counts, group sizes 1, 32, 128, odd ones, larger than cols,
     * batch 1 and more than the native kernel's tile of 4. Columns per group reach past 32 so the wide
     * vector loop runs, with remainders of 8-column and single-column tails.
     */
    static Stream<Arguments> shapes() {
        return Stream.of(
                Arguments.of(1, 1, 1, 1),
                Arguments.of(3, 7, 2, 1),
                Arguments.of(5, 130, 128, 1),
                Arguments.of(8, 256, 128, 1),
                Arguments.of(4, 100, 32, 3),
                Arguments.of(7, 333, 37, 2),
                Arguments.of(16, 1000, 33, 5),
                Arguments.of(2, 64, 64, 1),
                Arguments.of(3, 31, 128, 4),
                Arguments.of(9, 4099, 128, 8),
                Arguments.of(6, 48, 7, 1),
                Arguments.of(33, 515, 1, 2),
                Arguments.of(4, 72, 9, 6),
                Arguments.of(2, 96, 32, 4),
                Arguments.of(1, 17, 16, 7),
                Arguments.of(64, 2048, 128, 1));
    }

    static Int4Case random(int rows, int cols, int groupSize, int batch) {
        SplittableRandom random = new SplittableRandom(31L * rows + 17L * cols + 7L * groupSize + batch);
        int groups = (cols + groupSize - 1) / groupSize;
        int[][] q = new int[rows][cols];
        float[][] scale = new float[rows][groups];
        float[][] zero = new float[rows][groups];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                q[r][c] = random.nextInt(16);
            }
            for (int g = 0; g < groups; g++) {
                scale[r][g] = (float) random.nextDouble(-0.1, 0.1);
                zero[r][g] = (float) random.nextDouble(0, 15);
            }
        }
        float[] x = new float[batch * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextDouble(-2, 2);
        }
        Int4Matrix matrix = new Int4Matrix(rows, cols, groupSize, pack(q, cols), flatten(scale), flatten(zero));
        return new Int4Case(rows, cols, groupSize, batch, q, scale, zero, x, matrix);
    }

    /** The format's packing, written independently of Int4Matrix: even column low nibble, stride ceil(cols/2). */
    static byte[] pack(int[][] q, int cols) {
        int stride = (cols + 1) / 2;
        byte[] packed = new byte[q.length * stride];
        for (int r = 0; r < q.length; r++) {
            for (int c = 0; c < cols; c++) {
                int shift = c % 2 == 0 ? 0 : 4;
                packed[r * stride + c / 2] |= (byte) (q[r][c] << shift);
            }
        }
        return packed;
    }

    static float[] flatten(float[][] a) {
        int n = a[0].length;
        float[] flat = new float[a.length * n];
        for (int r = 0; r < a.length; r++) {
            System.arraycopy(a[r], 0, flat, r * n, n);
        }
        return flat;
    }

    /** The oracle: dequantize the whole matrix to float32 first, then a plain dense mat-vec (summed in double). */
    double[] oracle() {
        float[][] dense = new float[rows][cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int g = c / groupSize;
                dense[r][c] = scale[r][g] * (q[r][c] - zero[r][g]);
            }
        }
        double[] y = new double[batch * rows];
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                double sum = 0;
                for (int c = 0; c < cols; c++) {
                    sum += (double) dense[r][c] * x[b * cols + c];
                }
                y[b * rows + r] = sum;
            }
        }
        return y;
    }

    /**
     * Per output, sum |scale| (q + |zero|) |x|: an upper bound on every partial sum of both the direct
     * formula and the zero-factored one, hence the natural scale for float rounding error.
     */
    double[] magnitude() {
        double[] m = new double[batch * rows];
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                double sum = 0;
                for (int c = 0; c < cols; c++) {
                    int g = c / groupSize;
                    sum += Math.abs(scale[r][g]) * (q[r][c] + Math.abs(zero[r][g])) * Math.abs(x[b * cols + c]);
                }
                m[b * rows + r] = sum;
            }
        }
        return m;
    }

    @Override
    public String toString() {
        return rows + "x" + cols + " g" + groupSize + " batch " + batch;
    }
}
