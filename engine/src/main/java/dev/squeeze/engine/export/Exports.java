package dev.squeeze.engine.export;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.export.gguf.GgmlType;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.onnx.OnnxModel;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.runs.RunHooks;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.StoredRun;

import java.nio.file.Path;

/**
 * Every export, for the CLI and the workbench alike: a stored run's compressed weights ({@link #exportRun}) or a
 * model as it is ({@link #convert}), in one of the {@link Format}s. A format that cannot hold the model is refused
 * before any work, with the formats that can; a layer the format cannot hold exactly is the format writer's to
 * refuse or to note ({@link ExportReport#notes()}). Every writer writes to a temporary name and moves the result
 * into place when it is complete.
 */
public final class Exports {
    private Exports() {
    }

    /** The formats, with what they are for. */
    public enum Format {
        /** llama.cpp's file: Llama-family models, tensors in F32/F16/Q8_0/Q4_0 (Q4_K). */
        GGUF("gguf", true, false),
        /** A Hugging Face folder, the run dequantized to fp16/bf16/f32 safetensors, with config and tokenizer. */
        HF("hf", true, false),
        /** A Hugging Face folder in the GPTQ layout (qweight, qzeros, scales, g_idx) that transformers, GPTQModel and vLLM load. */
        GPTQ("gptq", true, false),
        /** ONNX with compressed initializers and DequantizeLinear, for classifiers. */
        ONNX("onnx", false, true),
        /** Squeeze's own bundle: packed tensors, plan, provenance, metrics; Llama-family models and MLPs. */
        SQZ("sqz", true, true);

        private final String word;
        private final boolean languageModels;
        private final boolean classifiers;

        Format(String word, boolean languageModels, boolean classifiers) {
            this.word = word;
            this.languageModels = languageModels;
            this.classifiers = classifiers;
        }

        public String word() {
            return word;
        }

        /** The format named {@code word} (any case). */
        public static Format of(String word) {
            for (Format f : values()) {
                if (f.word.equalsIgnoreCase(word)) {
                    return f;
                }
            }
            throw new SqueezeException("Unknown export format '" + word + "'",
                    "give one of gguf, hf, gptq, onnx, sqz");
        }

        /** Whether a model of this architecture can be written in this format. */
        public boolean holds(String architecture) {
            if (this == SQZ && OnnxModel.ARCHITECTURE.equals(architecture)) {
                return false; // a bundle carries tensors, not an ONNX graph
            }
            return LlamaConfig.ARCHITECTURE.equals(architecture) ? languageModels : classifiers;
        }

        /** The file name extension (none for a folder). */
        public String extension() {
            return switch (this) {
                case GGUF -> ".gguf";
                case ONNX -> ".onnx";
                case SQZ -> ".sqz";
                case HF, GPTQ -> "";
            };
        }
    }

    /**
     * Options some formats take.
     *
     * @param ggufType the type of a GGUF's dense weights (a compressed layer keeps its own exact type)
     * @param hfType   the type of a Hugging Face folder's tensors: F16, BF16 or F32
     */
    public record Options(GgmlType ggufType, DType hfType) {
        public static final Options DEFAULTS = new Options(GgmlType.F32, DType.F16);

        public Options {
            if (hfType != DType.F16 && hfType != DType.BF16 && hfType != DType.F32) {
                throw new SqueezeException("A Hugging Face folder cannot hold " + hfType, "give f16, bf16 or f32");
            }
        }
    }

    /** Refuses, before any work, a format that cannot hold a model of this architecture. */
    public static void requireHolds(Format format, String architecture, String what) {
        if (!format.holds(architecture)) {
            String can = java.util.Arrays.stream(Format.values()).filter(f -> f.holds(architecture))
                    .map(Format::word).reduce((a, b) -> a + " or " + b).orElse("none");
            String kind = LlamaConfig.ARCHITECTURE.equals(architecture) ? "a Llama-family language model"
                    : OnnxModel.ARCHITECTURE.equals(architecture) ? "an ONNX classifier" : "a classifier (" + architecture + ")";
            String holds = switch (format) {
                case ONNX -> "ONNX export is for classifiers";
                case SQZ -> "a .sqz bundle carries tensors, not an ONNX graph";
                default -> format.word() + " export is for Llama-family models";
            };
            throw new SqueezeException(what + " is " + kind + "; " + holds, "export it as " + can);
        }
    }

    /** The compressed weights of run {@code runId}, recomputed and checked ({@link RunWeights}), written as {@code format}. */
    public static ExportReport exportRun(ResultsStore store, long runId, Format format, Path out, Options options,
                                         RunHooks hooks) {
        StoredRun run = store.run(runId).orElseThrow(() -> new SqueezeException("There is no run " + runId
                + " in " + store.location(), "list the runs with: squeeze runs"));
        String architecture = store.model(run.summary().modelHash()).map(ResultsStore.StoredModel::architecture)
                .orElse("");
        requireHolds(format, architecture, "Run " + runId + " (" + run.summary().modelName() + ")");
        CompressedModel m = RunWeights.reproduce(store, runId, hooks, (model, settings) -> precheck(format, model,
                settings));
        hooks.checkCancelled();
        return write(m, format, out, options, new SqzContext(store, run));
    }

    /** The model as it is (nothing compressed), written as {@code format}. */
    public static ExportReport convert(Model model, Format format, Path out, Options options) {
        requireHolds(format, model.architecture(), model.name());
        return write(CompressedModel.dense(model), format, out, options, null);
    }

    /**
     * Refuses, before any compression work, a run whose layers the format cannot hold (for GPTQ: sparse, SpQR or
     * low-rank layers, 5–7-bit codes, fp32 scales); formats that fall back per tensor accept every layer.
     */
    public static void precheck(Format format, Model model, java.util.Map<String,
            dev.squeeze.engine.compress.MethodSettings> settings) {
        if (format == Format.GPTQ) {
            dev.squeeze.engine.export.gptq.GptqExporter.requireHolds(model, settings);
        }
    }

    /** Writes an already compressed model (e.g. a GPTQ conversion made for the export). */
    public static ExportReport write(CompressedModel m, Format format, Path out, Options options) {
        requireHolds(format, m.base().architecture(), m.base().name());
        return write(m, format, out, options, null);
    }

    /** What a bundle records beside the weights: the run as the database has it. */
    record SqzContext(ResultsStore store, StoredRun run) {
    }

    private static ExportReport write(CompressedModel m, Format format, Path out, Options options, SqzContext run) {
        return switch (format) {
            case ONNX -> dev.squeeze.engine.export.onnx.OnnxExport.write(m, out);
            case GGUF -> dev.squeeze.engine.export.gguf.GgufLlamaExport.write(m, out, options.ggufType());
            case HF -> dev.squeeze.engine.export.hf.HfFolderExport.write(m, out, options.hfType());
            case GPTQ -> dev.squeeze.engine.export.gptq.GptqExporter.write(m, out);
            case SQZ -> dev.squeeze.engine.export.sqz.Sqz.write(run == null
                    ? new dev.squeeze.engine.export.sqz.SqzContents(m, null, java.util.List.of(), java.util.List.of(),
                    dev.squeeze.engine.export.sqz.SqzContents.tokenizerFilesBeside(m.base()))
                    : dev.squeeze.engine.export.sqz.SqzContents.of(m, run.run(), run.store().metrics(m.runId()),
                    run.store().layerResults(m.runId())), out);
        };
    }
}
