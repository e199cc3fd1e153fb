package dev.squeeze.engine.model.hf;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The part of a Hugging Face {@code config.json} that defines a Llama-family decoder (Llama, Mistral, Qwen2),
 * and its translation to the architecture metadata every Llama-family {@code Model} carries
 * ({@code squeeze.llama.*}), so that the forward pass needs no knowledge of where the model came from.
 * Absent optional fields take the defaults of the transformers config classes, so a config means what it means
 * to transformers.
 *
 * @param hfArchitecture  e.g. {@code LlamaForCausalLM}
 * @param family          {@code llama}, {@code mistral} or {@code qwen2}
 * @param slidingWindow   the attention window (Mistral; Qwen2 when {@code use_sliding_window}), or null
 * @param ropeScaling     the {@code rope_scaling} object as JSON text, or null when absent
 * @param torchDtype      the declared storage type ({@code torch_dtype} or {@code dtype}), or null
 * @param bosTokenId      or null
 * @param eosTokenIds     empty when absent (Llama 3.1 lists several)
 */
public record HfConfig(String hfArchitecture, String family, int dim, int hiddenDim, int nLayers, int nHeads,
                       int nKvHeads, int vocabSize, int maxSeqLen, double normEps, double ropeTheta,
                       boolean qkvBias, boolean tiedEmbeddings, Integer slidingWindow, String ropeScaling,
                       String torchDtype, Integer bosTokenId, List<Integer> eosTokenIds) {

    /** Metadata key prefix shared with the Llama forward pass. */
    public static final String PREFIX = "squeeze.llama.";
    public static final String ARCHITECTURE = "llama";
    /** The metadata key of the original {@code architectures[0]}, e.g. {@code LlamaForCausalLM}. */
    public static final String HF_ARCHITECTURE_KEY = "squeeze.hf.architecture";

    /** Supported {@code architectures} values and their family names. */
    private static final Map<String, String> FAMILIES = Map.of(
            "LlamaForCausalLM", "llama", "MistralForCausalLM", "mistral", "Qwen2ForCausalLM", "qwen2");
    private static final Map<String, String> ARCHITECTURES = Map.of(
            "llama", "LlamaForCausalLM", "mistral", "MistralForCausalLM", "qwen2", "Qwen2ForCausalLM");
    /** A bound on every size field: far above real models, low enough that no product overflows a long. */
    private static final long MAX_SIZE = 1L << 24;
    private static final int MAX_LAYERS = 4096;
    private static final ObjectMapper JSON = new ObjectMapper();

    public HfConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    public int headDim() {
        return dim / nHeads;
    }

    /** Reads and validates {@code config.json}; every problem is a {@link SqueezeException} naming the file. */
    public static HfConfig read(Path configFile) {
        String where = configFile.toAbsolutePath().toString();
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(configFile);
        } catch (IOException e) {
            throw new SqueezeException("Cannot read " + where + ": " + e.getMessage(),
                    "a Hugging Face model folder needs its config.json; check that it exists and is readable", e);
        }
        return parse(bytes, where);
    }

    /** Parses config.json content; {@code where} names it in error messages. */
    public static HfConfig parse(byte[] json, String where) {
        JsonNode root;
        try {
            root = JSON.readTree(new String(json, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new SqueezeException("Corrupt config file " + where + ": it is not valid JSON ("
                    + e.getOriginalMessage() + ")", "get a fresh copy of config.json for this model");
        }
        if (!(root instanceof ObjectNode cfg)) {
            throw new SqueezeException("Corrupt config file " + where + ": the top level is not a JSON object",
                    "get a fresh copy of config.json for this model");
        }
        Fields f = new Fields(cfg, where);
        JsonNode archs = cfg.get("architectures");
        List<String> names = new ArrayList<>();
        if (archs != null && archs.isArray()) {
            archs.forEach(a -> names.add(a.asText()));
        }
        String arch = names.stream().filter(FAMILIES::containsKey).findFirst().orElse(null);
        if (arch == null) {
            throw new SqueezeException("Unsupported model in " + where + ": the field 'architectures' is "
                    + (archs == null ? "missing" : archs.toString()) + "; Squeeze reads "
                    + String.join(", ", FAMILIES.keySet().stream().sorted().toList()),
                    "open a Llama, Mistral or Qwen2 causal language model");
        }
        String family = FAMILIES.get(arch);

        int dim = f.size("hidden_size", null);
        int hidden = f.size("intermediate_size", null);
        int layers = f.size("num_hidden_layers", null);
        if (layers > MAX_LAYERS) {
            throw f.bad("num_hidden_layers", layers + " is more layers than any real model (at most " + MAX_LAYERS
                    + ")");
        }
        int heads = f.size("num_attention_heads", null);
        int kvHeads = f.size("num_key_value_heads", heads);
        int vocab = f.size("vocab_size", null);
        int defaultMaxPos = switch (family) {
            case "mistral" -> 4096 * 32;
            case "qwen2" -> 32768;
            default -> 2048;
        };
        int maxPos = f.size("max_position_embeddings", defaultMaxPos);
        double eps = f.positive("rms_norm_eps", 1e-6);
        double theta = f.positive("rope_theta", 10000.0);
        boolean tied = f.bool("tie_word_embeddings", false);

        if (dim % heads != 0) {
            throw f.bad("num_attention_heads", heads + " does not divide hidden_size " + dim);
        }
        if (heads % kvHeads != 0) {
            throw f.bad("num_key_value_heads", kvHeads + " does not divide num_attention_heads " + heads);
        }
        JsonNode headDim = cfg.get("head_dim");
        if (headDim != null && !headDim.isNull() && headDim.asLong(-1) != dim / heads) {
            throw new SqueezeException("Unsupported model in " + where + ": head_dim is " + headDim
                    + " but hidden_size / num_attention_heads is " + dim / heads
                    + "; Squeeze's Llama forward pass needs head_dim = hidden_size / num_attention_heads",
                    "open a model whose heads span the hidden size");
        }
        String act = f.text("hidden_act", "silu");
        if (!act.equals("silu") && !act.equals("swish")) {
            throw f.unsupported("hidden_act", "'" + act + "'", "SwiGLU with silu");
        }
        if (family.equals("llama") && f.bool("attention_bias", false)) {
            throw f.unsupported("attention_bias", "true", "Llama attention without biases (Qwen2 has q/k/v biases)");
        }
        if (f.bool("mlp_bias", false)) {
            throw f.unsupported("mlp_bias", "true", "MLPs without biases");
        }
        Integer window = null;
        if (family.equals("mistral")) {
            window = f.optionalSize("sliding_window", 4096);
        } else if (family.equals("qwen2") && f.bool("use_sliding_window", false)) {
            window = f.optionalSize("sliding_window", 4096);
        }
        JsonNode scaling = cfg.get("rope_scaling");
        String ropeScaling = scaling == null || scaling.isNull() ? null : scaling.toString();
        String dtype = f.text("torch_dtype", f.text("dtype", null));
        Integer bos = f.optionalSize("bos_token_id", null);
        List<Integer> eos = new ArrayList<>();
        JsonNode eosNode = cfg.get("eos_token_id");
        if (eosNode != null && eosNode.isArray()) {
            for (JsonNode e : eosNode) {
                eos.add(f.tokenId("eos_token_id", e));
            }
        } else if (eosNode != null && !eosNode.isNull()) {
            eos.add(f.tokenId("eos_token_id", eosNode));
        }
        return new HfConfig(arch, family, dim, hidden, layers, heads, kvHeads, vocab, maxPos, eps, theta,
                family.equals("qwen2"), tied, window, ropeScaling, dtype, bos, eos);
    }

    /**
     * The architecture metadata of a Llama-family model built from this config: {@code squeeze.architecture} and
     * the {@code squeeze.llama.*} keys the forward pass reads, plus where it came from ({@code squeeze.hf.*}).
     */
    public Map<String, String> metadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("squeeze.architecture", ARCHITECTURE);
        m.put(PREFIX + "family", family);
        m.put(PREFIX + "dim", Integer.toString(dim));
        m.put(PREFIX + "hidden_dim", Integer.toString(hiddenDim));
        m.put(PREFIX + "n_layers", Integer.toString(nLayers));
        m.put(PREFIX + "n_heads", Integer.toString(nHeads));
        m.put(PREFIX + "n_kv_heads", Integer.toString(nKvHeads));
        m.put(PREFIX + "head_dim", Integer.toString(headDim()));
        m.put(PREFIX + "vocab_size", Integer.toString(vocabSize));
        m.put(PREFIX + "max_seq_len", Integer.toString(maxSeqLen));
        m.put(PREFIX + "norm_eps", Double.toString(normEps));
        m.put(PREFIX + "rope_theta", Double.toString(ropeTheta));
        m.put(PREFIX + "rope_style", "rotate_half");
        m.put(PREFIX + "qkv_bias", Boolean.toString(qkvBias));
        m.put(PREFIX + "tied_embeddings", Boolean.toString(tiedEmbeddings));
        if (slidingWindow != null) {
            m.put(PREFIX + "sliding_window", Integer.toString(slidingWindow));
        }
        if (ropeScaling != null) {
            m.put(PREFIX + "rope_scaling", ropeScaling);
        }
        m.put(HF_ARCHITECTURE_KEY, hfArchitecture);
        if (torchDtype != null) {
            m.put("squeeze.hf.torch_dtype", torchDtype);
        }
        if (bosTokenId != null) {
            m.put("squeeze.hf.bos_token_id", Integer.toString(bosTokenId));
        }
        if (!eosTokenIds.isEmpty()) {
            m.put("squeeze.hf.eos_token_id", String.join(",", eosTokenIds.stream().map(String::valueOf).toList()));
        }
        return m;
    }

    /**
     * The config of a Llama-family model from its {@code squeeze.llama.*} metadata (any reader's), for writing it
     * in Hugging Face layout.
     *
     * @param torchDtype the storage type the files will have, e.g. {@code float16}
     */
    public static HfConfig fromMetadata(Map<String, String> metadata, String modelName, String torchDtype) {
        Meta m = new Meta(metadata, modelName);
        if (!ARCHITECTURE.equals(metadata.get("squeeze.architecture"))) {
            throw new SqueezeException("Model " + modelName + " is not a Llama-family model (its architecture is '"
                    + metadata.get("squeeze.architecture") + "'); only those can be written in Hugging Face layout",
                    "export a Llama, Mistral or Qwen2 model");
        }
        String family = metadata.getOrDefault(PREFIX + "family", "llama");
        String arch = ARCHITECTURES.get(family);
        if (arch == null) {
            throw new SqueezeException("Model " + modelName + " has Llama family '" + family
                    + "', which has no Hugging Face architecture name here", "use llama, mistral or qwen2");
        }
        boolean qkvBias = m.bool("qkv_bias", false);
        if (qkvBias != family.equals("qwen2")) {
            throw new SqueezeException("Model " + modelName + " has qkv_bias=" + qkvBias + " in family " + family
                    + "; in Hugging Face layout only Qwen2 has q/k/v biases", "check the model's metadata");
        }
        Integer window = metadata.containsKey(PREFIX + "sliding_window") ? m.integer("sliding_window") : null;
        List<Integer> eos = new ArrayList<>();
        String eosText = metadata.get("squeeze.hf.eos_token_id");
        if (eosText != null && !eosText.isBlank()) {
            for (String s : eosText.split(",")) {
                eos.add(Meta.parseInt(s.trim(), "squeeze.hf.eos_token_id", modelName));
            }
        }
        String bosText = metadata.get("squeeze.hf.bos_token_id");
        Integer bos = bosText == null ? null : Meta.parseInt(bosText, "squeeze.hf.bos_token_id", modelName);
        return new HfConfig(arch, family, m.integer("dim"), m.integer("hidden_dim"), m.integer("n_layers"),
                m.integer("n_heads"), m.integer("n_kv_heads"), m.integer("vocab_size"), m.integer("max_seq_len"),
                m.number("norm_eps"), m.number("rope_theta"), qkvBias, m.bool("tied_embeddings", false), window,
                metadata.get(PREFIX + "rope_scaling"), torchDtype, bos, eos);
    }

    /** This config as a transformers {@code config.json} object. */
    public ObjectNode toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.putArray("architectures").add(hfArchitecture);
        o.put("model_type", family);
        o.put("hidden_size", dim);
        o.put("intermediate_size", hiddenDim);
        o.put("num_hidden_layers", nLayers);
        o.put("num_attention_heads", nHeads);
        o.put("num_key_value_heads", nKvHeads);
        o.put("head_dim", headDim());
        o.put("vocab_size", vocabSize);
        o.put("max_position_embeddings", maxSeqLen);
        o.put("rms_norm_eps", normEps);
        o.put("rope_theta", ropeTheta);
        o.put("hidden_act", "silu");
        o.put("tie_word_embeddings", tiedEmbeddings);
        if (family.equals("llama")) {
            o.put("attention_bias", false);
            o.put("mlp_bias", false);
        }
        if (slidingWindow != null) {
            o.put("sliding_window", slidingWindow);
            if (family.equals("qwen2")) {
                o.put("use_sliding_window", true);
            }
        } else if (!family.equals("llama")) {
            o.putNull("sliding_window");
        }
        if (ropeScaling != null) {
            try {
                o.set("rope_scaling", JSON.readTree(ropeScaling));
            } catch (JsonProcessingException e) {
                throw new SqueezeException("The model's rope_scaling metadata is not JSON: " + ropeScaling,
                        "check the model's metadata", e);
            }
        }
        if (bosTokenId != null) {
            o.put("bos_token_id", bosTokenId);
        }
        if (eosTokenIds.size() == 1) {
            o.put("eos_token_id", eosTokenIds.getFirst());
        } else if (!eosTokenIds.isEmpty()) {
            var a = o.putArray("eos_token_id");
            eosTokenIds.forEach(a::add);
        }
        if (torchDtype != null) {
            o.put("torch_dtype", torchDtype);
        }
        return o;
    }

    /**
     * Every tensor a model with this config has, in the canonical (Hugging Face) names and order, with its shape
     * as stored (out × in for linears).
     */
    public Map<String, long[]> expectedShapes() {
        int hd = headDim();
        long q = (long) nHeads * hd;
        long kv = (long) nKvHeads * hd;
        Map<String, long[]> s = new LinkedHashMap<>();
        s.put("model.embed_tokens.weight", new long[]{vocabSize, dim});
        for (int i = 0; i < nLayers; i++) {
            String p = "model.layers." + i + ".";
            s.put(p + "input_layernorm.weight", new long[]{dim});
            s.put(p + "self_attn.q_proj.weight", new long[]{q, dim});
            if (qkvBias) {
                s.put(p + "self_attn.q_proj.bias", new long[]{q});
            }
            s.put(p + "self_attn.k_proj.weight", new long[]{kv, dim});
            if (qkvBias) {
                s.put(p + "self_attn.k_proj.bias", new long[]{kv});
            }
            s.put(p + "self_attn.v_proj.weight", new long[]{kv, dim});
            if (qkvBias) {
                s.put(p + "self_attn.v_proj.bias", new long[]{kv});
            }
            s.put(p + "self_attn.o_proj.weight", new long[]{dim, q});
            s.put(p + "post_attention_layernorm.weight", new long[]{dim});
            s.put(p + "mlp.gate_proj.weight", new long[]{hiddenDim, dim});
            s.put(p + "mlp.up_proj.weight", new long[]{hiddenDim, dim});
            s.put(p + "mlp.down_proj.weight", new long[]{dim, hiddenDim});
        }
        s.put("model.norm.weight", new long[]{dim});
        if (!tiedEmbeddings) {
            s.put("lm_head.weight", new long[]{vocabSize, dim});
        }
        return s;
    }

    /** The config fields that decide a tensor's expected shape, for error messages. */
    String shapeFields() {
        return "hidden_size " + dim + ", intermediate_size " + hiddenDim + ", num_attention_heads " + nHeads
                + ", num_key_value_heads " + nKvHeads + ", vocab_size " + vocabSize;
    }

    /** Typed, validated access to config.json fields with errors that name the file and the field. */
    private record Fields(ObjectNode cfg, String where) {
        int size(String field, Integer fallback) {
            JsonNode n = cfg.get(field);
            if (n == null || n.isNull()) {
                if (fallback == null) {
                    throw bad(field, "missing");
                }
                return fallback;
            }
            if (!n.isIntegralNumber() || n.asLong() < 1 || n.asLong() > MAX_SIZE) {
                throw bad(field, n + " is not a whole number between 1 and " + MAX_SIZE);
            }
            return n.asInt();
        }

        Integer optionalSize(String field, Integer fallback) {
            JsonNode n = cfg.get(field);
            if (n == null) {
                return fallback;
            }
            return n.isNull() ? null : size(field, null);
        }

        int tokenId(String field, JsonNode n) {
            if (!n.isIntegralNumber() || n.asLong() < 0 || n.asLong() > MAX_SIZE) {
                throw bad(field, n + " is not a token id");
            }
            return n.asInt();
        }

        double positive(String field, double fallback) {
            JsonNode n = cfg.get(field);
            if (n == null || n.isNull()) {
                return fallback;
            }
            if (!n.isNumber() || !(n.asDouble() > 0) || Double.isInfinite(n.asDouble())) {
                throw bad(field, n + " is not a positive number");
            }
            return n.asDouble();
        }

        boolean bool(String field, boolean fallback) {
            JsonNode n = cfg.get(field);
            if (n == null || n.isNull()) {
                return fallback;
            }
            if (!n.isBoolean()) {
                throw bad(field, n + " is not true or false");
            }
            return n.asBoolean();
        }

        String text(String field, String fallback) {
            JsonNode n = cfg.get(field);
            if (n == null || n.isNull()) {
                return fallback;
            }
            if (!n.isTextual()) {
                throw bad(field, n + " is not a string");
            }
            return n.asText();
        }

        SqueezeException bad(String field, String what) {
            return new SqueezeException("Bad config file " + where + ": field '" + field + "' is " + what,
                    "get a fresh copy of config.json for this model");
        }

        SqueezeException unsupported(String field, String value, String supported) {
            return new SqueezeException("Unsupported model in " + where + ": '" + field + "' is " + value
                    + "; Squeeze's Llama forward pass supports " + supported,
                    "open a model without this feature");
        }
    }

    /** Typed access to {@code squeeze.llama.*} metadata with errors naming the model and key. */
    private record Meta(Map<String, String> metadata, String modelName) {
        int integer(String key) {
            return parseInt(metadata.get(PREFIX + key), PREFIX + key, modelName);
        }

        double number(String key) {
            String v = metadata.get(PREFIX + key);
            try {
                return Double.parseDouble(Objects.requireNonNull(v));
            } catch (NullPointerException | NumberFormatException e) {
                throw missing(PREFIX + key, v, modelName);
            }
        }

        boolean bool(String key, boolean fallback) {
            String v = metadata.get(PREFIX + key);
            return v == null ? fallback : Boolean.parseBoolean(v);
        }

        static int parseInt(String v, String key, String modelName) {
            try {
                return Integer.parseInt(Objects.requireNonNull(v));
            } catch (NullPointerException | NumberFormatException e) {
                throw missing(key, v, modelName);
            }
        }

        static SqueezeException missing(String key, String v, String modelName) {
            return new SqueezeException("Model " + modelName + " lacks a valid '" + key + "' in its metadata (found "
                    + (v == null ? "nothing" : "'" + v + "'") + ")",
                    "a Llama-family model must carry its squeeze.llama.* architecture metadata");
        }
    }
}
