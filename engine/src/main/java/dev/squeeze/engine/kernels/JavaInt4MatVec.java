package dev.squeeze.engine.kernels;

/**
 * The readable reference: dequantize each weight exactly as the format says and sum in double, so the
 * result is the float32-weight product rounded once. Every faster backend is tested against this class,
 * and it is the fallback when no native library loads.
 */
public final class JavaInt4MatVec implements Int4MatVec {

    @Override
    public String name() {
        return "java";
    }

    @Override
    public void multiply(Int4Matrix w, float[] x, float[] y, int batch) {
        Int4Checks.call(w, x, y, batch);
        int rows = w.rows();
        int cols = w.cols();
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                double sum = 0;
                for (int c = 0; c < cols; c++) {
                    sum += (double) w.weight(r, c) * x[b * cols + c];
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
