package dev.squeeze.engine.backend;

import dev.squeeze.engine.compress.linalg.Blas;
import dev.squeeze.engine.compress.linalg.Cholesky;
import dev.squeeze.engine.compress.linalg.SymmetricEigen;
import dev.squeeze.engine.kernels.Kernels;
import dev.squeeze.engine.store.Provenance;

/** Run in a child JVM by LazyLoadingTest: uses the ops (eigen only with argument "eigen"), prints the provenance. */
public final class LazinessProbe {
    private LazinessProbe() {
    }

    public static void main(String[] args) {
        float[] c = new float[4];
        Blas.get().sgemm(false, false, 2, 2, 2, 1, new float[]{1, 2, 3, 4}, 0, 2, new float[]{5, 6, 7, 8}, 0, 2, 0, c, 0, 2);
        double[] a = {4, 2, 2, 5};
        Cholesky.lowerInPlace(a, 2);
        Cholesky.invertLowerInPlace(a, 2);
        Kernels.int4MatVec();
        if (args.length > 0 && args[0].equals("eigen")) {
            SymmetricEigen.of(new double[]{2, 1, 1, 2}, 2);
        }
        System.out.println(Provenance.current().backends());
    }
}
