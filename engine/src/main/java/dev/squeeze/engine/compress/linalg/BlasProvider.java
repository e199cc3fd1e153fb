package dev.squeeze.engine.compress.linalg;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Picks the {@link Blas} implementation once per JVM; see {@link Blas#get()}. */
final class BlasProvider {
    private static final Logger LOG = LoggerFactory.getLogger(BlasProvider.class);
    static final Blas PORTABLE = new PackedBlas("java-portable", new ScalarKernels.F32(), new ScalarKernels.F64(), 1);
    static final Blas BEST = choose();

    private BlasProvider() {
    }

    private static Blas choose() {
        int threads = Integer.getInteger("squeeze.blas.threads", Runtime.getRuntime().availableProcessors());
        if ("portable".equals(System.getProperty("squeeze.blas"))) {
            return log(threads == 1 ? PORTABLE
                    : new PackedBlas("java-portable", new ScalarKernels.F32(), new ScalarKernels.F64(), threads));
        }
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
            try {
                Class<?> f32 = Class.forName(BlasProvider.class.getPackageName() + ".VectorKernels$F32");
                Class<?> f64 = Class.forName(BlasProvider.class.getPackageName() + ".VectorKernels$F64");
                String name = (String) Class.forName(BlasProvider.class.getPackageName() + ".VectorKernels")
                        .getDeclaredMethod("describe").invoke(null);
                return log(new PackedBlas(name,
                        (Kernels32) f32.getDeclaredConstructor().newInstance(),
                        (Kernels64) f64.getDeclaredConstructor().newInstance(), threads));
            } catch (ReflectiveOperationException | LinkageError e) {
                LOG.warn("SIMD linear algebra unavailable ({}); using the portable kernels", e.toString());
            }
        } else {
            LOG.info("jdk.incubator.vector is not in this JVM (start it with --add-modules jdk.incubator.vector"
                    + " for SIMD linear algebra); using the portable kernels");
        }
        return log(threads == 1 ? PORTABLE
                : new PackedBlas("java-portable", new ScalarKernels.F32(), new ScalarKernels.F64(), threads));
    }

    private static Blas log(Blas b) {
        LOG.info("linear algebra: {}", b.name());
        return b;
    }
}
