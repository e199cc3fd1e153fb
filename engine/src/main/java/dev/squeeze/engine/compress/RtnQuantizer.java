package dev.squeeze.engine.compress;

/**
 * Round-to-nearest quantization, as GPTQ's {@code quant.py} does it (see ALGORITHMS.md, "RTN quantizer"):
 * the range of each row or group is widened to include 0; asymmetric {@code scale = (max − min) / maxq},
 * {@code zero = round(−min / scale)}; symmetric {@code max = max(|min|, max)}, {@code zero = (maxq + 1) / 2};
 * an all-zero range becomes [−1, 1]. Rounding is half-to-even, like {@code torch.round}.
 */
public final class RtnQuantizer {
    private RtnQuantizer() {
    }

    public static QuantizedMatrix quantize(String layer, float[] w, int rows, int cols, RtnSettings s) {
        s.validate(layer);
        if (w.length != (long) rows * cols) {
            throw new IllegalArgumentException("layer " + layer + ": " + w.length + " weights for " + rows + "×" + cols);
        }
        // A group wider than the row is one group per row (and keeps c0 + g from overflowing).
        int g = s.groupSize() == 0 ? cols : Math.min(s.groupSize(), cols);
        int gpr = Math.ceilDiv(cols, g);
        int maxq = (1 << s.bits()) - 1;
        byte[] codes = new byte[rows * cols];
        float[] scales = new float[rows * gpr];
        float[] zeros = new float[rows * gpr];
        for (int r = 0; r < rows; r++) {
            for (int gi = 0; gi < gpr; gi++) {
                int c0 = gi * g;
                int c1 = Math.min(cols, c0 + g);
                float xmin = 0f;
                float xmax = 0f;
                for (int c = c0; c < c1; c++) {
                    float v = w[r * cols + c];
                    xmin = Math.min(xmin, v);
                    xmax = Math.max(xmax, v);
                }
                if (s.symmetric()) {
                    xmax = Math.max(-xmin, xmax);
                    if (xmin < 0) {
                        xmin = -xmax;
                    }
                }
                if (xmin == 0f && xmax == 0f) {
                    xmin = -1f;
                    xmax = 1f;
                }
                float scale = (xmax - xmin) / maxq;
                float zero = s.symmetric() ? (maxq + 1) / 2f : (float) Math.rint(-xmin / scale);
                scales[r * gpr + gi] = scale;
                zeros[r * gpr + gi] = zero;
                for (int c = c0; c < c1; c++) {
                    float q = (float) Math.rint(w[r * cols + c] / scale) + zero;
                    codes[r * cols + c] = (byte) Math.max(0, Math.min(maxq, (int) q));
                }
            }
        }
        return new QuantizedMatrix(rows, cols, s, codes, scales, zeros);
    }
}
