package dev.squeeze.engine.bench;

import dev.squeeze.engine.model.Model;

/**
 * A forward pass the scale benchmark runs on the model it opened, named by {@code --forward <class>} (a public
 * class with a no-argument constructor). It keeps the benchmark free of any one network implementation: the
 * Llama forward pass plugs in here once it exists.
 */
public interface BenchForward {
    /**
     * Runs the model over {@code tokens} and returns a one-line summary for the report (e.g. the last position's
     * top logit). Must read the weights from the model's mapped tensors, not from copies in the heap.
     */
    String run(Model model, int[] tokens);
}
