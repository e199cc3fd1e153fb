package dev.squeeze.engine.export.gguf;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.export.CompressedModel;
import dev.squeeze.engine.export.ExportReport;
import dev.squeeze.engine.export.ExportReport.TensorNote;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.gguf.GgufModelFormat;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.RopeStyle;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.IntUnaryOperator;

/**
 * Writes a Llama-family model, with its compressed layers, as a GGUF file (version 3) that llama.cpp runs:
 * architecture {@code llama}, the hyper-parameters and the tokenizer under the keys llama.cpp's converters write
 * ({@code convert_hf_to_gguf.py}, {@code convert-llama2c-to-ggml}), and the tensors under llama.cpp's names
 * ({@code token_embd}, {@code blk.N.attn_q} ..., {@code output_norm}, {@code output}; no {@code output} when
 * the head is tied to the embedding, which llama.cpp then reuses).
 *
 * <p><b>q/k rows.</b> llama.cpp applies RoPE to interleaved pairs (Meta's and llama2.c's order); a model whose
 * q/k rows are in Hugging Face's rotate-half order is permuted back ({@code convert_hf_to_gguf.py}'s
 * {@code permute}), compressed layers too: a row of a group-quantized layer moves with its codes and scales,
 * which is exact because groups run along a row.
 *
 * <p><b>Tensor types.</b>
 * <ul>
 *   <li>A compressed layer whose grid is a ggml block type (4- or 8-bit, symmetric, groups of 32 consecutive
 *   columns, fp16 scales: RTN or GPTQ) is written in that type from its codes and scales, bit for bit the run's
 *   weights (checked when planned: each encoded row decodes to exactly {@code dequantize()}'s row), whatever
 *   type was requested.</li>
 *   <li>Any other compressed layer (3-bit, groups of 128, asymmetric, fp32 scales, act-order g_idx, sparse,
 *   SpQR, low-rank) is written dequantized: F16 when every weight is an fp16 value, else F32, so the file still
 *   computes the run's weights exactly; its note says why.</li>
 *   <li>Dense matrices are converted to the requested type with ggml's reference quantizers ({@link GgmlBlocks},
 *   what {@code llama-quantize} does without an importance matrix); a row length the type's blocks do not divide
 *   falls back to F16, as llama-quantize does. 1-D tensors (the RMSNorm weights) stay F32, as in every llama.cpp
 *   file type.</li>
 * </ul>
 * Every tensor gets a {@link TensorNote}; its reason is empty when it is stored as asked (a norm at F32 is: the
 * requested type is a llama.cpp file type, which means "matrices in that type, 1-D tensors F32").
 *
 * <p>Everything that could refuse the export is checked before a byte is written; the file is streamed tensor by
 * tensor (a dense matrix row by row from its mapping, a compressed layer dequantized one at a time) and appears
 * under its name only when complete.
 */
public final class GgufLlamaExport {
    public static final String FORMAT = "gguf";
    /** ggml's {@code GGML_QNT_VERSION}, written by llama.cpp into files with quantized tensors. */
    static final int QUANTIZATION_VERSION = 2;

    private GgufLlamaExport() {
    }

