package dev.squeeze.engine.backend;

import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One family of heavy operations ({@code gemm}, {@code cholesky}, ...) with its candidate implementations, best
 * first. {@link Backends#get(Op)} picks one candidate per JVM on first use: the highest-ranked that opens and
 * passes the op's self-test against the reference, unless a system property forces one. The reference (pure Java)
 * always works, so candidates ranked below it are used only when forced.
 *
 * <p>The order of {@link #candidates()} is the default routing; {@link Ops} documents the measurement behind it.
 * Registering a new op is declaring one constant and listing it in {@link Ops#ALL}, for example
 * <pre>{@code
 * public static final Op<PackedMatMul> PACKED = Op.of("packed", "packed mat-vec/mat-mat", PackedSelfTest::check,
 *         Candidate.of("native", NativePacked::load), Candidate.reference("java", JavaPackedMatMul::new));
 * }</pre>
 *
 * @param <T> the interface the op's implementations share
 */
public final class Op<T> {
    private final String name;
    private final String description;
    private final Function<T, String> selfTest;
    private final Function<T, String> implementationName;
    private final List<Candidate<T>> candidates;
    /** The choice, made at most once (see {@link Backends#choice(Op)}); guarded by {@code this}. */
    private volatile Backends.Choice<T> choice;

    private Op(String name, String description, Function<T, String> implementationName, Function<T, String> selfTest,
               List<Candidate<T>> candidates) {
        if (!name.matches("[a-z][a-z0-9-]*")) {
            throw new IllegalArgumentException("op name '" + name + "' must be lower-case letters, digits and '-'");
        }
        if (candidates.stream().filter(Candidate::reference).count() != 1) {
            throw new IllegalArgumentException("op " + name + ": exactly one candidate must be the reference");
        }
        if (candidates.stream().map(Candidate::backend).distinct().count() != candidates.size()) {
            throw new IllegalArgumentException("op " + name + ": two candidates share a backend name");
        }
        this.name = name;
        this.description = description;
        this.implementationName = implementationName;
        this.selfTest = selfTest;
        this.candidates = List.copyOf(candidates);
    }

    /**
     * An op.
     *
     * @param name               the op's name in properties and provenance ({@code squeeze.backend.NAME})
     * @param description        a few words for logs
     * @param implementationName the name an implementation reports (e.g. {@code Blas::name}), for logs/provenance
     * @param selfTest           compares an implementation with the reference on a small case: null when it
     *                           agrees, else what differed; it is not run on the reference candidate
     * @param candidates         best first; exactly one is the reference ({@link Candidate#reference})
     */
    @SafeVarargs
    public static <T> Op<T> of(String name, String description, Function<T, String> implementationName,
                               Function<T, String> selfTest, Candidate<T>... candidates) {
        return new Op<>(name, description, Objects.requireNonNull(implementationName), Objects.requireNonNull(selfTest),
                List.of(candidates));
    }

    public String name() {
        return name;
    }

    public String description() {
        return description;
    }

    /** Best first; one of them is the reference. */
    public List<Candidate<T>> candidates() {
        return candidates;
    }

    /** The backend names this op offers, best first. */
    public List<String> backendNames() {
        return candidates.stream().map(Candidate::backend).toList();
    }

    /** The system property that forces this op's backend: {@code squeeze.backend.<name>}. */
    public String property() {
        return Backends.PROPERTY + "." + name;
    }

    String selfTest(T implementation) {
        return selfTest.apply(implementation);
    }

    String implementationName(T implementation) {
        return implementationName.apply(implementation);
    }

    Backends.Choice<T> cachedChoice() {
        return choice;
    }

    void cache(Backends.Choice<T> c) {
        choice = c;
    }

    @Override
    public String toString() {
        return name;
    }

    /**
     * One implementation of an op. {@code open} runs only when the op is first used and this candidate is tried,
     * so a backend whose classes are never opened is never loaded; it throws when the backend is unavailable here.
     */
    public record Candidate<T>(String backend, Supplier<? extends T> open, boolean reference) {
        public Candidate {
            if (!backend.matches("[a-z][a-z0-9-]*")) {
                throw new IllegalArgumentException("backend name '" + backend + "' must be lower-case letters, digits and '-'");
            }
            Objects.requireNonNull(open);
        }

        /** A candidate that must pass the op's self-test before it is used. */
        public static <T> Candidate<T> of(String backend, Supplier<? extends T> open) {
            return new Candidate<>(backend, open, false);
        }

        /** The reference implementation (pure Java): the self-tests' yardstick, never self-tested, never fails. */
        public static <T> Candidate<T> reference(String backend, Supplier<? extends T> open) {
            return new Candidate<>(backend, open, true);
        }
    }
}
