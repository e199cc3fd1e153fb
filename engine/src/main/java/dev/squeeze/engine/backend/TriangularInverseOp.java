package dev.squeeze.engine.backend;

/** The {@code trinv} op: inverse of a lower-triangular matrix in place ({@code Cholesky.invertLowerInPlace}). */
public interface TriangularInverseOp {
    /** A short name for logs and provenance. */
    String name();

    /**
     * Replaces the row-major lower-triangular {@code n × n} {@code l} (strict upper triangle zero, non-zero
     * diagonal) by its inverse, also lower triangular.
     */
    void invertLowerInPlace(double[] l, int n);
}
