package dev.squeeze.app.plan;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.app.models.Bytes;
import dev.squeeze.app.workbench.TaskExecutor;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.LayerRole;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.plan.PlanCheck;
import dev.squeeze.engine.plan.PlanEstimate;
import dev.squeeze.engine.plan.Presets;
import dev.squeeze.engine.plan.SettingsJson;
import dev.squeeze.engine.util.AtomicFiles;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The plan editor: one {@link PlanRow} per layer of the open model, edited per cell, in bulk (selected rows,
 * a regex on names, a role), from presets or from a plan file; every edit can be undone. The rows' problems are
 * the engine's ({@link PlanCheck}); a plan with problems cannot be launched. The size summary
 * ({@link PlanEstimate}) is computed on the executor, one computation at a time: edits made while one runs are
 * folded into the next.
 */
public final class PlanEditorViewModel {
    /** Edits kept for undo. */
    static final int UNDO_LIMIT = 500;

    /** One undoable change: the rows it touched and their settings before and after. */
    private record Edit(String what, int[] rows, MethodSettings[] before, MethodSettings[] after) {
    }

    private final TaskExecutor executor;
    private final ObservableList<PlanRow> rows = FXCollections.observableArrayList();
    private final ObservableList<Presets.Offer> presets = FXCollections.observableArrayList();
    private final ObservableList<PlanCheck.Problem> problems = FXCollections.observableArrayList();
    private final ReadOnlyObjectWrapper<PlanEstimate.Summary> summary = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyStringWrapper summaryText = new ReadOnlyStringWrapper("No model");
    private final ReadOnlyStringWrapper problemsText = new ReadOnlyStringWrapper("");
    private final ReadOnlyStringWrapper error = new ReadOnlyStringWrapper();
    private final ReadOnlyStringWrapper notice = new ReadOnlyStringWrapper();
    private final ReadOnlyBooleanWrapper launchable = new ReadOnlyBooleanWrapper(false);
    private final ReadOnlyBooleanWrapper canUndo = new ReadOnlyBooleanWrapper(false);
    private final ReadOnlyBooleanWrapper canRedo = new ReadOnlyBooleanWrapper(false);
    private final ReadOnlyStringWrapper undoText = new ReadOnlyStringWrapper("");
    private final ReadOnlyStringWrapper redoText = new ReadOnlyStringWrapper("");
    private final Deque<Edit> undo = new ArrayDeque<>();
    private final Deque<Edit> redo = new ArrayDeque<>();
    private final Map<PlanRow, Integer> index = new HashMap<>();
    private final javafx.beans.property.ObjectProperty<dev.squeeze.app.search.SensitivityTable> sensitivity =
            new javafx.beans.property.SimpleObjectProperty<>(dev.squeeze.app.search.SensitivityTable.EMPTY);

    private Model model;
    private long fileBytes;
    private long fp16Bytes;
    private BiConsumer<String, String> onLaunch;
    private String lastFieldEdit;
    private java.util.Set<PlanRow> lastFieldRows;
    private boolean mergeNext;
    private boolean inFieldEdit;
    private long generation;
    private boolean computing;
    private int summaries;

    public PlanEditorViewModel(TaskExecutor executor) {
        this.executor = Objects.requireNonNull(executor, "executor");
    }

    // ----- what the view binds to

    /** The rows, one per layer of the open model, in model order. */
    public ObservableList<PlanRow> rows() {
        return rows;
    }

    /** The presets offered for the open model; those that do not fit it carry their problems. */
    public ObservableList<Presets.Offer> presets() {
        return presets;
    }

    /** Every problem of the current plan (row problems in model order, then the plan's own). */
    public ObservableList<PlanCheck.Problem> problems() {
        return problems;
    }

    /** The size summary of the current plan; null until the first computation ends. */
    public ReadOnlyObjectProperty<PlanEstimate.Summary> summary() {
        return summary.getReadOnlyProperty();
    }

    /** The summary in words: bits per weight over the compressed linears, model bytes against fp16 and the file. */
    public ReadOnlyStringProperty summaryText() {
        return summaryText.getReadOnlyProperty();
    }

    /** "No problems", or how many and the first. */
    public ReadOnlyStringProperty problemsText() {
        return problemsText.getReadOnlyProperty();
    }

    /** The last error (a bad value typed, a plan file that does not read), or null. */
    public ReadOnlyStringProperty error() {
        return error.getReadOnlyProperty();
    }

    /** The last notice for people (what a loaded plan left out, that a job was queued), or null. */
    public ReadOnlyStringProperty notice() {
        return notice.getReadOnlyProperty();
    }

