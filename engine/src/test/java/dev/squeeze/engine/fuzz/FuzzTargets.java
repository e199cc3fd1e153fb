package dev.squeeze.engine.fuzz;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Every fuzz target of the project: one per reader of outside bytes. A reader added later ({@code .sqz}, GPTQ
 * safetensors) comes with its line here; {@link FuzzSmokeTest} then fuzzes it in CI and replays its regressions.
 */
public final class FuzzTargets {
    /**
     * @param name   short name, also the folder of its seeds, corpus and regression inputs
     * @param target a class with {@code public static void fuzzerTestOneInput(byte[])}
     * @param seeds  valid inputs the campaign starts from (file name → bytes)
     */
    public record Target(String name, Class<?> target, SeedSource seeds) {
    }

    @FunctionalInterface
    public interface SeedSource {
        Map<String, byte[]> seeds() throws Exception;
    }

    private static final List<Target> ALL = List.of(
            new Target("idx", IdxFuzz.class, IdxFuzz::seeds),
            new Target("llama2c-model", Llama2cModelFuzz.class, Llama2cModelFuzz::seeds),
            new Target("plan", PlanFuzz.class, PlanFuzz::seeds),
            new Target("tokenizer-json", HfTokenizerFuzz.class, HfTokenizerFuzz::seeds),
            new Target("llama2c-tokenizer", Llama2cTokenizerFuzz.class, Llama2cTokenizerFuzz::seeds),
            new Target("safetensors-model", SafetensorsModelFuzz.class, SafetensorsModelFuzz::seeds),
            new Target("hf-config", HfConfigFuzz.class, HfConfigFuzz::seeds),
            new Target("hf-index", HfIndexFuzz.class, HfIndexFuzz::seeds),
            new Target("hf-shard", HfShardFuzz.class, HfShardFuzz::seeds),
            new Target("onnx-model", OnnxModelFuzz.class, OnnxModelFuzz::seeds),
            new Target("onnx-graph", OnnxGraphFuzz.class, OnnxGraphFuzz::seeds),
            new Target("checkpoint", CheckpointFuzz.class, CheckpointFuzz::seeds),
            new Target("protocol", ProtocolFuzz.class, ProtocolFuzz::seeds),
            new Target("gguf", GgufFuzz.class, GgufFuzz::seeds),
            new Target("gptq", GptqFuzz.class, GptqFuzz::seeds),
            new Target("sqz", SqzFuzz.class, SqzFuzz::seeds),
            new Target("gguf-model", GgufModelFuzz.class, GgufModelFuzz::seeds));

    private FuzzTargets() {
    }

    public static List<Target> all() {
        return ALL;
    }

    public static Optional<Target> byName(String name) {
        return ALL.stream().filter(t -> t.name().equals(name)).findFirst();
    }
}
