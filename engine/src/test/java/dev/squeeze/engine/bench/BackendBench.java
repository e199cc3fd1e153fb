package dev.squeeze.engine.bench;

import dev.squeeze.engine.backend.CpuInfo;
import dev.squeeze.engine.backend.nd4j.Nd4jLinearAlgebra;
import dev.squeeze.engine.compress.linalg.Blas;
import dev.squeeze.engine.compress.linalg.Cholesky;
import dev.squeeze.engine.compress.linalg.SymmetricEigen;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * bench/backends.sh: each dense op of the backend provider, Java vector backend against ND4J (OpenBLAS), at the
 * given sizes in one run. Rounds interleave the two backends (Java, ND4J, Java, ND4J, ...) so that load from other
 * processes hits both alike; the table shows medians and the ratio Java / ND4J (above 1: ND4J faster). ND4J's times
 * include copying the operands into and out of its off-heap arrays. The last column is the largest difference
 * between the two results relative to the largest element of the Java one (eigen: eigenvalues, and 1 − |v·v_java|
 * for the vectors).
 *
 * <p>Options: {@code --sizes 1024,4096} {@code --rounds 3} {@code --slow-rounds 1} (rounds of an op whose single
 * Java call takes over a minute, the Java eigen solver at 4096) {@code --ops sgemm,dgemm,cholesky,trinv,eigen}.
 */
public final class BackendBench {
    private BackendBench() {
    }

    private interface Timed {
        /** Runs the op once on fresh copies of the inputs; returns the output to compare. */
        double[] run();
    }

