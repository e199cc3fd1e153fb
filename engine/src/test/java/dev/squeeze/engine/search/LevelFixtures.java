package dev.squeeze.engine.search;

import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.testing.TinyLlama;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** A tiny random Llama model and calibration sequences for the search tests. */
final class LevelFixtures {
    /** dim 32, hidden 48, 2 blocks, 4 heads (2 kv heads), vocab 64, context 64. */
    static final LlamaConfig CONFIG = new LlamaConfig(32, 48, 2, 4, 2, 64, 64, 1e-5, 10000, RopeStyle.ROTATE_HALF,
            false, false);
    static final int WINDOW = 16;

    private LevelFixtures() {
    }

    /** The tiny model with content hash {@code hash}. */
    static Model model(long seed, String hash) {
        Map<String, float[]> w = TinyLlama.randomWeights(CONFIG, seed);
        Model m = TinyLlama.model(CONFIG, w);
        return new Model(m.name(), m.source(), m.format(), m.architecture(), hash, m.tensors(), m.metadata());
    }

    /** {@code count} sequences of 20–60 tokens drawn from {@code [lo, hi)}. */
    static List<int[]> sequences(int count, int lo, int hi, long seed) {
        Random r = new Random(seed);
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] s = new int[20 + r.nextInt(41)];
            for (int j = 0; j < s.length; j++) {
                s[j] = lo + r.nextInt(hi - lo);
            }
            out.add(s);
        }
        return out;
    }

    /** The subject: calibration sequences of tokens 0–47, Hessians on 4 windows of 16 tokens, seed 0. */
    static SearchSubject.Language subject(Model model) {
        return new SearchSubject.Language(model, sequences(12, 0, 48, 7), 4, WINDOW, 0);
    }
}
