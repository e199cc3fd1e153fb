package dev.squeeze.engine.fuzz;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.LayerRole;
import dev.squeeze.engine.nn.llama.LlamaLayers;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.plan.PlanResolver;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Plan JSON files, as {@code run --plan} and the workbench read them: parsed, hashed, then resolved and validated
 * against two layer inventories (the built-in sample MLP's, and a stories260K-shaped Llama: 5 blocks, dim 64,
 * hidden 172, 4 heads of which 4 for k/v) — every layer's settings checked for its shape.
 */
public final class PlanFuzz {
    /** The built-in sample's inventory (784-256-128-10; the sample itself lives in another module). */
    private static final List<LayerInfo> MLP = List.of(linear("fc1", 256, 784), linear("fc2", 128, 256),
            linear("fc3", 10, 128));
    private static final List<LayerInfo> LLAMA = llamaLayers(5, 64, 172, 512);

    private PlanFuzz() {
    }

    public static void fuzzerInitialize() {
        FuzzFiles.warmUp(PlanFuzz::seeds, PlanFuzz::fuzzerTestOneInput);
    }

    public static void fuzzerTestOneInput(byte[] data) throws Exception {
        var file = FuzzFiles.write("plan.json", data);
        FuzzFiles.refusedOnlyCleanly(() -> {
            CompressionPlan plan = CompressionPlan.read(file);
            plan.hash();
            // A plan names the layers of one model, so it is refused by the other: it must fit one of the two.
            SqueezeException refusal = null;
            for (List<LayerInfo> layers : List.of(MLP, LLAMA)) {
                try {
                    PlanResolver.resolve(plan, layers);
                    return;
                } catch (SqueezeException e) {
                    refusal = e;
                }
            }
            throw refusal;
        });
    }

    static Map<String, byte[]> seeds() {
        Map<String, String> plans = new LinkedHashMap<>();
        plans.put("rtn", """
                {"schema":1,"defaults":{"method":"rtn","bits":4,"groupSize":64,"symmetric":true}}""");
        plans.put("gptq-overrides", """
                {"schema":1,"preset":"gptq-4bit-g128","overrides":[
                 {"match":"regex:^model\\\\.layers\\\\.0\\\\..*","method":"gptq","bits":8,"groupSize":32},
                 {"match":"regex:.*\\\\.mlp\\\\.down_proj","method":"rtn","bits":3},
                 {"layer":"model.layers.1.self_attn.k_proj","method":"none"}]}""");
        plans.put("mlp-layers", """
                {"schema":1,"defaults":{"method":"gptq","bits":3,"groupSize":128,"actOrder":true,"percdamp":0.01},
                 "overrides":[{"layer":"fc1","method":"rtn","bits":8},{"match":"regex:fc[23]","method":"none"}]}""");
        plans.put("sparse", """
                {"schema":1,"defaults":{"method":"sparsegpt","sparsity":"2:4"},
                 "overrides":[{"match":"regex:.*(fc1|q_proj)","method":"magnitude","sparsity":{"rows":0.25}}]}""");
        plans.put("spqr", """
                {"schema":1,"preset":"spqr-near-lossless","defaults":{"method":"spqr","bits":3,"groupSize":16,"qqGroupSize":4}}""");
        plans.put("lowrank", """
                {"schema":1,"defaults":{"method":"lowrank","variant":"svd","rank":8},
                 "overrides":[{"match":"regex:.*_proj","method":"lowrank","variant":"lord","rank":4}]}""");
        plans.put("mostly4", """
                {"schema":1,"preset":"mostly-4bit-first-last-8bit"}""");
        plans.put("2of4", """
                {"schema":1,"preset":"2of4-plus-4bit","overrides":[{"match":"regex:^(?!.*lm_head).*o_proj","method":"rtn","bits":2}]}""");
        Map<String, byte[]> out = new LinkedHashMap<>();
        plans.forEach((k, v) -> out.put(k, v.getBytes(StandardCharsets.UTF_8)));
        return out;
    }

    static List<LayerInfo> llamaLayers(int blocks, int dim, int hidden, int vocab) {
        List<LayerInfo> out = new ArrayList<>();
        out.add(layer(LlamaLayers.EMBEDDING, vocab, dim));
        for (int l = 0; l < blocks; l++) {
            for (String n : List.of(LlamaLayers.q(l), LlamaLayers.k(l), LlamaLayers.v(l), LlamaLayers.o(l))) {
                out.add(layer(n, dim, dim));
            }
            out.add(layer(LlamaLayers.gate(l), hidden, dim));
            out.add(layer(LlamaLayers.up(l), hidden, dim));
            out.add(layer(LlamaLayers.down(l), dim, hidden));
        }
        out.add(layer(LlamaLayers.HEAD, vocab, dim));
        return out;
    }

    private static LayerInfo layer(String name, long rows, long cols) {
        LayerRole role = LlamaLayers.roleOf(name).orElse(LayerRole.LINEAR);
        return new LayerInfo(name, role, new long[]{rows, cols}, rows * cols, rows * cols * 4);
    }

    private static LayerInfo linear(String name, long rows, long cols) {
        return new LayerInfo(name, LayerRole.LINEAR, new long[]{rows, cols}, rows * cols + rows, (rows * cols + rows) * 4);
    }
}
