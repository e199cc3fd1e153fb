package dev.squeeze.engine.testing;

import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.export.gguf.GgmlType;
import dev.squeeze.engine.export.gguf.GgufValue;
import dev.squeeze.engine.export.gguf.GgufWriter;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.gguf.GgufModelFormat;
import dev.squeeze.engine.nn.llama.LlamaConfig;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Writes a Llama-family {@link Model} (canonical names, interleaved q/k rows) as a GGUF file laid out the way
 * llama.cpp's {@code convert-llama2c-to-ggml} does: {@code llama.*} hyper-parameters, the llama2.c vocabulary as
 * {@code tokenizer.ggml.*} (spaces as {@code ▁}; {@code <unk>}, {@code <s>}, {@code </s>} for ids 0–2 with types
 * unknown/control; byte tokens of type 6), tensors under llama.cpp's names. The test-side counterpart of the
 * reader; each tensor's type is chosen by {@code typeOf}.
 */
public final class GgufLlamaFiles {
    private GgufLlamaFiles() {
    }

    public static void write(Model model, Llama2cTokenizer tok, Function<Tensor, GgmlType> typeOf, Path file) {
        LlamaConfig c = LlamaConfig.fromMetadata(model);
        GgufWriter w = new GgufWriter()
                .put("general.architecture", GgufValue.str("llama"))
                .put("general.name", GgufValue.str(model.name()))
                .put("llama.context_length", GgufValue.u32(c.maxSeqLen()))
                .put("llama.embedding_length", GgufValue.u32(c.dim()))
                .put("llama.feed_forward_length", GgufValue.u32(c.hiddenDim()))
                .put("llama.block_count", GgufValue.u32(c.nLayers()))
                .put("llama.attention.head_count", GgufValue.u32(c.nHeads()))
                .put("llama.attention.head_count_kv", GgufValue.u32(c.nKvHeads()))
                .put("llama.attention.layer_norm_rms_epsilon", GgufValue.f32((float) c.normEps()))
                .put("llama.rope.freq_base", GgufValue.f32((float) c.ropeTheta()))
                .put("llama.rope.dimension_count", GgufValue.u32(c.headDim()));
        if (tok != null) {
            List<String> tokens = new ArrayList<>();
            List<Float> scores = new ArrayList<>();
            List<Long> types = new ArrayList<>();
            for (int i = 0; i < tok.vocabSize(); i++) {
                String piece = new String(tok.piece(i).getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
                long type = 1;
                if (i == 0) {
                    piece = "<unk>";
                    type = 2;
                } else if (i == 1) {
                    piece = "<s>";
                    type = 3;
                } else if (i == 2) {
                    piece = "</s>";
                    type = 3;
                } else if (piece.matches("<0x[0-9A-F]{2}>")) {
                    type = 6;
                }
                tokens.add(piece.replace(" ", "\u2581"));
                scores.add(tok.score(i));
                types.add(type);
            }
            w.put("tokenizer.ggml.model", GgufValue.str("llama"))
                    .put("tokenizer.ggml.tokens", GgufValue.array(GgufValue.STRING, tokens))
                    .put("tokenizer.ggml.scores", GgufValue.array(GgufValue.FLOAT32, scores))
                    .put("tokenizer.ggml.token_type", GgufValue.array(GgufValue.INT32, types))
                    .put("tokenizer.ggml.unknown_token_id", GgufValue.u32(0))
                    .put("tokenizer.ggml.bos_token_id", GgufValue.u32(1))
                    .put("tokenizer.ggml.eos_token_id", GgufValue.u32(2));
        }
        for (Tensor t : model.tensors().values()) {
            long rows = t.rank() == 1 ? 1 : t.dim(0);
            long cols = t.dim(t.rank() - 1);
            w.add(new GgufWriter.Input(GgufModelFormat.ggufName(t.name()), rows, cols, t.rank(), typeOf.apply(t),
                    r -> {
                        float[] row = new float[(int) cols];
                        t.decode(r * cols, row, 0, (int) cols);
                        return row;
                    }));
        }
        w.write(file);
    }

    /** {@code type} for every matrix whose rows divide into its blocks, F32 for the rest (norms included). */
    public static Function<Tensor, GgmlType> matricesAs(GgmlType type) {
        return t -> t.rank() == 2 && t.dim(1) % type.blockSize() == 0 ? type : GgmlType.F32;
    }
}
