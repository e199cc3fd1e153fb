package dev.squeeze.engine.nn;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/** {@link RowKernels} on the Vector API: lane-wise arithmetic, {@code exp} from the platform's vector math library. */
final class VectorRowKernels implements RowKernels.Impl {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final int LD = D.length();
    /** Floats as many as {@link #D}'s lanes, for the float → double conversion. */
    private static final VectorSpecies<Float> FD = VectorSpecies.of(float.class,
            VectorShape.forBitSize(D.vectorBitSize() / 2));
    private static final FloatVector ONE = FloatVector.broadcast(S, 1f);
    private static final FloatVector VMAGIC = FloatVector.broadcast(S, RowKernels.MAGIC);
    private static final FloatVector LOG2E = FloatVector.broadcast(S, RowKernels.LOG2E);
    private static final FloatVector MLN2_HI = FloatVector.broadcast(S, RowKernels.MLN2_HI);
    private static final FloatVector LN2_LO = FloatVector.broadcast(S, RowKernels.LN2_LO);
    private static final FloatVector P0 = FloatVector.broadcast(S, RowKernels.P0);
    private static final FloatVector P1 = FloatVector.broadcast(S, RowKernels.P1);
    private static final FloatVector P2 = FloatVector.broadcast(S, RowKernels.P2);
    private static final FloatVector P3 = FloatVector.broadcast(S, RowKernels.P3);
    private static final FloatVector P4 = FloatVector.broadcast(S, RowKernels.P4);
    private static final FloatVector P5 = FloatVector.broadcast(S, RowKernels.P5);

    /**
     * {@link RowKernels#exp} lane-wise: the same operations, so the same bits as the scalar version.
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(-87.33654f);
        FloatVector t = x.fma(LOG2E, VMAGIC);
        FloatVector k = t.sub(RowKernels.MAGIC);
        FloatVector r = k.fma(MLN2_HI, x);
        r = k.fma(LN2_LO, r);
        FloatVector z = r.mul(r);
        FloatVector p = r.fma(P0, P1);
        p = p.fma(r, P2);
        p = p.fma(r, P3);
        p = p.fma(r, P4);
        p = p.fma(r, P5);
        FloatVector y = p.fma(z, r.add(1f));
        IntVector bits = ((IntVector) t.reinterpretAsInts()).sub(RowKernels.MAGIC_BITS - 127).lanewise(VectorOperators.LSHL, 23);
        return y.mul(bits.reinterpretAsFloats());
    }

    /**
     * The lanes' sum in a fixed order (lane 0 + lane 1 + …). {@code reduceLanes(ADD)} leaves the order to the
     * implementation, and the JIT-compiled and the interpreted forms do differ, which would make a result depend
     * on when the JIT got to it (and so on the thread that ran it).
     */
    private static float sum(FloatVector v) {
        float[] lanes = v.toArray();
        float s = 0f;
        for (float x : lanes) {
            s += x;
        }
        return s;
    }

    private static double sum(DoubleVector v) {
        double[] lanes = v.toArray();
        double s = 0;
        for (double x : lanes) {
            s += x;
        }
        return s;
    }

