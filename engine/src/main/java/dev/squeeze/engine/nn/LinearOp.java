package dev.squeeze.engine.nn;

/**
 * {@code y = W x (+ b)} for a batch of inputs. Every linear layer of every network goes through this, so a
 * compressed layer can replace a dense one without the network knowing.
 */
public interface LinearOp {
    int inFeatures();

    int outFeatures();

    /**
     * @param x     {@code batch × inFeatures}, row-major
     * @param batch number of input rows
     * @param y     {@code batch × outFeatures}, row-major; overwritten
     */
    void forward(float[] x, int batch, float[] y);

    /** A short description for logs and the inventory, e.g. {@code dense f32} or {@code int4 kernel (native)}. */
    String describe();
}
