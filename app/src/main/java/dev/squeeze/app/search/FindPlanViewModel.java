package dev.squeeze.app.search;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.JobEvent;
import dev.squeeze.engine.jobs.JobSpec;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.plan.PlanCheck;
import dev.squeeze.engine.search.SearchSpec;
import dev.squeeze.engine.store.JobStatus;
import javafx.beans.binding.Bindings;
import javafx.beans.binding.BooleanBinding;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyDoubleProperty;
import javafx.beans.property.ReadOnlyDoubleWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The "Find best plan" dialog's state: the budget (bits per weight, bytes, or a front of budgets), the method
 * families a layer may take, the search's effort (EvoPress generations and offspring, a time limit, the seed), the
 * tag its runs get; then the search job's progress, Stop (the job keeps the best plan found so far), and the runs it
 * stored: one opens in the plan editor, a front is shown in the Pareto explorer under its tag.
 *
 * <p>What the user typed becomes a {@link SearchSpec}; its own validation (and the parsing of the fields) gives the
 * messages shown in the dialog, and nothing is queued while there is one.
 */
public final class FindPlanViewModel {
    /** Families that need calibration data (layer Hessians): not offered for models without it (classifiers). */
    public static final Set<String> DATA_HUNGRY = Set.of("gptq", "spqr", "sparsegpt");

    /** How the budget is given. */
    public enum BudgetKind {
        BITS_PER_WEIGHT("Bits per weight"), BYTES("Model bytes"), FRONT("Front FROM:TO:STEP");

        private final String words;

        BudgetKind(String words) {
            this.words = words;
        }

        @Override
        public String toString() {
            return words;
        }
    }

    /** Where the search is. */
    public enum State {
        /** Not started: the fields can be edited. */
        EDITING,
        /** Queued, waiting for a worker. */
        QUEUED,
        RUNNING,
        /** Stop asked; the job stores the best plan found so far. */
        STOPPING,
        DONE,
        /** Stopped by the user (the best plan found before is stored). */
        STOPPED,
        FAILED;

        public boolean active() {
            return this == QUEUED || this == RUNNING || this == STOPPING;
        }

        public boolean ended() {
            return this == DONE || this == STOPPED || this == FAILED;
        }
    }

    private final Model model;
    private final SearchJobs jobs;
    private final ObjectProperty<BudgetKind> budgetKind = new SimpleObjectProperty<>(BudgetKind.BITS_PER_WEIGHT);
    private final StringProperty budgetBpw = new SimpleStringProperty("4.125");
    private final StringProperty budgetBytes = new SimpleStringProperty("");
    private final StringProperty front = new SimpleStringProperty("2:6:0.25");
    private final Map<String, BooleanProperty> methods = new LinkedHashMap<>();
    private final Map<String, String> unavailable = new LinkedHashMap<>();
    private final StringProperty generations = new SimpleStringProperty("20");
    private final StringProperty offspring = new SimpleStringProperty("16");
    private final StringProperty timeLimit = new SimpleStringProperty("10m");
    private final StringProperty seed = new SimpleStringProperty("0");
    private final BooleanProperty baselines = new SimpleBooleanProperty(true);
    private final StringProperty tag = new SimpleStringProperty("");
    private final StringProperty label = new SimpleStringProperty("");

    private final ReadOnlyStringWrapper error = new ReadOnlyStringWrapper();
    private final ReadOnlyObjectWrapper<State> state = new ReadOnlyObjectWrapper<>(State.EDITING);
    private final ReadOnlyStringWrapper phase = new ReadOnlyStringWrapper("");
    private final ReadOnlyStringWrapper detail = new ReadOnlyStringWrapper("");
    private final ReadOnlyDoubleWrapper progress = new ReadOnlyDoubleWrapper(0);
    private final ReadOnlyStringWrapper outcome = new ReadOnlyStringWrapper("");
    private final ObservableList<SearchJobs.FoundRun> found = FXCollections.observableArrayList();
    private final ObjectProperty<SearchJobs.FoundRun> selected = new SimpleObjectProperty<>();

    private Long jobId;
    /** What the current phase said it does (a search phase: the budget), kept beside its progress. */
    private String phaseDetail = "";
    /** Events that came before the engine said which job is ours (a fast worker can start first). */
    private final List<JobEvent> early = new ArrayList<>();
    private String submittedTag;
    private boolean sweep;
    private Runnable unlisten;
    private Consumer<String> onOpenPlan = json -> { };
    private Consumer<String> onShowFront = t -> { };

