package dev.squeeze.app.pareto;

import dev.squeeze.engine.store.Provenance;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Builds runs as a finished job records them, for view-model tests on {@link ResultsStore#inMemory()}. */
public final class StoredRuns {
    public static final String A = "a".repeat(64);
    public static final String B = "b".repeat(64);
    public static final Instant NOV_27 = Instant.parse("2026-11-27T10:00:00Z");
    public static final Instant NOV_01 = Instant.parse("2026-11-01T10:00:00Z");

    private final ResultsStore store;
    private String model = A;
    private String label;
    private long size;
    private long fp16 = 200;
    private Double bpw;
    private final List<RunRecord.LayerResult> layers = new ArrayList<>();
    private final List<RunRecord.Metric> metrics = new ArrayList<>();
    private final List<String> tags = new ArrayList<>();
    private Instant finished = NOV_27;
    private String plan = "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4}}";
    private String search = "";

    private StoredRuns(ResultsStore store, String label) {
        this.store = store;
        this.label = label;
    }

    /** A run of model A labelled {@code label}, of {@code size} bytes (fp16 size 200). */
    public static StoredRuns run(ResultsStore store, String label, long size) {
        StoredRuns r = new StoredRuns(store, label);
        r.size = size;
        return r;
    }

    public StoredRuns model(String hash) {
        this.model = hash;
        return this;
    }

    public StoredRuns fp16(long bytes) {
        this.fp16 = bytes;
        return this;
    }

    public StoredRuns bpw(double bits) {
        this.bpw = bits;
        return this;
    }

    /** A compressed layer. */
    public StoredRuns layer(String name, String method, String settings, long storedBits, double bitsPerWeight,
                            Double error) {
        layers.add(new RunRecord.LayerResult(name, method, settings, storedBits, bitsPerWeight, error, 12));
        return this;
    }

    public StoredRuns metric(String name, double value) {
        metrics.add(new RunRecord.Metric(name, "evaluation", value));
        return this;
    }

    public StoredRuns metric(String name, String split, double value) {
        metrics.add(new RunRecord.Metric(name, split, value));
        return this;
    }

    public StoredRuns top1(double value) {
        return metric("top1", value);
    }

    public StoredRuns tag(String tag) {
        tags.add(tag);
        return this;
    }

    public StoredRuns finished(Instant at) {
        this.finished = at;
        return this;
    }

    /** A run a search made: its provenance records {@code description}. */
    public StoredRuns search(String description) {
        this.search = description;
        return this;
    }

    public StoredRuns plan(String json) {
        this.plan = json;
        return this;
    }

    /** Stores the run; returns its id. */
    public long store() {
        String name = model.equals(A) ? "mlp-a" : "mlp-b";
        RunRecord r = new RunRecord(
                new RunRecord.ModelRecord(model, name, "/models/" + name, "safetensors", "mlp", 100, 400),
                new RunRecord.DatasetRecord("eval", "/data/eval", "e".repeat(64), "evaluation", 10),
                plan, "plan of " + label, label, finished.minusSeconds(3), finished, 42,
                new Provenance("0.1.0", "abc123", "host-1", "25", "java",
                        "gemm=java-vector-512 ×2 threads, cholesky=java, trinv=java, eigen=nd4j-openblas,"
                                + " packed=unused, sparse=unused",
                        "Test CPU; 2 logical CPUs; avx2 fma", search), size, fp16, bpw, layers, metrics,
                null, tags, null);
        return store.recordRun(r);
    }
}