    /** Whether the plan can be launched: a model is open, the plan compresses something and nothing is wrong. */
    public ReadOnlyBooleanProperty launchable() {
        return launchable.getReadOnlyProperty();
    }

    public ReadOnlyBooleanProperty canUndo() {
        return canUndo.getReadOnlyProperty();
    }

    public ReadOnlyBooleanProperty canRedo() {
        return canRedo.getReadOnlyProperty();
    }

    /** What undo would undo, e.g. "Undo bits = 4 on 3 layers"; empty when nothing. */
    public ReadOnlyStringProperty undoText() {
        return undoText.getReadOnlyProperty();
    }

    public ReadOnlyStringProperty redoText() {
        return redoText.getReadOnlyProperty();
    }

    /**
     * The open model's per-layer sensitivity (the workbench binds it to its sensitivity view-model); the
     * sensitivity column shows {@link #sensitivityOf} from it.
     */
    public javafx.beans.property.ObjectProperty<dev.squeeze.app.search.SensitivityTable> sensitivity() {
        return sensitivity;
    }

    /**
     * The ΔKL of the row's current setting (looked up by layer and {@code Level.keyOf(settings)}), or null when it
     * was not measured.
     */
    public Double sensitivityOf(PlanRow r) {
        dev.squeeze.app.search.SensitivityTable t = sensitivity.get();
        if (t == null || t.isEmpty()) {
            return null;
        }
        String key;
        try {
            key = dev.squeeze.engine.search.Level.keyOf(r.current());
        } catch (RuntimeException e) {
            return null; // settings that do not write as JSON are no measured level
        }
        return t.deltaKl(r.name(), key);
    }

    /** The open model, or null. */
    public Model model() {
        return model;
    }

    /** How many summary computations have finished (tests observe the coalescing of edits with it). */
    int summariesComputed() {
        return summaries;
    }

    /** What launching does: the workbench queues a job, {@code (label, canonical plan JSON)}. */
    public void setOnLaunch(BiConsumer<String, String> onLaunch) {
        this.onLaunch = onLaunch;
    }

    public void clearError() {
        error.set(null);
    }

    // ----- model

    /** Shows a model: every layer as stored (nothing compressed yet), the presets offered for it. */
    public void show(Model model) {
        this.model = Objects.requireNonNull(model, "model");
        boolean calibration = PlanCheck.hasCalibration(model);
        List<PlanRow> list = new ArrayList<>();
        index.clear();
        fileBytes = model.storedBytes();
        fp16Bytes = model.parameterCount() * 2;
        for (LayerInfo l : model.layers()) {
            PlanRow r = new PlanRow(l, PlanEstimate.weightFileBytes(model, l), calibration, null);
            index.put(r, list.size());
            list.add(r);
        }
        undo.clear();
        redo.clear();
        error.set(null);
        notice.set(null);
        rows.setAll(list);
        presets.clear();
        // Offering a preset validates it on every layer: off the FX thread (a 7B model has hundreds of layers).
        executor.submit(() -> Presets.offeredFor(model), offers -> {
            if (this.model == model) {
                presets.setAll(offers);
            }
        }, error::set);
        changed();
    }

    // ----- selecting rows

    /** The rows whose whole name matches {@code regex}; an invalid pattern is an error and selects nothing. */
    public List<PlanRow> rowsMatching(String regex) {
        Pattern p;
        try {
            p = Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            error.set("The pattern '" + regex + "' is not a valid regular expression: " + e.getDescription()
                    + " at index " + e.getIndex() + ". Fix the pattern, e.g. .*\\.mlp\\..*");
            return List.of();
        }
        return rows.stream().filter(r -> p.matcher(r.name()).matches()).toList();
    }

    /**
     * The role groups of the open model for bulk selection: each role present ({@code mlp_down}) and, where the
     * model has several, the families {@code attn_*} and {@code mlp_*}.
     */
    public List<String> roleGroups() {
        Set<LayerRole> present = new LinkedHashSet<>();
        rows.forEach(r -> present.add(r.layer().role()));
        List<String> out = new ArrayList<>();
        for (String family : List.of("attn_", "mlp_")) {
            if (present.stream().filter(r -> roleName(r).startsWith(family)).count() > 1) {
                out.add(family + "*");
            }
        }
        present.forEach(r -> out.add(roleName(r)));
        return out;
    }