    public FindPlanViewModel(Model model, SearchJobs jobs) {
        this.model = Objects.requireNonNull(model, "model");
        this.jobs = Objects.requireNonNull(jobs, "jobs");
        boolean calibration = PlanCheck.hasCalibration(model);
        for (String family : SearchSpec.FAMILIES) {
            boolean offered = calibration || !DATA_HUNGRY.contains(family);
            if (!offered) {
                unavailable.put(family, family + " needs calibration data (layer Hessians), which " + model.name()
                        + " has none of: classifier searches use the data-free methods (rtn, magnitude, lowrank svd)");
            }
            methods.put(family, new SimpleBooleanProperty(offered && SearchSpec.DEFAULT_METHODS.contains(family)));
        }
    }

    // ----- the form

    public Model model() {
        return model;
    }

    public ObjectProperty<BudgetKind> budgetKind() {
        return budgetKind;
    }

    /** The budget in bits per weight (the searched linears, every stored bit counted). */
    public StringProperty budgetBpw() {
        return budgetBpw;
    }

    /** The budget in bytes of the whole model as stored ({@code 1500000}, {@code 1.5 MiB}, {@code 600 KiB}). */
    public StringProperty budgetBytes() {
        return budgetBytes;
    }

    /** A front of budgets, {@code FROM:TO:STEP} in bits per weight. */
    public StringProperty front() {
        return front;
    }

    /** Whether each family of {@link SearchSpec#FAMILIES} may be used, in that order. */
    public Map<String, BooleanProperty> methods() {
        return methods;
    }

    /** Why a family cannot be chosen for this model, or null when it can. */
    public String unavailableReason(String family) {
        return unavailable.get(family);
    }

    /** EvoPress generations after the proxy allocator (0: the proxy allocator alone). */
    public StringProperty generations() {
        return generations;
    }

    public StringProperty offspring() {
        return offspring;
    }

    /** A duration ({@code 90s}, {@code 10m}, {@code 1h30m}, plain seconds) or empty for none. */
    public StringProperty timeLimit() {
        return timeLimit;
    }

    public StringProperty seed() {
        return seed;
    }

    /** Also store the uniform settings inside the budget range, to compare the front against. */
    public BooleanProperty baselines() {
        return baselines;
    }

    /** The tag of the stored runs (empty: one made from the budget and the seed). */
    public StringProperty tag() {
        return tag;
    }

    /** The job's label (empty: one made from the budget). */
    public StringProperty label() {
        return label;
    }

    // ----- what the dialog shows

    /** Why the form cannot start (the engine's words), or null. */
    public ReadOnlyStringProperty error() {
        return error.getReadOnlyProperty();
    }

    public ReadOnlyObjectProperty<State> state() {
        return state.getReadOnlyProperty();
    }

    /** The search's current phase (levels, sensitivity, search, evaluation…), empty before it starts. */
    public ReadOnlyStringProperty phase() {
        return phase.getReadOnlyProperty();
    }

    /** What the phase reports: "generation 3 of 20", the best fitness so far when the job says it, a warning. */
    public ReadOnlyStringProperty detail() {
        return detail.getReadOnlyProperty();
    }

    /** The phase's progress 0..1, or -1 while unknown. */
    public ReadOnlyDoubleProperty progress() {
        return progress.getReadOnlyProperty();
    }

    /** How the search ended, in words; empty before. */
    public ReadOnlyStringProperty outcome() {
        return outcome.getReadOnlyProperty();
    }

    /** The runs the search stored (read when it ends), fewest bits first. */
    public ObservableList<SearchJobs.FoundRun> found() {
        return found;
    }

    /** The found run "Open in plan editor" opens (the last one stored when none is picked). */
    public ObjectProperty<SearchJobs.FoundRun> selected() {
        return selected;
    }

    /** The job, once queued. */
    public Long jobId() {
        return jobId;
    }

    public BooleanBinding canStart() {
        return Bindings.createBooleanBinding(() -> !state.get().active(), state);
    }

    public BooleanBinding canStop() {
        return Bindings.createBooleanBinding(() -> state.get() == State.QUEUED || state.get() == State.RUNNING,
                state);
    }

    public BooleanBinding canOpen() {
        return Bindings.isNotEmpty(found);
    }

    /** A front (several budgets) whose runs are stored can be shown in the explorer. */
    public BooleanBinding canShowFront() {
        return Bindings.createBooleanBinding(() -> sweep && !found.isEmpty(), found);
    }

