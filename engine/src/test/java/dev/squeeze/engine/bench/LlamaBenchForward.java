package dev.squeeze.engine.bench;

import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.llama.LlamaModel;

import java.util.Locale;

/**
 * The scale benchmark's forward pass: the Llama model built on the mapped tensors (too large to copy to the heap,
 * so {@link LlamaModel#from(Model)} reads them in place), run over the tokens; reports the last position's argmax.
 */
public final class LlamaBenchForward implements BenchForward {
    @Override
    public String run(Model model, int[] tokens) {
        LlamaModel llama = LlamaModel.from(model);
        long t0 = System.nanoTime();
        float[] last = llama.forwardLast(tokens, 0, llama.newState());
        double s = (System.nanoTime() - t0) / 1e9;
        return String.format(Locale.ROOT, "%d tokens in %.1f s (%.2f s/token), last argmax %d", tokens.length, s,
                s / tokens.length, LlamaModel.argmax(last));
    }
}
