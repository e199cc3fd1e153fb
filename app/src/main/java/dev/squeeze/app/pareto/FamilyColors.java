package dev.squeeze.app.pareto;

import java.util.Locale;
import java.util.Map;

/**
 * The chart colour of a method family, the same on every chart and for every model: a fixed colour for each
 * family Squeeze knows, and for any other family (a combination such as {@code gptq+sparsegpt}, a method added
 * later) a colour picked from a second palette by a hash of its name, so it too never changes between charts,
 * models or runs of the application.
 */
public final class FamilyColors {
    /** Colour of the frontier line and of greyed (dominated) points; no family uses it. */
    public static final int DOMINATED_FILL = 0xc8c8c8;

    private static final Map<String, Integer> KNOWN = Map.of(
            "dense", 0x333333,
            "rtn", 0x1f77b4,
            "gptq", 0xd62728,
            "spqr", 0x9467bd,
            "sparsegpt", 0xff7f0e,
            "magnitude", 0x8c564b,
            "lowrank", 0x2ca02c);

    /** For families not in {@link #KNOWN}: distinct from those and from the grey of dominated points. */
    private static final int[] OTHERS = {0x17becf, 0xe377c2, 0xbcbd22, 0x393b79, 0x637939, 0x843c39, 0x7b4173,
            0x3182bd, 0xe6550d, 0x31a354};

    private FamilyColors() {
    }

    /** The colour of {@code family} as 0xRRGGBB. */
    public static int rgb(String family) {
        String f = family == null ? "" : family.toLowerCase(Locale.ROOT);
        Integer known = KNOWN.get(f);
        if (known != null) {
            return known;
        }
        return OTHERS[Math.floorMod(f.hashCode(), OTHERS.length)];
    }

    /** The colour of {@code family} as CSS ({@code #rrggbb}). */
    public static String css(String family) {
        return String.format(Locale.ROOT, "#%06x", rgb(family));
    }
}
