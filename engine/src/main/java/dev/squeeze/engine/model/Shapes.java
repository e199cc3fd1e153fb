package dev.squeeze.engine.model;

import dev.squeeze.engine.SqueezeException;

import java.util.Arrays;

/**
 * Element and byte counts of shapes read from model files, checked. A header may claim any dimensions: a product
 * computed with plain {@code long} arithmetic wraps silently (ONNX dims {@code [2^31, 2^31]} of FLOAT need 2^64
 * bytes, which wraps to 0 and matches an empty {@code raw_data}), and the wrapped number then reaches an inventory
 * or an allocation. Readers call these before they trust a shape; an overflow or a negative dimension is a
 * {@link SqueezeException} naming the file and the tensor.
 */
public final class Shapes {
    private Shapes() {
    }

    /**
     * The number of elements of {@code shape}.
     *
     * @param where  the file, for the message
     * @param tensor the tensor's name, for the message
     */
    public static long numel(long[] shape, String where, String tensor) {
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) {
                throw corrupt(where, tensor, "dimension " + i + " of its shape " + Arrays.toString(shape)
                        + " is negative");
            }
            try {
                n = Math.multiplyExact(n, shape[i]);
            } catch (ArithmeticException e) {
                throw corrupt(where, tensor, "its shape " + Arrays.toString(shape)
                        + " has more than 2^63 elements");
            }
        }
        return n;
    }

    /** The bytes {@code numel} elements of {@code width} bytes take. */
    public static long bytes(long numel, int width, long[] shape, String where, String tensor) {
        try {
            return Math.multiplyExact(numel, (long) width);
        } catch (ArithmeticException e) {
            throw corrupt(where, tensor, "its shape " + Arrays.toString(shape) + " of " + width
                    + "-byte elements needs more than 2^63 bytes");
        }
    }

    private static SqueezeException corrupt(String where, String tensor, String what) {
        return new SqueezeException("Corrupt model file " + where + ": tensor '" + tensor + "': " + what,
                "the file is damaged or was written by a broken exporter; get a fresh copy or export it again");
    }
}
