package dev.squeeze.engine.runs;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.hessian.HessianAccumulator;
import dev.squeeze.engine.data.text.CalibrationWindows;
import dev.squeeze.engine.data.text.DataSplit;
import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.data.text.StoryRange;
import dev.squeeze.engine.eval.Perplexity;
import dev.squeeze.engine.eval.SizeAccounting;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.testing.SharedData;
import dev.squeeze.engine.testing.TinyLlama;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Block-streamed compression gives, float for float, what the whole-model procedure gives: re-running the model
 * from the embedding for every block (or true-sequential group), with the layers compressed so far in place, and
 * collecting each linear's Hessian from its inputs (GPTQ's {@code llama.py} semantics, which the streamed driver
 * reaches by keeping the hidden states instead). The reference below is that procedure, written against
 * {@link LlamaModel}'s whole-model forward pass and the listener hook only.
 */
class BlockStreamedCompressionTest {

    /** The compressed layers (by layer name) and the network computing with them. */
    record Reference(Map<String, CompressedTensor> tensors, LlamaModel network) {
    }

    /** The whole-model procedure: every group's Hessians from a full forward pass of every window. */
    static Reference wholeModel(Model model, List<int[]> windows, Map<String, MethodSettings> settings,
                                boolean trueSequential) {
        LlamaModel dense = LlamaModel.from(model);
        LlamaConfig cfg = dense.config();
        Map<String, LinearOp> replaced = new LinkedHashMap<>();
        Map<String, CompressedTensor> out = new LinkedHashMap<>();
        for (int b = 0; b < cfg.nLayers(); b++) {
            for (List<String> group : BlockStreamedCompression.groups(b, trueSequential)) {
                List<String> names = group.stream().filter(settings::containsKey).toList();
                Map<String, HessianAccumulator> acc = new HashMap<>();
                if (!windows.isEmpty() && !names.isEmpty()) {
                    Map<String, float[]> seen = new HashMap<>();
                    LlamaModel listening = dense.withLinears(replaced).withListener((layer, x, rows, cols) -> {
                        if (names.contains(layer)) {
                            seen.put(layer, Arrays.copyOf(x, rows * cols));
                        }
                    });
                    for (int[] w : windows) {
                        seen.clear();
                        listening.forwardLast(w, 0, listening.newState());
                        for (String n : names) {
                            float[] x = seen.get(n);
                            acc.computeIfAbsent(n, k -> new HessianAccumulator(x.length / w.length))
                                    .addBatch(x, w.length, 1);
                        }
                    }
                }
                for (String n : names) {
                    Tensor t = model.tensor(n + ".weight");
                    CompressedTensor c = Methods.compress(new LayerInput(n, t.floats(), (int) t.dim(0),
                            (int) t.dim(1), acc.containsKey(n) ? acc.get(n).hessian() : null), settings.get(n));
                    replaced.put(n, c.asLinearOp());
                    out.put(n, c);
                }
            }
        }
        return new Reference(out, dense.withLinears(replaced));
    }

    static Map<String, MethodSettings> all(Model model, MethodSettings s) {
        return LanguageModelCompression.settings(model, layer -> s);
    }

    /** Streams with {@code driver} and collects what it hands over. */
    static List<BlockStreamedCompression.Layer> stream(BlockStreamedCompression driver, Model model,
                                                        List<int[]> windows, Map<String, MethodSettings> settings,
                                                        boolean trueSequential) {
        List<BlockStreamedCompression.Layer> layers = new ArrayList<>();
        driver.compress(model, windows, settings, trueSequential, "test", layers::add);
        return layers;
    }

    static void assertSame(Model model, Reference ref, List<BlockStreamedCompression.Layer> got) {
        assertEquals(new ArrayList<>(ref.tensors().keySet()), got.stream().map(BlockStreamedCompression.Layer::name).toList());
        for (int i = 0; i < got.size(); i++) {
            BlockStreamedCompression.Layer l = got.get(i);
            CompressedTensor want = ref.tensors().get(l.name());
            assertEquals(i, l.index());
            assertEquals(got.size(), l.total());
            assertEquals(l.name() + ".weight", l.tensor());
            assertEquals(want.storedBits(), l.compressed().storedBits(), l.name());
            assertEquals(want.storedBits(), l.result().storedBits(), l.name());
            assertArrayEquals(want.dequantize(), l.compressed().dequantize(), l.name());
            double err = SizeAccounting.relativeError(model.tensor(l.tensor()).floats(), want.dequantize());
            assertEquals(err, l.result().reconError(), l.name());
        }
    }

    static double perplexity(LlamaModel net, List<int[]> sequences) {
        return Perplexity.evaluate(net, sequences).perplexity();
    }

