package dev.squeeze.engine.kernels;

import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The door to the compute kernels. On first use it picks one backend per JVM: the highest-ranked one that
 * opens and passes a self-test against the pure-Java reference (ranks: JNI-CPU, then pure Java; a CUDA
 * backend would go in front), logs the choice once, and keeps it.
 *
 * <p>System property {@value #BACKEND_PROPERTY} = {@code native} or {@code java} forces a backend. If the
 * forced backend cannot be used, the reason is logged at ERROR and the pure-Java backend is used: a
 * misconfigured flag must not stop a compression job that would otherwise run, and
 * {@link #backendName()} (recorded with every run) shows what really ran.
 */
public final class Kernels {

    public static final String BACKEND_PROPERTY = "squeeze.kernels";

    /**
     * Self-test tolerance on |backend - reference| relative to sum |scale| (q + |zero|) |x| of each output.
     * This is a start-up guard against a broken build or a mis-selected CPU path (those err by 1e-3 or
     * more), not a precision test: the test suite holds backends to 1e-6. The looser bound keeps a
     * legitimate rounding difference on some other CPU from silently disabling the fast path.
     */
    static final double SELF_TEST_TOLERANCE = 1e-5;

    private static final Logger LOG = LoggerFactory.getLogger(Kernels.class);

    /** A candidate backend; {@code open} throws if it is unavailable here. */
    record Backend(String name, Supplier<Int4MatVec> open) {
    }

    /** The outcome of a selection: the backend's name (a {@value #BACKEND_PROPERTY} value) and its op. */
    record Choice(String backend, Int4MatVec int4MatVec) {
    }

    /** Best first. */
    private static final List<Backend> BACKENDS = List.of(
            new Backend("native", NativeInt4MatVec::load),
            new Backend("java", JavaInt4MatVec::new));

    private Kernels() {
    }

    private static final class Holder {
        static final Choice CHOICE = choose(System.getProperty(BACKEND_PROPERTY));
    }

    /** The int4 mat-vec of the chosen backend. */
    public static Int4MatVec int4MatVec() {
        return Holder.CHOICE.int4MatVec();
    }

    /** {@code "native"} or {@code "java"}: the backend in use, for logs and run provenance. */
    public static String backendName() {
        return Holder.CHOICE.backend();
    }

    /** The selection logic, separate from the cached result so that tests can run it with any override. */
    static Choice choose(String override) {
        String forced = override == null ? "" : override.strip().toLowerCase(Locale.ROOT);
        if (!forced.isEmpty() && BACKENDS.stream().noneMatch(b -> b.name().equals(forced))) {
            LOG.error("-D{}={} is not one of {}; ignoring it and choosing by rank", BACKEND_PROPERTY, override,
                    BACKENDS.stream().map(Backend::name).toList());
            return choose(null);
        }
        for (Backend backend : BACKENDS) {
            if (!forced.isEmpty() && !backend.name().equals(forced)) {
                continue;
            }
            Int4MatVec op = null;
            String problem;
            try {
                op = backend.open().get();
                problem = op instanceof JavaInt4MatVec ? null : selfTest(op); // the reference needs no test
            } catch (RuntimeException | LinkageError e) {
                problem = e.getMessage() != null ? e.getMessage() : e.toString();
            }
            if (problem == null) {
                LOG.info("Using kernel backend '{}' (int4 mat-vec: {}), {}", backend.name(), op.name(),
                        forced.isEmpty() ? "the highest-ranked that passed its self-test; -D" + BACKEND_PROPERTY
                                + "=java|native overrides" : "forced by -D" + BACKEND_PROPERTY + "=" + forced);
                return new Choice(backend.name(), op);
            }
            if (forced.isEmpty()) {
                LOG.warn("Kernel backend '{}' skipped: {}", backend.name(), problem);
            } else {
                LOG.error("-D{}={} cannot be honoured: {}. Falling back to the pure-Java backend.",
                        BACKEND_PROPERTY, forced, problem);
                return fallback();
            }
        }
        return fallback();
    }

    private static Choice fallback() {
        LOG.info("Using kernel backend 'java' (pure-Java reference kernels)");
        return new Choice("java", new JavaInt4MatVec());
    }

    /**
     * One small random case with a partial last group and a batch of 3, against the Java reference. Cheap
     * (a few thousand weights) and run once, so a broken native build degrades to slow-but-right.
     */
    static String selfTest(Int4MatVec op) {
        int rows = 5, cols = 301, groupSize = 64, batch = 3;
        SplittableRandom random = new SplittableRandom(20261127L);
        byte[] codes = new byte[rows * ((cols + 1) / 2)];
        int groups = (cols + groupSize - 1) / groupSize;
        float[] scales = new float[rows * groups];
        float[] zeros = new float[rows * groups];
        float[] x = new float[batch * cols];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = (byte) random.nextInt(256);
        }
        for (int i = 0; i < scales.length; i++) {
            scales[i] = (float) random.nextDouble(-0.1, 0.1);
            zeros[i] = (float) random.nextDouble(0, 15);
        }
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextDouble(-2, 2);
        }
        Int4Matrix w = new Int4Matrix(rows, cols, groupSize, codes, scales, zeros);
        float[] want = new float[batch * rows];
        float[] got = new float[batch * rows];
        new JavaInt4MatVec().multiply(w, x, want, batch);
        op.multiply(w, x, got, batch);
        for (int b = 0; b < batch; b++) {
            for (int r = 0; r < rows; r++) {
                double magnitude = 0;
                for (int c = 0; c < cols; c++) {
                    int g = r * groups + c / groupSize;
                    magnitude += Math.abs(scales[g]) * (w.code(r, c) + Math.abs(zeros[g])) * Math.abs(x[b * cols + c]);
                }
                int i = b * rows + r;
                double error = Math.abs(got[i] - want[i]);
                if (!(error <= SELF_TEST_TOLERANCE * magnitude)) { // negated so that NaN fails
                    return op.name() + " self-test failed: y[" + b + "][" + r + "] = " + got[i] + " but the Java"
                            + " reference gives " + want[i];
                }
            }
        }
        return null;
    }
}