    /** "Open in plan editor" hands a plan's JSON here. */
    public void setOnOpenPlan(Consumer<String> onOpenPlan) {
        this.onOpenPlan = onOpenPlan == null ? json -> { } : onOpenPlan;
    }

    /** "Show front" hands the tag here (the workbench filters the explorer to it). */
    public void setOnShowFront(Consumer<String> onShowFront) {
        this.onShowFront = onShowFront == null ? t -> { } : onShowFront;
    }

    // ----- building the job

    /** The families ticked, in {@link SearchSpec#FAMILIES} order. */
    public List<String> chosenMethods() {
        List<String> out = new ArrayList<>();
        methods.forEach((family, on) -> {
            if (on.get() && !unavailable.containsKey(family)) {
                out.add(family);
            }
        });
        return out;
    }

    /** The search the form describes; a {@link SqueezeException} says what is wrong with it. */
    public SearchSpec searchSpec() {
        List<String> chosen = chosenMethods();
        if (chosen.isEmpty()) {
            throw new SqueezeException("No method family is chosen", "tick at least one method family");
        }
        Double bpw = null;
        Long bytes = null;
        Double from = null;
        Double to = null;
        Double step = null;
        switch (budgetKind.get()) {
            case BITS_PER_WEIGHT -> bpw = number(budgetBpw.get(), "budget in bits per weight", "4.125");
            case BYTES -> bytes = bytes(budgetBytes.get());
            case FRONT -> {
                String[] parts = text(front.get()).split(":", -1);
                if (parts.length != 3) {
                    throw new SqueezeException("The front '" + text(front.get()) + "' is not FROM:TO:STEP",
                            "write e.g. 2:6:0.25 (budgets from 2 to 6 bits per weight in steps of 0.25)");
                }
                from = number(parts[0], "front's FROM", "2");
                to = number(parts[1], "front's TO", "6");
                step = number(parts[2], "front's STEP", "0.25");
            }
        }
        int gens = integer(generations.get(), "number of generations", "20 (0: the proxy allocator alone)");
        int kids = integer(offspring.get(), "number of offspring", "16");
        long limit = seconds(timeLimit.get());
        long s = longValue(seed.get(), "seed", "0");
        return new SearchSpec(chosen, bpw, bytes, from, to, step, gens, kids, limit, s, baselines.get());
    }

    /** The label and tag the job gets: typed, or made from the budget and the seed. */
    String effectiveLabel(SearchSpec spec) {
        String typed = text(label.get());
        return typed.isEmpty() ? defaultLabel(spec) : typed;
    }

    String effectiveTag(SearchSpec spec) {
        String typed = text(tag.get());
        return typed.isEmpty() ? defaultLabel(spec) + " seed " + spec.seed() : typed;
    }

    static String defaultLabel(SearchSpec spec) {
        if (spec.budgetBpw() != null) {
            return "search ≤ " + plain(spec.budgetBpw()) + " bpw";
        }
        if (spec.budgetBytes() != null) {
            return String.format(Locale.ROOT, "search ≤ %,d bytes", spec.budgetBytes());
        }
        return "search front " + plain(spec.frontFrom()) + ":" + plain(spec.frontTo()) + ":" + plain(spec.frontStep());
    }

    /** The job the form describes: a search of the open model. */
    public JobSpec jobSpec() {
        SearchSpec spec = searchSpec();
        return JobSpec.search(model.source(), spec, effectiveLabel(spec), List.of(effectiveTag(spec)));
    }

    /**
     * Queues the search; a form with a problem shows the problem and queues nothing. Returns whether a job was
     * handed to the engine.
     */
    public boolean start() {
        if (state.get().active()) {
            return false;
        }
        JobSpec spec;
        try {
            spec = jobSpec();
        } catch (SqueezeException e) {
            error.set(e.getMessage());
            return false;
        }
        error.set(null);
        found.clear();
        selected.set(null);
        outcome.set("");
        phase.set("queued");
        detail.set("");
        progress.set(-1);
        jobId = null;
        submittedTag = spec.tags().getFirst();
        sweep = spec.search().sweepsFront();
        state.set(State.QUEUED);
        if (unlisten == null) {
            unlisten = jobs.listen(this::accept);
        }
        early.clear();
        jobs.submit(spec, id -> {
            jobId = id;
            detail.set("job #" + id + " · tag " + submittedTag);
            List<JobEvent> before = List.copyOf(early);
            early.clear();
            before.forEach(this::accept);
        }, message -> {
            state.set(State.FAILED);
            phase.set("");
            progress.set(0);
            detail.set("");
            outcome.set("The search was not queued");
            error.set(message);
        });
        return true;
    }

