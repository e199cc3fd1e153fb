package dev.squeeze.engine.compress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.squeeze.engine.compress.gptq.Gptq;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.gptq.GptqTensor;
import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.data.text.StoryRange;
import dev.squeeze.engine.eval.Perplexity;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.llama2c.Llama2cFormat;
import dev.squeeze.engine.nn.FastDenseLinear;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.testing.SharedData;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Evaluation on the packed kernels equals evaluation on the dequantized float32 weights: stories260K (skipped
 * when ../shared is absent), every linear of the five blocks compressed, perplexity on stories 1-20 (6,2xx
 * predictions) through {@link PackedLinear} and through {@link FastDenseLinear} of {@code dequantize()}.
 *
 * <p><b>Tolerance</b>: relative 1e-5 on perplexity. The two paths multiply the same float32 weights (the packed
 * kernel reconstructs {@code scale × (code − zero)} from the very stored values) and differ only in the order
 * of float32 sums: about 1e-7 relative per output (the cross-backend test sees at most 2.5e-7 of the terms'
 * magnitude). Through 5 blocks and a softmax the mean NLL moves by far less than 1e-5 relative; a kernel that
 * misread one group's zero or a column order would move it by orders of magnitude more.
 */
class PackedEvaluationTest {
    private static final String FP32 = "models/stories260K/stories260K.bin";
    private static final String TOKENIZER = "models/stories260K/tok512.bin";
    private static final String STORIES = "data/tinystories/valid-1k.txt";
    private static final double TOLERANCE = 1e-5;

    private static Model model;
    private static List<int[]> stories;

    @BeforeAll
    static void load() {
        model = new Llama2cFormat().read(SharedData.require(FP32));
        Llama2cTokenizer tok = Llama2cTokenizer.read(SharedData.require(TOKENIZER), 512);
        stories = StoryCorpus.read(SharedData.require(STORIES)).tokens(StoryRange.of(1, 20), tok);
    }

    private static List<String> layers() {
        int blocks = (int) model.tensors().keySet().stream().filter(n -> n.endsWith(".self_attn.q_proj.weight"))
                .count();
        List<String> names = new java.util.ArrayList<>();
        for (int l = 0; l < blocks; l++) {
            names.addAll(List.of(LlamaLayers.q(l), LlamaLayers.k(l), LlamaLayers.v(l), LlamaLayers.o(l),
                    LlamaLayers.gate(l), LlamaLayers.up(l), LlamaLayers.down(l)));
        }
        return names;
    }

    private static void compare(String what, Function<String, CompressedTensor> compress) {
        // Where the build makes the library (linux-x86_64) the packed kernel must be in use: a library that did
        // not load, or failed its self-test, must fail here rather than quietly compare dense with dense.
        boolean nativeBuilt = System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).startsWith("linux")
                && List.of("amd64", "x86_64").contains(System.getProperty("os.arch"));
        Assumptions.assumeTrue(nativeBuilt, "no native library is built for this platform");
        assertNotNull(PackedLinear.defaultKernel(), "the native packed kernel is not in use (see the log for why)");
        Map<String, LinearOp> packed = new LinkedHashMap<>();
        Map<String, LinearOp> dense = new LinkedHashMap<>();
        for (String name : layers()) {
            CompressedTensor t = compress.apply(name);
            LinearOp op = t.asLinearOp();
            assertInstanceOf(PackedLinear.class, op, name + ": " + op.describe());
            packed.put(name, op);
            dense.put(name, new FastDenseLinear(t.rows(), t.cols(), t.dequantize(), null));
        }
        LlamaModel base = LlamaModel.from(model);
        long t0 = System.nanoTime();
        Perplexity.Result viaPacked = Perplexity.evaluate(base.withLinears(packed), stories);
        long t1 = System.nanoTime();
        Perplexity.Result viaDense = Perplexity.evaluate(base.withLinears(dense), stories);
        long t2 = System.nanoTime();
        double relative = Math.abs(viaPacked.perplexity() - viaDense.perplexity()) / viaDense.perplexity();
        System.out.printf("stories260K %s, stories 1-20 (%d predictions): perplexity packed %.7f (%.2f s, %s) vs"
                        + " dequantized f32 %.7f (%.2f s): relative difference %.2e%n", what, viaPacked.tokens(),
                viaPacked.perplexity(), (t1 - t0) / 1e9, packed.values().iterator().next().describe(),
                viaDense.perplexity(), (t2 - t1) / 1e9, relative);
        assertEquals(viaDense.tokens(), viaPacked.tokens());
        assertTrue(relative <= TOLERANCE, what + ": perplexity " + viaPacked.perplexity() + " packed vs "
                + viaDense.perplexity() + " dequantized (relative " + relative + ")");
    }

    private static float[] weight(String name) {
        Tensor t = model.tensor(name + ".weight");
        assertNotNull(t, name);
        return t.floats();
    }

    private static int[] shape(String name) {
        long[] s = model.tensor(name + ".weight").shape();
        return new int[]{(int) s[0], (int) s[1]};
    }

    @Test
    void rtn3BitG32() {
        compare("RTN 3-bit asym g32", name -> {
            int[] s = shape(name);
            return RtnQuantizer.quantize(name, weight(name), s[0], s[1], new RtnSettings(3, 32, false));
        });
    }

    /**
     * GPTQ 4-bit g32, act-order with dynamic groups (so {@code g_idx} is stored and the packed layer regroups the
     * columns), fp16 scales. The Hessian is {@code 2 XᵀX / n} of correlated random activations, not calibration
     * data: what is tested is the stored form's evaluation, which does not depend on where H came from.
     */
    @Test
    void gptq4BitG32ActOrderFp16() {
        GptqSettings settings = GptqSettings.of(4, 32).withActOrder(true);
        compare("GPTQ 4-bit g32 act-order fp16", name -> {
            int[] s = shape(name);
            int cols = s[1];
            SplittableRandom random = new SplittableRandom(name.hashCode());
            int n = 2 * cols + 16;
            double[] x = new double[n * cols];
            for (int i = 0; i < n; i++) {
                double common = random.nextGaussian();
                for (int c = 0; c < cols; c++) {
                    // Uneven column scales so that act-order really permutes.
                    x[i * cols + c] = (0.2 + (c * 37 % cols) / (double) cols) * random.nextGaussian() + 0.3 * common;
                }
            }
            float[] h = new float[cols * cols];
            for (int a = 0; a < cols; a++) {
                for (int b = 0; b < cols; b++) {
                    double sum = 0;
                    for (int i = 0; i < n; i++) {
                        sum += x[i * cols + a] * x[i * cols + b];
                    }
                    h[a * cols + b] = (float) (2 * sum / n);
                }
            }
            CompressedTensor t = new Gptq().compress(new LayerInput(name, weight(name), s[0], cols, h), settings);
            GptqTensor g = assertInstanceOf(GptqTensor.class, t);
            assertTrue(g.storesGroupIndex(), name + " stores g_idx");
            return g;
        });
    }
}
