package dev.squeeze.engine.backend;

import dev.squeeze.engine.SqueezeException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backend provider: one ranked, self-tested, logged choice per {@link Op} (in the pattern of DJL's
 * {@code EngineProvider} and Jlama's {@code TensorOperations} provider).
 *
 * <p>On first use of an op its candidates are tried best first: each is opened (lazily: a backend that is never
 * tried is never loaded) and run on a small case against the op's Java reference; the first that opens and agrees
 * is used for the rest of the process, and the choice is logged once. A candidate that fails to open or disagrees
 * is skipped with a warning; the Java reference always works (candidates ranked below it are used only when forced).
 *
 * <p>System properties:
 * <ul>
 *   <li>{@value #PROPERTY}{@code =NAME} forces backend NAME for every op that offers it; the others keep their
 *       routing. A NAME that no op offers is an error.</li>
 *   <li>{@value #PROPERTY}{@code .OP=NAME} forces one op ({@code gemm}, {@code cholesky}, {@code trinv},
 *       {@code eigen}, {@code int4}); it wins over {@value #PROPERTY}. A NAME that OP does not offer, or an OP
 *       that does not exist, is an error.</li>
 *   <li>{@value #LEGACY_PROPERTY} is the old name of {@value #PROPERTY}, read only when that is not set.</li>
 * </ul>
 * A forced backend that cannot be opened or fails its self-test is an error too ({@link SqueezeException} naming
 * the property, the reason and the valid names), never a silent fallback.
 */
public final class Backends {
    /** Forces a backend for every op that offers it. */
    public static final String PROPERTY = "squeeze.backend";
    /** The property's name before the provider existed (it chose the int4 kernels only); still honoured. */
    public static final String LEGACY_PROPERTY = "squeeze.kernels";

    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);

    private Backends() {
    }

    /**
     * The outcome of a selection.
     *
     * @param op             the op's name
     * @param backend        the backend's name ({@code java}, {@code native}, {@code nd4j}, ...)
     * @param implementation what the implementation calls itself ({@code java-vector-512}, {@code native-avx2}, ...)
     * @param forced         whether a property chose it
     * @param skipped        candidates ranked above it that were tried and not used, with the reason
     */
    public record Choice<T>(String op, String backend, String implementation, T instance, boolean forced,
                            List<String> skipped) {
    }

    /** The op's implementation in this process, chosen on the first call. */
    public static <T> T get(Op<T> op) {
        return choice(op).instance();
    }

    /** The op's choice in this process, made on the first call from the system properties. */
    public static <T> Choice<T> choice(Op<T> op) {
        Choice<T> c = op.cachedChoice();
        if (c != null) {
            return c;
        }
        synchronized (op) {
            c = op.cachedChoice();
            if (c == null) {
                c = choose(op, System::getProperty);
                log(c);
                op.cache(c);
            }
            return c;
        }
    }

    /** The choice of an op if it has been made in this process, else null. Opens nothing. */
    public static Choice<?> choiceIfMade(Op<?> op) {
        return op.cachedChoice();
    }

    /**
     * Every op of {@link Ops#ALL} as {@code op=implementation}, separated by {@code ", "}, for run provenance: the op's
     * implementation where this process has used it, {@code op=unused} where it has not (nothing is opened to
     * describe it).
     */
    public static String describe() {
        StringJoiner s = new StringJoiner(", ");
        for (Op<?> op : Ops.ALL) {
            Choice<?> c = op.cachedChoice();
            s.add(op.name() + "=" + (c == null ? "unused" : c.implementation()));
        }
        return s.toString();
    }

    /**
     * The selection, separate from the cached result so that tests can run it with any properties: opens and
     * self-tests candidates as {@link #choice} does, caches and logs nothing.
     *
     * @param properties the system properties ({@code System::getProperty} in production)
     * @throws SqueezeException if a property names an unknown op or backend, or a forced backend cannot run here
     */
    public static <T> Choice<T> choose(Op<T> op, UnaryOperator<String> properties) {
        List<Op<?>> known = new ArrayList<>(Ops.ALL);
        if (!known.contains(op)) {
            known.add(op);
        }
        validate(properties, known);
        String opValue = normalise(properties.apply(op.property()));
        String globalProperty = globalPropertyName(properties);
        String globalValue = globalProperty == null ? "" : normalise(properties.apply(globalProperty));
        String forcedBy = null;
        String forced = "";
        if (!opValue.isEmpty()) {
            forcedBy = op.property();
            forced = opValue;
        } else if (!globalValue.isEmpty() && op.backendNames().contains(globalValue)) {
            forcedBy = globalProperty;
            forced = globalValue;
        }
        List<String> skipped = new ArrayList<>();
        for (Op.Candidate<T> candidate : op.candidates()) {
            if (forcedBy != null && !candidate.backend().equals(forced)) {
                continue;
            }
            String problem;
            T instance = null;
            try {
                instance = candidate.open().get();
                problem = candidate.reference() ? null : op.selfTest(instance);
            } catch (RuntimeException | LinkageError e) {
                problem = e.getMessage() != null ? e.getMessage() : e.toString();
            }
            if (problem == null) {
                return new Choice<>(op.name(), candidate.backend(), op.implementationName(instance), instance,
                        forcedBy != null, List.copyOf(skipped));
            }
            if (forcedBy != null) {
                throw new SqueezeException("-D" + forcedBy + "=" + forced + " asks for the " + forced + " backend for "
                        + op.description() + " (" + op.name() + "), but it cannot be used on this machine: " + problem,
                        "remove -D" + forcedBy + " to let Squeeze choose, or give one of " + op.backendNames());
            }
            LOG.warn("Backend '{}' for {} skipped: {}", candidate.backend(), op.name(), problem);
            skipped.add(candidate.backend() + ": " + problem);
        }
        // The reference is never self-tested, so only a broken reference gets here.
        throw new SqueezeException("No backend for " + op.description() + " (" + op.name() + ") works on this machine: "
                + skipped, "report this as a bug, with the log");
    }

    /**
     * Checks every {@value #PROPERTY} property without opening anything: an unknown op, or a backend that no op
     * (or the named op) offers, is a {@link SqueezeException} naming the valid names.
     */
    static void validate(UnaryOperator<String> properties, List<Op<?>> ops) {
        String globalProperty = globalPropertyName(properties);
        if (globalProperty != null) {
            String value = normalise(properties.apply(globalProperty));
            Set<String> all = new TreeSet<>();
            ops.forEach(o -> all.addAll(o.backendNames()));
            if (!value.isEmpty() && !all.contains(value)) {
                throw new SqueezeException("-D" + globalProperty + "=" + properties.apply(globalProperty)
                        + " names no backend of Squeeze", "give one of " + all + " (or leave it out to let Squeeze choose)");
            }
        }
        for (Op<?> op : ops) {
            String value = normalise(properties.apply(op.property()));
            if (!value.isEmpty() && !op.backendNames().contains(value)) {
                throw new SqueezeException("-D" + op.property() + "=" + properties.apply(op.property())
                        + " names no backend of " + op.description(),
                        "give one of " + op.backendNames() + " (or leave it out to let Squeeze choose)");
            }
        }
    }

    /**
     * Checks the {@value #PROPERTY}{@code .*} system properties of this JVM: an unknown op name (a typo such as
     * {@code squeeze.backend.gem}) is an error naming the ops; so is any invalid value ({@link #validate}).
     * The CLI and the app may call this at start-up to fail before any work; {@link #get} checks the values too.
     */
    public static void checkSystemProperties() {
        Set<String> known = new LinkedHashSet<>();
        Ops.ALL.forEach(o -> known.add(o.property()));
        for (String key : System.getProperties().stringPropertyNames()) {
            if (key.startsWith(PROPERTY + ".") && !known.contains(key)) {
                throw new SqueezeException("-D" + key + " is not a Squeeze setting: there is no op '"
                        + key.substring(PROPERTY.length() + 1) + "'",
                        "use -D" + PROPERTY + "=NAME for every op, or one of " + known);
            }
        }
        validate(System::getProperty, Ops.ALL);
    }

    /** The routing of every op (backend names, best first), for documentation and the settings screen. */
    public static Map<String, List<String>> routing() {
        Map<String, List<String>> m = new LinkedHashMap<>();
        Ops.ALL.forEach(o -> m.put(o.name(), o.backendNames()));
        return m;
    }

    private static String globalPropertyName(UnaryOperator<String> properties) {
        if (properties.apply(PROPERTY) != null) {
            return PROPERTY;
        }
        return properties.apply(LEGACY_PROPERTY) != null ? LEGACY_PROPERTY : null;
    }

    private static String normalise(String value) {
        return value == null ? "" : value.strip().toLowerCase(Locale.ROOT);
    }

    private static void log(Choice<?> c) {
        if (c.forced()) {
            LOG.info("{}: backend '{}' ({}), forced by a -D{} property", c.op(), c.backend(), c.implementation(), PROPERTY);
        } else {
            LOG.info("{}: backend '{}' ({}), the highest-ranked that passed its self-test{}", c.op(), c.backend(),
                    c.implementation(), c.skipped().isEmpty() ? "" : "; skipped " + c.skipped());
        }
    }
}