    /**
     * Writes {@code m} to {@code out}.
     *
     * @param requested the type of the dense matrices (F32, F16, Q8_0, Q4_0); compressed layers keep their own
     * @return the file, its size and one note per tensor, in file order
     * @throws SqueezeException before anything is written, when the model is not a Llama-family language model,
     *                          has no tokenizer llama.cpp can use, or its tensors do not match its architecture
     */
    public static ExportReport write(CompressedModel m, Path out, GgmlType requested) {
        Model model = m.base();
        if (!LlamaConfig.ARCHITECTURE.equals(model.architecture())) {
            throw new SqueezeException("GGUF export writes Llama-family language models for llama.cpp; "
                    + model.name() + " is a '" + model.architecture() + "' model (" + model.format() + ")",
                    "export classifiers with --format onnx (a file ONNX Runtime runs), or any model with"
                            + " --format sqz (Squeeze's own bundle)");
        }
        LlamaConfig c = LlamaConfig.fromMetadata(model);
        if (c.qkvBias()) {
            throw new SqueezeException("Model " + model.name() + " has q/k/v biases (Qwen2 style), which"
                    + " llama.cpp reads under architecture qwen2, not llama", "export it with --format hf and"
                    + " convert that folder with llama.cpp's convert_hf_to_gguf.py");
        }
        List<Planned> plan = plan(m, c, requested);
        Consumer<GgufWriter> tokenizer = tokenizerOf(model, c);

        GgufWriter w = new GgufWriter();
        boolean quantized = plan.stream().anyMatch(p -> p.input.type().blockSize() > 1);
        w.put("general.architecture", GgufValue.str(LlamaConfig.ARCHITECTURE));
        w.put("general.type", GgufValue.str("model"));
        w.put("general.name", GgufValue.str(m.label() == null || m.label().isBlank() ? model.name() : m.label()));
        Integer fileType = fileType(requested);
        if (fileType != null) {
            w.put("general.file_type", GgufValue.u32(fileType));
        }
        if (quantized) {
            w.put("general.quantization_version", GgufValue.u32(QUANTIZATION_VERSION));
        }
        w.put("llama.vocab_size", GgufValue.u32(c.vocabSize()));
        w.put("llama.context_length", GgufValue.u32(c.maxSeqLen()));
        w.put("llama.embedding_length", GgufValue.u32(c.dim()));
        w.put("llama.block_count", GgufValue.u32(c.nLayers()));
        w.put("llama.feed_forward_length", GgufValue.u32(c.hiddenDim()));
        w.put("llama.rope.dimension_count", GgufValue.u32(c.headDim()));
        w.put("llama.attention.head_count", GgufValue.u32(c.nHeads()));
        w.put("llama.attention.head_count_kv", GgufValue.u32(c.nKvHeads()));
        w.put("llama.attention.layer_norm_rms_epsilon", GgufValue.f32((float) c.normEps()));
        w.put("llama.rope.freq_base", GgufValue.f32((float) c.ropeTheta()));
        tokenizer.accept(w);
        w.put("squeeze.source", GgufValue.str(model.source()));
        w.put("squeeze.content_hash", GgufValue.str(model.contentHash()));
        if (m.runId() != null) {
            w.put("squeeze.run_id", GgufValue.u64(m.runId()));
        }
        for (Planned p : plan) {
            w.add(p.input);
        }
        w.write(out);

        List<TensorNote> notes = new ArrayList<>();
        for (Planned p : plan) {
            notes.add(new TensorNote(p.input.name(), p.input.type().name(), p.exact(), p.reason));
        }
        long bytes;
        try {
            bytes = Files.size(out);
        } catch (IOException e) {
            throw new SqueezeException("Wrote " + out + " but cannot read its size: " + e.getMessage(),
                    "check the folder's permissions");
        }
        return new ExportReport(out, FORMAT, bytes, notes);
    }

    /**
     * What writes the {@code tokenizer.*} keys: a model read from a GGUF file keeps its own, key for key (whatever
     * its tokenizer model); any other gets the vocabulary converted from the tokenizer beside it ({@link GgufVocab}).
     */
    private static Consumer<GgufWriter> tokenizerOf(Model model, LlamaConfig c) {
        if (!GgufModelFormat.NAME.equals(model.format())) {
            return GgufVocab.besideModel(model, c.vocabSize())::writeTo;
        }
        Map<String, GgufValue> keys = new LinkedHashMap<>();
        try (GgufFile source = GgufFile.open(Path.of(model.source()))) {
            source.metadata().forEach((k, v) -> {
                if (k.startsWith("tokenizer.")) {
                    keys.put(k, v);
                }
            });
        }
        GgufValue tokens = keys.get("tokenizer.ggml.tokens");
        if (tokens == null || tokens.asList().size() != c.vocabSize()) {
            throw new SqueezeException("The GGUF file " + model.source() + " has " + (tokens == null ? "no"
                    : tokens.asList().size()) + " tokenizer tokens for an embedding of " + c.vocabSize() + " rows",
                    "export a model whose file carries its vocabulary");
        }
        return w -> keys.forEach(w::put);
    }

