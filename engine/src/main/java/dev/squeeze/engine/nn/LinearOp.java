package dev.squeeze.engine.nn;

/**
 * {@code y = W x (+ b)} for a batch of inputs. Every linear layer of every network goes through this, so a
 * compressed layer can replace a dense one without the network knowing.
 */
public interface LinearOp {
    int inFeatures();

    int outFeatures();

    /**
     * @param x     {@code batch × inFeatures}, row-major; the array may be longer (a reused buffer): only the
     *              first {@code batch × inFeatures} values are read
     * @param batch number of input rows
     * @param y     {@code batch × outFeatures}, row-major; only the first {@code batch × outFeatures} values are
     *              written (the array may be longer)
     */
    void forward(float[] x, int batch, float[] y);

    /** A short description for logs and the inventory, e.g. {@code dense f32} or {@code int4 kernel (native)}. */
    String describe();
}
