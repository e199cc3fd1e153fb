package dev.squeeze.engine.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.data.text.DataSplit;
import dev.squeeze.engine.data.text.HfTokenizer;
import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.eval.Perplexity;
import dev.squeeze.engine.export.CompressedModel;
import dev.squeeze.engine.export.ExportReport;
import dev.squeeze.engine.export.gguf.GgmlType;
import dev.squeeze.engine.export.gguf.GgufFile;
import dev.squeeze.engine.export.gguf.GgufLlamaExport;
import dev.squeeze.engine.export.gguf.GgufTensor;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.hf.HfExporter;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.nn.llama.RopeStyle;
import dev.squeeze.engine.jobs.JobExecution;
import dev.squeeze.engine.jobs.JobSpec;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.runs.RunHooks;
import dev.squeeze.engine.testing.RealTokenizers;
import dev.squeeze.engine.testing.TinyLlama;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The Java half of {@code bench/llamacpp-check.sh}: exports stories260K to GGUF (F32, Q8_0, Q4_0 by ggml's
 * quantizer, and GPTQ 4-/8-bit symmetric g32 with fp16 scales written as exact Q4_0/Q8_0 blocks), then reads each
 * file back with Squeeze's own GGUF reader and runs the Java forward pass on exactly the file's weights: perplexity
 * on the evaluation split (stories 501–1000, BOS once per story, truncated to the context) and greedy generation
 * from BOS. It writes {@code eval.json} (the stories' text and our token ids) and one {@code <variant>.json} per
 * file for the node script, which runs llama.cpp on the same files, ids and windows.
 *
 * <p>Usage: {@code GgufLlamaCppCheck SHARED_DIR OUT_DIR [variant...]}: a variant is {@code NAME=FILE} (a GGUF
 * written elsewhere, e.g. by {@code squeeze export}, evaluated as it is) or one this class exports through
 * {@link GgufLlamaExport}: f32, q8_0, q4_0, gptq-q4_0-densedown, gptq-q8_0-densedown (GPTQ on every linear but
 * down_proj, whose 172
 * columns no 32-block type divides: it stays dense and is converted as in the plain files), llama2-tokenizer
 * (default: all of these).
 */
public final class GgufLlamaCppCheck {
    static final int GREEDY_TOKENS = 100;
    /** Calibration as the stories260K table: 32 windows of 256 tokens from stories 1–500, seed 0. */
    static final int WINDOWS = 32;
    static final int WINDOW_LENGTH = 256;
    /** The variant that checks a converted Hugging Face tokenizer.json (Llama 2's) in llama.cpp. */
    static final String LLAMA2_TOKENIZER = "llama2-tokenizer";
    private static final ObjectMapper JSON = new ObjectMapper();

    private GgufLlamaCppCheck() {
    }

    public static void main(String[] args) throws IOException {
        Path shared = Path.of(args.length > 0 ? args[0] : "../shared");
        Path out = Path.of(args.length > 1 ? args[1] : "engine/target/llamacpp-check");
        Files.createDirectories(out);
        Path modelFile = shared.resolve("models/stories260K/stories260K.bin");
        Model model = ModelFormats.open(modelFile);
        var tokenizer = Llama2cTokenizer.read(shared.resolve("models/stories260K/tok512.bin"), 512);
        StoryCorpus corpus = StoryCorpus.read(shared.resolve("data/tinystories/valid-1k.txt"));
        DataSplit split = DataSplit.TINYSTORIES_1K;
        List<int[]> evalTokens = corpus.tokens(split.evaluation(), tokenizer);
        LlamaConfig config = LlamaConfig.fromMetadata(model);

        ObjectNode eval = JSON.createObjectNode();
        eval.put("bos", tokenizer.bosId());
        eval.put("eos", tokenizer.eosId());
        eval.put("window", config.maxSeqLen());
        eval.put("greedyTokens", GREEDY_TOKENS);
        ArrayNode stories = eval.putArray("stories");
        List<String> texts = corpus.stories(split.evaluation());
        for (int i = 0; i < texts.size(); i++) {
            ObjectNode s = stories.addObject();
            s.put("text", texts.get(i));
            ArrayNode ids = s.putArray("ids");
            for (int t : evalTokens.get(i)) {
                ids.add(t);
            }
        }
        JSON.writeValue(out.resolve("eval.json").toFile(), eval);

        List<String> variants = args.length > 2 ? List.of(args).subList(2, args.length)
                : List.of("f32", "q8_0", "q4_0", "gptq-q4_0-densedown", "gptq-q8_0-densedown", LLAMA2_TOKENIZER);
        for (String v : variants) {
            if (v.equals(LLAMA2_TOKENIZER)) {
                llama2Tokenizer(out, texts);
                continue;
            }
            long t0 = System.nanoTime();
            if (v.contains("=")) {
                // NAME=FILE: a file written elsewhere (the CLI's `squeeze export`), evaluated as it is.
                String name = v.substring(0, v.indexOf('='));
                Path file = Path.of(v.substring(v.indexOf('=') + 1));
                evaluate(out, name, file, Files.size(file), List.of(), config, evalTokens, tokenizer, t0);
                continue;
            }
            CompressedModel cm;
            GgmlType type;
            switch (v) {
                case "f32", "q8_0", "q4_0" -> {
                    cm = CompressedModel.dense(model);
                    type = GgmlType.valueOf(v.toUpperCase(Locale.ROOT));
                }
                default -> {
                    if (!v.startsWith("gptq-q4_0") && !v.startsWith("gptq-q8_0") || !v.contains("-densedown")) {
                        throw new IllegalArgumentException("unknown variant " + v);
                    }
                    type = v.startsWith("gptq-q4_0") ? GgmlType.Q4_0 : GgmlType.Q8_0;
                    cm = gptq(modelFile, model, v, type);
                }
            }
            Path file = out.resolve("stories260K-" + v + ".gguf");
            ExportReport report = GgufLlamaExport.write(cm, file, type);
            evaluate(out, v, file, report.bytes(), report.notes(), config, evalTokens, tokenizer, t0);
        }
    }

    /** Our perplexity and greedy generation on exactly the file's weights, into {@code NAME.json}. */
    private static void evaluate(Path out, String v, Path file, long bytes, List<ExportReport.TensorNote> noteList,
                                 LlamaConfig config, List<int[]> evalTokens, Llama2cTokenizer tokenizer, long t0)
            throws IOException {
        LlamaModel ours = LlamaModel.from(readBack(file, config));
        Perplexity.Result ppl = Perplexity.evaluate(ours, evalTokens);
        int[] greedy = ours.generate(new int[]{tokenizer.bosId()}, GREEDY_TOKENS, tokenizer.eosId());

        ObjectNode r = JSON.createObjectNode();
        r.put("variant", v);
        r.put("file", file.toAbsolutePath().toString());
        r.put("bytes", bytes);
        r.put("oursPerplexity", ppl.perplexity());
        r.put("oursNll", ppl.nll());
        r.put("oursTokens", ppl.tokens());
        ArrayNode g = r.putArray("oursGreedy");
        for (int t : greedy) {
            g.add(t);
        }
        int[] withBos = new int[greedy.length + 1];
        withBos[0] = tokenizer.bosId();
        System.arraycopy(greedy, 0, withBos, 1, greedy.length);
        r.put("oursGreedyText", tokenizer.decode(withBos));
        ArrayNode notes = r.putArray("notes");
        for (ExportReport.TensorNote n : noteList) {
            if (!n.reason().isEmpty()) {
                notes.add(n.tensor() + " " + n.storedAs() + (n.exact() ? " (exact)" : "") + ": " + n.reason());
            }
        }
        JSON.writerWithDefaultPrettyPrinter().writeValue(out.resolve(v + ".json").toFile(), r);
        System.out.printf(Locale.ROOT, "%s: %,d bytes, our perplexity %.6f over %d tokens (%.1f s)%n", v, bytes,
                ppl.perplexity(), ppl.tokens(), (System.nanoTime() - t0) / 1e9);
    }

    /**
     * GPTQ, symmetric, groups of 32, fp16 scales (the grid of Q4_0/Q8_0) on every linear but down_proj (172
     * columns: no 32-block type holds a g32 grid of it, so it stays dense and is converted exactly as in the plain
     * files, and the files differ only in the layers GPTQ made), calibrated as the CLI does: {@code -ao} adds
     * act-order with static groups (groups stay consecutive columns, so Q4_0 still holds them exactly),
     * {@code -wN} takes N calibration windows instead of 32.
     */
    private static CompressedModel gptq(Path modelFile, Model model, String variant, GgmlType type) {
        int bits = type == GgmlType.Q4_0 ? 4 : 8;
        boolean actOrder = variant.contains("-ao");
        int windows = WINDOWS;
        var w = java.util.regex.Pattern.compile("-w(\\d+)").matcher(variant);
        if (w.find()) {
            windows = Integer.parseInt(w.group(1));
        }
        String plan = "{\"schema\":1,\"defaults\":{\"method\":\"gptq\",\"bits\":" + bits + ",\"groupSize\":32,"
                + "\"symmetric\":true" + (actOrder ? ",\"actOrder\":true,\"staticGroups\":true" : "") + "},"
                + "\"overrides\":[{\"match\":\"regex:.*\\\\.down_proj\",\"method\":\"none\"}]}";
        JobSpec job = new JobSpec(modelFile.toString(), CompressionPlan.parse(plan).canonicalJson(), variant, windows,
                0, false, 0, null, null, List.of());
        var c = JobExecution.compress(job, model, RunHooks.NONE);
        return new CompressedModel(model, c.byLayer(), c.settings(), variant, null);
    }

    /**
     * A tiny random-weight Hugging Face Llama (vocabulary 32,000) with Llama 2's real tokenizer.json (from
     * {@code .ci/tokenizer-fixtures.sh}), exported to GGUF: llama.cpp loads only its vocabulary and must tokenize
     * the evaluation stories as Squeeze's tokenizer.json implementation does. The weights mean nothing.
     */
    private static void llama2Tokenizer(Path out, List<String> texts) throws IOException {
        Path tokenizers = RealTokenizers.require("llama2");
        LlamaConfig c = new LlamaConfig(32, 32, 1, 2, 2, 32000, 64, 1e-5, 10000, RopeStyle.ROTATE_HALF, false, true);
        Map<String, String> meta = new LinkedHashMap<>(c.toMetadata());
        meta.put("squeeze.hf.bos_token_id", "1");
        meta.put("squeeze.hf.eos_token_id", "2");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        TinyLlama.randomWeights(c, 1).forEach((n, v) -> tensors.put(n, Tensor.of(n, v, TinyLlama.shape(c, n))));
        Path folder = out.resolve("llama2-tokenizer-model");
        HfExporter.write(new Model("tiny", "memory", "test", LlamaConfig.ARCHITECTURE, "0", tensors, meta), folder,
                DType.F32);
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
            Files.copy(tokenizers.resolve(f), folder.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
        Path file = out.resolve("llama2-tokenizer.gguf");
        ExportReport report = GgufLlamaExport.write(CompressedModel.dense(ModelFormats.open(folder)), file,
                GgmlType.F16);
        HfTokenizer hf = HfTokenizer.load(folder);
        ObjectNode r = JSON.createObjectNode();
        r.put("variant", LLAMA2_TOKENIZER);
        r.put("file", file.toAbsolutePath().toString());
        r.put("bytes", report.bytes());
        r.put("vocabOnly", true);
        ArrayNode stories = r.putArray("stories");
        for (String text : texts) {
            ObjectNode s = stories.addObject();
            s.put("text", text);
            ArrayNode ids = s.putArray("ids");
            for (int t : hf.encode(text, true, false)) {
                ids.add(t);
            }
        }
        JSON.writeValue(out.resolve(LLAMA2_TOKENIZER + ".json").toFile(), r);
        System.out.printf(Locale.ROOT, "%s: %,d bytes (Llama 2's tokenizer.json, random weights)%n", LLAMA2_TOKENIZER,
                report.bytes());
    }

    /** The file's tensors dequantized to float32 under Squeeze's names: exactly the weights llama.cpp gets. */
    static Model readBack(Path file, LlamaConfig original) {
        LlamaConfig c = original.withRopeStyle(RopeStyle.INTERLEAVED);
        Map<String, String> toCanonical = new LinkedHashMap<>();
        // GGUF name → canonical layer: the inverse of the export's naming.
        for (var e : exportNames(c).entrySet()) {
            toCanonical.put(e.getValue() + ".weight", e.getKey() + ".weight");
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        try (GgufFile g = GgufFile.open(file)) {
            for (GgufTensor t : g.tensors()) {
                float[] all = new float[Math.toIntExact(t.rows() * t.cols())];
                for (long r = 0; r < t.rows(); r++) {
                    System.arraycopy(g.row(t, r), 0, all, Math.toIntExact(r * t.cols()), (int) t.cols());
                }
                String name = toCanonical.get(t.name());
                long[] shape = t.dimensions() == 1 ? new long[]{t.cols()} : new long[]{t.rows(), t.cols()};
                tensors.put(name, Tensor.of(name, all, shape));
            }
        }
        return new Model("gguf", file.toString(), "gguf", LlamaConfig.ARCHITECTURE, "", tensors, c.toMetadata());
    }

    private static Map<String, String> exportNames(LlamaConfig c) {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("model.embed_tokens", "token_embd");
        for (int l = 0; l < c.nLayers(); l++) {
            String p = "model.layers." + l + ".";
            String b = "blk." + l + ".";
            out.put(p + "input_layernorm", b + "attn_norm");
            out.put(p + "self_attn.q_proj", b + "attn_q");
            out.put(p + "self_attn.k_proj", b + "attn_k");
            out.put(p + "self_attn.v_proj", b + "attn_v");
            out.put(p + "self_attn.o_proj", b + "attn_output");
            out.put(p + "post_attention_layernorm", b + "ffn_norm");
            out.put(p + "mlp.gate_proj", b + "ffn_gate");
            out.put(p + "mlp.up_proj", b + "ffn_up");
            out.put(p + "mlp.down_proj", b + "ffn_down");
        }
        out.put("model.norm", "output_norm");
        out.put("lm_head", "output");
        return out;
    }
}
