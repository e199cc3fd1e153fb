package dev.squeeze.engine.search;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.nn.FastDenseLinear;
import dev.squeeze.engine.nn.LinearOp;

/**
 * A searched layer that the search kept dense: the weight as the model file stores it (e.g. fp32, 32 bits per
 * weight). It stands in a run's size accounting beside the compressed layers, so that a searched plan's bits per
 * weight cover every searched linear, dense ones at their stored size, exactly as the budget counts them (the
 * papers' convention counts only compressed layers, which would flatter a plan that keeps some layers dense).
 */
final class KeptDense implements CompressedTensor {
    private static final long serialVersionUID = 1L;

    private final int rows;
    private final int cols;
    private final long storedBits;
    private final float[] weights;

    KeptDense(int rows, int cols, long storedBits, float[] weights) {
        if (weights.length != (long) rows * cols) {
            throw new IllegalArgumentException(weights.length + " weights for " + rows + " × " + cols);
        }
        this.rows = rows;
        this.cols = cols;
        this.storedBits = storedBits;
        this.weights = weights;
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public long storedBits() {
        return storedBits;
    }

    @Override
    public float[] dequantize() {
        return weights.clone();
    }

    @Override
    public LinearOp asLinearOp() {
        return new FastDenseLinear(rows, cols, weights, null, describe());
    }

    @Override
    public String describe() {
        return String.format(java.util.Locale.ROOT, "dense (as stored, %.0f bits/weight)", bitsPerWeight());
    }
}
