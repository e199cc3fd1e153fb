package dev.squeeze.engine.model.llama2c;

import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaLayers;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * A committed generator of llama2.c checkpoint images, written from llama2.c's {@code export.py}
 * ({@code legacy_export}, {@code version1_export}, {@code version2_export} with {@code quantize_q80}) and not
 * from the reader, so that reading them back tests the reader against the exporter's layout.
 */
public final class Llama2cFiles {
    private Llama2cFiles() {
    }

    /** {@code legacy_export}: shared classifier when {@code c.tiedEmbeddings()}, else a negative vocab_size. */
    public static byte[] legacy(LlamaConfig c, Map<String, float[]> w) {
        Out out = new Out();
        out.ints(c.dim(), c.hiddenDim(), c.nLayers(), c.nHeads(), c.nKvHeads(),
                c.tiedEmbeddings() ? c.vocabSize() : -c.vocabSize(), c.maxSeqLen());
        out.floats(w.get("model.embed_tokens.weight"));
        out.perLayer(c, l -> w.get(LlamaLayers.attentionNorm(l) + ".weight"));
        out.perLayer(c, l -> w.get(LlamaLayers.q(l) + ".weight"));
        out.perLayer(c, l -> w.get(LlamaLayers.k(l) + ".weight"));
        out.perLayer(c, l -> w.get(LlamaLayers.v(l) + ".weight"));
        out.perLayer(c, l -> w.get(LlamaLayers.o(l) + ".weight"));
        out.perLayer(c, l -> w.get(LlamaLayers.mlpNorm(l) + ".weight"));
        out.perLayer(c, l -> w.get(LlamaLayers.gate(l) + ".weight")); // w1
        out.perLayer(c, l -> w.get(LlamaLayers.down(l) + ".weight")); // w2
        out.perLayer(c, l -> w.get(LlamaLayers.up(l) + ".weight")); // w3
        out.floats(w.get("model.norm.weight"));
        // freqs_cos[:seq_len] and freqs_sin[:seq_len], as model.py precomputes them.
        int half = c.headDim() / 2;
        float[] cos = new float[c.maxSeqLen() * half];
        float[] sin = new float[c.maxSeqLen() * half];
        for (int p = 0; p < c.maxSeqLen(); p++) {
            for (int j = 0; j < half; j++) {
                double angle = p * Math.pow(10000, -2.0 * j / c.headDim());
                cos[p * half + j] = (float) Math.cos(angle);
                sin[p * half + j] = (float) Math.sin(angle);
            }
        }
        out.floats(cos);
        out.floats(sin);
        if (!c.tiedEmbeddings()) {
            out.floats(w.get("lm_head.weight"));
        }
        return out.bytes();
    }

    public static byte[] version1(LlamaConfig c, Map<String, float[]> w) {
        Out out = header(c, 1, -1);
        out.perLayer(c, l -> w.get(LlamaLayers.attentionNorm(l) + ".weight"));
        out.perLayer(c, l -> w.get(LlamaLayers.mlpNorm(l) + ".weight"));
        out.floats(w.get("model.norm.weight"));
        out.floats(w.get("model.embed_tokens.weight"));
        for (IntFunction<String> name : matrices()) {
            out.perLayer(c, l -> w.get(name.apply(l) + ".weight"));
        }
        if (!c.tiedEmbeddings()) {
            out.floats(w.get("lm_head.weight"));
        }
        return out.bytes();
    }

    public static byte[] version2(LlamaConfig c, Map<String, float[]> w, int group) {
        Out out = header(c, 2, group);
        out.perLayer(c, l -> w.get(LlamaLayers.attentionNorm(l) + ".weight"));
        out.perLayer(c, l -> w.get(LlamaLayers.mlpNorm(l) + ".weight"));
        out.floats(w.get("model.norm.weight"));
        out.q80(w.get("model.embed_tokens.weight"), group);
        for (IntFunction<String> name : matrices()) {
            for (int l = 0; l < c.nLayers(); l++) {
                out.q80(w.get(name.apply(l) + ".weight"), group);
            }
        }
        if (!c.tiedEmbeddings()) {
            out.q80(w.get("lm_head.weight"), group);
        }
        return out.bytes();
    }

    /** What {@code quantize_q80} followed by dequantization gives: {@code round(w / scale) · scale} per group. */
    static float[] q80RoundTrip(float[] w, int group) {
        float[] out = new float[w.length];
        for (int g = 0; g < w.length / group; g++) {
            float scale = scale(w, g, group);
            for (int i = g * group; i < (g + 1) * group; i++) {
                out[i] = (byte) Math.rint(w[i] / scale) * scale;
            }
        }
        return out;
    }

    private static float scale(float[] w, int g, int group) {
        float max = 0f;
        for (int i = g * group; i < (g + 1) * group; i++) {
            max = Math.max(max, Math.abs(w[i]));
        }
        return max / 127.0f;
    }

    /** The quantized matrices in export.py's order: wq, wk, wv, wo, w1 (gate), w2 (down), w3 (up). */
    private static List<IntFunction<String>> matrices() {
        return List.of(LlamaLayers::q, LlamaLayers::k, LlamaLayers::v, LlamaLayers::o, LlamaLayers::gate,
                LlamaLayers::down, LlamaLayers::up);
    }

    private static Out header(LlamaConfig c, int version, int group) {
        Out out = new Out();
        out.ints(0x616b3432, version, c.dim(), c.hiddenDim(), c.nLayers(), c.nHeads(), c.nKvHeads(), c.vocabSize(),
                c.maxSeqLen());
        out.buf.write(c.tiedEmbeddings() ? 1 : 0);
        if (group > 0) {
            out.ints(group);
        }
        out.buf.writeBytes(new byte[256 - out.buf.size()]);
        return out;
    }

    private static final class Out {
        final ByteArrayOutputStream buf = new ByteArrayOutputStream();

        void ints(int... values) {
            ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
            for (int v : values) {
                b.putInt(v);
            }
            buf.writeBytes(b.array());
        }

        void floats(float[] values) {
            ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : values) {
                b.putFloat(v);
            }
            buf.writeBytes(b.array());
        }

        void perLayer(LlamaConfig c, IntFunction<float[]> tensor) {
            for (int l = 0; l < c.nLayers(); l++) {
                floats(tensor.apply(l));
            }
        }

        void q80(float[] w, int group) {
            byte[] codes = new byte[w.length];
            float[] scales = new float[w.length / group];
            for (int g = 0; g < scales.length; g++) {
                scales[g] = scale(w, g, group);
                for (int i = g * group; i < (g + 1) * group; i++) {
                    codes[i] = (byte) Math.rint(w[i] / scales[g]);
                }
            }
            buf.writeBytes(codes);
            floats(scales);
        }

        byte[] bytes() {
            return buf.toByteArray();
        }
    }
}
