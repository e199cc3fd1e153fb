package dev.squeeze.app.runs;

import dev.squeeze.engine.eval.MetricKind;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.app.models.Bytes;
import dev.squeeze.app.pareto.Metrics;
import dev.squeeze.app.workbench.TaskExecutor;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.store.RunSummary;
import dev.squeeze.engine.store.StoredRun;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * One stored run as its detail view shows it: the plan it ran (pretty JSON), its metrics, provenance and tags, and
 * what each layer got (method, settings, bits, reconstruction error, time). Loaded off the FX thread.
 */
public final class RunDetailViewModel {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A metric as the detail's table shows it. */
    public record MetricRow(String name, String split, double value, String text) {
    }

    /** A line of the provenance table: what and its value. */
    public record Fact(String name, String value) {
    }

    /** Everything the detail view shows. */
    public record Detail(StoredRun run, String planPretty, List<MetricRow> metrics,
                         List<RunRecord.LayerResult> layers, List<Fact> facts) {
        public Detail {
            metrics = List.copyOf(metrics);
            layers = List.copyOf(layers);
            facts = List.copyOf(facts);
        }

        public RunSummary summary() {
            return run.summary();
        }

        /** The plan as stored (the canonical JSON "plan from this run" starts from). */
        public String planJson() {
            return run.planJson();
        }

        /** The value of one fact, or null. */
        public String fact(String name) {
            return facts.stream().filter(f -> f.name().equals(name)).map(Fact::value).findFirst().orElse(null);
        }
    }

    private final TaskExecutor executor;
    private final Supplier<ResultsStore> store;
    private final ReadOnlyObjectWrapper<Detail> detail = new ReadOnlyObjectWrapper<>();
    private final StringProperty title = new SimpleStringProperty("Run");
    private final StringProperty error = new SimpleStringProperty();

    public RunDetailViewModel(TaskExecutor executor, Supplier<ResultsStore> store) {
        this.executor = executor;
        this.store = store;
    }

    /** Reads run {@code runId}; {@link #detail()} or {@link #error()} then says what was found. */
    public void load(long runId) {
        title.set("Run " + runId + " (loading…)");
        executor.submit(() -> read(runId), d -> {
            detail.set(d);
            RunSummary s = d.summary();
            title.set("Run " + s.id() + " — " + s.label() + " (" + s.modelName() + ")");
        }, message -> {
            title.set("Run " + runId);
            error.set(message);
        });
    }

    private Detail read(long runId) {
        ResultsStore s = store.get();
        if (s == null) {
            throw new SqueezeException("Run " + runId + " cannot be shown: there is no results database",
                    "open or create one in the settings, then run the plan again");
        }
        StoredRun run = s.run(runId).orElseThrow(() -> new SqueezeException(
                "Run " + runId + " is not in the results database " + s.location() + " (deleted meanwhile?)",
                "reload the runs list"));
        List<MetricRow> metrics = s.metrics(runId).stream()
                .map(m -> new MetricRow(m.name(), m.split(), m.value(), text(m))).toList();
        return new Detail(run, pretty(run.planJson()), metrics, s.layerResults(runId), facts(run));
    }

    private static String text(RunRecord.Metric m) {
        return MetricKind.higherIsBetter(m.name()).isPresent() ? Metrics.format(m.name(), m.value())
                : m.value() == Math.rint(m.value()) && Math.abs(m.value()) < 1e15
                ? String.format(Locale.ROOT, "%,d", (long) m.value()) : String.format(Locale.ROOT, "%.6g", m.value());
    }

    /** The plan indented for reading; as stored when it is not JSON (it always is, unless the row was edited). */
    static String pretty(String json) {
        if (json == null || json.isBlank()) {
            return "(no plan stored)";
        }
        try {
            JsonNode tree = JSON.readTree(json);
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(tree);
        } catch (JsonProcessingException e) {
            return json;
        }
    }

