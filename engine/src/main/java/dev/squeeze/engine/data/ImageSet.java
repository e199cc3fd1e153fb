package dev.squeeze.engine.data;

/**
 * Labelled grey-scale images, as the IDX files of MNIST-style data sets hold them.
 *
 * @param pixels {@code count × rows × cols} raw bytes (0–255), row-major
 * @param labels one class index per image
 */
public record ImageSet(String name, int count, int rows, int cols, byte[] pixels, byte[] labels) {
    public ImageSet {
        if (pixels.length != (long) count * rows * cols || labels.length != count) {
            throw new IllegalArgumentException("image set " + name + ": " + pixels.length + " pixels and "
                    + labels.length + " labels for " + count + " images of " + rows + "×" + cols);
        }
    }

    public int imageSize() {
        return rows * cols;
    }

    public int label(int i) {
        return labels[i] & 0xff;
    }

    /** Images {@code [from, from + n)} as raw 0–255 floats, row-major. */
    public float[] batch(int from, int n) {
        int size = imageSize();
        float[] out = new float[n * size];
        for (int i = 0; i < out.length; i++) {
            out[i] = pixels[from * size + i] & 0xff;
        }
        return out;
    }

    /** The first {@code n} images. */
    public ImageSet head(int n) {
        int k = Math.min(n, count);
        return new ImageSet(name + "[0:" + k + "]", k, rows, cols,
                java.util.Arrays.copyOf(pixels, k * imageSize()), java.util.Arrays.copyOf(labels, k));
    }
}
