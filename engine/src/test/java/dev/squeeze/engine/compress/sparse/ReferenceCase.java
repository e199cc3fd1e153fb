package dev.squeeze.engine.compress.sparse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.compress.LayerInput;
import dev.squeeze.engine.testing.Npz;
import dev.squeeze.engine.testing.SharedData;

import java.io.IOException;
import java.util.Map;

/** One SparseGPT reference case from shared/reference/cases, with the measures the fidelity checks use. */
record ReferenceCase(String name, Map<String, Npz.Array> arrays, JsonNode params, int rows, int cols, int tokens) {
    static ReferenceCase load(String name) throws IOException {
        Map<String, Npz.Array> c = Npz.read(SharedData.require("reference/cases/" + name + ".npz"));
        JsonNode settings = new ObjectMapper().readTree(c.get("settings_json_utf8").utf8());
        JsonNode p = settings.has("params") ? settings.get("params") : settings;
        int[] shape = c.get("W").shape();
        return new ReferenceCase(name, c, p, shape[0], shape[1], c.get("X").shape()[0]);
    }

    float[] w() {
        return arrays.get("W").floats();
    }

    float[] q() {
        return arrays.get("Q").floats();
    }

    LayerInput input() {
        return new LayerInput(name, w(), rows, cols, arrays.get("H").floats());
    }

    /** The reference's own settings, read literally: N:M as (prunen, prunem), 16-bit = fp32 values kept. */
    SparseGptSettings referenceSettings() {
        int prunen = params.get("prunen").asInt();
        int prunem = params.get("prunem").asInt();
        int wbits = params.get("wbits").asInt();
        Sparsity sp = prunen > 0 ? Sparsity.nOfM(prunen, prunem) : Sparsity.unstructured(params.get("sparsity").asDouble());
        return new SparseGptSettings(sp, wbits >= 16 ? 32 : wbits, 0, params.get("percdamp").asDouble(),
                params.get("blocksize").asInt(), SparseGptSettings.Mode.REFERENCE);
    }

    /** {@code ||X Wᵀ − X Qᵀ||²_F} over the case's calibration X, in double. */
    double outErr(float[] q) {
        float[] x = arrays.get("X").floats();
        float[] w = w();
        double total = 0;
        double[] diff = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            diff[i] = (double) w[i] - q[i];
        }
        for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < rows; r++) {
                double acc = 0;
                for (int c = 0; c < cols; c++) {
                    acc += x[t * cols + c] * diff[r * cols + c];
                }
                total += acc * acc;
            }
        }
        return total;
    }

    double referenceOutErr() {
        return arrays.get("out_err").doubles()[0];
    }

    boolean[] referenceMask() {
        int[] m = arrays.get("mask").ints();
        boolean[] out = new boolean[m.length];
        for (int i = 0; i < m.length; i++) {
            out[i] = m[i] == 1;
        }
        return out;
    }

    static double relativeFrobenius(float[] ours, float[] ref) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = (double) ours[i] - ref[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        return Math.sqrt(num / den);
    }

    static int mismatches(boolean[] a, boolean[] b) {
        int n = 0;
        for (int i = 0; i < a.length; i++) {
            if (a[i] != b[i]) {
                n++;
            }
        }
        return n;
    }
}
