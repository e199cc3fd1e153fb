package dev.squeeze.engine.eval;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.StoredSizes;
import dev.squeeze.engine.model.Tensor;

import java.util.Map;

/**
 * The two size figures of a run: bits per weight over the compressed linears (the papers' convention) and
 * bytes of the whole model as stored (every other tensor at its stored type), against the model in fp16.
 */
public final class SizeAccounting {
    private SizeAccounting() {
    }

    /**
     * @param compressed compressed tensors keyed by the name of the tensor they replace
     */
    public static long modelBytes(Model model, Map<String, ? extends CompressedTensor> compressed) {
        long bits = 0;
        for (Tensor t : model.tensors().values()) {
            CompressedTensor c = compressed.get(t.name());
            bits += c == null ? StoredSizes.of(model, t) * 8 : c.storedBits();
        }
        return (bits + 7) / 8;
    }

    /** The model with every tensor in fp16: the reference size of the papers. */
    public static long fp16Bytes(Model model) {
        return model.parameterCount() * 2;
    }

    /** Bits per weight over the compressed tensors; null when there are none. */
    public static Double bitsPerWeight(Map<String, ? extends CompressedTensor> compressed) {
        long bits = 0;
        long weights = 0;
        for (CompressedTensor c : compressed.values()) {
            bits += c.storedBits();
            weights += (long) c.rows() * c.cols();
        }
        return weights == 0 ? null : (double) bits / weights;
    }

    /** Relative Frobenius error {@code ||a − b|| / ||a||}. */
    public static double relativeError(float[] reference, float[] approx) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < reference.length; i++) {
            double d = reference[i] - approx[i];
            num += d * d;
            den += (double) reference[i] * reference[i];
        }
        return den == 0 ? (num == 0 ? 0 : Double.POSITIVE_INFINITY) : Math.sqrt(num / den);
    }
}
