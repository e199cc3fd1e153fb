package dev.squeeze.engine.model;

import java.util.Arrays;

/**
 * One layer of the inventory: a weight with its role, its logical shape (out x in for linears), the number of
 * parameters it holds (weight and bias) and the bytes they take as stored in the model file.
 */
public record LayerInfo(String name, LayerRole role, long[] shape, long parameters, long storedBytes) {
    public LayerInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** The shape as people write it, e.g. {@code 256 × 784}. */
    public String shapeText() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) {
                sb.append(" × ");
            }
            sb.append(shape[i]);
        }
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LayerInfo l && l.name.equals(name) && l.role == role && Arrays.equals(l.shape, shape)
                && l.parameters == parameters && l.storedBytes == storedBytes;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " (" + role + ", " + shapeText() + ")";
    }
}
