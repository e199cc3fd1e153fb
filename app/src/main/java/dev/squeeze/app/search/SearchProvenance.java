package dev.squeeze.app.search;

/**
 * How the workbench tells a run a search found from the other runs a search job stores. A search job records its
 * settings in every run's provenance ({@code Provenance#search()}); the uniform baselines it stores beside the
 * front (one setting on every layer, from the same level database) say "uniform baseline" there, as
 * {@code search.SearchJob} writes it. Runs no search made have an empty search field.
 */
public final class SearchProvenance {
    /** What {@code SearchJob} writes into a uniform baseline's search field. */
    static final String UNIFORM_MARK = "; uniform baseline ";

    private SearchProvenance() {
    }

    /** Whether a run with this provenance search field holds a plan a search found (not a uniform baseline). */
    public static boolean searchedPlan(String search) {
        return search != null && !search.isEmpty() && !search.contains(UNIFORM_MARK);
    }

    /** Whether a search job stored the run as a uniform baseline to compare its front against. */
    public static boolean uniformBaseline(String search) {
        return search != null && search.contains(UNIFORM_MARK);
    }
}
