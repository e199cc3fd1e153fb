package dev.squeeze.engine.export.gptq;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.gptq.GptqTensor;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.compress.sparse.MagnitudeSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.export.CompressedModel;
import dev.squeeze.engine.export.ExportFixtures;
import dev.squeeze.engine.export.ExportReport;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.nn.llama.RopePermutation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPTQ checkpoints written from runs: read back by {@link GptqCheckpoint} they give exactly the run's weights for
 * every width, act-order and symmetry; the packed bytes are those AutoGPTQ's {@code pack} makes (a transcription of
 * its loop in this test, and words worked out by hand); what the format cannot hold is refused before writing.
 */
class GptqExporterTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;

    /** dim 64 (2 heads of 32, one kv head), MLP 96: every width a multiple of 32. Interleaved q/k rows. */
    private static Model llama2cStyle() {
        return ExportFixtures.llama(64, 2, 1, 96, 40, true, 11);
    }

    @ParameterizedTest(name = "{0}-bit act-order={1} sym={2} static-groups={3}")
    @CsvSource({"2,false,false,false", "2,true,true,false", "3,false,true,false", "3,true,false,false",
            "3,true,true,false", "4,false,false,false", "4,false,true,false", "4,true,false,false",
            "4,true,true,false", "4,true,false,true", "8,false,false,false", "8,true,true,false",
            "2,true,false,false", "8,true,false,false", "3,false,false,false", "2,false,true,false",
            "8,false,true,false"})
    void everyWidthActOrderAndSymmetryReadsBackBitForBit(int bits, boolean actOrder, boolean sym,
                                                         boolean staticGroups) throws IOException {
        Model base = llama2cStyle();
        GptqSettings s = GptqSettings.of(bits, 32).withActOrder(actOrder).withSymmetric(sym)
                .withStaticGroups(staticGroups);
        CompressedModel run = ExportFixtures.run(base, l -> s, ExportFixtures.LINEARS);
        Path out = dir.resolve("gptq");
        ExportReport report = GptqExporter.write(run, out);
        assertEquals("gptq", report.format());
        long onDisk;
        try (var files = Files.list(out)) {
            onDisk = files.mapToLong(f -> f.toFile().length()).sum();
        }
        assertEquals(onDisk, report.bytes());

        GptqCheckpoint ckpt = GptqCheckpoint.read(out);
        JsonNode q = JSON.readTree(out.resolve("config.json").toFile()).get("quantization_config");
        assertEquals("gptq", q.get("quant_method").asText());
        assertEquals(bits, q.get("bits").asInt());
        assertEquals(32, q.get("group_size").asInt());
        assertEquals(sym, q.get("sym").asBoolean());
        // desc_act means "g_idx is not c / group_size": act-order with dynamic groups; static groups stay in order.
        assertEquals(actOrder && !staticGroups, q.get("desc_act").asBoolean());
        boolean anyZeroAtZero = false;
        for (String layer : ExportFixtures.LINEARS) {
            GptqTensor t = (GptqTensor) run.compressed().get(layer);
            for (int g = 0; g < t.groups(); g++) {
                for (int r = 0; r < t.rows(); r++) {
                    anyZeroAtZero |= t.zero(g, r) == 0;
                }
            }
            float[] expected = t.dequantize();
            if (layer.endsWith("q_proj")) {
                expected = RopePermutation.toRotateHalf(expected, 2, 32, t.cols());
            } else if (layer.endsWith("k_proj")) {
                expected = RopePermutation.toRotateHalf(expected, 1, 32, t.cols());
            }
            assertArrayEquals(expected, ckpt.dequantize(layer), layer);
        }
        // v1 unless a zero point of 0 forces v2 (only asymmetric layers can have one).
        assertEquals(anyZeroAtZero ? "gptq_v2" : "gptq", q.get("checkpoint_format").asText());
        assertEquals(ckpt.checkpointFormat(), q.get("checkpoint_format").asText());
        if (sym) {
            assertEquals("gptq", ckpt.checkpointFormat());
        }
        // The unquantized tensors are fp16 roundings of the model's.
        for (String name : ckpt.denseTensors().keySet()) {
            float[] want = base.tensor(name).floats();
            float[] got = ckpt.dense(name);
            for (int i = 0; i < want.length; i++) {
                assertEquals(Float.float16ToFloat(Float.floatToFloat16(want[i])), got[i], 0f, name);
            }
        }
        assertTrue(Files.isRegularFile(out.resolve("quantize_config.json")));
    }

    /**
     * qweight as AutoGPTQ's {@code QuantLinear.pack} computes it, transcribed loop for loop (its 3-bit branch
     * included) onto the codes the run holds, against the file's raw words; and qzeros likewise with v1's minus one.
     */
    @ParameterizedTest(name = "{0}-bit")
    @CsvSource({"2", "3", "4", "8"})
    void packedWordsAreAutoGptqs(int bits) throws IOException {
        Model base = ExportFixtures.llama(32, 1, 1, 32, 16, false, 5);
        String v = "model.layers.0.self_attn.v_proj";
        CompressedModel run = ExportFixtures.run(base, l -> GptqSettings.of(bits, 32).withSymmetric(true),
                ExportFixtures.LINEARS);
        Path out = dir.resolve("p" + bits);
        GptqExporter.write(run, out);
        CompressedTensor t = run.compressed().get(v);
        GptqTensor g = (GptqTensor) t;
        int in = t.cols();
        int outF = t.rows();
        // intweight is [in, out] (the transposed codes), packed down the in dimension.
        long[][] intweight = new long[in][outF];
        for (int c = 0; c < in; c++) {
            for (int r = 0; r < outF; r++) {
                intweight[c][r] = g.code(r, c);
            }
        }
        long[][] expected = autoGptqPack(intweight, bits);
        int[] file = rawInts(out, v + ".qweight");
        assertEquals(expected.length * outF, file.length);
        for (int row = 0; row < expected.length; row++) {
            for (int col = 0; col < outF; col++) {
                assertEquals((int) expected[row][col], file[row * outF + col], "qweight[" + row + "][" + col + "]");
            }
        }
        // qzeros: zeros − 1 (v1), [groups, out], packed along out with the same loop on the transpose.
        long[][] zerosT = new long[outF][1];
        for (int r = 0; r < outF; r++) {
            zerosT[r][0] = (long) g.zero(0, r) - 1;
        }
        long[][] packedZeros = autoGptqPack(zerosT, bits);
        int[] qzeros = rawInts(out, v + ".qzeros");
        for (int k = 0; k < packedZeros.length; k++) {
            assertEquals((int) packedZeros[k][0], qzeros[k], "qzeros word " + k);
        }
        // Symmetric zero point 2^(bits-1) stored as 2^(bits-1) - 1 in every field, e.g. 0x77777777 for 4 bits.
        if (bits == 4) {
            assertTrue(Arrays.stream(qzeros).allMatch(w -> w == 0x77777777));
        }
        if (bits == 8) {
            assertTrue(Arrays.stream(qzeros).allMatch(w -> w == 0x7f7f7f7f));
        }
        if (bits == 2) {
            assertTrue(Arrays.stream(qzeros).allMatch(w -> w == 0x55555555));
        }
    }

    /** AutoGPTQ's qlinear pack loop: rows of {@code w} (uint32) packed 32/bits per word, 3 bits in 32-row blocks. */
    private static long[][] autoGptqPack(long[][] intweight, int bits) {
        int rows = intweight.length;
        int cols = intweight[0].length;
        long[][] q = new long[rows / 32 * bits][cols];
        int i = 0;
        int row = 0;
        while (row < q.length) {
            if (bits == 2 || bits == 4 || bits == 8) {
                for (int j = i; j < i + 32 / bits; j++) {
                    or(q[row], intweight[j], bits * (j - i));
                }
                i += 32 / bits;
                row += 1;
            } else {
                for (int j = i; j < i + 10; j++) {
                    or(q[row], intweight[j], 3 * (j - i));
                }
                i += 10;
                or(q[row], intweight[i], 30);
                row += 1;
                for (int c = 0; c < cols; c++) {
                    q[row][c] |= (intweight[i][c] >> 2) & 1;
                }
                i += 1;
                for (int j = i; j < i + 10; j++) {
                    or(q[row], intweight[j], 3 * (j - i) + 1);
                }
                i += 10;
                or(q[row], intweight[i], 31);
                row += 1;
                for (int c = 0; c < cols; c++) {
                    q[row][c] |= (intweight[i][c] >> 1) & 0x3;
                }
                i += 1;
                for (int j = i; j < i + 10; j++) {
                    or(q[row], intweight[j], 3 * (j - i) + 2);
                }
                i += 10;
                row += 1;
            }
        }
        return q;
    }

    /** numpy's uint32 {@code |= v << s}: the shifted value truncated to 32 bits. */
    private static void or(long[] dst, long[] v, int shift) {
        for (int c = 0; c < dst.length; c++) {
            dst[c] = (dst[c] | (v[c] << shift)) & 0xffffffffL;
        }
    }

    /**
     * Words worked out by hand: RTN 4-bit asymmetric per row on rows {@code (c mod 16 − 8) / 2} has scale 0.5
     * (exact in fp16), zero point 8 and codes {@code c mod 16}; codes 0..7 in one word are 0x76543210, 8..15 are
     * 0xFEDCBA98; v1 stores the zero point 8 as 7, eight to a word: 0x77777777. Shifted up by 4 ({@code c mod 16
     * / 2}) the zero point is 0, which v1 cannot hold: the file becomes v2 with zero words 0.
     */
    @Test
    void handPackedWordsForACraftedRtnLayer() throws IOException {
        for (boolean shifted : new boolean[]{false, true}) {
            Model base = crafted(shifted);
            String v = "model.layers.0.self_attn.v_proj";
            CompressedModel run = ExportFixtures.run(base, l -> new RtnSettings(4, 0, false), v);
            Path out = dir.resolve("hand" + shifted);
            ExportReport report = GptqExporter.write(run, out);
            int[] qweight = rawInts(out, v + ".qweight");
            assertEquals(4 * 32, qweight.length);
            for (int row = 0; row < 4; row++) {
                for (int col = 0; col < 32; col++) {
                    assertEquals(row % 2 == 0 ? 0x76543210 : 0xFEDCBA98, qweight[row * 32 + col]);
                }
            }
            int[] qzeros = rawInts(out, v + ".qzeros");
            assertEquals(4, qzeros.length);
            for (int w : qzeros) {
                assertEquals(shifted ? 0 : 0x77777777, w);
            }
            short[] scales = rawShorts(out, v + ".scales");
            for (short s : scales) {
                assertEquals(0x3800, s & 0xffff); // 0.5 in fp16
            }
            JsonNode q = JSON.readTree(out.resolve("config.json").toFile()).get("quantization_config");
            assertEquals(shifted ? "gptq_v2" : "gptq", q.get("checkpoint_format").asText());
            assertEquals(-1, q.get("group_size").asInt());
            // Every zero point at the midpoint 8 is what symmetric kernels assume: written as sym.
            assertEquals(!shifted, q.get("sym").asBoolean());
            // The six other block linears stayed dense: excluded by name, stored as F16 with a note each.
            JsonNode dynamic = q.get("dynamic");
            assertEquals(6, dynamic.size());
            assertTrue(dynamic.has("-:^model\\.layers\\.0\\.mlp\\.down_proj$"));
            assertFalse(dynamic.has("-:^model\\.layers\\.0\\.self_attn\\.v_proj$"));
            assertEquals(6, report.notes().stream().filter(n -> n.reason().contains("left this layer dense")).count());
            GptqCheckpoint ckpt = GptqCheckpoint.read(out);
            assertEquals(1, ckpt.layers().size());
            float[] w = ckpt.dequantize(v);
            for (int r = 0; r < 32; r++) {
                for (int c = 0; c < 32; c++) {
                    assertEquals(((c % 16) - (shifted ? 0 : 8)) / 2f, w[r * 32 + c], 0f);
                }
            }
            assertArrayEquals(run.compressed().get(v).dequantize(), w);
        }
    }

    private static Model crafted(boolean shifted) {
        Model m = ExportFixtures.llama(32, 1, 1, 32, 16, false, 3);
        Map<String, Tensor> t = new LinkedHashMap<>(m.tensors());
        float[] v = new float[32 * 32];
        for (int r = 0; r < 32; r++) {
            for (int c = 0; c < 32; c++) {
                v[r * 32 + c] = ((c % 16) - (shifted ? 0 : 8)) / 2f;
            }
        }
        t.put("model.layers.0.self_attn.v_proj.weight", Tensor.of("model.layers.0.self_attn.v_proj.weight", v, 32, 32));
        return new Model(m.name(), m.source(), m.format(), m.architecture(), m.contentHash(), t, m.metadata());
    }

    @Test
    void layersWithOtherSettingsGetDynamicOverrides() throws IOException {
        Model base = llama2cStyle();
        CompressedModel run = ExportFixtures.run(base, l -> l.endsWith("q_proj") ? GptqSettings.of(8, 0)
                : l.endsWith("down_proj") ? GptqSettings.of(3, 32).withActOrder(true) : GptqSettings.of(4, 32)
                .withSymmetric(true), ExportFixtures.LINEARS);
        Path out = dir.resolve("mixed");
        GptqExporter.write(run, out);
        JsonNode q = JSON.readTree(out.resolve("config.json").toFile()).get("quantization_config");
        assertEquals(4, q.get("bits").asInt());
        JsonNode qProj = q.get("dynamic").get("+:^model\\.layers\\.0\\.self_attn\\.q_proj$");
        assertEquals(8, qProj.get("bits").asInt());
        assertEquals(-1, qProj.get("group_size").asInt());
        JsonNode down = q.get("dynamic").get("+:^model\\.layers\\.0\\.mlp\\.down_proj$");
        assertEquals(3, down.get("bits").asInt());
        assertTrue(down.get("desc_act").asBoolean());
        GptqCheckpoint ckpt = GptqCheckpoint.read(out);
        for (String layer : ExportFixtures.LINEARS) {
            float[] expected = run.compressed().get(layer).dequantize();
            if (layer.endsWith("q_proj")) {
                expected = RopePermutation.toRotateHalf(expected, 2, 32, 64);
            } else if (layer.endsWith("k_proj")) {
                expected = RopePermutation.toRotateHalf(expected, 1, 32, 64);
            }
            assertArrayEquals(expected, ckpt.dequantize(layer), layer);
        }
    }

    @Test
    void whatTheFormatCannotHoldIsRefusedBeforeWriting() {
        Model base = llama2cStyle();
        String v = "model.layers.0.self_attn.v_proj";
        Map<String, dev.squeeze.engine.compress.MethodSettings> refused = new LinkedHashMap<>();
        refused.put("sparse", MagnitudeSettings.of(Sparsity.unstructured(0.5)));
        refused.put("low-rank", LowRankSettings.of(LowRankVariant.values()[0], 4));
        refused.put("5-bit", GptqSettings.of(5, 32));
        refused.put("fp32 scales", GptqSettings.of(4, 32).withScalePrecision(GptqSettings.ScalePrecision.FP32));
        refused.put("rtn fp32 scales", new RtnSettings(4, 32, false));
        for (Map.Entry<String, dev.squeeze.engine.compress.MethodSettings> e : refused.entrySet()) {
            CompressedModel run = ExportFixtures.run(base, l -> e.getValue(), v);
            Path out = dir.resolve(e.getKey().replace(' ', '-'));
            SqueezeException x = assertThrows(SqueezeException.class, () -> GptqExporter.write(run, out), e.getKey());
            assertTrue(x.getMessage().contains(v), x.getMessage());
            assertTrue(x.fix().contains("hf") && x.fix().contains("sqz"), x.fix());
            assertFalse(Files.exists(out), e.getKey() + ": nothing may be written");
        }
        // A layer whose width is not a multiple of 32 (MLP of 48), and a compressed lm_head.
        Model odd = ExportFixtures.llama(64, 2, 1, 48, 40, false, 2);
        CompressedModel oddRun = ExportFixtures.run(odd, l -> GptqSettings.of(4, 16), "model.layers.0.mlp.down_proj",
                "lm_head");
        SqueezeException x = assertThrows(SqueezeException.class, () -> GptqExporter.write(oddRun, dir.resolve("o")));
        assertTrue(x.getMessage().contains("multiple of 32") && x.getMessage().contains("lm_head"), x.getMessage());
        // The same, and methods and widths, are refused from the settings alone, before any compression work.
        Map<String, dev.squeeze.engine.compress.MethodSettings> plan = new LinkedHashMap<>();
        plan.put("model.layers.0.mlp.down_proj", GptqSettings.of(4, 16));
        plan.put("model.layers.0.self_attn.q_proj", GptqSettings.of(6, 32));
        plan.put("model.layers.0.self_attn.k_proj", MagnitudeSettings.of(Sparsity.unstructured(0.5)));
        plan.put("model.layers.0.self_attn.v_proj", GptqSettings.of(4, 32).withScalePrecision(
                GptqSettings.ScalePrecision.FP32));
        plan.put("lm_head", new RtnSettings(4, 32, true));
        SqueezeException pre = assertThrows(SqueezeException.class, () -> GptqExporter.requireHolds(odd, plan));
        for (String layer : plan.keySet()) {
            assertTrue(pre.getMessage().contains(layer), pre.getMessage());
        }
        plan.clear();
        plan.put("model.layers.0.self_attn.o_proj", GptqSettings.of(3, 32).withActOrder(true));
        plan.put("model.layers.0.self_attn.v_proj", new RtnSettings(8, 0, false));
        GptqExporter.requireHolds(odd, plan);
        // Nothing quantized: not a GPTQ checkpoint.
        assertThrows(SqueezeException.class, () -> GptqExporter.write(CompressedModel.dense(base), dir.resolve("d")));
    }

    @Test
    void corruptFoldersAreRefusedWithTheFileNamed() throws IOException {
        Model base = llama2cStyle();
        CompressedModel run = ExportFixtures.run(base, l -> GptqSettings.of(4, 32).withActOrder(true),
                ExportFixtures.LINEARS);
        Path out = dir.resolve("c");
        GptqExporter.write(run, out);
        String layer = "model.layers.0.mlp.up_proj";
        // A g_idx naming group 99 of 2.
        Path st = out.resolve("model.safetensors");
        byte[] bytes = Files.readAllBytes(st);
        long at = dataOffset(out, layer + ".g_idx");
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt((int) at, 99);
        Files.write(st, bytes);
        GptqCheckpoint ckpt = GptqCheckpoint.read(out);
        SqueezeException x = assertThrows(SqueezeException.class, () -> ckpt.dequantize(layer));
        assertTrue(x.getMessage().contains("g_idx") && x.getMessage().contains(st.toString()), x.getMessage());
        // A truncated file and a config with 5 bits.
        Files.write(st, Arrays.copyOf(bytes, bytes.length - 4));
        assertThrows(SqueezeException.class, () -> GptqCheckpoint.read(out));
        Files.write(st, bytes);
        String cfg = Files.readString(out.resolve("config.json")).replace("\"bits\" : 4", "\"bits\" : 5");
        Files.writeString(out.resolve("config.json"), cfg);
        assertTrue(assertThrows(SqueezeException.class, () -> GptqCheckpoint.read(out)).getMessage().contains("5"));
    }

    /** Reads a tensor's raw little-endian words from the file with a header parse of this test's own. */
    private static int[] rawInts(Path dir, String name) throws IOException {
        ByteBuffer b = raw(dir, name);
        int[] v = new int[b.remaining() / 4];
        b.asIntBuffer().get(v);
        return v;
    }

    private static short[] rawShorts(Path dir, String name) throws IOException {
        ByteBuffer b = raw(dir, name);
        short[] v = new short[b.remaining() / 2];
        b.asShortBuffer().get(v);
        return v;
    }

    private static ByteBuffer raw(Path dir, String name) throws IOException {
        byte[] bytes = Files.readAllBytes(dir.resolve("model.safetensors"));
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        JsonNode h = JSON.readTree(new String(bytes, 8, (int) n, StandardCharsets.UTF_8)).get(name);
        int begin = (int) (8 + n + h.get("data_offsets").get(0).asLong());
        int end = (int) (8 + n + h.get("data_offsets").get(1).asLong());
        return ByteBuffer.wrap(Arrays.copyOfRange(bytes, begin, end)).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static long dataOffset(Path dir, String name) throws IOException {
        byte[] bytes = Files.readAllBytes(dir.resolve("model.safetensors"));
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        JsonNode h = JSON.readTree(new String(bytes, 8, (int) n, StandardCharsets.UTF_8)).get(name);
        return 8 + n + h.get("data_offsets").get(0).asLong();
    }
}
