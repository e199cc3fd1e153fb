package dev.squeeze.engine.backend;

/** The {@code cholesky} op: lower Cholesky factor in place ({@code Cholesky.lowerInPlace}'s contract). */
public interface CholeskyOp {
    /** A short name for logs and provenance. */
    String name();

    /**
     * Overwrites the lower triangle of the row-major {@code n × n} {@code a} with {@code L}, {@code a = L Lᵀ}, and
     * zeroes the strict upper triangle; only the lower triangle is read.
     *
     * @throws dev.squeeze.engine.compress.linalg.Cholesky.NotPositiveDefiniteException if a pivot is not positive
     */
    void lowerInPlace(double[] a, int n);
}
