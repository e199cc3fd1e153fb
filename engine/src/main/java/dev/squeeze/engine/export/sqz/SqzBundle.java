package dev.squeeze.engine.export.sqz;

import com.fasterxml.jackson.databind.JsonNode;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.store.StoredRun;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A {@code .sqz} bundle as read by {@link Sqz#read}: every section's checksum was verified and every compressed
 * layer decoded once through its checking factory when it was opened. Compressed layers are decoded again on
 * demand ({@link #layer}), so an open bundle holds only its file mapping, not the model.
 */
public final class SqzBundle {
    /** The base model as the bundle identifies it. */
    public record BaseModel(String name, String source, String format, String architecture, String contentHash,
                            long parameters, long storedBytes, Map<String, String> metadata) {
        public BaseModel {
            metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        }
    }

    /** One layer's stored entry: where its bytes are and how to decode them. */
    record LayerEntry(String layer, String kind, JsonNode attrs, MethodSettings settings, MemorySegment payload) {
    }

    /** One tensor of the model in file order: a dense section or a compressed layer. */
    record TensorEntry(String name, String dtype, int groupSize, long[] shape, MemorySegment dense, String layer) {
    }

    private final Path file;
    private final int version;
    private final String label;
    private final Long runId;
    private final BaseModel base;
    private final String planJson;
    private final StoredRun run;
    private final List<RunRecord.Metric> metrics;
    private final List<RunRecord.LayerResult> layerResults;
    private final Map<String, byte[]> tokenizerFiles;
    private final Map<String, LayerEntry> layers;
    private final List<TensorEntry> tensors;
    private final String contentHash;
    private Model model;

    SqzBundle(Path file, int version, String label, Long runId, BaseModel base, String planJson, StoredRun run,
              List<RunRecord.Metric> metrics, List<RunRecord.LayerResult> layerResults,
              Map<String, byte[]> tokenizerFiles, Map<String, LayerEntry> layers, List<TensorEntry> tensors,
              String contentHash) {
        this.file = file;
        this.version = version;
        this.label = label;
        this.runId = runId;
        this.base = base;
        this.planJson = planJson;
        this.run = run;
        this.metrics = List.copyOf(metrics);
        this.layerResults = List.copyOf(layerResults);
        this.tokenizerFiles = Collections.unmodifiableMap(tokenizerFiles);
        this.layers = Collections.unmodifiableMap(layers);
        this.tensors = List.copyOf(tensors);
        this.contentHash = contentHash;
    }

    public Path file() {
        return file;
    }

    /** The format version the file was written in. */
    public int version() {
        return version;
    }

    /** What the bundle came from, e.g. {@code run 12: GPTQ 4-bit g32}. */
    public String label() {
        return label;
    }

    /** The stored run it was exported from, if any (its id in the database it came from). */
    public Optional<Long> runId() {
        return Optional.ofNullable(runId);
    }

    public BaseModel base() {
        return base;
    }

    /** The run's plan, canonical JSON; empty when the bundle has no run. */
    public Optional<String> planJson() {
        return Optional.ofNullable(planJson);
    }

    /** The run as it was stored: summary, provenance, data sets, seed, tags. */
    public Optional<StoredRun> run() {
        return Optional.ofNullable(run);
    }

    /** The metrics stored with the run. */
    public List<RunRecord.Metric> metrics() {
        return metrics;
    }

    /** The per-layer results stored with the run. */
    public List<RunRecord.LayerResult> layerResults() {
        return layerResults;
    }

    /** Tokenizer file name → bytes. */
    public Map<String, byte[]> tokenizerFiles() {
        return tokenizerFiles;
    }

    /** The compressed layers' names, in file order. */
    public List<String> compressedLayers() {
        return List.copyOf(layers.keySet());
    }

    /** The settings layer {@code layer} was compressed with. */
    public MethodSettings settings(String layer) {
        return entry(layer).settings();
    }

    /** Layer {@code layer}'s compressed tensor, decoded from its packed form. */
    public CompressedTensor layer(String layer) {
        return Sqz.decode(this, entry(layer));
    }

    /** Every compressed layer, decoded, in file order. */
    public Map<String, CompressedTensor> compressed() {
        Map<String, CompressedTensor> out = new LinkedHashMap<>();
        for (String l : layers.keySet()) {
            out.put(l, layer(l));
        }
        return out;
    }

    /** SHA-256 of the bundle file. */
    public String contentHash() {
        return contentHash;
    }

    /**
     * The model as the compressed run has it: the stored tensors read in place from the bundle, each compressed
     * layer's weight dequantized to float32 (the values the run computed with), its stored size and form recorded
     * under {@code squeeze.stored_bytes.*}/{@code squeeze.stored_format.*} so inventories show the packed size.
     */
    public synchronized Model model() {
        if (model == null) {
            model = Sqz.view(this);
        }
        return model;
    }

    private LayerEntry entry(String layer) {
        LayerEntry e = layers.get(layer);
        if (e == null) {
            throw new SqueezeException("Bundle " + file + " has no compressed layer '" + layer + "'",
                    "use one of " + layers.keySet());
        }
        return e;
    }

    List<TensorEntry> tensorEntries() {
        return tensors;
    }

    Map<String, LayerEntry> layerEntries() {
        return layers;
    }
}
