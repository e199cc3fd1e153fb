package dev.squeeze.engine.export.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.export.CompressedModel;
import dev.squeeze.engine.export.ExportReport;
import dev.squeeze.engine.export.ExportReport.TensorNote;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.hf.HfModelFormat;
import dev.squeeze.engine.util.AtomicFiles;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A compressed run as a plain Hugging Face folder: every compressed layer dequantized ({@link
 * CompressedTensor#dequantize()}) and stored at F16, BF16 or F32 beside the model's other tensors, with config.json
 * and the tokenizer ({@link TokenizerFiles}), so that any tool that reads transformers checkpoints runs the
 * compressed model's weights. The q/k rows of a llama2.c model are moved to rotate-half order as transformers
 * expects ({@link LlamaHfLayout}); the folder is what {@code model.hf.HfExporter} writes for a dense model, and
 * Squeeze's HF reader opens it.
 *
 * <p>One {@code model.safetensors}, written tensor by tensor: a compressed layer is dequantized when its turn
 * comes and dropped after, so memory holds one layer's floats, never the model. F32 keeps the dequantized weights
 * exactly; F16 and BF16 round them (round to nearest even; the report's notes name every tensor that was not
 * exact), and F16 refuses a value beyond ±65504. config.json is written last, so an interrupted export is not a
 * model.
 */
public final class HfFolderExport {
    public static final String FORMAT = "hf";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** Values converted per step, so that conversion needs no second copy of a whole tensor. */
    private static final int CHUNK = 1 << 16;

    private HfFolderExport() {
    }

    /**
     * Writes the folder.
     *
     * @param dtype F16, BF16 or F32
     */
    public static ExportReport write(CompressedModel m, Path outDir, DType dtype) {
        String torchDtype = switch (dtype) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            case I8_GROUPS, BLOCKS -> throw new SqueezeException("A Hugging Face folder holds F16, BF16 or F32"
                    + " weights, not quantized " + dtype, "choose --type f16, bf16 or f32");
        };
        LlamaHfLayout layout = LlamaHfLayout.of(m, torchDtype, FORMAT);
        Path dir = outDir.toAbsolutePath();
        LlamaHfLayout.refuseStaleWeights(m.base(), dir, HfModelFormat.SINGLE);
        List<TensorNote> notes = new ArrayList<>();
        List<SafetensorsStream.Entry> entries = new ArrayList<>();
        for (Map.Entry<String, long[]> t : layout.tensors().entrySet()) {
            String name = t.getKey();
            String layer = name.endsWith(".weight") ? name.substring(0, name.length() - 7) : null;
            CompressedTensor c = layer == null ? null : m.compressed().get(layer);
            entries.add(new SafetensorsStream.Entry(name, dtype.name(), t.getValue(), out -> {
                boolean[] exactAll = {true};
                if (c != null) {
                    float[] values = layout.dequantized(layer);
                    exactAll[0] = encode(out, name, values, values.length, 0, dtype);
                } else {
                    layout.dense(name, CHUNK, (values, count, at) ->
                            exactAll[0] &= encode(out, name, values, count, at, dtype));
                }
                boolean exact = exactAll[0];
                if (c != null) {
                    notes.add(new TensorNote(name, dtype.name(), exact, "dequantized from " + c.describe()
                            + (exact ? "" : "; rounded to " + dtype.name())));
                } else if (!exact) {
                    notes.add(new TensorNote(name, dtype.name(), false, "rounded to " + dtype.name()));
                }
            }));
        }
        long bytes = SafetensorsStream.write(dir.resolve(HfModelFormat.SINGLE), entries, Map.of("format", "pt"));
        bytes += TokenizerFiles.write(m.base(), dir, notes);
        ObjectNode config = layout.configJson();
        byte[] configBytes;
        try {
            configBytes = JSON.writeValueAsBytes(config);
        } catch (IOException e) {
            throw new IllegalStateException("JSON of a tree cannot fail to serialise", e);
        }
        AtomicFiles.write(dir.resolve(HfModelFormat.CONFIG), out -> out.write(configBytes));
        bytes += configBytes.length;
        return new ExportReport(dir, FORMAT, bytes, notes);
    }

    /**
     * Writes the first {@code count} values in {@code dtype}; returns whether every value was stored exactly.
     * {@code base} is the first value's element number in the tensor, for messages.
     */
    private static boolean encode(OutputStream out, String name, float[] values, int count, long base, DType dtype)
            throws IOException {
        boolean exact = true;
        for (int at = 0; at < count; at += CHUNK) {
            int n = Math.min(CHUNK, count - at);
            float[] chunk = java.util.Arrays.copyOfRange(values, at, at + n);
            byte[] encoded = dtype.encode(chunk);
            float[] back = dtype.decode(java.nio.ByteBuffer.wrap(encoded), n);
            for (int i = 0; i < n; i++) {
                if (Float.isInfinite(back[i]) && Float.isFinite(chunk[i])) {
                    throw new SqueezeException("Tensor '" + name + "' holds " + chunk[i] + " at element " + (base + at + i)
                            + ", beyond the range of " + dtype.name(), "export it as bf16 or f32 instead");
                }
                exact &= Float.floatToRawIntBits(back[i]) == Float.floatToRawIntBits(chunk[i])
                        || (Float.isNaN(back[i]) && Float.isNaN(chunk[i]));
            }
            out.write(encoded);
        }
        return exact;
    }
}
