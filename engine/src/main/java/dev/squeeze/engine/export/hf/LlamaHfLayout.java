package dev.squeeze.engine.export.hf;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.export.CompressedModel;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.model.hf.HfConfig;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.nn.llama.RopePermutation;
import dev.squeeze.engine.nn.llama.RopeStyle;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Llama-family {@link CompressedModel} as a Hugging Face checkpoint lays it out: the canonical tensors in
 * transformers' order with their shapes (from the {@link HfConfig} its {@code squeeze.llama.*} metadata gives),
 * and the q/k rows in rotate-half order. A llama2.c model keeps its q/k rows interleaved (Meta's order); here they
 * are moved with {@link RopePermutation}, the permutation transformers' own converter applies, for dense tensors
 * and compressed layers alike (moving whole rows of a quantized matrix moves its codes, scales and zero points
 * with them and is exact). Everything is checked when the layout is made, before any file is written.
 */
public final class LlamaHfLayout {
    private final CompressedModel model;
    private final HfConfig config;
    private final LlamaConfig llama;
    private final Map<String, long[]> shapes;

    private LlamaHfLayout(CompressedModel model, HfConfig config, LlamaConfig llama, Map<String, long[]> shapes) {
        this.model = model;
        this.config = config;
        this.llama = llama;
        this.shapes = shapes;
    }

    /**
     * Checks that the model can be written in Hugging Face layout: a Llama-family model with exactly the canonical
     * tensors at the shapes its metadata implies, every compressed layer one of its linear layers.
     *
     * @param torchDtype the {@code torch_dtype} config.json will declare, e.g. {@code float16}
     * @param format     the export format, for messages
     */
    public static LlamaHfLayout of(CompressedModel m, String torchDtype, String format) {
        Model base = m.base();
        HfConfig config = HfConfig.fromMetadata(base.metadata(), base.name(), torchDtype);
        LlamaConfig llama = LlamaConfig.fromMetadata(base);
        Map<String, long[]> expected = config.expectedShapes();
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            Tensor t = base.tensors().get(e.getKey());
            if (t == null) {
                throw new SqueezeException("Model " + base.name() + " has no tensor '" + e.getKey() + "', which a "
                        + config.hfArchitecture() + " needs with shape " + Arrays.toString(e.getValue()),
                        "only models with the canonical Llama tensor names can be exported as " + format);
            }
            if (!Arrays.equals(t.shape(), e.getValue())) {
                throw new SqueezeException("Tensor '" + e.getKey() + "' of model " + base.name() + " has shape "
                        + Arrays.toString(t.shape()) + " but its squeeze.llama.* sizes imply "
                        + Arrays.toString(e.getValue()), "check the model's squeeze.llama.* metadata");
            }
        }
        Set<String> extra = new HashSet<>(base.tensors().keySet());
        extra.removeAll(expected.keySet());
        if (!extra.isEmpty()) {
            throw new SqueezeException("Model " + base.name() + " has tensors a " + config.hfArchitecture()
                    + " does not: " + extra.stream().sorted().limit(5).toList(),
                    "only the canonical Llama tensors can be exported as " + format);
        }
        for (Map.Entry<String, CompressedTensor> e : m.compressed().entrySet()) {
            long[] shape = expected.get(e.getKey() + ".weight");
            if (shape == null || shape.length != 2) {
                throw new SqueezeException("Compressed layer '" + e.getKey() + "' is not a linear layer of "
                        + base.name(), "export only runs made on this model");
            }
            if (shape[0] != e.getValue().rows() || shape[1] != e.getValue().cols()) {
                throw new SqueezeException("Compressed layer '" + e.getKey() + "' is " + e.getValue().rows() + " × "
                        + e.getValue().cols() + " but the model's weight is " + shape[0] + " × " + shape[1],
                        "export only runs made on this model");
            }
        }
        return new LlamaHfLayout(m, config, llama, Collections.unmodifiableMap(new LinkedHashMap<>(expected)));
    }

    public HfConfig config() {
        return config;
    }

    /**
     * config.json as transformers reads it (q/k rows rotate-half, as every Hugging Face checkpoint has them). A
     * llama2.c model, whose file names no special tokens, gets llama2.c's BOS 1 and EOS 2.
     */
    public ObjectNode configJson() {
        ObjectNode json = config.toJson();
        if (model.base().format().equals(dev.squeeze.engine.model.llama2c.Llama2cFormat.NAME)) {
            if (!json.has("bos_token_id")) {
                json.put("bos_token_id", dev.squeeze.engine.data.text.Llama2cTokenizer.BOS);
            }
            if (!json.has("eos_token_id")) {
                json.put("eos_token_id", dev.squeeze.engine.data.text.Llama2cTokenizer.EOS);
            }
        }
        return json;
    }

    /** Every tensor in canonical order with its shape ({@code out × in} for linears). */
    public Map<String, long[]> tensors() {
        return shapes;
    }

    /** Whether the model's q/k rows must be moved (a llama2.c model, interleaved RoPE). */
    public boolean permutesQk() {
        return llama.ropeStyle() == RopeStyle.INTERLEAVED;
    }

    /**
     * For a q/k weight or bias (tensor name) or q/k layer (layer name) of a model whose rows must be moved: row
     * {@code i} of the Hugging Face tensor is row {@code result[i]} of the model's. Null for every other tensor.
     */
    public int[] rowSource(String name) {
        int heads = qkHeads(name);
        if (heads < 0) {
            return null;
        }
        int rows = heads * llama.headDim();
        float[] index = new float[rows];
        for (int r = 0; r < rows; r++) {
            index[r] = r;
        }
        // Permuting the row numbers as a one-column matrix gives the source of every row (exact below 2^24).
        float[] moved = RopePermutation.toRotateHalf(index, heads, llama.headDim(), 1);
        int[] src = new int[rows];
        for (int r = 0; r < rows; r++) {
            src[r] = (int) moved[r];
        }
        return src;
    }

    /** A dense tensor's values as the checkpoint stores them (q/k rows moved when needed). */
    public float[] dense(String tensorName) {
        Tensor t = model.base().tensor(tensorName);
        return permuteRows(tensorName, t.floats(), t.rank() == 2 ? (int) t.dim(1) : 1);
    }

    /** Receives a tensor's values a chunk at a time. */
    @FunctionalInterface
    public interface Chunks {
        void accept(float[] values, int count, long offset) throws java.io.IOException;
    }

    /**
     * A dense tensor's values as the checkpoint stores them, in chunks of at most {@code chunk} values decoded
     * from the model's file as they are needed; a q/k tensor whose rows move comes as one chunk.
     */
    public void dense(String tensorName, int chunk, Chunks to) throws java.io.IOException {
        if (qkHeads(tensorName) >= 0) {
            float[] all = dense(tensorName);
            to.accept(all, all.length, 0);
            return;
        }
        Tensor t = model.base().tensor(tensorName);
        long n = t.numel();
        float[] buf = new float[(int) Math.min(chunk, n)];
        for (long at = 0; at < n; at += chunk) {
            int count = (int) Math.min(chunk, n - at);
            t.decode(at, buf, 0, count);
            to.accept(buf, count, at);
        }
    }

    /** A compressed layer's dequantized weights as the checkpoint stores them (q/k rows moved when needed). */
    public float[] dequantized(String layer) {
        CompressedTensor c = model.compressed().get(layer);
        return permuteRows(layer, c.dequantize(), c.cols());
    }

    private float[] permuteRows(String name, float[] values, int cols) {
        int heads = qkHeads(name);
        return heads < 0 ? values : RopePermutation.toRotateHalf(values, heads, llama.headDim(), cols);
    }

    /** The heads a q or k tensor's rows belong to when they must be moved, else -1. */
    private int qkHeads(String name) {
        if (!permutesQk()) {
            return -1;
        }
        String layer = name.endsWith(".weight") ? name.substring(0, name.length() - 7)
                : name.endsWith(".bias") ? name.substring(0, name.length() - 5) : name;
        for (int i = 0; i < llama.nLayers(); i++) {
            if (layer.equals(LlamaLayers.q(i))) {
                return llama.nHeads();
            }
            if (layer.equals(LlamaLayers.k(i))) {
                return llama.nKvHeads();
            }
        }
        return -1;
    }

    /**
     * Refuses to write into a folder that already holds weight files other than {@code keep}: transformers would
     * mix them up (a stale index or shard next to a new model.safetensors). Deleting them is left to the user.
     */
    public static void refuseStaleWeights(Model source, java.nio.file.Path dir, String keep) {
        java.nio.file.Path from = java.nio.file.Path.of(source.source()).toAbsolutePath();
        if (from.equals(dir.toAbsolutePath()) || dir.toAbsolutePath().equals(from.getParent())) {
            throw new SqueezeException("Folder " + dir + " is where the model " + source.name() + " is read from",
                    "export into another folder");
        }
        dev.squeeze.engine.model.hf.HfExporter.refuseStaleWeights(dir, n -> (n.endsWith(".safetensors")
                || n.endsWith(".safetensors.index.json") || n.endsWith(".bin") || n.endsWith(".gguf")) && !n.equals(keep));
    }

    /** The linear layers of the decoder blocks (q, k, v, o, gate, up, down of every block), in order. */
    public List<String> blockLinears() {
        List<String> out = new ArrayList<>(LlamaLayers.linearNames(llama.nLayers()));
        out.remove(LlamaLayers.HEAD);
        return out;
    }
}
