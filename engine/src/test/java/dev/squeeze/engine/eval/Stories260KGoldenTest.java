package dev.squeeze.engine.eval;

import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.data.text.StoryRange;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.StoredSizes;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.llama2c.Llama2cFormat;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.nn.llama.RopePermutation;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The golden figures of shared/README.md for stories260K (skipped when ../shared is absent). */
class Stories260KGoldenTest {
    private static final String FP32 = "models/stories260K/stories260K.bin";
    private static final String Q8 = "models/stories260K/stories260K_q8.bin";
    private static final String TOKENIZER = "models/stories260K/tok512.bin";
    private static final String STORIES = "data/tinystories/valid-1k.txt";
    private static final Llama2cFormat FORMAT = new Llama2cFormat();

    private static Model fp32Model;

    /** Opened once; each test asks, so that each one is skipped with the message when ../shared is absent. */
    private static synchronized Model fp32() {
        Path file = SharedData.require(FP32);
        if (fp32Model == null) {
            fp32Model = FORMAT.read(file);
        }
        return fp32Model;
    }

    private static byte[] head(Path file) throws Exception {
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(64);
        }
    }

    @Test
    void headerAndSizeAreTheReadmes() throws Exception {
        Path file = SharedData.require(FP32);
        assertEquals(28 + 4L * 264_128, Files.size(file));
        assertTrue(FORMAT.recognizes(head(file), Files.size(file)));
        LlamaConfig c = LlamaConfig.fromMetadata(fp32());
        assertEquals(List.of(64, 172, 5, 8, 4, 512, 512), List.of(c.dim(), c.hiddenDim(), c.nLayers(), c.nHeads(),
                c.nKvHeads(), c.vocabSize(), c.maxSeqLen()));
        assertTrue(c.tiedEmbeddings());
        assertEquals(RopeStyle.INTERLEAVED, c.ropeStyle());
        assertEquals("0", fp32().metadata().get(Llama2cFormat.VERSION_KEY));
        assertEquals("stories260K", fp32().name());
        assertFalse(fp32().tensors().containsKey("lm_head.weight"));
        assertEquals(1 + 5 * 9 + 1, fp32().tensors().size());
        // Every float of the file but the two RoPE tables (512 × 4 each) is a tensor.
        assertEquals(264_128 - 2 * 512 * 4, fp32().parameterCount());
        assertEquals(64, fp32().contentHash().length());
    }

    @Test
    void greedyGenerationFromBosReproducesTheReferenceSentence() {
        Llama2cTokenizer tok = Llama2cTokenizer.read(SharedData.require(TOKENIZER), 512);
        LlamaModel model = LlamaModel.from(fp32());
        int[] generated = model.generate(new int[]{tok.bosId()}, 40, tok.bosId(), tok.eosId());
        int[] withBos = new int[generated.length + 1];
        withBos[0] = tok.bosId();
        System.arraycopy(generated, 0, withBos, 1, generated.length);
        String text = tok.decode(withBos);
        assertTrue(text.startsWith("Once upon a time, there was a little girl named Lily. She loved to play outside"
                + " in the park."), text);
    }

    @Test
    void q8WeightsAreWithinTheReadmesBoundOfFp32() throws Exception {
        Path file = SharedData.require(Q8);
        assertTrue(FORMAT.recognizes(head(file), Files.size(file)));
        Model q8 = FORMAT.read(file);
        assertEquals("2", q8.metadata().get(Llama2cFormat.VERSION_KEY));
        assertEquals("4", q8.metadata().get(Llama2cFormat.GROUP_SIZE_KEY));
        assertEquals(LlamaConfig.fromMetadata(fp32()), LlamaConfig.fromMetadata(q8));
        assertEquals(fp32().tensors().keySet(), q8.tensors().keySet());
        double worst = 0;
        for (Tensor t : fp32().tensors().values()) {
            float[] a = t.floats();
            float[] b = q8.tensor(t.name()).floats();
            double max = 0;
            for (int i = 0; i < a.length; i++) {
                max = Math.max(max, Math.abs(a[i] - b[i]));
            }
            if (t.rank() == 1) {
                assertEquals(0, max, t.name() + ": norms are stored in float32 in both files");
            } else {
                assertTrue(max > 0, t.name() + " is quantized");
                long stored = t.numel() + t.numel() / 4 * 4;
                assertEquals(stored, StoredSizes.of(q8, q8.tensor(t.name())), t.name());
            }
            worst = Math.max(worst, max);
        }
        assertTrue(worst <= 0.0056, "max |q8 - fp32| = " + worst);
        // What the file stores, tensor by tensor, adds up to the file after its 256-byte header.
        assertEquals(Files.size(file) - 256, StoredSizes.total(q8));
    }

    @Test
    void perplexityOfTheFirst40StoriesAndTheQ8Model() {
        Llama2cTokenizer tok = Llama2cTokenizer.read(SharedData.require(TOKENIZER), 512);
        StoryCorpus corpus = StoryCorpus.read(SharedData.require(STORIES));
        List<int[]> stories = corpus.tokens(StoryRange.of(1, 40), tok);
        stories.forEach(s -> assertEquals(tok.bosId(), s[0]));
        assertEquals(12_802, Perplexity.predictions(stories, 512, Perplexity.Overflow.TRUNCATE));
        LlamaModel dense = LlamaModel.from(fp32());
        LlamaModel q8 = LlamaModel.from(FORMAT.read(SharedData.require(Q8)));
        // One pass gives both perplexities (each equal to Perplexity.evaluate, see PerplexityTest) and the KL.
        KlDivergence.Result r = KlDivergence.evaluate(dense, q8, stories);
        assertEquals(12_802, r.positions());
        double ppl = r.dense().perplexity();
        double pplQ8 = r.compared().perplexity();
        System.out.printf("stories260K, stories 1-40, %d tokens: perplexity fp32 %.4f, q8 %.4f, "
                + "KL(fp32 || q8) mean %.6f max %.6f nats%n", r.positions(), ppl, pplQ8, r.meanKl(), r.maxKl());
        assertEquals(3.56, ppl, 0.01);
        assertEquals(ppl, pplQ8, 0.02 * ppl, "q8 stays within 2% of fp32");
        assertTrue(r.meanKl() > 0 && r.meanKl() < 0.01, "KL " + r.meanKl());
    }

    @Test
    void huggingFaceLayoutWithRotateHalfRopeGivesTheSameLogits() {
        LlamaConfig c = LlamaConfig.fromMetadata(fp32());
        Map<String, Tensor> tensors = new LinkedHashMap<>(fp32().tensors());
        for (int l = 0; l < c.nLayers(); l++) {
            permute(tensors, LlamaLayers.q(l) + ".weight", c.nHeads(), c);
            permute(tensors, LlamaLayers.k(l) + ".weight", c.nKvHeads(), c);
        }
        LlamaConfig hf = c.withRopeStyle(RopeStyle.ROTATE_HALF);
        Model permuted = new Model("hf", "memory:hf", "memory", "llama", "0", tensors, hf.toMetadata());
        Llama2cTokenizer tok = Llama2cTokenizer.read(SharedData.require(TOKENIZER), 512);
        int[] story = Arrays.copyOf(tok.encode(StoryCorpus.read(SharedData.require(STORIES)).story(2), true, false), 96);
        float[] a = LlamaModel.from(fp32()).logits(story);
        float[] b = LlamaModel.from(permuted).logits(story);
        assertArrayEquals(a, b, 1e-4f);
    }

    private static void permute(Map<String, Tensor> tensors, String name, int heads, LlamaConfig c) {
        Tensor t = tensors.get(name);
        float[] w = RopePermutation.toRotateHalf(t.floats(), heads, c.headDim(), c.dim());
        tensors.put(name, Tensor.of(name, w, t.shape()));
    }
}
