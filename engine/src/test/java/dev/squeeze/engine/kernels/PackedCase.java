package dev.squeeze.engine.kernels;

import java.util.SplittableRandom;

/**
 * A random packed-matrix case for the tests, with the dense float32 weights computed here from the format's
 * definition ({@code w = scale × (code − zero)}, zero {@code 2^(bits−1)} when symmetric, half-precision scales
 * where asked), independently of {@link PackedMatrix} and the kernels.
 */
record PackedCase(int rows, int cols, int bits, int groupSize, boolean symmetric, PackedMatrix.ScaleType type,
                  byte[] codes, float[] scales, float[] zeros, float[] dense) {

    static PackedCase random(int rows, int cols, int bits, int groupSize, boolean symmetric,
                             PackedMatrix.ScaleType type, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int groups = (cols + groupSize - 1) / groupSize;
        byte[] codes = new byte[rows * cols];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) random.nextInt(1 << bits);
        }
        float[] scales = new float[rows * groups];
        float[] zeros = symmetric ? null : new float[rows * groups];
        for (int i = 0; i < scales.length; i++) {
            float s = (float) (random.nextDouble(0.001, 0.2) * (random.nextBoolean() ? 1 : -1));
            scales[i] = type == PackedMatrix.ScaleType.F16 ? Float.float16ToFloat(Float.floatToFloat16(s)) : s;
            if (zeros != null) {
                // Integer zeros as GPTQ stores them; with f32 also fractional ones (any float is allowed there).
                float z = random.nextInt(1 << bits);
                zeros[i] = type == PackedMatrix.ScaleType.F32 && random.nextBoolean() ? z + 0.375f : z;
            }
        }
        float[] dense = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int k = r * groups + c / groupSize;
                float zero = zeros == null ? (float) Math.pow(2, bits - 1) : zeros[k];
                dense[r * cols + c] = scales[k] * ((codes[r * cols + c] & 0xff) - zero);
            }
        }
        return new PackedCase(rows, cols, bits, groupSize, symmetric, type, codes, scales, zeros, dense);
    }

    PackedMatrix matrix() {
        return PackedMatrix.ofCodes(rows, cols, bits, groupSize, symmetric, type, codes, scales, zeros);
    }

    int groups() {
        return (cols + groupSize - 1) / groupSize;
    }

    static float[] input(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return x;
    }

    /**
     * {@code Σ_c |scale| (code + |zero|) |x_c|} for output (b, r): the size of every term the kernel may form,
     * whether it subtracts the zero per weight or factors it out of the group sum.
     */
    double magnitude(float[] x, int b, int r) {
        double m = 0;
        int groups = groups();
        for (int c = 0; c < cols; c++) {
            int k = r * groups + c / groupSize;
            float zero = zeros == null ? (float) Math.pow(2, bits - 1) : zeros[k];
            m += Math.abs(scales[k]) * ((codes[r * cols + c] & 0xff) + Math.abs(zero)) * Math.abs(x[b * cols + c]);
        }
        return m;
    }

    @Override
    public String toString() {
        return rows + "x" + cols + " " + bits + "-bit g" + groupSize + (symmetric ? " sym " : " asym ") + type;
    }
}
