package dev.squeeze.engine.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.linalg.Blas;
import dev.squeeze.engine.compress.linalg.Cholesky;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** The provider's selection rules, on a made-up op whose right answer is 42, and the dense ops' self-tests. */
class BackendsTest {
    /** A candidate's implementation: the answer it gives, and a name. */
    private record Answer(String name, int value) implements IntSupplier {
        @Override
        public int getAsInt() {
            return value;
        }
    }

    private final AtomicInteger opened = new AtomicInteger();

    private Op<Answer> op(String firstName, Answer first, String secondName, Answer second) {
        return Op.of("answer", "the answer", Answer::name, a -> a.getAsInt() == 42 ? null : a.name() + " says " + a.getAsInt(),
                Op.Candidate.of(firstName, () -> count(first)),
                Op.Candidate.of(secondName, () -> count(second)),
                Op.Candidate.reference("java", () -> count(new Answer("java-reference", 42))));
    }

    private Answer count(Answer a) {
        opened.incrementAndGet();
        if (a == null) {
            throw new IllegalStateException("library not found");
        }
        return a;
    }

    private static UnaryOperator<String> props(String... keyValues) {
        Map<String, String> m = new java.util.HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put(keyValues[i], keyValues[i + 1]);
        }
        return m::get;
    }

    @Test
    void theHighestRankedThatPassesItsSelfTestWins() {
        Op<Answer> op = op("fast", new Answer("fast-1", 42), "faster", new Answer("faster-1", 42));
        Backends.Choice<Answer> c = Backends.choose(op, props());
        assertEquals("fast", c.backend());
        assertEquals("fast-1", c.implementation());
        assertFalse(c.forced());
        assertEquals(1, opened.get(), "lower-ranked candidates are not even opened");
    }

    @Test
    void aFailingSelfTestOrAMissingLibrarySkipsTheBackend() {
        Op<Answer> op = op("broken", new Answer("broken-1", 41), "absent", null);
        Backends.Choice<Answer> c = Backends.choose(op, props());
        assertEquals("java", c.backend());
        assertEquals(List.of("broken: broken-1 says 41", "absent: library not found"), c.skipped());
        assertEquals(3, opened.get());
    }

    @Test
    void aForcedValidBackendIsUsedEvenWhenRankedLower() {
        Op<Answer> op = op("fast", new Answer("fast-1", 42), "faster", new Answer("faster-1", 42));
        assertEquals("java", Backends.choose(op, props("squeeze.backend", "java")).backend());
        assertEquals("faster", Backends.choose(op, props("squeeze.backend", " Faster ")).backend());
        assertEquals("faster", Backends.choose(op, props("squeeze.backend.answer", "faster")).backend());
        assertTrue(Backends.choose(op, props("squeeze.backend.answer", "faster")).forced());
        assertEquals("java", Backends.choose(op, props("squeeze.backend", "faster", "squeeze.backend.answer", "java"))
                .backend(), "the op's own property wins over the global one");
        assertEquals("faster", Backends.choose(op, props("squeeze.kernels", "faster")).backend(), "the old name");
        assertEquals("java", Backends.choose(op, props("squeeze.backend", "java", "squeeze.kernels", "faster")).backend(),
                "the new name wins over the old");
    }

    @Test
    void aGlobalNameThatOnlyOtherOpsOfferLeavesThisOpToItsRouting() {
        Op<Answer> op = op("fast", new Answer("fast-1", 42), "faster", new Answer("faster-1", 42));
        Backends.Choice<Answer> c = Backends.choose(op, props("squeeze.backend", "native")); // offered by int4 only
        assertEquals("fast", c.backend());
        assertFalse(c.forced());
    }

    @Test
    void unknownNamesAreErrorsThatNameTheValidOnes() {
        Op<Answer> op = op("fast", new Answer("fast-1", 42), "faster", new Answer("faster-1", 42));
        SqueezeException global = assertThrows(SqueezeException.class,
                () -> Backends.choose(op, props("squeeze.backend", "cuda")));
        assertTrue(global.getMessage().startsWith("-Dsqueeze.backend=cuda names no backend of Squeeze"), global.getMessage());
        assertTrue(global.getMessage().contains("give one of [fast, faster, java, native, nd4j]"), global.getMessage());
        SqueezeException perOp = assertThrows(SqueezeException.class,
                () -> Backends.choose(op, props("squeeze.backend.answer", "nd4j")));
        assertTrue(perOp.getMessage().contains("-Dsqueeze.backend.answer=nd4j names no backend of the answer"),
                perOp.getMessage());
        assertTrue(perOp.getMessage().contains("give one of [fast, faster, java]"), perOp.getMessage());
        SqueezeException otherOp = assertThrows(SqueezeException.class,
                () -> Backends.choose(op, props("squeeze.backend.gemm", "native")));
        assertTrue(otherOp.getMessage().contains("give one of [java, nd4j]"), "every op's property is checked: "
                + otherOp.getMessage());
        assertEquals(0, opened.get(), "nothing is opened before the properties are checked");
    }

    @Test
    void aForcedBackendThatCannotRunIsAnErrorNotAFallback() {
        Op<Answer> op = op("broken", new Answer("broken-1", 41), "absent", null);
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> Backends.choose(op, props("squeeze.backend.answer", "broken")));
        assertTrue(e.getMessage().startsWith("-Dsqueeze.backend.answer=broken asks for the broken backend for the answer"
                + " (answer), but it cannot be used on this machine: broken-1 says 41"), e.getMessage());
        assertTrue(e.getMessage().contains("give one of [broken, absent, java]"), e.getMessage());
        SqueezeException missing = assertThrows(SqueezeException.class,
                () -> Backends.choose(op, props("squeeze.backend", "absent")));
        assertTrue(missing.getMessage().contains("library not found"), missing.getMessage());
    }

    @Test
    void anOpNeedsExactlyOneReferenceAndDistinctNames() {
        assertThrows(IllegalArgumentException.class, () -> Op.of("x", "x", Answer::name, a -> null,
                Op.Candidate.of("a", () -> new Answer("a", 42))));
        assertThrows(IllegalArgumentException.class, () -> Op.of("x", "x", Answer::name, a -> null,
                Op.Candidate.reference("a", () -> new Answer("a", 42)), Op.Candidate.reference("b", () -> new Answer("b", 42))));
        assertThrows(IllegalArgumentException.class, () -> Op.of("x", "x", Answer::name, a -> null,
                Op.Candidate.of("a", () -> new Answer("a", 42)), Op.Candidate.reference("a", () -> new Answer("b", 42))));
        assertThrows(IllegalArgumentException.class, () -> Op.Candidate.of("Not Valid", () -> null));
    }

    @Test
    void checkSystemPropertiesRejectsATypoInTheOpName() {
        System.setProperty("squeeze.backend.gem", "java");
        try {
            SqueezeException e = assertThrows(SqueezeException.class, Backends::checkSystemProperties);
            assertTrue(e.getMessage().contains("there is no op 'gem'"), e.getMessage());
            assertTrue(e.getMessage().contains("squeeze.backend.gemm"), e.getMessage());
        } finally {
            System.clearProperty("squeeze.backend.gem");
        }
        Backends.checkSystemProperties(); // this test JVM sets none
    }

    @Test
    void describeListsEveryOpAndOpensNone() {
        String d = Backends.describe();
        String[] entries = d.split(", ");
        assertEquals(List.of("gemm", "cholesky", "trinv", "eigen", "int4"),
                java.util.Arrays.stream(entries).map(s -> s.substring(0, s.indexOf('='))).toList(), d);
        Backends.get(Ops.GEMM);
        assertTrue(Backends.describe().contains("gemm=" + Blas.get().name()), Backends.describe());
        assertEquals(List.of("java", "nd4j"), Backends.routing().get("gemm"));
    }

    @Test
    void theDefaultRoutingKeepsJavaWhereResultsMustBeExact() {
        // Ops.java's routing: the ops GPTQ's results depend on stay on the bit-exact Java implementations.
        assertEquals("java", Ops.GEMM.backendNames().getFirst());
        assertEquals("java", Ops.CHOLESKY.backendNames().getFirst());
        assertEquals("java", Ops.TRIANGULAR_INVERSE.backendNames().getFirst());
    }

    // --- the dense ops' self-tests catch wrong implementations ---

    @Test
    void gemmSelfTestPassesTheJavaImplementationsAndCatchesAnErrorOfOnePart() {
        assertNull(SelfTests.gemm(Blas.java()));
        assertNull(SelfTests.gemm(Blas.portable()));
        Blas offByOne = new Blas() {
            @Override
            public String name() {
                return "off";
            }

            @Override
            public void sgemm(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, int aOff, int lda,
                              float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
                Blas.java().sgemm(ta, tb, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
                c[cOff + (m - 1) * ldc + n - 1] *= 1.0001f; // 1e-4 relative: 10x the float tolerance
            }

            @Override
            public void dgemm(boolean ta, boolean tb, int m, int n, int k, double alpha, double[] a, int aOff, int lda,
                              double[] b, int bOff, int ldb, double beta, double[] c, int cOff, int ldc) {
                Blas.java().dgemm(ta, tb, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            }

            @Override
            public void sger(int m, int n, float alpha, float[] x, int xOff, float[] y, int yOff, float[] a, int aOff, int lda) {
                Blas.java().sger(m, n, alpha, x, xOff, y, yOff, a, aOff, lda);
            }
        };
        String problem = SelfTests.gemm(offByOne);
        assertNotNull(problem);
        assertTrue(problem.startsWith("off self-test failed: gemm"), problem);
    }

    @Test
    void factorisationSelfTestsCatchWrongResults() {
        assertNull(SelfTests.cholesky(Ops.JavaOps.CHOLESKY));
        assertNull(SelfTests.triangularInverse(Ops.JavaOps.TRIANGULAR_INVERSE));
        assertNull(SelfTests.eigen(Ops.JavaOps.SYMMETRIC_EIGEN));
        CholeskyOp wrongCholesky = new CholeskyOp() {
            @Override
            public String name() {
                return "wrong";
            }

            @Override
            public void lowerInPlace(double[] a, int n) {
                Cholesky.lowerInPlaceJava(a, n);
                a[(n - 1) * n] += 1e-6; // an absolute error of 1e-6 against entries of about 10
            }
        };
        assertTrue(SelfTests.cholesky(wrongCholesky).startsWith("wrong self-test failed: cholesky element"));
        TriangularInverseOp notInverting = new TriangularInverseOp() {
            @Override
            public String name() {
                return "identity";
            }

            @Override
            public void invertLowerInPlace(double[] l, int n) {
            }
        };
        assertNotNull(SelfTests.triangularInverse(notInverting));
        SymmetricEigenOp flippedSigns = new SymmetricEigenOp() {
            @Override
            public String name() {
                return "flipped";
            }

            @Override
            public void decompose(double[] a, int n, double[] values, double[] vectors) {
                Ops.JavaOps.SYMMETRIC_EIGEN.decompose(a, n, values, vectors);
                for (int i = 0; i < vectors.length; i++) {
                    vectors[i] = -vectors[i];
                }
            }
        };
        assertNull(SelfTests.eigen(flippedSigns), "an eigenvector's sign is arbitrary");
        SymmetricEigenOp ascending = new SymmetricEigenOp() {
            @Override
            public String name() {
                return "ascending";
            }

            @Override
            public void decompose(double[] a, int n, double[] values, double[] vectors) {
                Ops.JavaOps.SYMMETRIC_EIGEN.decompose(a, n, values, vectors);
                for (int i = 0, j = n - 1; i < j; i++, j--) {
                    double t = values[i];
                    values[i] = values[j];
                    values[j] = t;
                }
            }
        };
        assertTrue(SelfTests.eigen(ascending).startsWith("ascending self-test failed: eigenvalue 0"));
    }
}
