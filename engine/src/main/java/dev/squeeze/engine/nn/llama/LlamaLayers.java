package dev.squeeze.engine.nn.llama;

import dev.squeeze.engine.model.LayerRole;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The canonical names of a Llama-family model's tensors, which are Hugging Face's: every reader (llama2.c,
 * safetensors) names tensors this way, so the forward pass, the inventory and compression plans see one naming.
 * A layer name is a tensor name without {@code .weight}/{@code .bias}; linears are {@code out × in}, row-major.
 * <pre>
 * model.embed_tokens.weight                          [vocab, dim]
 * model.layers.{i}.input_layernorm.weight            [dim]
 * model.layers.{i}.self_attn.q_proj.weight (+.bias)  [nHeads·headDim, dim]
 * model.layers.{i}.self_attn.k_proj.weight (+.bias)  [nKvHeads·headDim, dim]
 * model.layers.{i}.self_attn.v_proj.weight (+.bias)  [nKvHeads·headDim, dim]
 * model.layers.{i}.self_attn.o_proj.weight           [dim, nHeads·headDim]
 * model.layers.{i}.post_attention_layernorm.weight   [dim]
 * model.layers.{i}.mlp.gate_proj.weight              [hiddenDim, dim]
 * model.layers.{i}.mlp.up_proj.weight                [hiddenDim, dim]
 * model.layers.{i}.mlp.down_proj.weight              [dim, hiddenDim]
 * model.norm.weight                                  [dim]
 * lm_head.weight                                     [vocab, dim]   (absent when the embedding is tied)
 * </pre>
 */
public final class LlamaLayers {
    public static final String EMBEDDING = "model.embed_tokens";
    public static final String FINAL_NORM = "model.norm";
    /** The output head; with tied embeddings the linear of this name multiplies by the embedding table. */
    public static final String HEAD = "lm_head";

    private static final Pattern LAYER = Pattern.compile(
            "model\\.layers\\.(\\d+)\\.(input_layernorm|post_attention_layernorm|self_attn\\.[qkvo]_proj"
                    + "|mlp\\.(?:gate|up|down)_proj)");

    private LlamaLayers() {
    }

    public static String block(int layer) {
        return "model.layers." + layer;
    }

    public static String q(int layer) {
        return block(layer) + ".self_attn.q_proj";
    }

    public static String k(int layer) {
        return block(layer) + ".self_attn.k_proj";
    }

    public static String v(int layer) {
        return block(layer) + ".self_attn.v_proj";
    }

    public static String o(int layer) {
        return block(layer) + ".self_attn.o_proj";
    }

    public static String gate(int layer) {
        return block(layer) + ".mlp.gate_proj";
    }

    public static String up(int layer) {
        return block(layer) + ".mlp.up_proj";
    }

    public static String down(int layer) {
        return block(layer) + ".mlp.down_proj";
    }

    public static String attentionNorm(int layer) {
        return block(layer) + ".input_layernorm";
    }

    public static String mlpNorm(int layer) {
        return block(layer) + ".post_attention_layernorm";
    }

    /** The names of every linear in forward order: per block q, k, v, o, gate, up, down; then the head. */
    public static List<String> linearNames(int nLayers) {
        List<String> out = new ArrayList<>(7 * nLayers + 1);
        for (int i = 0; i < nLayers; i++) {
            out.addAll(List.of(q(i), k(i), v(i), o(i), gate(i), up(i), down(i)));
        }
        out.add(HEAD);
        return out;
    }

    /**
     * Every canonical tensor name a Llama model of {@code nLayers} blocks may have, in forward order: embedding; per
     * block attention norm, q, k, v (each with its optional bias), o, MLP norm, gate, up, down; final norm; head.
     * Readers walk it and skip the names their file does not have.
     */
    public static List<String> tensorOrder(int nLayers) {
        List<String> out = new ArrayList<>(12 * nLayers + 3);
        out.add(EMBEDDING + ".weight");
        for (int l = 0; l < nLayers; l++) {
            out.add(attentionNorm(l) + ".weight");
            for (String p : List.of(q(l), k(l), v(l))) {
                out.add(p + ".weight");
                out.add(p + ".bias");
            }
            out.add(o(l) + ".weight");
            out.add(mlpNorm(l) + ".weight");
            out.add(gate(l) + ".weight");
            out.add(up(l) + ".weight");
            out.add(down(l) + ".weight");
        }
        out.add(FINAL_NORM + ".weight");
        out.add(HEAD + ".weight");
        return out;
    }

    /**
     * The role of a canonical tensor or layer name ({@code .weight}/{@code .bias} may be present), or empty when
     * the name is not one of the names above.
     */
    public static Optional<LayerRole> roleOf(String tensorOrLayerName) {
        String n = tensorOrLayerName;
        if (n.endsWith(".weight")) {
            n = n.substring(0, n.length() - ".weight".length());
        } else if (n.endsWith(".bias")) {
            n = n.substring(0, n.length() - ".bias".length());
        }
        switch (n) {
            case EMBEDDING -> {
                return Optional.of(LayerRole.EMBEDDING);
            }
            case FINAL_NORM -> {
                return Optional.of(LayerRole.NORM);
            }
            case HEAD -> {
                return Optional.of(LayerRole.HEAD);
            }
            default -> {
            }
        }
        Matcher m = LAYER.matcher(n);
        if (!m.matches()) {
            return Optional.empty();
        }
        return Optional.of(switch (m.group(2)) {
            case "input_layernorm", "post_attention_layernorm" -> LayerRole.NORM;
            case "self_attn.q_proj" -> LayerRole.ATTN_Q;
            case "self_attn.k_proj" -> LayerRole.ATTN_K;
            case "self_attn.v_proj" -> LayerRole.ATTN_V;
            case "self_attn.o_proj" -> LayerRole.ATTN_O;
            case "mlp.gate_proj" -> LayerRole.MLP_GATE;
            case "mlp.up_proj" -> LayerRole.MLP_UP;
            case "mlp.down_proj" -> LayerRole.MLP_DOWN;
            default -> throw new IllegalStateException("pattern and switch disagree on " + m.group(2));
        });
    }

    /** The block index of a name under {@code model.layers.{i}.}, or -1. */
    public static int layerIndexOf(String tensorOrLayerName) {
        Matcher m = Pattern.compile("model\\.layers\\.(\\d+)\\..*").matcher(tensorOrLayerName);
        if (!m.matches()) {
            return -1;
        }
        try {
            return Integer.parseInt(m.group(1));
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