    /** Stops the search; the job stores the best plan it found so far. */
    public void stop() {
        if (jobId != null && (state.get() == State.QUEUED || state.get() == State.RUNNING)) {
            state.set(State.STOPPING);
            detail.set("Stopping: the best plan found so far is kept");
            jobs.cancel(jobId);
        }
    }

    /** Loads the selected found run's plan (or the last one stored) into the plan editor. */
    public void openInEditor() {
        SearchJobs.FoundRun r = selected.get() != null ? selected.get() : found.isEmpty() ? null : found.getLast();
        if (r != null) {
            onOpenPlan.accept(r.planJson());
        }
    }

    /** Shows the front in the Pareto explorer, filtered to the search's tag. */
    public void showFront() {
        if (submittedTag != null) {
            onShowFront.accept(submittedTag);
        }
    }

    /** The dialog closed: stop following events (a running search goes on in the job table). */
    public void close() {
        if (unlisten != null) {
            unlisten.run();
            unlisten = null;
        }
    }

    /** A job event, on the FX thread. */
    void accept(JobEvent e) {
        if (jobId == null) {
            if (state.get() == State.QUEUED && early.size() < 10_000) {
                early.add(e);
            }
            return;
        }
        if (e.jobId() != jobId) {
            return;
        }
        switch (e.kind()) {
            case STARTED -> {
                if (state.get() == State.QUEUED) {
                    state.set(State.RUNNING);
                }
                phase.set("starting");
            }
            case PHASE -> {
                if (state.get() == State.QUEUED) {
                    state.set(State.RUNNING);
                }
                phase.set(e.phase() == null ? "" : e.phase());
                phaseDetail = e.detail() == null ? "" : e.detail();
                detail.set(phaseDetail);
                progress.set(-1);
            }
            case PROGRESS -> {
                JobEvent.PhaseProgress p = e.progress();
                if (p != null) {
                    progress.set(p.fraction());
                    String words = p.unit() == null || p.unit().isBlank() ? p.done() + " of " + p.total()
                            : progressWords(p);
                    detail.set(phaseDetail.isEmpty() ? words : phaseDetail + " · " + words);
                }
            }
            case LAYER -> {
                if (e.layersTotal() > 0) {
                    progress.set(Math.min(1.0, (double) e.layersDone() / e.layersTotal()));
                    detail.set("layer " + e.layersDone() + " of " + e.layersTotal()
                            + (e.layer() == null ? "" : ": " + e.layer()));
                }
            }
            case WARNING -> detail.set("warning: " + e.message());
            case PLACED -> {
            }
            case ENDED -> ended(e);
        }
    }

    /** "generation 3 of 20" (singular unit words as the worker reports them), or "3/20 images". */
    private static String progressWords(JobEvent.PhaseProgress p) {
        String unit = p.unit();
        String singular = unit.endsWith("s") ? unit.substring(0, unit.length() - 1) : unit;
        return singular + " " + p.done() + " of " + p.total();
    }

    private void ended(JobEvent e) {
        JobStatus s = e.status();
        boolean stopped = state.get() == State.STOPPING || s == JobStatus.CANCELLED;
        progress.set(s == JobStatus.DONE ? 1 : progress.get());
        if (s == JobStatus.DONE || stopped) {
            state.set(s == JobStatus.DONE && !stopped ? State.DONE : State.STOPPED);
            phase.set(stopped ? "stopped" : "done");
            detail.set("reading the stored runs…");
            long id = jobId;
            jobs.storedRuns(id, submittedTag, runs -> {
                found.setAll(runs);
                SearchJobs.FoundRun last = runs.stream().filter(r -> Objects.equals(r.runId(), e.runId()))
                        .findFirst().orElse(runs.isEmpty() ? null : runs.getLast());
                selected.set(last);
                detail.set("");
                long searched = runs.stream().filter(SearchJobs.FoundRun::fromSearch).count();
                outcome.set(runs.isEmpty() ? (stopped ? "Stopped before a plan was found: nothing stored"
                        : "The search stored no run")
                        : (stopped ? "Stopped; " : "Done; ") + searched + (searched == 1 ? " plan" : " plans")
                        + " found" + (runs.size() > searched ? " and " + (runs.size() - searched)
                        + " uniform baselines" : "") + " stored under the tag '" + submittedTag + "'");
            }, message -> {
                detail.set("");
                error.set(message);
            });
        } else {
            state.set(State.FAILED);
            phase.set("failed");
            detail.set("");
            String why = e.message() == null ? "the job failed" : e.message();
            outcome.set("The search failed: " + why.lines().findFirst().orElse(why));
            error.set(why);
        }
    }