    public static void main(String[] args) {
        int[] sizes = {1024, 4096};
        int rounds = 3;
        int slowRounds = 1;
        List<String> ops = List.of("sgemm", "dgemm", "cholesky", "trinv", "eigen");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--sizes" -> sizes = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--slow-rounds" -> slowRounds = Integer.parseInt(args[++i]);
                case "--ops" -> ops = List.of(args[++i].split(","));
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (--sizes N,N --rounds R --slow-rounds R --ops sgemm,dgemm,cholesky,trinv,eigen)");
            }
        }
        Nd4jLinearAlgebra nd4j = Nd4jLinearAlgebra.instance();
        System.out.println("CPU: " + CpuInfo.describe());
        System.out.println("Java " + Runtime.version() + "; java backend: " + Blas.java().name() + "; nd4j backend: "
                + nd4j.name() + " (OpenBLAS threads: " + nd4j.threads() + ")");
        System.out.println("medians of " + rounds + " rounds (Java and ND4J interleaved); ratio = java / nd4j");
        warmUp(nd4j);
        System.out.printf(Locale.ROOT, "%-9s %6s %12s %12s %8s %12s %s%n", "op", "n", "java ms", "nd4j ms", "ratio",
                "max rel diff", "rounds");
        for (int n : sizes) {
            for (String op : ops) {
                measure(op, n, rounds, slowRounds, nd4j);
            }
        }
    }

    private static void warmUp(Nd4jLinearAlgebra nd4j) {
        for (String op : List.of("sgemm", "dgemm", "cholesky", "trinv", "eigen")) {
            for (int r = 0; r < 3; r++) {
                timed(op, 256, false, nd4j).run();
                timed(op, 256, true, nd4j).run();
            }
        }
    }

    private static void measure(String op, int n, int rounds, int slowRounds, Nd4jLinearAlgebra nd4j) {
        Timed java = timed(op, n, false, nd4j);
        Timed fast = timed(op, n, true, nd4j);
        List<Double> javaMs = new ArrayList<>();
        List<Double> nd4jMs = new ArrayList<>();
        double[] javaOut = null;
        double[] nd4jOut = null;
        int wanted = rounds;
        for (int r = 0; r < wanted; r++) {
            long t0 = System.nanoTime();
            javaOut = java.run();
            long t1 = System.nanoTime();
            nd4jOut = fast.run();
            long t2 = System.nanoTime();
            javaMs.add((t1 - t0) / 1e6);
            nd4jMs.add((t2 - t1) / 1e6);
            if (r == 0 && (t1 - t0) > 60e9) {
                wanted = Math.min(rounds, slowRounds);
            }
        }
        double jm = median(javaMs);
        double nm = median(nd4jMs);
        System.out.printf(Locale.ROOT, "%-9s %6d %12.1f %12.1f %8.2f %12.2e %d%n", op, n, jm, nm, jm / nm,
                difference(op, n, javaOut, nd4jOut), javaMs.size());
    }

    /** A runnable op on fixed random inputs (copied per call, outside nothing: the copy is part of the timing). */
    private static Timed timed(String op, int n, boolean useNd4j, Nd4jLinearAlgebra nd4j) {
        Blas blas = useNd4j ? nd4j : Blas.java();
        SplittableRandom random = new SplittableRandom(n * 31L + op.hashCode());
        return switch (op) {
            case "sgemm" -> {
                float[] a = floats(random, n * n), b = floats(random, n * n);
                yield () -> {
                    float[] c = new float[n * n];
                    blas.sgemm(false, false, n, n, n, 1f, a, 0, n, b, 0, n, 0f, c, 0, n);
                    double[] out = new double[c.length];
                    for (int i = 0; i < c.length; i++) {
                        out[i] = c[i];
                    }
                    return out;
                };
            }
            case "dgemm" -> {
                double[] a = doubles(random, n * n), b = doubles(random, n * n);
                yield () -> {
                    double[] c = new double[n * n];
                    blas.dgemm(false, false, n, n, n, 1, a, 0, n, b, 0, n, 0, c, 0, n);
                    return c;
                };
            }
            case "cholesky" -> {
                double[] spd = spd(random, n);
                yield () -> {
                    double[] a = spd.clone();
                    if (useNd4j) {
                        nd4j.lowerInPlace(a, n);
                    } else {
                        Cholesky.lowerInPlaceJava(a, n);
                    }
                    return a;
                };
            }
            case "trinv" -> {
                double[] l = spd(random, n);
                Cholesky.lowerInPlaceJava(l, n);
                yield () -> {
                    double[] x = l.clone();
                    if (useNd4j) {
                        nd4j.invertLowerInPlace(x, n);
                    } else {
                        Cholesky.invertLowerInPlaceJava(x, n);
                    }
                    return x;
                };
            }
            case "eigen" -> {
                double[] s = spd(random, n);
                yield () -> {
                    double[] values = new double[n];
                    double[] vectors = new double[n * n];
                    if (useNd4j) {
                        nd4j.decompose(s.clone(), n, values, vectors);
                    } else {
                        SymmetricEigen.decomposeJava(s.clone(), n, values, vectors);
                    }
                    double[] out = Arrays.copyOf(values, n + n * n);
                    System.arraycopy(vectors, 0, out, n, n * n);
                    return out;
                };
            }
            default -> throw new IllegalArgumentException("unknown op " + op);
        };
    }

    private static double difference(String op, int n, double[] java, double[] nd4j) {
        if (!op.equals("eigen")) {
            return maxRel(java, nd4j, 0, java.length);
        }
        double d = maxRel(java, nd4j, 0, n);
        for (int k = 0; k < n; k++) {
            double dot = 0;
            for (int i = 0; i < n; i++) {
                dot += java[n + k * n + i] * nd4j[n + k * n + i];
            }
            d = Math.max(d, 1 - Math.abs(dot));
        }
        return d;
    }

    private static double maxRel(double[] want, double[] got, int from, int to) {
        double scale = 0;
        double diff = 0;
        for (int i = from; i < to; i++) {
            scale = Math.max(scale, Math.abs(want[i]));
            diff = Math.max(diff, Math.abs(want[i] - got[i]));
        }
        return scale == 0 ? diff : diff / scale;
    }

    /** B Bᵀ / n + I: symmetric positive definite, condition number about 5. */
    private static double[] spd(SplittableRandom random, int n) {
        double[] b = doubles(random, n * n);
        double[] a = new double[n * n];
        Blas.java().dgemm(false, true, n, n, n, 1.0 / n, b, 0, n, b, 0, n, 0, a, 0, n);
        for (int i = 0; i < n; i++) {
            a[i * n + i] += 1;
        }
        return a;
    }

    private static float[] floats(SplittableRandom random, int length) {
        float[] v = new float[length];
        for (int i = 0; i < length; i++) {
            v[i] = (float) random.nextDouble(-1, 1);
        }
        return v;
    }

    private static double[] doubles(SplittableRandom random, int length) {
        double[] v = new double[length];
        for (int i = 0; i < length; i++) {
            v[i] = random.nextDouble(-1, 1);
        }
        return v;
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        int m = sorted.size();
        return m % 2 == 1 ? sorted.get(m / 2) : (sorted.get(m / 2 - 1) + sorted.get(m / 2)) / 2;
    }
}