    @Override
    public float dot(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = FloatVector.zero(S);
        FloatVector s2 = FloatVector.zero(S);
        FloatVector s3 = FloatVector.zero(S);
        int i = 0;
        for (; i + 4 * L <= n; i += 4 * L) {
            s0 = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), s0);
            s1 = FloatVector.fromArray(S, a, ao + i + L).fma(FloatVector.fromArray(S, b, bo + i + L), s1);
            s2 = FloatVector.fromArray(S, a, ao + i + 2 * L).fma(FloatVector.fromArray(S, b, bo + i + 2 * L), s2);
            s3 = FloatVector.fromArray(S, a, ao + i + 3 * L).fma(FloatVector.fromArray(S, b, bo + i + 3 * L), s3);
        }
        for (; i + L <= n; i += L) {
            s0 = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), s0);
        }
        float sum = sum(s0.add(s1).add(s2.add(s3)));
        for (; i < n; i++) {
            sum = Math.fma(a[ao + i], b[bo + i], sum);
        }
        return sum;
    }

    @Override
    public void softmax(float[] a, int off, int n, float scale) {
        int end = off + n;
        int i = off;
        FloatVector vmax = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (; i + L <= end; i += L) {
            FloatVector v = FloatVector.fromArray(S, a, i).div(scale);
            v.intoArray(a, i);
            vmax = vmax.max(v);
        }
        float max = vmax.reduceLanes(VectorOperators.MAX);
        for (; i < end; i++) {
            float s = a[i] / scale;
            a[i] = s;
            max = Math.max(max, s);
        }
        FloatVector vsum = FloatVector.zero(S);
        i = off;
        for (; i + L <= end; i += L) {
            FloatVector e = exp(FloatVector.fromArray(S, a, i).sub(max));
            e.intoArray(a, i);
            vsum = vsum.add(e);
        }
        float sum = sum(vsum);
        for (; i < end; i++) {
            float e = RowKernels.exp(a[i] - max);
            a[i] = e;
            sum += e;
        }
        i = off;
        for (; i + L <= end; i += L) {
            FloatVector.fromArray(S, a, i).div(sum).intoArray(a, i);
        }
        for (; i < end; i++) {
            a[i] = a[i] / sum;
        }
    }

    @Override
    public void swiglu(float[] gate, float[] up, int from, int to) {
        int i = from;
        for (; i + L <= to; i += L) {
            FloatVector g = FloatVector.fromArray(S, gate, i);
            FloatVector sig = ONE.div(exp(g.neg()).add(1f));
            g.mul(sig).mul(FloatVector.fromArray(S, up, i)).intoArray(gate, i);
        }
        for (; i < to; i++) {
            float g = gate[i];
            gate[i] = g * (1.0f / (1.0f + RowKernels.exp(-g))) * up[i];
        }
    }

    @Override
    public double logSumExp(float[] x, int off, int n) {
        int end = off + n;
        int i = off;
        FloatVector vmax = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (; i + L <= end; i += L) {
            vmax = vmax.max(FloatVector.fromArray(S, x, i));
        }
        float fmax = vmax.reduceLanes(VectorOperators.MAX);
        for (; i < end; i++) {
            fmax = Math.max(fmax, x[i]);
        }
        double max = fmax;
        DoubleVector vsum = DoubleVector.zero(D);
        i = off;
        for (; i + LD <= end; i += LD) {
            DoubleVector v = (DoubleVector) FloatVector.fromArray(FD, x, i).convertShape(VectorOperators.F2D, D, 0);
            vsum = vsum.add(v.sub(max).lanewise(VectorOperators.EXP));
        }
        double sum = sum(vsum);
        for (; i < end; i++) {
            sum += Math.exp(x[i] - max);
        }
        return max + Math.log(sum);
    }

    @Override
    public void attendRow(float[] q, int qo, int hd, float[] keys, int kBase, float[] values, int vBase, int cap,
                          int seen, float scale, float[] scores, float[] att, int ao) {
        // Scores, scaled, and their maximum: all hd products of a block of positions in one register.
        FloatVector vmax = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int p = 0;
        for (; p + L <= seen; p += L) {
            FloatVector acc = FloatVector.zero(S);
            for (int i = 0, k = kBase + p; i < hd; i++, k += cap) {
                acc = FloatVector.fromArray(S, keys, k).fma(FloatVector.broadcast(S, q[qo + i]), acc);
            }
            acc = acc.div(scale);
            acc.intoArray(scores, p);
            vmax = vmax.max(acc);
        }
        float max = vmax.reduceLanes(VectorOperators.MAX);
        for (; p < seen; p++) {
            float acc = 0f;
            for (int i = 0, k = kBase + p; i < hd; i++, k += cap) {
                acc = Math.fma(keys[k], q[qo + i], acc);
            }
            acc = acc / scale;
            scores[p] = acc;
            max = Math.max(max, acc);
        }
        // Unnormalised weights and their sum.
        FloatVector vsum = FloatVector.zero(S);
        p = 0;
        for (; p + L <= seen; p += L) {
            FloatVector e = exp(FloatVector.fromArray(S, scores, p).sub(max));
            e.intoArray(scores, p);
            vsum = vsum.add(e);
        }
        float sum = sum(vsum);
        for (; p < seen; p++) {
            float e = RowKernels.exp(scores[p] - max);
            scores[p] = e;
            sum += e;
        }
        // Weighted values, divided by the sum once per output.
        for (int i = 0; i < hd; i++) {
            att[ao + i] = dot(scores, 0, values, vBase + i * cap, seen) / sum;
        }
    }

    @Override
    public String toString() {
        return "vector-" + S.vectorBitSize();
    }
}
