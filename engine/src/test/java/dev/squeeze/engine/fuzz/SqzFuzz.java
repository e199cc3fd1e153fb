package dev.squeeze.engine.fuzz;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.compress.sparse.MagnitudeSettings;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.engine.export.CompressedModel;
import dev.squeeze.engine.export.sqz.Sqz;
import dev.squeeze.engine.export.sqz.SqzBundle;
import dev.squeeze.engine.export.sqz.SqzContents;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import dev.squeeze.engine.store.Provenance;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.store.RunSummary;
import dev.squeeze.engine.store.StoredRun;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32C;

/**
 * {@code .sqz} bundles ({@link Sqz#read}): opening must either refuse cleanly or give a bundle whose every layer
 * decodes and whose model view builds. Every section carries a CRC32C, so a mutated byte is almost always caught
 * by its checksum; to reach the parsers behind the checksums, an input whose first byte is odd has its checksums
 * repaired before it is read (the manifest's section CRCs recomputed, the manifest re-serialised and the footer
 * rewritten), so the fuzzer's mutations of JSON and packed arrays get through to the decoders.
 */
public final class SqzFuzz {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Layers and views beyond this many weights are decoded but not expanded (a view of a huge claim is memory, not a bug). */
    private static final long MAX_VIEW_WEIGHTS = 1 << 20;

    private SqzFuzz() {
    }

    public static void fuzzerInitialize() {
        FuzzFiles.warmUp(SqzFuzz::seeds, SqzFuzz::fuzzerTestOneInput);
    }

    public static void fuzzerTestOneInput(byte[] data) throws Exception {
        if (data.length == 0) {
            return;
        }
        byte[] bytes = java.util.Arrays.copyOfRange(data, 1, data.length);
        if ((data[0] & 1) == 1) {
            bytes = repaired(bytes);
        }
        Path file = FuzzFiles.write("bundle.sqz", bytes);
        FuzzFiles.refusedOnlyCleanly(() -> {
            SqzBundle b = Sqz.read(file);
            long weights = 0;
            for (String l : b.compressedLayers()) {
                CompressedTensor t = b.layer(l);
                weights += (long) t.rows() * t.cols();
                b.settings(l);
            }
            b.planJson();
            b.run();
            b.metrics();
            b.layerResults();
            if (weights <= MAX_VIEW_WEIGHTS) {
                Model m = b.model();
                for (Tensor t : m.tensors().values()) {
                    if (t.numel() <= MAX_VIEW_WEIGHTS) {
                        t.floats();
                    }
                }
                m.layers();
            }
        });
    }

    /** The bytes with every checksum made to match (best effort: unparseable inputs are returned unchanged). */
    static byte[] repaired(byte[] b) {
        try {
            if (b.length < 48) {
                return b;
            }
            ByteBuffer foot = ByteBuffer.wrap(b, b.length - 32, 32).order(ByteOrder.LITTLE_ENDIAN);
            long mOff = foot.getLong();
            long mLen = foot.getLong();
            if (mOff < 16 || mLen < 0 || mOff + mLen > b.length - 32) {
                return b;
            }
            ObjectNode manifest = (ObjectNode) JSON.readTree(b, (int) mOff, (int) mLen);
            for (var e : manifest.withArray("sections")) {
                if (e instanceof ObjectNode o && o.path("offset").canConvertToLong() && o.path("length").canConvertToLong()) {
                    long off = o.get("offset").asLong();
                    long len = o.get("length").asLong();
                    if (off >= 0 && len >= 0 && off + len <= mOff) {
                        CRC32C c = new CRC32C();
                        c.update(b, (int) off, (int) len);
                        o.put("crc32c", java.util.HexFormat.of().toHexDigits((int) c.getValue()));
                    }
                }
            }
            byte[] m = JSON.writeValueAsBytes(manifest);
            CRC32C c = new CRC32C();
            c.update(m);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.write(b, 0, (int) mOff);
            out.write(m);
            ByteBuffer f = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
            f.putLong(mOff).putLong(m.length).putInt((int) c.getValue());
            f.put(b, b.length - 12, 12);
            out.write(f.array());
            return out.toByteArray();
        } catch (Exception | StackOverflowError e) {
            return b;
        }
    }