    // ----- parsing

    private static String text(String s) {
        return s == null ? "" : s.strip();
    }

    private static String plain(Double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString(d.longValue()) : d.toString();
    }

    static double number(String s, String what, String example) {
        String t = text(s);
        if (t.isEmpty()) {
            throw new SqueezeException("The " + what + " is empty", "type a number, e.g. " + example);
        }
        try {
            double v = Double.parseDouble(t);
            if (!Double.isFinite(v)) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new SqueezeException("The " + what + " '" + t + "' is not a number", "type a number, e.g. " + example);
        }
    }

    static int integer(String s, String what, String example) {
        long v = longValue(s, what, example);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new SqueezeException("The " + what + " " + v + " is out of range", "type e.g. " + example);
        }
        return (int) v;
    }

    static long longValue(String s, String what, String example) {
        String t = text(s).replace(",", "").replace("_", "");
        if (t.isEmpty()) {
            throw new SqueezeException("The " + what + " is empty", "type a whole number, e.g. " + example);
        }
        try {
            return Long.parseLong(t);
        } catch (NumberFormatException e) {
            throw new SqueezeException("The " + what + " '" + text(s) + "' is not a whole number",
                    "type a whole number, e.g. " + example);
        }
    }

    private static final Pattern BYTES = Pattern.compile("(?i)([0-9][0-9,_]*(?:\\.[0-9]+)?)\\s*(b|bytes?|kib|kb|mib|mb|gib|gb)?");

    /** Bytes: a whole number, or with a unit (KiB, MiB, GiB are 1024-based; kB, MB, GB 1000-based). */
    static long bytes(String s) {
        String t = text(s);
        Matcher m = BYTES.matcher(t);
        if (t.isEmpty() || !m.matches()) {
            throw new SqueezeException("The budget '" + t + "' is not a size in bytes",
                    "type bytes, e.g. 1500000, 600 KiB or 1.5 MiB");
        }
        double v = Double.parseDouble(m.group(1).replace(",", "").replace("_", ""));
        String unit = m.group(2) == null ? "b" : m.group(2).toLowerCase(Locale.ROOT);
        double scale = switch (unit) {
            case "kib" -> 1024;
            case "kb" -> 1000;
            case "mib" -> 1024.0 * 1024;
            case "mb" -> 1e6;
            case "gib" -> 1024.0 * 1024 * 1024;
            case "gb" -> 1e9;
            default -> 1;
        };
        double total = v * scale;
        if (total > Long.MAX_VALUE / 2) {
            throw new SqueezeException("The budget '" + t + "' is too large", "type a model size in bytes");
        }
        return (long) Math.floor(total);
    }

    private static final Pattern DURATION = Pattern.compile("(?i)(?:(\\d+)\\s*h)?\\s*(?:(\\d+)\\s*m(?:in)?)?\\s*"
            + "(?:(\\d+)\\s*s)?");

    /** A time limit in seconds: {@code 90s}, {@code 10m}, {@code 1h30m}, a plain number of seconds; empty is none (0). */
    static long seconds(String s) {
        String t = text(s);
        if (t.isEmpty() || t.equalsIgnoreCase("none")) {
            return 0;
        }
        if (t.chars().allMatch(Character::isDigit)) {
            return longValue(t, "time limit", "10m");
        }
        Matcher m = DURATION.matcher(t);
        if (!m.matches() || (m.group(1) == null && m.group(2) == null && m.group(3) == null)) {
            throw new SqueezeException("The time limit '" + t + "' is not a duration",
                    "type e.g. 90s, 10m or 1h30m, or leave it empty for none");
        }
        long h = m.group(1) == null ? 0 : Long.parseLong(m.group(1));
        long min = m.group(2) == null ? 0 : Long.parseLong(m.group(2));
        long sec = m.group(3) == null ? 0 : Long.parseLong(m.group(3));
        return h * 3600 + min * 60 + sec;
    }
}
