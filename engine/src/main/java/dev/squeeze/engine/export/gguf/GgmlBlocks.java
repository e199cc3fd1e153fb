package dev.squeeze.engine.export.gguf;

import dev.squeeze.engine.model.DType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Encodes rows of float values into ggml's blocks and decodes them, bit for bit as ggml's reference quantizers
 * ({@code quantize_row_q4_0_ref}, {@code quantize_row_q8_0_ref}, {@code quantize_row_q4_K_ref},
 * {@code quantize_row_q6_K_ref}) and dequantizers do, so that a file written here is what llama.cpp's own converter
 * and {@code llama-quantize} (without an importance matrix) would write from the same floats:
 * <ul>
 *   <li>Q8_0: {@code d = amax / 127}, {@code q = round(x / d)} (half away from zero), d stored as fp16;</li>
 *   <li>Q4_0: {@code d = m / -8} where m is the value of largest magnitude (sign kept),
 *       {@code q = min(15, trunc(x / d + 8.5))}; the first 16 values of a block go to the low nibbles, the last
 *       16 to the high nibbles.</li>
 *   <li>Q4_K ({@code quantize_row_q4_K_ref}): per sub-block of 32 a scale and a min fitted by ggml's weighted
 *       search ({@code make_qkx2_quants}: weights {@code rms + |x|}, 21 candidate scales around
 *       {@code 15 / (max − min)}, least-squares refit, the smallest weighted squared error kept), the 8 scales and
 *       8 mins quantized to 6 bits against the super-block's largest ({@code d = max_scale / 63},
 *       {@code dmin = max_min / 63}, packed as {@code get_scale_min_k4} reads them), then each value's code
 *       {@code nearest((x + dmin·m) / (d·sc))} clamped to 0..15; ggml's {@code nearest_int} rounds halves to
 *       even.</li>
 *   <li>Q6_K ({@code quantize_row_q6_K_ref}): per sub-block of 16 a signed scale from ggml's search
 *       ({@code make_qx_quants} with weights {@code x²}: 19 candidate scales {@code −(32 + 0.1·k) / max}, the
 *       one with the best weighted fit kept), the 16 scales quantized to int8 against the largest
 *       ({@code d = max_scale / −128}), then codes {@code nearest(x / (d·sc))} clamped to −32..31, stored + 32
 *       as 4 low bits and 2 high bits.</li>
 *   <li>BF16 is the model readers' {@link DType#BF16}.</li>
 * </ul>
 * The arithmetic is float32, as in ggml; fp16 conversion rounds to nearest even, as the hardware conversion
 * ggml uses on x86 does. F32 and F16 rows are the model readers' own {@link DType} encodings.
 */
public final class GgmlBlocks {
    private GgmlBlocks() {
    }

