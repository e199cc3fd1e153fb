package dev.squeeze.engine.store;

import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

/**
 * What a run <em>is</em>, from what it did to its layers (never from its label): its method family and whether
 * it is a baseline. The one rule, which {@link ResultsStore#recordRun} stores with every run and migration
 * {@code V3__run_family_baseline.sql} applies to the runs stored before it:
 * <ul>
 *   <li>a layer is compressed when its layer result names a method other than {@value #NONE} or {@value #DENSE}
 *       (runs record one layer result per compressed layer and none for a layer left dense, so a dense run has
 *       none; the two names are the plan's and the CLI's words for "not compressed" and never a method's);</li>
 *   <li>the family is the distinct methods of the compressed layers, sorted ({@link String#compareTo}, as H2
 *       orders them) and joined with {@code '+'}: {@code "rtn"}, {@code "gptq+rtn"}; {@value #DENSE} when no layer
 *       is compressed;</li>
 *   <li>a run is a baseline exactly when it compresses no layer (its family is {@value #DENSE}).</li>
 * </ul>
 */
public final class MethodFamily {
    /** The family of a run that compresses no layer. */
    public static final String DENSE = "dense";
    /** The plan's method name for a layer kept dense. */
    public static final String NONE = "none";

    private MethodFamily() {
    }

    /** Whether a layer result with this method name compressed its layer. */
    public static boolean compresses(String method) {
        String m = method.toLowerCase(Locale.ROOT);
        return !m.equals(NONE) && !m.equals(DENSE);
    }

    /** The method family of a run with these layer results (see the class comment). */
    public static String of(List<RunRecord.LayerResult> layers) {
        TreeSet<String> methods = new TreeSet<>();
        for (RunRecord.LayerResult l : layers) {
            if (compresses(l.method())) {
                methods.add(l.method());
            }
        }
        return methods.isEmpty() ? DENSE : String.join("+", methods);
    }

    /** Whether a run with these layer results is a baseline: it compresses none of its layers. */
    public static boolean isBaseline(List<RunRecord.LayerResult> layers) {
        return layers.stream().noneMatch(l -> compresses(l.method()));
    }
}
