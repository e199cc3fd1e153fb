package dev.squeeze.engine.search;

import dev.squeeze.engine.SqueezeException;

import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What a search job does: which method families a layer may take, the size budget (one, or a sweep of budgets that
 * traces a front), and how hard to look. Stored in a {@link dev.squeeze.engine.jobs.JobSpec} (so its JSON is part
 * of the job's identity and checkpoints).
 *
 * @param methods      method families a layer may take, from {@link #FAMILIES}; dense is always allowed
 * @param budgetBpw    one budget: bits per weight over the searched linears, every stored bit counted; or null
 * @param budgetBytes  one budget: bytes of the whole model as stored; or null
 * @param frontFrom    a front: the smallest budget in bits per weight; or null
 * @param frontTo      a front: the largest budget in bits per weight
 * @param frontStep    a front: the step between budgets, bits per weight
 * @param generations  EvoPress generations after the proxy allocator's plan (0: the proxy allocator only)
 * @param offspring    EvoPress children per generation
 * @param timeLimitSeconds stop the evolutionary search after this long and keep the best (0: no limit); points
 *                     not reached by then are still allocated by the proxy allocator
 * @param seed         seeds the search (calibration samples of each stage, mutations); the same seed gives the same plans
 * @param baselines    also store the uniform settings the level database holds (e.g. GPTQ 3-bit g32 everywhere)
 *                     inside the budget range, evaluated exactly as the searched points, to compare against
 */
public record SearchSpec(List<String> methods, Double budgetBpw, Long budgetBytes, Double frontFrom, Double frontTo,
                         Double frontStep, int generations, int offspring, long timeLimitSeconds, long seed,
                         boolean baselines) {
    /** The method families a search may use. */
    public static final List<String> FAMILIES = List.of("rtn", "gptq", "spqr", "sparsegpt", "magnitude", "lowrank");

    /** The families a search uses when none are named. */
    public static final List<String> DEFAULT_METHODS = List.of("rtn", "gptq", "sparsegpt", "lowrank");

    /** More budgets than this in one front is a typo (a step of 0.0001), not a plan. */
    public static final int MAX_POINTS = 1000;

    public SearchSpec {
        methods = methods == null || methods.isEmpty() ? DEFAULT_METHODS : List.copyOf(methods.stream()
                .map(m -> m.trim().toLowerCase(Locale.ROOT)).distinct().toList());
        for (String m : methods) {
            if (!FAMILIES.contains(m)) {
                throw new SqueezeException("The search method '" + m + "' is not known",
                        "use some of " + String.join(", ", FAMILIES));
            }
        }
        int given = (budgetBpw != null ? 1 : 0) + (budgetBytes != null ? 1 : 0) + (frontFrom != null ? 1 : 0);
        if (given != 1) {
            throw new SqueezeException("A search needs exactly one budget; " + given + " were given",
                    "give --budget-bpw B, --budget-bytes N or --front FROM:TO:STEP");
        }
        if (budgetBpw != null && !(budgetBpw > 0 && budgetBpw <= 64)) {
            throw new SqueezeException("The budget of " + budgetBpw + " bits per weight is out of range",
                    "give a budget above 0 and at most 64 bits per weight");
        }
        if (budgetBytes != null && budgetBytes <= 0) {
            throw new SqueezeException("The budget of " + budgetBytes + " bytes is not positive", "give a size in bytes");
        }
        if (frontFrom != null) {
            if (frontTo == null || frontStep == null) {
                throw new SqueezeException("A front needs FROM:TO:STEP", "write e.g. --front 2:6:0.25");
            }
            if (!(frontFrom > 0 && frontTo >= frontFrom && frontTo <= 64 && frontStep > 0)) {
                throw new SqueezeException(String.format(Locale.ROOT, "The front %s:%s:%s is not 0 < FROM ≤ TO ≤ 64"
                        + " with STEP > 0", frontFrom, frontTo, frontStep), "write e.g. --front 2:6:0.25");
            }
            long points = Math.round(Math.floor((frontTo - frontFrom) / frontStep + 1e-9)) + 1;
            if (points > MAX_POINTS) {
                throw new SqueezeException("The front " + frontFrom + ":" + frontTo + ":" + frontStep + " has "
                        + points + " budgets; at most " + MAX_POINTS, "use a larger step");
            }
        }
        if (generations < 0 || generations > 1_000_000) {
            throw new SqueezeException("The generation count " + generations + " is out of range",
                    "give 0 (proxy allocator only) to 1,000,000");
        }
        if (offspring < 1 || offspring > 10_000) {
            throw new SqueezeException("The offspring count " + offspring + " is out of range", "give 1 to 10,000");
        }
        if (timeLimitSeconds < 0) {
            throw new SqueezeException("The time limit is negative", "give a duration such as 10m, or none");
        }
    }

    /** The budgets of this search in bits per weight (one for a single bpw budget; none for a byte budget). */
    public List<Double> frontBudgets() {
        if (budgetBpw != null) {
            return List.of(budgetBpw);
        }
        if (frontFrom == null) {
            return List.of();
        }
        long points = Math.round(Math.floor((frontTo - frontFrom) / frontStep + 1e-9)) + 1;
        java.util.ArrayList<Double> out = new java.util.ArrayList<>();
        for (long i = 0; i < points; i++) {
            // Rounded to 1e-9 so that 2 + 12 × 0.25 is 5.0 and not 4.999999999.
            out.add(Math.round((frontFrom + i * frontStep) * 1e9) / 1e9);
        }
        return out;
    }

    public boolean sweepsFront() {
        return frontFrom != null;
    }

    public Set<String> methodSet() {
        return Set.copyOf(methods);
    }

    /** A one-line description for provenance and logs. */
    public String describe() {
        String budget = budgetBpw != null ? String.format(Locale.ROOT, "≤ %s bits/weight", budgetBpw)
                : budgetBytes != null ? String.format(Locale.ROOT, "≤ %,d bytes", budgetBytes)
                : String.format(Locale.ROOT, "front %s:%s:%s bits/weight", frontFrom, frontTo, frontStep);
        return String.format(Locale.ROOT, "search %s; methods %s; %s; seed %d%s", budget, String.join(",", methods),
                generations == 0 ? "proxy allocator" : "EvoPress " + generations + " generations × " + offspring
                        + " offspring", seed, timeLimitSeconds > 0 ? "; time limit " + timeLimitSeconds + " s" : "");
    }
}
