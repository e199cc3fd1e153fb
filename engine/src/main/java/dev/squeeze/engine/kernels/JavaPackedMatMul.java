package dev.squeeze.engine.kernels;

/**
 * The readable reference for {@link PackedMatMul}: dequantize each weight in float32 exactly as the compressed
 * tensors' {@code dequantize()} does ({@code scale × (code − zero)}), multiply by x and accumulate in double,
 * round the sum to float once. Works on {@link PackedMatrix.Layout#CODES}. Single-threaded and slow (no
 * vectors); it is what the native kernels are tested against, not a production path.
 */
public final class JavaPackedMatMul implements PackedMatMul {

    @Override
    public String name() {
        return "java-reference";
    }

    @Override
    public PackedMatrix.Layout layout() {
        return PackedMatrix.Layout.CODES;
    }

    @Override
    public PackedMatrix prepare(PackedMatrix w) {
        if (w != null && w.layout() != PackedMatrix.Layout.CODES) {
            throw new IllegalArgumentException("the Java reference reads one code per byte; " + w
                    + " has only the native packed codes: keep the CODES form it was packed from");
        }
        return w;
    }

    @Override
    public void multiply(PackedMatrix w, float[] x, float[] y, int batch, int rowBegin, int rowEnd) {
        PackedChecks.call(w, x, y, batch, rowBegin, rowEnd);
        prepare(w);
        int rows = w.rows();
        int cols = w.cols();
        int groupSize = w.groupSize();
        byte[] codes = w.data(); // one code per byte, row-major (prepare checked the layout)
        for (int b = 0; b < batch; b++) {
            for (int r = rowBegin; r < rowEnd; r++) {
                double sum = 0;
                for (int g = 0; g * groupSize < cols; g++) {
                    float scale = w.scale(r, g);
                    float zero = w.zero(r, g);
                    for (int c = g * groupSize; c < Math.min(cols, (g + 1) * groupSize); c++) {
                        float weight = scale * ((codes[r * cols + c] & 0xff) - zero);
                        sum += (double) weight * x[b * cols + c];
                    }
                }
                y[b * rows + r] = (float) sum;
            }
        }
    }

    @Override
    public String toString() {
        return name();
    }
}
