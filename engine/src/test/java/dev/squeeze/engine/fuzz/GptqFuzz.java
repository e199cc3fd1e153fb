package dev.squeeze.engine.fuzz;

import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.export.CompressedModel;
import dev.squeeze.engine.export.ExportFixtures;
import dev.squeeze.engine.export.gptq.GptqCheckpoint;
import dev.squeeze.engine.export.gptq.GptqExporter;
import dev.squeeze.engine.model.Model;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * GPTQ checkpoint folders ({@link GptqCheckpoint}): the input is a config.json and a model.safetensors, split by a
 * two-byte little-endian length of the config at its start. Opening must refuse cleanly or give a checkpoint whose
 * every quantized layer then dequantizes (or is refused cleanly, a g_idx naming a missing group) and whose every
 * dense tensor decodes.
 */
public final class GptqFuzz {
    private static final Path DIR = FuzzFiles.folder("gptq");

    private GptqFuzz() {
    }

    public static void fuzzerInitialize() {
        FuzzFiles.warmUp(GptqFuzz::seeds, GptqFuzz::fuzzerTestOneInput);
    }

    public static void fuzzerTestOneInput(byte[] data) throws Exception {
        if (data.length < 2) {
            return;
        }
        int len = Math.min((data[0] & 0xff) | (data[1] & 0xff) << 8, data.length - 2);
        FuzzFiles.write(DIR, "config.json", Arrays.copyOfRange(data, 2, 2 + len));
        FuzzFiles.write(DIR, "model.safetensors", Arrays.copyOfRange(data, 2 + len, data.length));
        FuzzFiles.refusedOnlyCleanly(() -> {
            GptqCheckpoint c = GptqCheckpoint.read(DIR);
            for (String name : c.denseTensors().keySet()) {
                c.dense(name);
            }
            for (String layer : c.layers().keySet()) {
                c.dequantize(layer);
            }
        });
    }

    static Map<String, byte[]> seeds() throws Exception {
        Map<String, byte[]> out = new LinkedHashMap<>();
        Path dir = Files.createTempDirectory(FuzzFiles.scratch(), "gptq-seeds");
        Model base = ExportFixtures.llama(32, 1, 1, 32, 8, true, 1);
        Map<String, CompressedModel> runs = new LinkedHashMap<>();
        for (int bits : new int[]{2, 3, 4, 8}) {
            runs.put(bits + "bit-sym", ExportFixtures.run(base, l -> GptqSettings.of(bits, 16).withSymmetric(true),
                    ExportFixtures.LINEARS));
            runs.put(bits + "bit-asym-actorder", ExportFixtures.run(base, l -> GptqSettings.of(bits, 16)
                    .withActOrder(true), ExportFixtures.LINEARS));
        }
        runs.put("mixed-dynamic", ExportFixtures.run(base, l -> l.endsWith("v_proj") ? null
                : l.endsWith("q_proj") ? GptqSettings.of(8, 0) : GptqSettings.of(4, 16), ExportFixtures.LINEARS));
        Model rotateHalf = ExportFixtures.llama(32, 1, 1, 32, 8, false, 2);
        runs.put("per-row-untied", ExportFixtures.run(rotateHalf, l -> GptqSettings.of(4, 0),
                ExportFixtures.LINEARS));
        for (Map.Entry<String, CompressedModel> e : runs.entrySet()) {
            Path folder = dir.resolve(e.getKey());
            GptqExporter.write(e.getValue(), folder);
            byte[] config = Files.readAllBytes(folder.resolve("config.json"));
            byte[] weights = Files.readAllBytes(folder.resolve("model.safetensors"));
            byte[] in = new byte[2 + config.length + weights.length];
            in[0] = (byte) config.length;
            in[1] = (byte) (config.length >>> 8);
            System.arraycopy(config, 0, in, 2, config.length);
            System.arraycopy(weights, 0, in, 2 + config.length, weights.length);
            out.put(e.getKey(), in);
        }
        return out;
    }
}