    /** llama.cpp's {@code llama_ftype} for a file whose matrices are mostly {@code t}, or null for none. */
    static Integer fileType(GgmlType t) {
        return switch (t.name()) {
            case "F32" -> 0;
            case "F16" -> 1;
            case "Q4_0" -> 2;
            case "Q8_0" -> 7;
            case "Q4_K" -> 14;
            case "Q6_K" -> 18;
            case "BF16" -> 32;
            default -> null;
        };
    }

    /**
     * llama.cpp's name of each canonical layer ({@link GgufModelFormat#ggufName}, the one naming the reader and the
     * plan translation use too), in the order convert_hf_to_gguf.py writes them.
     */
    static Map<String, String> names(LlamaConfig c) {
        List<String> layers = new ArrayList<>();
        layers.add(LlamaLayers.EMBEDDING);
        for (int l = 0; l < c.nLayers(); l++) {
            layers.addAll(List.of(LlamaLayers.attentionNorm(l), LlamaLayers.q(l), LlamaLayers.k(l), LlamaLayers.v(l),
                    LlamaLayers.o(l), LlamaLayers.mlpNorm(l), LlamaLayers.gate(l), LlamaLayers.up(l),
                    LlamaLayers.down(l)));
        }
        layers.add(LlamaLayers.FINAL_NORM);
        if (!c.tiedEmbeddings()) {
            layers.add(LlamaLayers.HEAD);
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String layer : layers) {
            out.put(layer, GgufModelFormat.ggufName(layer));
        }
        return out;
    }

    /** The source row of each written row: q/k rows go from rotate-half to interleaved order. */
    static IntUnaryOperator rowOrder(LlamaConfig c, String layer) {
        boolean q = layer.endsWith(".self_attn.q_proj");
        boolean k = layer.endsWith(".self_attn.k_proj");
        if (c.ropeStyle() == RopeStyle.INTERLEAVED || !q && !k) {
            return r -> r;
        }
        int hd = c.headDim();
        int half = hd / 2;
        // Written (interleaved) row 2j + i of a head is rotate-half row i·half + j of the same head.
        return r -> {
            int head = r / hd;
            int within = r % hd;
            return head * hd + (within % 2) * half + within / 2;
        };
    }

