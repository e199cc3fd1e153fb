package dev.squeeze.engine.nn.grad;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.Parallelism;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The empirical Fisher diagonal of every linear of a Llama-family model on calibration data:
 * {@code F_ij = Σ_s (∂loss_s/∂W_ij)²}, where a sample {@code s} is one calibration window and {@code loss_s}
 * its mean next-token cross-entropy ({@link LlamaGradients}). This is FWSVD's estimate (its code adds the squared
 * gradient of each batch's loss; here a batch is one window). The diagonals are taken on the model given, which
 * for compression is the dense one.
 * <p>
 * Windows run on {@link Parallelism#threads()} threads, one window per thread, in rounds; each round's squared
 * gradients are added in window order (in double), so the result does not depend on the number of threads.
 */
public final class LlamaFisher {
    private LlamaFisher() {
    }

    /** The Fisher diagonals of {@code model} (fast gradient path) over {@code windows}. */
    public static FisherDiagonals compute(Model model, List<int[]> windows) {
        return compute(LlamaGradients.of(model), windows);
    }

    /**
     * The Fisher diagonals over {@code windows} (each at least 2 tokens) with the given gradient path.
     *
     * @throws SqueezeException when there are no windows
     */
    public static FisherDiagonals compute(LlamaGradients gradients, List<int[]> windows) {
        if (windows.isEmpty()) {
            throw new SqueezeException("Fisher information needs calibration windows and none were given",
                    "run with calibration data (the low-rank 'fisher' variant is not data-free)");
        }
        Map<String, double[]> acc = new LinkedHashMap<>();
        double loss = 0;
        int round = Math.max(1, Parallelism.threads());
        LlamaGradients.Result[] results = new LlamaGradients.Result[round];
        for (int start = 0; start < windows.size(); start += round) {
            int count = Math.min(round, windows.size() - start);
            int first = start;
            Parallelism.forEach(count, i -> results[i] = gradients.compute(windows.get(first + i)));
            for (int i = 0; i < count; i++) {
                LlamaGradients.Result r = results[i];
                loss += r.loss();
                for (Map.Entry<String, float[]> e : r.gradients().entrySet()) {
                    float[] g = e.getValue();
                    double[] a = acc.computeIfAbsent(e.getKey(), k -> new double[g.length]);
                    for (int j = 0; j < g.length; j++) {
                        a[j] += (double) g[j] * g[j];
                    }
                }
                results[i] = null;
            }
        }
        Map<String, float[]> sums = new LinkedHashMap<>();
        acc.forEach((name, a) -> {
            float[] f = new float[a.length];
            for (int j = 0; j < a.length; j++) {
                f[j] = (float) a[j];
            }
            sums.put(name, f);
        });
        return new FisherDiagonals(sums, windows.size(), loss / windows.size());
    }
}
