package dev.squeeze.engine.compress.gptq;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.testing.Npz;
import dev.squeeze.engine.testing.SharedData;

import java.io.IOException;
import java.util.Map;

/** One GPTQ case of ../shared/reference/cases: the original code's inputs, settings and outputs. */
record ReferenceCase(String name, int rows, int cols, float[] w, float[] h, float[] x, int tokens, float[] q,
                     int[] codes, float[] scales, int[] gIdx, int[] perm, double outErr, JsonNode params) {

    static final String[] GPTQ_CASES = {"gptq_w4_pc_asym", "gptq_w4_g32_act", "gptq_w3_g32_act_static",
            "gptq_w2_g16_sym", "gptq_w4_g32_act_in200", "gptq_w3_g32_act_static_in200", "gptq_w2_g16_sym_in200",
            "gptq_w4_pc_asym_dead2"};

    static ReferenceCase load(String name) throws IOException {
        Map<String, Npz.Array> c = Npz.read(SharedData.require("reference/cases/" + name + ".npz"));
        JsonNode settings = new ObjectMapper().readTree(c.get("settings_json_utf8").utf8());
        JsonNode p = settings.has("params") ? settings.get("params") : settings;
        int[] shape = c.get("W").shape();
        return new ReferenceCase(name, shape[0], shape[1], c.get("W").floats(), c.get("H").floats(),
                c.get("X").floats(), c.get("X").shape()[0], c.get("Q").floats(), c.get("codes").ints(),
                c.get("scales").floats(), c.get("g_idx").ints(), c.get("perm").ints(),
                c.get("out_err").doubles()[0], p);
    }

    /** The case's settings, in the given group-parameter mode, with float32 scales like the reference. */
    GptqSettings settings(GptqSettings.GroupParams mode) {
        int gs = params.get("groupsize").asInt();
        return new GptqSettings(params.get("wbits").asInt(), gs < 0 ? 0 : gs, params.get("sym").asBoolean(),
                params.get("act_order").asBoolean(), params.get("static_groups").asBoolean(),
                params.get("percdamp").asDouble(), params.get("blocksize").asInt(), mode,
                GptqSettings.ScalePrecision.FP32);
    }

    LayerInput input() {
        return new LayerInput(name, w, rows, cols, h);
    }

    /** {@code ||X Wᵀ − X Qᵀ||²_F} over the case's calibration tokens, in double. */
    double outErr(float[] quantized) {
        double[] d = new double[rows * cols];
        for (int i = 0; i < d.length; i++) {
            d[i] = (double) w[i] - quantized[i];
        }
        double sum = 0;
        for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < rows; r++) {
                double y = 0;
                for (int c = 0; c < cols; c++) {
                    y += x[t * cols + c] * d[r * cols + c];
                }
                sum += y * y;
            }
        }
        return sum;
    }
}