    private static List<Planned> plan(CompressedModel m, LlamaConfig c, GgmlType requested) {
        Model model = m.base();
        Map<String, String> names = names(c);
        Set<String> unplaced = new HashSet<>(m.compressed().keySet());
        unplaced.removeAll(names.keySet());
        if (!unplaced.isEmpty()) {
            throw new SqueezeException("Layers " + unplaced.stream().sorted().limit(5).toList() + " of " + model.name()
                    + " are compressed, but a llama GGUF file has no place for them", "export this run with"
                    + " --format sqz, which keeps every layer");
        }
        Set<String> extra = new HashSet<>(model.tensors().keySet());
        names.keySet().forEach(n -> extra.remove(n + ".weight"));
        if (c.tiedEmbeddings()) {
            extra.remove(LlamaLayers.HEAD + ".weight");
        }
        if (!extra.isEmpty()) {
            throw new SqueezeException("Model " + model.name() + " has tensors a llama GGUF file has no place for: "
                    + extra.stream().sorted().limit(5).toList(), "only the canonical Llama tensors can be written"
                    + " for llama.cpp; export with --format sqz or hf instead");
        }
        List<Planned> out = new ArrayList<>();
        for (Map.Entry<String, String> e : names.entrySet()) {
            String layer = e.getKey();
            String name = e.getValue() + ".weight";
            Tensor t = model.tensors().get(layer + ".weight");
            if (t == null) {
                throw new SqueezeException("Model " + model.name() + " has no tensor '" + layer + ".weight', which"
                        + " llama.cpp needs as " + name, "only complete Llama-family models can be exported to"
                        + " GGUF");
            }
            long[] shape = t.shape();
            if (shape.length == 1) {
                if (shape[0] != c.dim()) {
                    throw shapeError(model, layer, shape, c);
                }
                out.add(dense1d(name, t));
                continue;
            }
            if (shape.length != 2) {
                throw shapeError(model, layer, shape, c);
            }
            long[] expected = expectedShape(c, layer);
            if (!Arrays.equals(shape, expected)) {
                throw shapeError(model, layer, shape, c);
            }
            IntUnaryOperator order = rowOrder(c, layer);
            CompressedTensor ct = m.compressed().get(layer);
            if (ct == null) {
                out.add(dense2d(name, t, requested, order));
            } else {
                if (ct.rows() != shape[0] || ct.cols() != shape[1]) {
                    throw new SqueezeException("The compressed layer " + layer + " is " + ct.rows() + " × "
                            + ct.cols() + " but the model's weight is " + shape[0] + " × " + shape[1],
                            "the run does not belong to this model; export it from the model it was made from");
                }
                out.add(compressed(name, ct, order));
            }
        }
        return out;
    }

    private static long[] expectedShape(LlamaConfig c, String layer) {
        if (layer.equals(LlamaLayers.EMBEDDING) || layer.equals(LlamaLayers.HEAD)) {
            return new long[]{c.vocabSize(), c.dim()};
        }
        if (layer.endsWith(".self_attn.k_proj") || layer.endsWith(".self_attn.v_proj")) {
            return new long[]{c.kvDim(), c.dim()};
        }
        if (layer.endsWith(".mlp.gate_proj") || layer.endsWith(".mlp.up_proj")) {
            return new long[]{c.hiddenDim(), c.dim()};
        }
        if (layer.endsWith(".mlp.down_proj")) {
            return new long[]{c.dim(), c.hiddenDim()};
        }
        return new long[]{c.dim(), c.dim()};
    }

    private static SqueezeException shapeError(Model model, String layer, long[] shape, LlamaConfig c) {
        return new SqueezeException("Tensor '" + layer + ".weight' of " + model.name() + " has shape "
                + Arrays.toString(shape) + ", which its Llama metadata (dim " + c.dim() + ", hidden " + c.hiddenDim()
                + ", " + c.nHeads() + "/" + c.nKvHeads() + " heads, vocabulary " + c.vocabSize() + ") does not"
                + " allow", "check the model's squeeze.llama.* metadata");
    }

    /** A norm's weights: F32 whatever the request, as every llama.cpp file type keeps 1-D tensors (no reason). */
    private static Planned dense1d(String name, Tensor t) {
        return new Planned(new GgufWriter.Input(name, 1, t.numel(), 1, GgmlType.F32, r -> t.floats()), "", true,
                null);
    }

    private static Planned dense2d(String name, Tensor t, GgmlType requested, IntUnaryOperator order) {
        int cols = Math.toIntExact(t.dim(1));
        long rows = t.dim(0);
        GgmlType type = requested;
        String reason = "";
        if (cols % requested.blockSize() != 0) {
            type = GgmlType.F16;
            reason = "rows of " + cols + " values do not divide into " + requested + "'s blocks of "
                    + requested.blockSize() + "; F16, " + (requested.blockSize() <= 32 ? "as llama-quantize falls back"
                    : "where llama-quantize would take a 32-block type (Q5_0 for Q4_K) that Squeeze does not write");
        }
        // F32 keeps every value; F16 is exact when every value is an fp16 one (seen while writing); the block
        // types round.
        boolean[] exact = {type == GgmlType.F32 || type == GgmlType.F16};
        GgmlType stored = type;
        GgufWriter.Rows rowsOf = r -> {
            float[] v = new float[cols];
            t.decode((long) order.applyAsInt(Math.toIntExact(r)) * cols, v, 0, cols);
            if (stored == GgmlType.F16 && exact[0] && !fp16Exact(v)) {
                exact[0] = false;
            }
            return v;
        };
        return new Planned(new GgufWriter.Input(name, rows, cols, 2, type, rowsOf), reason, false, exact);
    }