    static Map<String, byte[]> seeds() throws Exception {
        Map<String, MethodSettings> kinds = new LinkedHashMap<>();
        kinds.put("rtn", new RtnSettings(4, 8, false));
        kinds.put("gptq", GptqSettings.reference(3, 8, false, true, false));
        kinds.put("spqr", SpqrSettings.recommended(3));
        kinds.put("sparse", SparseGptSettings.quantized(Sparsity.nOfM(2, 4), 4));
        kinds.put("magnitude", MagnitudeSettings.of(Sparsity.unstructured(0.5)));
        kinds.put("lowrank", LowRankSettings.of(LowRankVariant.SVD, 2).withQuantization(new RtnSettings(4, 0, false), null));
        Map<String, byte[]> out = new LinkedHashMap<>();
        Path dir = Files.createTempDirectory(FuzzFiles.scratch(), "sqz");
        int rows = 16;
        int cols = 32;
        for (Map.Entry<String, MethodSettings> k : kinds.entrySet()) {
            Random rnd = new Random(k.getKey().hashCode());
            float[] w = new float[rows * cols];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) rnd.nextGaussian() * (i % 61 == 0 ? 3 : 0.1f);
            }
            float[] h = new float[cols * cols];
            for (int s = 0; s < 64; s++) {
                float[] x = new float[cols];
                for (int i = 0; i < cols; i++) {
                    x[i] = (float) rnd.nextGaussian();
                }
                for (int i = 0; i < cols; i++) {
                    for (int j = 0; j < cols; j++) {
                        h[i * cols + j] += x[i] * x[j] / 32f;
                    }
                }
            }
            String layer = "l";
            CompressedTensor t = Methods.compress(new LayerInput(layer, w, rows, cols, h), k.getValue());
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("l.weight", Tensor.of("l.weight", w, rows, cols));
            tensors.put("l.bias", new Tensor("l.bias", DType.BF16, new long[]{rows},
                    ByteBuffer.wrap(DType.BF16.encode(new float[rows]))));
            Model base = new Model("seed", "/seed.safetensors", "safetensors", "mlp", "00".repeat(32), tensors,
                    Map.of("squeeze.mlp.layers", "l"));
            CompressedModel cm = new CompressedModel(base, Map.of(layer, t), Map.of(layer, k.getValue()), "seed " + k.getKey(), 1L);
            StoredRun run = new StoredRun(new RunSummary(1, "seed", "00".repeat(32), "seed", "done", Instant.EPOCH,
                    100, 200, 4.5, MetricKind.TOP1, 0.5, "java", "abc", false, k.getKey()),
                    "{\"schema\":1}", "seed plan", new Provenance("1", "abc", "host", "25", "java"),
                    new RunRecord.DatasetRecord("eval", "eval", "11".repeat(32), "evaluation", 10), null,
                    Instant.EPOCH, 0, List.of("t"), null);
            Path f = dir.resolve(k.getKey() + ".sqz");
            Sqz.write(new SqzContents(cm, run, List.of(new RunRecord.Metric("top1", "evaluation", 0.5)),
                    List.of(new RunRecord.LayerResult(layer, k.getValue().method(), "s", t.storedBits(),
                            t.bitsPerWeight(), 0.1, 1)), Map.of()), f);
            byte[] bundle = Files.readAllBytes(f);
            for (int mode = 0; mode < 2; mode++) {
                byte[] seed = new byte[bundle.length + 1];
                seed[0] = (byte) mode;
                System.arraycopy(bundle, 0, seed, 1, bundle.length);
                out.put(k.getKey() + (mode == 1 ? "-repaired" : ""), seed);
            }
        }
        return out;
    }
}
