package dev.squeeze.engine.kernels;

/** Run in a child JVM by KernelsTest: prints what the facade chose under that JVM's system properties. */
public final class KernelsProbe {
    private KernelsProbe() {
    }

    public static void main(String[] args) {
        try {
            System.out.println(Kernels.backendName() + " " + Kernels.int4MatVec().name());
        } catch (dev.squeeze.engine.SqueezeException e) {
            System.out.println("error: " + e.getMessage().replace('\n', ' '));
        }
    }
}