    private static Planned compressed(String name, CompressedTensor ct, IntUnaryOperator order) {
        int rows = ct.rows();
        int cols = ct.cols();
        String why;
        var grid = QuantGrid.of(ct);
        if (grid.isPresent()) {
            QuantGrid.Fit fit = grid.get().fit();
            if (fit.type() != null) {
                GgmlType type = fit.type();
                String mismatch = verify(grid.get(), type, ct);
                if (mismatch == null) {
                    GgufWriter.EncodedRows rowsOf = (r, buf) ->
                            grid.get().encode(type, order.applyAsInt(Math.toIntExact(r)), buf);
                    return new Planned(GgufWriter.Input.encoded(name, rows, cols, 2, type, rowsOf), "", true, null);
                }
                why = mismatch;
            } else {
                why = fit.reason();
            }
        } else {
            why = ct.describe() + " has no GGUF type";
        }
        float[] all = ct.dequantize();
        GgmlType type = fp16Exact(all) ? GgmlType.F16 : GgmlType.F32;
        String reason = ct.describe() + ": " + why + "; written dequantized at " + type + ", which holds every"
                + " weight exactly";
        // Dequantized again when written, so that only one layer's floats are held at a time.
        float[][] held = new float[1][];
        GgufWriter.Rows rowsOf = r -> {
            if (held[0] == null) {
                held[0] = ct.dequantize();
            }
            int src = order.applyAsInt(Math.toIntExact(r));
            float[] v = Arrays.copyOfRange(held[0], src * cols, (src + 1) * cols);
            if (r == rows - 1) {
                held[0] = null;
            }
            return v;
        };
        return new Planned(new GgufWriter.Input(name, rows, cols, 2, type, rowsOf), reason, true, null);
    }

    /** Null when every row of the grid, encoded in {@code type}, decodes to {@code dequantize()}'s bits. */
    private static String verify(QuantGrid grid, GgmlType type, CompressedTensor ct) {
        float[] w = ct.dequantize();
        int cols = ct.cols();
        ByteBuffer buf = ByteBuffer.allocate((int) type.rowBytes(cols)).order(ByteOrder.LITTLE_ENDIAN);
        float[] decoded = new float[cols];
        for (int r = 0; r < ct.rows(); r++) {
            buf.clear();
            grid.encode(type, r, buf);
            buf.flip();
            GgmlBlocks.decode(type, buf, decoded);
            for (int col = 0; col < cols; col++) {
                if (Float.floatToRawIntBits(decoded[col]) != Float.floatToRawIntBits(w[r * cols + col])) {
                    return "its " + type + " blocks decode weight (" + r + ", " + col + ") to " + decoded[col]
                            + ", not " + w[r * cols + col];
                }
            }
        }
        return null;
    }

    static boolean fp16Exact(float[] v) {
        for (float x : v) {
            if (Float.float16ToFloat(Float.floatToFloat16(x)) != x && !Float.isNaN(x)) {
                return false;
            }
        }
        return true;
    }

    /** A tensor to write, with what its note says; {@code exactWhenWritten} is filled in while it is written. */
    private record Planned(GgufWriter.Input input, String reason, boolean exactPlanned, boolean[] exactWhenWritten) {
        boolean exact() {
            return exactWhenWritten != null ? exactWhenWritten[0] : exactPlanned;
        }
    }
}