    /** The rows of a role group ({@code mlp_down}, {@code attn_*}). */
    public List<PlanRow> rowsWithRole(String group) {
        String g = group.toLowerCase(Locale.ROOT);
        return rows.stream().filter(r -> {
            String n = roleName(r.layer().role());
            return g.endsWith("*") ? n.startsWith(g.substring(0, g.length() - 1)) : n.equals(g);
        }).toList();
    }

    static String roleName(LayerRole role) {
        return role.name().toLowerCase(Locale.ROOT);
    }

    // ----- edits (all undoable)

    /** Gives {@code targets} the method {@code choice}, carrying bits, group size and the like over. */
    public void setMethod(List<PlanRow> targets, String choice) {
        if (!SettingsFields.METHODS.contains(choice)) {
            error.set("'" + choice + "' is not a method; choose one of " + String.join(", ", SettingsFields.METHODS));
            return;
        }
        Map<PlanRow, MethodSettings> changes = new LinkedHashMap<>();
        for (PlanRow r : targets) {
            if (!r.method().equals(choice)) {
                changes.put(r, SettingsFields.switchTo(choice, r.current(), r.layer()));
            }
        }
        apply("method = " + choice, changes);
    }

    /** Keeps {@code targets} as stored. */
    public void keepDense(List<PlanRow> targets) {
        setMethod(targets, SettingsFields.DENSE);
    }

    /**
     * Sets a column ({@link SettingsFields#COLUMNS}) from typed text on every target the column applies to. Text
     * that is not a value is an error and changes nothing; a value out of range is applied and marked.
     */
    public void setColumn(List<PlanRow> targets, String column, String text) {
        Map<PlanRow, MethodSettings> changes = new LinkedHashMap<>();
        int skipped = 0;
        for (PlanRow r : targets) {
            if (SettingsFields.component(r.current(), column) == null) {
                skipped++;
                continue;
            }
            try {
                changes.put(r, SettingsFields.withText(r.current(), column, text));
            } catch (IllegalArgumentException e) {
                error.set("Layer " + r.name() + ": " + e.getMessage() + "; nothing was changed");
                return;
            }
        }
        if (changes.isEmpty() && !targets.isEmpty()) {
            error.set("'" + column + "' does not apply to the " + (targets.size() == 1 ? "layer's method ("
                    + targets.getFirst().method() + ")" : "selected layers' methods")
                    + "; choose a method that has it first");
            return;
        }
        if (skipped > 0) {
            notice.set(column + " set on " + changes.size() + " layers; " + skipped + " have no " + column);
        }
        apply(column + " = " + text.trim(), changes);
    }

    /**
     * Sets one field of the settings records (the side panel's properties) on every target whose settings have
     * it and whose method is the same as the first target's.
     */
    public void setField(List<PlanRow> targets, String field, Object value) {
        if (targets.isEmpty() || targets.getFirst().current() == null) {
            return;
        }
        Class<?> type = targets.getFirst().current().getClass();
        Map<PlanRow, MethodSettings> changes = new LinkedHashMap<>();
        for (PlanRow r : targets) {
            if (r.current() != null && r.current().getClass() == type) {
                try {
                    changes.put(r, SettingsFields.with(r.current(), field, value));
                } catch (IllegalArgumentException e) {
                    error.set("Layer " + r.name() + ": " + e.getMessage() + "; nothing was changed");
                    return;
                }
            }
        }
        // Typing "0.05" into the side panel sets 0, 0.0 and 0.05 in turn: one field on the same rows in a row is one
        // edit for undo.
        mergeNext = ("field:" + field).equals(lastFieldEdit) && changes.keySet().equals(lastFieldRows);
        lastFieldEdit = "field:" + field;
        lastFieldRows = changes.keySet();
        inFieldEdit = true;
        apply(field + " = " + value, changes);
        inFieldEdit = false;
        mergeNext = false;
    }

    /** Loads an offered preset into the editor (every row); what was adapted to the model is noted. */
    public void applyPreset(Presets.Offer offer) {
        if (model == null) {
            error.set("Open a model first");
            return;
        }
        load(offer.plan(), "preset " + offer.preset().name());
        if (offer.note() != null) {
            notice.set("Preset " + offer.preset().name() + ": " + offer.note());
        }
    }

    /** Loads the plan of {@code json} (e.g. a stored run's plan) into the editor; a bad plan is an error. */
    public void loadPlanJson(String json) {
        if (model == null) {
            error.set("Open a model first: a plan is loaded onto the open model's layers");
            return;
        }
        CompressionPlan plan;
        try {
            plan = CompressionPlan.parse(json);
        } catch (SqueezeException e) {
            error.set(e.getMessage());
            return;
        }
        load(plan, "load plan");
    }