    static List<int[]> randomWindows(int count, int length, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] w = new int[length];
            w[0] = 1;
            for (int t = 1; t < length; t++) {
                w[t] = r.nextInt(2, vocab);
            }
            out.add(w);
        }
        return out;
    }

    @Test
    void tinyModelsEqualTheWholeModelProcedureInBothOrders() {
        for (RopeStyle style : RopeStyle.values()) {
            for (boolean bias : new boolean[]{false, true}) {
                LlamaConfig base = TinyLlama.config(style, bias, !bias);
                LlamaConfig cfg = new LlamaConfig(base.dim(), base.hiddenDim(), 3, base.nHeads(), base.nKvHeads(),
                        base.vocabSize(), base.maxSeqLen(), base.normEps(), base.ropeTheta(), style, bias,
                        base.tiedEmbeddings());
                Model model = TinyLlama.model(cfg, TinyLlama.randomWeights(cfg, 5));
                // Windows of unequal length: each is one add_batch of its own token count.
                List<int[]> windows = new ArrayList<>(randomWindows(5, 12, cfg.vocabSize(), 3));
                windows.add(randomWindows(1, 7, cfg.vocabSize(), 4).getFirst());
                List<int[]> eval = randomWindows(3, 20, cfg.vocabSize(), 9);
                MethodSettings gptq = GptqSettings.of(4, 8);
                for (boolean ts : new boolean[]{false, true}) {
                    Map<String, MethodSettings> settings = all(model, gptq);
                    Reference ref = wholeModel(model, windows, settings, ts);
                    var c = new LanguageModelCompression(r -> 1, RunHooks.NONE).compress(model, windows, s -> gptq, ts,
                            "t");
                    List<BlockStreamedCompression.Layer> layers = stream(new BlockStreamedCompression(RunHooks.NONE),
                            model, windows, settings, ts);
                    assertSame(model, ref, layers);
                    assertEquals(perplexity(ref.network(), eval), perplexity(c.network(), eval),
                            style + " bias " + bias + " ts " + ts);
                    for (BlockStreamedCompression.Layer l : layers) {
                        assertArrayEquals(l.compressed().dequantize(), c.byTensor().get(l.tensor()).dequantize());
                    }
                }
            }
        }
    }

    @Test
    void layersLeftDenseAndMixedMethodsStreamLikeTheWholeModel() {
        LlamaConfig base = TinyLlama.config(RopeStyle.ROTATE_HALF, false, true);
        LlamaConfig cfg = new LlamaConfig(base.dim(), base.hiddenDim(), 4, base.nHeads(), base.nKvHeads(),
                base.vocabSize(), base.maxSeqLen(), base.normEps(), base.ropeTheta(), base.ropeStyle(), false, true);
        Model model = TinyLlama.model(cfg, TinyLlama.randomWeights(cfg, 17));
        List<int[]> windows = randomWindows(4, 16, cfg.vocabSize(), 1);
        // Block 0 dense, k and gate of every block dense, GPTQ 3-bit (dequantized f32 path) on down, RTN on o;
        // nothing after block 2, so block 3 never runs.
        Map<String, MethodSettings> settings = new LinkedHashMap<>(LanguageModelCompression.settings(model, n -> {
            int b = LlamaLayers.layerIndexOf(n);
            if (b == 0 || b == 3 || n.endsWith("k_proj") || n.endsWith("gate_proj")) {
                return null;
            }
            if (n.endsWith("down_proj")) {
                return GptqSettings.of(3, 8).withActOrder(true);
            }
            return n.endsWith("o_proj") ? new RtnSettings(4, 8, false) : GptqSettings.of(4, 8);
        }));
        for (boolean ts : new boolean[]{false, true}) {
            Reference ref = wholeModel(model, windows, settings, ts);
            assertSame(model, ref, stream(new BlockStreamedCompression(RunHooks.NONE), model, windows, settings, ts));
        }
    }

    @Test
    void weightsReadInPlaceGiveTheSameNumbersAsWeightsOnTheHeap() {
        // A limit of 0 bytes streams the tiny model as a large one: every block's weights decoded while it is worked
        // on, nothing else copied to the heap.
        LlamaConfig cfg = TinyLlama.config(RopeStyle.INTERLEAVED, true, true);
        Model model = TinyLlama.model(cfg, TinyLlama.randomWeights(cfg, 23));
        List<int[]> windows = randomWindows(3, 10, cfg.vocabSize(), 2);
        Map<String, MethodSettings> settings = all(model, GptqSettings.of(4, 8));
        for (boolean ts : new boolean[]{false, true}) {
            Reference ref = wholeModel(model, windows, settings, ts);
            assertSame(model, ref, stream(new BlockStreamedCompression(RunHooks.NONE, 0), model, windows, settings, ts));
        }
    }

    @Test
    void dataFreeMethodsRunNoForwardPass() {
        LlamaConfig cfg = TinyLlama.config(RopeStyle.ROTATE_HALF, false, true);
        Model model = TinyLlama.model(cfg, TinyLlama.randomWeights(cfg, 2));
        Map<String, MethodSettings> settings = all(model, new RtnSettings(3, 8, true));
        List<String> phases = new ArrayList<>();
        RunHooks hooks = new RunHooks() {
            @Override
            public void phase(Phase phase, String detail) {
                phases.add(phase.word());
            }
        };
        var stats = new BlockStreamedCompression(hooks).compress(model, List.of(), settings, false, "rtn", l -> {
        });
        assertSame(model, wholeModel(model, List.of(), settings, false),
                stream(new BlockStreamedCompression(RunHooks.NONE), model, List.of(), settings, false));
        assertTrue(phases.stream().allMatch("compression"::equals), phases.toString());
        assertEquals(0, stats.forward() + stats.propagate() + stats.embed());
        assertEquals(0, stats.activationBytes());
    }

    /** Restores the layers a first run saved, up to (not including) {@code upTo}. */
    static final class Resume implements RunHooks {
        final Map<Integer, Restored> saved = new HashMap<>();
        int upTo = Integer.MAX_VALUE;
        final List<Integer> restoredIndices = new ArrayList<>();

        @Override
        public void save(int index, String layer, CompressedTensor tensor, RunRecord.LayerResult result) {
            saved.putIfAbsent(index, new Restored(tensor, result));
        }

        @Override
        public Optional<Restored> restore(int index, String layer) {
            if (index >= upTo || !saved.containsKey(index)) {
                return Optional.empty();
            }
            restoredIndices.add(index);
            return Optional.of(saved.get(index));
        }
    }

    @Test
    void aResumedRunComputesTheLayersAnUninterruptedRunComputes() {
        LlamaConfig base = TinyLlama.config(RopeStyle.INTERLEAVED, false, true);
        LlamaConfig cfg = new LlamaConfig(base.dim(), base.hiddenDim(), 3, base.nHeads(), base.nKvHeads(),
                base.vocabSize(), base.maxSeqLen(), base.normEps(), base.ropeTheta(), base.ropeStyle(), false, true);
        Model model = TinyLlama.model(cfg, TinyLlama.randomWeights(cfg, 31));
        List<int[]> windows = randomWindows(4, 12, cfg.vocabSize(), 8);
        Map<String, MethodSettings> settings = all(model, GptqSettings.of(4, 8));
        for (boolean ts : new boolean[]{false, true}) {
            Reference ref = wholeModel(model, windows, settings, ts);
            Resume hooks = new Resume();
            assertSame(model, ref, stream(new BlockStreamedCompression(hooks), model, windows, settings, ts));
            // Interrupted after 2 layers (inside block 0), after block 0 (7), inside block 1 (10, mid-group in
            // true-sequential order), after every layer (21: nothing left to compute).
            for (int upTo : new int[]{2, 7, 10, 21}) {
                hooks.upTo = upTo;
                hooks.restoredIndices.clear();
                List<BlockStreamedCompression.Layer> got = stream(new BlockStreamedCompression(hooks), model, windows,
                        settings, ts);
                assertSame(model, ref, got);
                assertEquals(upTo, hooks.restoredIndices.size());
                for (BlockStreamedCompression.Layer l : got) {
                    assertEquals(l.index() < upTo, l.restored(), l.name());
                }
            }
        }
    }

    @Test
    void stories260kStreamsToTheWholeModelNumbersAndPerplexity() throws Exception {
        Path bin = SharedData.require("models/stories260K/stories260K.bin");
        Path text = SharedData.require("data/tinystories/valid-1k.txt");
        Model model = ModelFormats.open(bin);
        StoryCorpus corpus = StoryCorpus.read(text);
        var tokenizer = Llama2cTokenizer.read(bin.resolveSibling("tok512.bin"), 512);
        List<int[]> windows = CalibrationWindows.sample(corpus.tokens(DataSplit.TINYSTORIES_1K.calibration(), tokenizer),
                8, 128, 0);
        List<int[]> eval = corpus.tokens(StoryRange.of(501, 504), tokenizer);
        // 4-bit g32 (the int4 kernel) in both orders, 3-bit act-order (dequantized float32) in one.
        for (MethodSettings s : List.of(GptqSettings.of(4, 32), GptqSettings.of(3, 16).withActOrder(true))) {
            for (boolean ts : s.equals(GptqSettings.of(4, 32)) ? new boolean[]{false, true} : new boolean[]{true}) {
                Map<String, MethodSettings> settings = all(model, s);
                Reference ref = wholeModel(model, windows, settings, ts);
                var c = new LanguageModelCompression(r -> 1, RunHooks.NONE).compress(model, windows, n -> s, ts, "t");
                for (var e : ref.tensors().entrySet()) {
                    CompressedTensor got = c.byTensor().get(e.getKey() + ".weight");
                    assertEquals(e.getValue().storedBits(), got.storedBits(), e.getKey());
                    assertArrayEquals(e.getValue().dequantize(), got.dequantize(), e.getKey());
                }
                for (RunRecord.LayerResult r : c.layers()) {
                    assertEquals(SizeAccounting.relativeError(model.tensor(r.layer() + ".weight").floats(),
                            ref.tensors().get(r.layer()).dequantize()), r.reconError(), r.layer());
                }
                assertEquals(perplexity(ref.network(), eval), perplexity(c.network(), eval), s.describe() + " " + ts);
            }
        }
    }
}
