package dev.squeeze.engine.nn;

import java.util.List;

/**
 * Anything that turns a batch of raw images into class logits: Squeeze's own networks and models run by an
 * outside runtime (ONNX Runtime) alike, so that one evaluator measures both.
 */
public interface ImageClassifier {
    /** Values per image, e.g. 784 for 28 × 28 grey-scale. */
    int inputSize();

    List<String> classNames();

    /**
     * Logits for {@code batch} images of raw values (e.g. 0–255 pixels), {@code batch × inputSize} row-major.
     *
     * @return {@code batch × classes} row-major
     */
    float[] logits(float[] rawInputs, int batch);
}