    private static List<Fact> facts(StoredRun r) {
        RunSummary s = r.summary();
        List<Fact> f = new ArrayList<>();
        f.add(new Fact("Run", "#" + s.id() + " " + s.label()));
        f.add(new Fact("Plan", r.planDescription()));
        f.add(new Fact("Model", s.modelName() + " (" + s.modelHash() + ")"));
        f.add(new Fact("Method family", s.methodFamily()));
        f.add(new Fact("Baseline", s.baseline() ? "yes (no layer compressed)" : "no"));
        f.add(new Fact("Status", s.status()));
        f.add(new Fact("Size", Bytes.human(s.sizeBytes()) + String.format(Locale.ROOT, " (%,d bytes)", s.sizeBytes())));
        f.add(new Fact("Size of the model in fp16", Bytes.human(s.fp16Bytes())
                + (s.fp16Bytes() > 0 ? String.format(Locale.ROOT, "; this run is %.1f %% of it",
                100.0 * s.sizeBytes() / s.fp16Bytes()) : "")));
        f.add(new Fact("Bits per weight", s.bitsPerWeight() == null ? "— (no layer compressed)"
                : String.format(Locale.ROOT, "%.3f over the compressed layers", s.bitsPerWeight())));
        f.add(new Fact("Started", String.valueOf(r.startedAt())));
        f.add(new Fact("Finished", s.finishedAt() == null ? "—" : s.finishedAt().toString()));
        f.add(new Fact("Duration", duration(r.startedAt(), s.finishedAt())));
        f.add(new Fact("Seed", Long.toString(r.seed())));
        f.add(new Fact("Evaluated on", dataset(r.evaluation())));
        f.add(new Fact("Calibrated on", r.calibration() == null ? "— (data-free or dense)" : dataset(r.calibration())));
        f.add(new Fact("Tags", r.tags().isEmpty() ? "—" : String.join(", ", r.tags())));
        f.add(new Fact("Job", r.jobId() == null ? "— (run in the calling process)" : "#" + r.jobId()));
        f.add(new Fact("Squeeze version", r.provenance().squeezeVersion()));
        f.add(new Fact("Git commit", r.provenance().gitCommit()));
        f.add(new Fact("Host", r.provenance().host()));
        f.add(new Fact("Java", r.provenance().javaVersion()));
        f.add(new Fact("Kernel backend", r.provenance().kernelBackend()));
        f.add(new Fact("Op backends", r.provenance().backends().isEmpty() ? "— (not recorded)" : r.provenance().backends()));
        f.add(new Fact("CPU", r.provenance().cpu().isEmpty() ? "— (not recorded)" : r.provenance().cpu()));
        return f;
    }

    private static String dataset(RunRecord.DatasetRecord d) {
        return d.name() + " (" + d.split() + ", " + String.format(Locale.ROOT, "%,d", d.items()) + " items; "
                + d.source() + "; sha256 " + d.contentHash() + ")";
    }

    private static String duration(Instant start, Instant end) {
        if (start == null || end == null) {
            return "—";
        }
        Duration d = Duration.between(start, end);
        if (d.toSeconds() < 60) {
            return String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
        }
        return String.format(Locale.ROOT, "%d min %02d s", d.toMinutes(), d.toSecondsPart());
    }

    /** Where a finished export is announced. */
    public void setAnnounce(java.util.function.Consumer<String> announce) {
        this.announce = announce;
    }

    private java.util.function.Consumer<String> announce = text -> { };

    /** An export of the loaded run, on an executor of its own (it may recompute the run for minutes). */
    public dev.squeeze.app.export.ExportViewModel exporter() {
        Detail d = detail.get();
        if (d == null) {
            throw new IllegalStateException("no run loaded");
        }
        var e = new dev.squeeze.app.export.ExportViewModel(executor, executor.dedicated("squeeze-export"), store,
                announce);
        e.load(d.summary().id());
        return e;
    }

    /** The run once loaded, or null. */
    public ReadOnlyObjectProperty<Detail> detail() {
        return detail.getReadOnlyProperty();
    }

    public StringProperty title() {
        return title;
    }

    /** Why the run could not be shown, or null. */
    public StringProperty error() {
        return error;
    }
}
