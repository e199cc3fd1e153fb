package dev.squeeze.engine.backend;

/** The {@code eigen} op: all eigenvalues and eigenvectors of a real symmetric matrix ({@code SymmetricEigen.of}). */
public interface SymmetricEigenOp {
    /** A short name for logs and provenance. */
    String name();

    /**
     * Decomposes the symmetric row-major {@code n × n} {@code a} (both triangles filled, finite; it may be
     * overwritten): {@code values} (length n) receives the eigenvalues, largest first, and {@code vectors}
     * (n × n) the unit eigenvectors as rows, row k for {@code values[k]}.
     */
    void decompose(double[] a, int n, double[] values, double[] vectors);
}
