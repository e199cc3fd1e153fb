package dev.squeeze.engine.fuzz;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.Methods;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.hessian.HessianAccumulator;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.compress.sparse.MagnitudeSettings;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import dev.squeeze.engine.jobs.checkpoint.CheckpointStore;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.store.RunRecord;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Per-layer job checkpoints ({@link CheckpointStore}): the input is a checkpoint without its trailing SHA-256,
 * which the target appends, so that the fuzzer reaches the parser and the deserialisation filter behind the
 * checksum (as a forger, or a bug that wrote a wrong tensor, could). Loading must never throw; a tensor that
 * loads as present must then work as the job uses it (size, values, linear), or the job would fail later with an
 * internal error instead of recomputing the layer.
 */
public final class CheckpointFuzz {
    private static final String KEY = "fuzz-job";
    private static final String LAYER = "fc";
    private static final Path DIR = FuzzFiles.folder("checkpoint");
    private static final CheckpointStore STORE = new CheckpointStore(DIR, KEY);

    private CheckpointFuzz() {
    }

    public static void fuzzerInitialize() throws Exception {
        FuzzFiles.warmUp(seeds(), CheckpointFuzz::fuzzerTestOneInput);
    }

    public static void fuzzerTestOneInput(byte[] data) throws Exception {
        FuzzFiles.write(DIR, "00000.ckpt", withChecksum(data));
        CheckpointStore.Loaded loaded = STORE.load(0, LAYER);
        switch (loaded) {
            case CheckpointStore.Loaded.Missing m -> throw new AssertionError("the file was written: " + m);
            case CheckpointStore.Loaded.Damaged d -> {
                if (d.reason() == null || d.reason().isBlank() || d.reason().contains("\n")) {
                    throw new AssertionError("a damaged checkpoint needs a one-line reason: " + d.reason());
                }
            }
            case CheckpointStore.Loaded.Present p -> use(p.tensor());
        }
    }

    /** What a resumed job does with a restored tensor: sizes it, takes its weights, computes with it. */
    private static void use(CompressedTensor t) {
        int rows = t.rows();
        int cols = t.cols();
        if (rows <= 0 || cols <= 0 || t.storedBits() < 0) {
            throw new AssertionError("a restored tensor claims " + rows + " × " + cols + " in " + t.storedBits() + " bits");
        }
        t.describe();
        t.bitsPerWeight();
        float[] w = t.dequantize();
        if (w.length != (long) rows * cols) {
            throw new AssertionError(w.length + " weights for " + rows + " × " + cols);
        }
        LinearOp op = t.asLinearOp();
        if (op.inFeatures() != cols || op.outFeatures() != rows) {
            throw new AssertionError("a " + rows + " × " + cols + " tensor acts as " + op.outFeatures() + " × "
                    + op.inFeatures());
        }
        op.forward(new float[cols], 1, new float[rows]);
    }

    /** Real checkpoints of a 16 × 16 layer, one per kind of compressed tensor (quantized, sparse, low-rank). */
    static Map<String, byte[]> seeds() throws Exception {
        LayerInput layer = layer(16, 16, 40, 5);
        List<MethodSettings> settings = List.of(RtnSettings.perRow(4), new RtnSettings(3, 8, true),
                GptqSettings.of(4, 8), SpqrSettings.recommended(3),
                SparseGptSettings.quantized(Sparsity.nOfM(2, 4), 4), MagnitudeSettings.of(Sparsity.unstructured(0.5)),
                LowRankSettings.of(LowRankVariant.SVD, 3),
                LowRankSettings.of(LowRankVariant.SVD, 3).withQuantization(RtnSettings.perRow(4), RtnSettings.perRow(4)));
        Map<String, byte[]> out = new LinkedHashMap<>();
        Path dir = Files.createTempDirectory(FuzzFiles.scratch(), "ckpt");
        CheckpointStore store = new CheckpointStore(dir, KEY);
        for (MethodSettings s : settings) {
            CompressedTensor t = Methods.compress(layer, s);
            store.save(0, LAYER, t, new RunRecord.LayerResult(LAYER, s.method(), s.describe(), t.storedBits(),
                    t.bitsPerWeight(), 0.5, 3));
            byte[] file = Files.readAllBytes(dir.resolve("00000.ckpt"));
            String name = s.method() + "-" + s.describe().replaceAll("[^A-Za-z0-9]+", "-");
            out.put(name.length() > 60 ? name.substring(0, 60) : name, Arrays.copyOf(file, file.length - 32));
        }
        return out;
    }

    private static LayerInput layer(int rows, int cols, int tokens, long seed) {
        Random rnd = new Random(seed);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            // A few large weights, so that SpQR keeps outliers.
            w[i] = (float) rnd.nextGaussian() * (i % 37 == 0 ? 12 : 1);
        }
        float[] x = new float[tokens * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian() * (1 + i % 5);
        }
        HessianAccumulator acc = new HessianAccumulator(cols);
        acc.addBatch(x, tokens, 1);
        return new LayerInput(LAYER, w, rows, cols, acc.hessian());
    }

    private static byte[] withChecksum(byte[] body) throws Exception {
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(body);
        byte[] out = Arrays.copyOf(body, body.length + digest.length);
        System.arraycopy(digest, 0, out, body.length, digest.length);
        return out;
    }
}