    private void load(CompressionPlan plan, String what) {
        PlanCheck.Assigned a = PlanCheck.assign(plan, model);
        Map<PlanRow, MethodSettings> changes = new LinkedHashMap<>();
        for (PlanRow r : rows) {
            changes.put(r, a.settings().get(r.name()));
        }
        error.set(null);
        notice.set(a.problems().isEmpty() ? null : "Left out of the plan (" + a.problems().size() + "): "
                + String.join("; ", a.problems().stream().map(PlanCheck.Problem::message).toList()));
        apply(what, changes);
    }

    /** Reads a plan file in the background and loads it; errors name the file. */
    public void loadPlan(Path file) {
        if (model == null) {
            error.set("Open a model first: a plan is loaded onto the open model's layers");
            return;
        }
        executor.submit(() -> CompressionPlan.read(file), plan -> load(plan, "load " + file.getFileName()), error::set);
    }

    /** Writes the plan as JSON in the background (atomically: a crash leaves the old file or the new one). */
    public void savePlan(Path file) {
        String json;
        try {
            json = planJson();
        } catch (SqueezeException e) {
            error.set("The plan cannot be written: " + e.getMessage());
            return;
        }
        executor.submit(() -> {
            AtomicFiles.write(file, out -> out.write(json.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            return file;
        }, f -> notice.set("Plan saved to " + f), error::set);
    }

    private void apply(String what, Map<PlanRow, MethodSettings> changes) {
        if (!inFieldEdit) {
            lastFieldEdit = null; // another kind of edit in between: the next field value is a new step
        }
        List<Integer> idx = new ArrayList<>();
        List<MethodSettings> before = new ArrayList<>();
        List<MethodSettings> after = new ArrayList<>();
        changes.forEach((r, s) -> {
            Integer i = index.get(r);
            if (i != null && !Objects.equals(r.current(), s)) {
                idx.add(i);
                before.add(r.current());
                after.add(s);
            }
        });
        if (idx.isEmpty()) {
            return;
        }
        String label = what + (idx.size() == 1 ? " on " + rows.get(idx.getFirst()).name() : " on " + idx.size() + " layers");
        Edit e = new Edit(label, idx.stream().mapToInt(Integer::intValue).toArray(),
                before.toArray(MethodSettings[]::new), after.toArray(MethodSettings[]::new));
        Edit top = undo.peek();
        if (mergeNext && top != null && java.util.Arrays.equals(top.rows(), e.rows())) {
            undo.pop();
            e = new Edit(e.what(), e.rows(), top.before(), e.after());
        }
        undo.push(e);
        if (undo.size() > UNDO_LIMIT) {
            undo.removeLast();
        }
        redo.clear();
        set(e.rows(), e.after());
    }

    public void undo() {
        lastFieldEdit = null;
        Edit e = undo.poll();
        if (e != null) {
            redo.push(e);
            set(e.rows(), e.before());
        }
    }

    public void redo() {
        lastFieldEdit = null;
        Edit e = redo.poll();
        if (e != null) {
            undo.push(e);
            set(e.rows(), e.after());
        }
    }

    private void set(int[] idx, MethodSettings[] values) {
        for (int i = 0; i < idx.length; i++) {
            rows.get(idx[i]).set(values[i]);
        }
        changed();
    }

    // ----- the plan

    /**
     * The plan the rows make: the settings most compressible layers share as defaults, and an exact-name
     * override for every layer that differs from them (a compressible layer kept dense gets
     * {@code "method": "none"}).
     */
    public CompressionPlan buildPlan() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode root = f.objectNode().put("schema", CompressionPlan.SCHEMA);
        Map<MethodSettings, Integer> counts = new HashMap<>();
        MethodSettings defaults = null;
        int best = 0;
        int dense = 0;
        for (PlanRow r : rows) {
            if (!r.compressible()) {
                continue;
            }
            if (r.current() == null) {
                dense++;
                continue;
            }
            int c = counts.merge(r.current(), 1, Integer::sum);
            if (c > best) {
                best = c;
                defaults = r.current();
            }
        }
        if (best <= dense) {
            defaults = null;
        }
        if (defaults != null) {
            root.set("defaults", SettingsJson.write(defaults));
        }
        ArrayNode overrides = f.arrayNode();
        for (PlanRow r : rows) {
            MethodSettings expected = r.compressible() ? defaults : null;
            if (!Objects.equals(expected, r.current())) {
                ObjectNode o = f.objectNode().put("layer", r.name());
                o.setAll(SettingsJson.write(r.current()));
                overrides.add(o);
            }
        }
        if (!overrides.isEmpty()) {
            root.set("overrides", overrides);
        }
        return CompressionPlan.of(root);
    }

    /** The plan's canonical JSON (what a job stores). */
    public String planJson() {
        return buildPlan().canonicalJson();
    }

    /** Hands the plan to the launch callback under {@code label}; refused while the plan has problems. */
    public void launch(String label) {
        if (!launchable.get()) {
            error.set(model == null ? "Open a model first"
                    : "The plan cannot be launched: " + problemsText.get() + ". Correct the marked cells first");
            return;
        }
        if (onLaunch == null) {
            error.set("Launching is not available here");
            return;
        }
        String l = label == null || label.isBlank() ? defaultLabel() : label.trim();
        String json;
        try {
            json = planJson();
        } catch (SqueezeException e) {
            error.set(e.getMessage());
            return;
        }
        onLaunch.accept(l, json);
        notice.set("Queued '" + l + "'");
    }

    /** A label from the plan's methods, e.g. {@code editor rtn 4-bit ×3}. */
    public String defaultLabel() {
        Map<String, Integer> by = new LinkedHashMap<>();
        for (PlanRow r : rows) {
            if (r.current() != null) {
                by.merge(r.current().describe(), 1, Integer::sum);
            }
        }
        if (by.isEmpty()) {
            return "editor plan";
        }
        var top = by.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow();
        return "editor: " + top.getKey() + (by.size() > 1 ? " + " + (by.size() - 1) + " more" : "");
    }

    // ----- derived state

    private void changed() {
        List<PlanCheck.Problem> list = new ArrayList<>();
        boolean any = false;
        for (PlanRow r : rows) {
            if (r.current() != null) {
                any = true;
            }
            if (r.problem().get() != null) {
                list.add(r.problem().get());
            }
        }
        problems.setAll(list);
        // A plan that compresses nothing is not wrong, only not worth a job: a hint, not a problem.
        problemsText.set(!list.isEmpty()
                ? (list.size() == 1 ? "1 problem: " + list.getFirst().message()
                        : list.size() + " problems; first: " + list.getFirst().message())
                : model != null && !any ? "Nothing to launch yet: the plan compresses no layer of " + model.name()
                        + " (select layers and choose a method, or load a preset)"
                : "No problems");
        launchable.set(model != null && any && list.isEmpty());
        canUndo.set(!undo.isEmpty());
        canRedo.set(!redo.isEmpty());
        undoText.set(undo.isEmpty() ? "" : "Undo " + undo.peek().what());
        redoText.set(redo.isEmpty() ? "" : "Redo " + redo.peek().what());
        scheduleSummary();
    }

    /** Starts a summary computation, or, while one runs, marks that another is needed when it ends. */
    private void scheduleSummary() {
        generation++;
        if (!computing && model != null) {
            startSummary();
        }
    }

    private void startSummary() {
        computing = true;
        long gen = generation;
        Model m = model;
        List<PlanEstimate.LayerSize> sizes = new ArrayList<>();
        boolean exact = true;
        for (PlanRow r : rows) {
            if (r.current() != null && r.layer().shape().length >= 2) {
                sizes.add(r.size());
                exact &= r.estimateExact();
            }
        }
        long file = fileBytes;
        long fp16 = fp16Bytes;
        boolean allExact = exact;
        executor.submit(() -> PlanEstimate.summary(file, fp16, sizes), s -> {
            computing = false;
            summaries++;
            if (gen != generation || m != model) {
                startSummary();
                return;
            }
            summary.set(s);
            summaryText.set(describe(s, allExact));
        }, message -> {
            computing = false;
            error.set(message);
        });
    }

    /** The summary in words. */
    static String describe(PlanEstimate.Summary s, boolean exact) {
        String about = exact ? "" : "≈ ";
        String bpw = s.bitsPerWeight() == null ? "nothing compressed"
                : String.format(Locale.ROOT, "%s%.3f bits/weight over %,d compressed weights", about,
                s.bitsPerWeight(), s.compressedWeights());
        return String.format(Locale.ROOT, "%s · model %s%s = %.3f× fp16 (%s), %.3f× the file (%s)", bpw, about,
                Bytes.human(s.modelBytes()), s.ratioToFp16(), Bytes.human(s.fp16Bytes()), s.ratioToFile(),
                Bytes.human(s.fileBytes()));
    }
}