    /** Appends the encoding of {@code row} (length a multiple of the type's block size) to {@code out}. */
    public static void encode(GgmlType type, float[] row, ByteBuffer out) {
        out.order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case F32 -> out.put(DType.F32.encode(row));
            case F16 -> out.put(DType.F16.encode(row));
            case Q8_0 -> encodeQ8(row, out);
            case Q4_0 -> encodeQ4(row, out);
            case Q4_K -> encodeQ4K(row, out);
            case BF16 -> out.put(DType.BF16.encode(row));
            case Q6_K -> encodeQ6K(row, out);
        }
    }

    /** Decodes {@code values.length} values from {@code in} (at its position, little-endian). */
    public static void decode(GgmlType type, ByteBuffer in, float[] values) {
        in.order(ByteOrder.LITTLE_ENDIAN);
        switch (type) {
            case F32, F16, BF16 -> {
                DType plain = type == GgmlType.F32 ? DType.F32 : type == GgmlType.F16 ? DType.F16 : DType.BF16;
                plain.decode(in.slice(), values, 0, values.length);
                in.position(in.position() + values.length * type.typeSize());
            }
            case Q8_0 -> {
                for (int b = 0; b < values.length; b += 32) {
                    float d = Float.float16ToFloat(in.getShort());
                    for (int j = 0; j < 32; j++) {
                        values[b + j] = in.get() * d;
                    }
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < values.length; b += 32) {
                    float d = Float.float16ToFloat(in.getShort());
                    for (int j = 0; j < 16; j++) {
                        int q = in.get() & 0xff;
                        values[b + j] = ((q & 0x0f) - 8) * d;
                        values[b + 16 + j] = ((q >>> 4) - 8) * d;
                    }
                }
            }
            case Q4_K -> decodeQ4K(in, values);
            case Q6_K -> decodeQ6K(in, values);
        }
    }

    /** {@code dequantize_row_q4_K}: {@code y = d·sc·q − dmin·m} per sub-block of 32, in float32 as ggml does. */
    private static void decodeQ4K(ByteBuffer in, float[] values) {
        byte[] scales = new byte[12];
        byte[] qs = new byte[128];
        for (int b = 0; b < values.length; b += 256) {
            float d = Float.float16ToFloat(in.getShort());
            float min = Float.float16ToFloat(in.getShort());
            in.get(scales);
            in.get(qs);
            int y = b;
            for (int j = 0, is = 0; j < 256; j += 64, is += 2) {
                float d1 = d * scale(is, scales);
                float m1 = min * min(is, scales);
                float d2 = d * scale(is + 1, scales);
                float m2 = min * min(is + 1, scales);
                int q = j / 2;
                for (int l = 0; l < 32; l++) {
                    values[y++] = d1 * (qs[q + l] & 0x0f) - m1;
                }
                for (int l = 0; l < 32; l++) {
                    values[y++] = d2 * ((qs[q + l] & 0xff) >>> 4) - m2;
                }
            }
        }
    }

    /** {@code dequantize_row_q6_K}: {@code y = d·sc·(q − 32)} per sub-block of 16, in float32 as ggml does. */
    private static void decodeQ6K(ByteBuffer in, float[] values) {
        byte[] ql = new byte[128];
        byte[] qh = new byte[64];
        byte[] sc = new byte[16];
        for (int b = 0; b < values.length; b += 256) {
            in.get(ql);
            in.get(qh);
            in.get(sc);
            float d = Float.float16ToFloat(in.getShort());
            for (int n = 0; n < 2; n++) {
                int y = b + 128 * n;
                int l0 = 64 * n;
                int h0 = 32 * n;
                int s0 = 8 * n;
                for (int l = 0; l < 32; l++) {
                    int is = s0 + l / 16;
                    int lo = ql[l0 + l] & 0xff;
                    int hi = ql[l0 + l + 32] & 0xff;
                    int h = qh[h0 + l] & 0xff;
                    int q1 = ((lo & 0xf) | ((h & 3) << 4)) - 32;
                    int q2 = ((hi & 0xf) | (((h >>> 2) & 3) << 4)) - 32;
                    int q3 = ((lo >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
                    int q4 = ((hi >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
                    values[y + l] = d * sc[is] * q1;
                    values[y + l + 32] = d * sc[is + 2] * q2;
                    values[y + l + 64] = d * sc[is + 4] * q3;
                    values[y + l + 96] = d * sc[is + 6] * q4;
                }
            }
        }
    }

    /** The 6-bit scale of sub-block {@code j} of a Q4_K super-block (ggml's {@code get_scale_min_k4}). */
    static int scale(int j, byte[] scales) {
        return j < 4 ? scales[j] & 63 : (scales[j + 4] & 0x0f) | (((scales[j - 4] & 0xff) >>> 6) << 4);
    }

    /** The 6-bit min of sub-block {@code j} of a Q4_K super-block (ggml's {@code get_scale_min_k4}). */
    static int min(int j, byte[] scales) {
        return j < 4 ? scales[j + 4] & 63 : ((scales[j + 4] & 0xff) >>> 4) | (((scales[j] & 0xff) >>> 6) << 4);
    }

    /** {@code quantize_row_q4_K_ref}, step for step in float32. */
    private static void encodeQ4K(float[] row, ByteBuffer out) {
        int[] codes = new int[256];
        int[] aux = new int[32];
        float[] weights = new float[32];
        float[] mins = new float[8];
        float[] scales = new float[8];
        float[] minOut = new float[1];
        byte[] packed = new byte[12];
        for (int b = 0; b < row.length; b += 256) {
            float maxScale = 0f;
            float maxMin = 0f;
            for (int j = 0; j < 8; j++) {
                int x0 = b + 32 * j;
                float sumX2 = 0f;
                for (int l = 0; l < 32; l++) {
                    sumX2 += row[x0 + l] * row[x0 + l];
                }
                float avX = (float) Math.sqrt(sumX2 / 32f);
                for (int l = 0; l < 32; l++) {
                    weights[l] = avX + Math.abs(row[x0 + l]);
                }
                scales[j] = makeQkx2Quants(row, x0, weights, codes, 32 * j, minOut, aux);
                mins[j] = minOut[0];
                if (scales[j] > maxScale) {
                    maxScale = scales[j];
                }
                if (mins[j] > maxMin) {
                    maxMin = mins[j];
                }
            }
            float invScale = maxScale > 0 ? 63f / maxScale : 0f;
            float invMin = maxMin > 0 ? 63f / maxMin : 0f;
            java.util.Arrays.fill(packed, (byte) 0);
            for (int j = 0; j < 8; j++) {
                // As C: the int is stored in a uint8_t before it is clamped to 63.
                int ls = Math.min(63, nearestInt(invScale * scales[j]) & 0xff);
                int lm = Math.min(63, nearestInt(invMin * mins[j]) & 0xff);
                if (j < 4) {
                    packed[j] = (byte) ls;
                    packed[j + 4] = (byte) lm;
                } else {
                    packed[j + 4] = (byte) ((ls & 0xf) | ((lm & 0xf) << 4));
                    packed[j - 4] |= (byte) ((ls >>> 4) << 6);
                    packed[j] |= (byte) ((lm >>> 4) << 6);
                }
            }
            short dBits = Float.floatToFloat16(maxScale / 63f);
            short dminBits = Float.floatToFloat16(maxMin / 63f);
            float dAll = Float.float16ToFloat(dBits);
            float dminAll = Float.float16ToFloat(dminBits);
            for (int j = 0; j < 8; j++) {
                float d = dAll * scale(j, packed);
                if (d == 0f) {
                    continue; // the codes of the search stay, as in ggml
                }
                float dm = dminAll * min(j, packed);
                for (int i = 0; i < 32; i++) {
                    int l = nearestInt((row[b + 32 * j + i] + dm) / d);
                    codes[32 * j + i] = Math.max(0, Math.min(15, l));
                }
            }
            out.putShort(dBits);
            out.putShort(dminBits);
            out.put(packed);
            for (int j = 0; j < 256; j += 64) {
                for (int l = 0; l < 32; l++) {
                    out.put((byte) (codes[j + l] | codes[j + l + 32] << 4));
                }
            }
        }
    }

    /** ggml's {@code GROUP_MAX_EPS}: a sub-block whose largest magnitude is below it is all zero. */
    private static final float GROUP_MAX_EPS = 1e-15f;

    /** {@code quantize_row_q6_K_ref}, step for step in float32. */
    private static void encodeQ6K(float[] row, ByteBuffer out) {
        int[] codes = new int[256];
        float[] scales = new float[16];
        byte[] sc = new byte[16];
        byte[] ql = new byte[128];
        byte[] qh = new byte[64];
        for (int b = 0; b < row.length; b += 256) {
            float maxScale = 0f;
            float maxAbsScale = 0f;
            for (int ib = 0; ib < 16; ib++) {
                float scale = makeQxQuants(row, b + 16 * ib, codes, 16 * ib);
                scales[ib] = scale;
                float abs = Math.abs(scale);
                if (abs > maxAbsScale) {
                    maxAbsScale = abs;
                    maxScale = scale;
                }
            }
            if (maxAbsScale < GROUP_MAX_EPS) {
                out.put(new byte[208]);
                out.putShort(Float.floatToFloat16(0f));
                continue;
            }
            float iscale = -128f / maxScale;
            short dBits = Float.floatToFloat16(1 / iscale);
            for (int ib = 0; ib < 16; ib++) {
                sc[ib] = (byte) Math.min(127, nearestInt(iscale * scales[ib]));
            }
            float dAll = Float.float16ToFloat(dBits);
            for (int j = 0; j < 16; j++) {
                float d = dAll * sc[j];
                if (d == 0f) {
                    continue; // the codes of the search stay, as in ggml
                }
                for (int i = 0; i < 16; i++) {
                    int l = nearestInt(row[b + 16 * j + i] / d);
                    codes[16 * j + i] = Math.max(-32, Math.min(31, l)) + 32;
                }
            }
            for (int half = 0; half < 2; half++) {
                int j = 128 * half;
                for (int l = 0; l < 32; l++) {
                    int q1 = codes[j + l];
                    int q2 = codes[j + l + 32];
                    int q3 = codes[j + l + 64];
                    int q4 = codes[j + l + 96];
                    ql[64 * half + l] = (byte) ((q1 & 0xf) | (q3 & 0xf) << 4);
                    ql[64 * half + l + 32] = (byte) ((q2 & 0xf) | (q4 & 0xf) << 4);
                    qh[32 * half + l] = (byte) ((q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
                }
            }
            out.put(ql);
            out.put(qh);
            out.put(sc);
            out.putShort(dBits);
        }
    }

    /**
     * ggml's {@code make_qx_quants(16, 32, x, L, 1, NULL)}: a signed scale for 16 values with codes
     * {@code L − 32} in −32..31, weights {@code x²}; writes L (0..63) to {@code codes[at ..]}, returns the scale.
     */
    private static float makeQxQuants(float[] row, int x0, int[] codes, int at) {
        final int n = 16;
        final int nmax = 32;
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(row[x0 + i]);
            if (ax > amax) {
                amax = ax;
                max = row[x0 + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            java.util.Arrays.fill(codes, at, at + n, 0);
            return 0f;
        }
        float iscale = -nmax / max;
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; i++) {
            float x = row[x0 + i];
            int l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * x)));
            codes[at + i] = l + nmax;
            float w = x * x;
            sumlx += w * x * l;
            suml2 += w * l * l;
        }
        float scale = suml2 != 0 ? sumlx / suml2 : 0f;
        float best = scale * sumlx;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) {
                continue;
            }
            iscale = -(nmax + 0.1f * is) / max;
            sumlx = 0;
            suml2 = 0;
            for (int i = 0; i < n; i++) {
                float x = row[x0 + i];
                int l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(iscale * x)));
                float w = x * x;
                sumlx += w * x * l;
                suml2 += w * l * l;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2) {
                for (int i = 0; i < n; i++) {
                    int l = nearestInt(iscale * row[x0 + i]);
                    codes[at + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }

    /**
     * ggml's {@code make_qkx2_quants(32, 15, x, weights, L, &the_min, Laux, -1, 0.1, 20, false)}: fits
     * {@code x ≈ scale·L − the_min} with codes L in 0..15; writes L to {@code codes[at ..]} and the min to
     * {@code minOut[0]}, returns the scale.
     */
    private static float makeQkx2Quants(float[] row, int x0, float[] weights, int[] codes, int at, float[] minOut,
                                        int[] aux) {
        final int n = 32;
        final int nmax = 15;
        final float rmin = -1f;
        final float rdelta = 0.1f;
        final int nstep = 20;
        float min = row[x0];
        float max = row[x0];
        float sumW = weights[0];
        float sumX = sumW * row[x0];
        for (int i = 1; i < n; i++) {
            float x = row[x0 + i];
            if (x < min) {
                min = x;
            }
            if (x > max) {
                max = x;
            }
            float w = weights[i];
            sumW += w;
            sumX += w * x;
        }
        if (min > 0) {
            min = 0;
        }
        if (max == min) {
            java.util.Arrays.fill(codes, at, at + n, 0);
            minOut[0] = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++) {
            int l = nearestInt(iscale * (row[x0 + i] - min));
            codes[at + i] = Math.max(0, Math.min(nmax, l));
            float diff = scale * codes[at + i] + min - row[x0 + i];
            bestError += weights[i] * (diff * diff);
        }
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0;
            float sumL2 = 0;
            float sumXL = 0;
            for (int i = 0; i < n; i++) {
                int l = Math.max(0, Math.min(nmax, nearestInt(iscale * (row[x0 + i] - min))));
                aux[i] = l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * row[x0 + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float thisScale = (sumW * sumXL - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float curError = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * aux[i] + thisMin - row[x0 + i];
                    curError += weights[i] * (diff * diff);
                }
                if (curError < bestError) {
                    System.arraycopy(aux, 0, codes, at, n);
                    bestError = curError;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        minOut[0] = -min;
        return scale;
    }

    /** ggml's {@code nearest_int}: adding 1.5·2^23 rounds to an integer (halves to even) in the low mantissa bits. */
    static int nearestInt(float v) {
        int bits = Float.floatToRawIntBits(v + 12582912f);
        return (bits & 0x007fffff) - 0x00400000;
    }

    private static void encodeQ8(float[] row, ByteBuffer out) {
        for (int b = 0; b < row.length; b += 32) {
            float amax = 0f;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(row[b + j]));
            }
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            out.putShort(Float.floatToFloat16(d));
            for (int j = 0; j < 32; j++) {
                out.put((byte) roundHalfAway(row[b + j] * id));
            }
        }
    }

    private static void encodeQ4(float[] row, ByteBuffer out) {
        for (int b = 0; b < row.length; b += 32) {
            float amax = 0f;
            float max = 0f;
            for (int j = 0; j < 32; j++) {
                float v = row[b + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8f;
            float id = d != 0f ? 1f / d : 0f;
            out.putShort(Float.floatToFloat16(d));
            for (int j = 0; j < 16; j++) {
                int lo = Math.min(15, (int) (row[b + j] * id + 8.5f));
                int hi = Math.min(15, (int) (row[b + 16 + j] * id + 8.5f));
                out.put((byte) (lo | hi << 4));
            }
        }
    }

    /** C's {@code roundf}: halves away from zero. */
    private static int roundHalfAway(float v) {
        return (int) (v < 0 ? -Math.floor(-v + 0.5f) : Math.floor(v + 0.5f));
    }
}
