package dev.squeeze.engine.kernels;

/** Run in a child JVM by KernelsTest: prints what the provider chose for the packed and sparse ops there. */
public final class KernelsProbe {
    private KernelsProbe() {
    }

    public static void main(String[] args) {
        try {
            System.out.println(Kernels.backendName() + " " + Kernels.packed().name() + " "
                    + SparseKernels.name(SparseKernels.preferred()));
        } catch (dev.squeeze.engine.SqueezeException e) {
            System.out.println("error: " + e.getMessage().replace('\n', ' '));
        }
    }
}
