package dev.squeeze.engine.export.sqz;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.export.CompressedModel;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.hf.HfModelFormat;
import dev.squeeze.engine.model.llama2c.Llama2cFormat;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.store.StoredRun;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a {@code .sqz} bundle holds.
 *
 * @param model          the base model with the run's compressed layers
 * @param run            the stored run (plan, provenance, data sets, summary); null for a bundle of a model without
 *                       a run, which then has no plan or metrics and cannot be re-evaluated against anything
 * @param metrics        the run's metrics ({@code ResultsStore.metrics(runId)}); empty without a run
 * @param layers         the run's per-layer results ({@code ResultsStore.layerResults(runId)}); empty without a run
 * @param tokenizerFiles file name → bytes of the tokenizer files the model is evaluated with ({@code tok512.bin};
 *                       {@code tokenizer.json}, {@code tokenizer_config.json}, {@code config.json}); empty for
 *                       classifiers
 */
public record SqzContents(CompressedModel model, StoredRun run, List<RunRecord.Metric> metrics,
                          List<RunRecord.LayerResult> layers, Map<String, byte[]> tokenizerFiles) {
    public SqzContents {
        metrics = List.copyOf(metrics);
        layers = List.copyOf(layers);
        tokenizerFiles = Collections.unmodifiableMap(new LinkedHashMap<>(tokenizerFiles));
    }

    /** The contents for a stored run, with the tokenizer files found beside the base model (see {@link #tokenizerFilesBeside}). */
    public static SqzContents of(CompressedModel model, StoredRun run, List<RunRecord.Metric> metrics,
                                 List<RunRecord.LayerResult> layers) {
        return new SqzContents(model, run, metrics, layers, tokenizerFilesBeside(model.base()));
    }

    /**
     * The tokenizer files of a language model as the evaluation finds them beside it: llama2.c's
     * {@code tok<vocab>.bin} (else {@code tokenizer.bin}); for a Hugging Face folder {@code tokenizer.json} with
     * {@code tokenizer_config.json} and {@code config.json} when present (they name BOS and EOS); a bundle's own
     * tokenizer files. Empty for other models.
     */
    public static Map<String, byte[]> tokenizerFilesBeside(Model model) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        if (!LlamaConfig.ARCHITECTURE.equals(model.architecture()) || model.source().startsWith("builtin:")) {
            return out;
        }
        if (Sqz.FORMAT.equals(model.format())) {
            return new LinkedHashMap<>(Sqz.read(Path.of(model.source())).tokenizerFiles()); // a bundle carries its own
        }
        Path source = Path.of(model.source());
        Path dir = Files.isDirectory(source) ? source : source.getParent();
        if (dir == null) {
            return out;
        }
        List<String> names;
        if (Llama2cFormat.NAME.equals(model.format())) {
            int vocab = LlamaConfig.fromMetadata(model).vocabSize();
            String first = "tok" + vocab + ".bin";
            names = Files.isRegularFile(dir.resolve(first)) ? List.of(first) : List.of("tokenizer.bin");
        } else if (HfModelFormat.NAME.equals(model.format())) {
            names = List.of("tokenizer.json", "tokenizer_config.json", "config.json");
        } else {
            return out;
        }
        for (String n : names) {
            Path p = dir.resolve(n);
            if (Files.isRegularFile(p)) {
                try {
                    out.put(n, Files.readAllBytes(p));
                } catch (IOException e) {
                    throw new SqueezeException("Cannot read tokenizer file " + p + ": " + e.getMessage(),
                            "check that the file is readable", e);
                }
            }
        }
        return out;
    }
}
