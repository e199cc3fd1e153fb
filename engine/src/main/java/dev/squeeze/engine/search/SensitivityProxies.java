package dev.squeeze.engine.search;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.nn.grad.ClassifierFisher;
import dev.squeeze.engine.nn.grad.FisherDiagonals;
import dev.squeeze.engine.nn.grad.FisherProxy;
import dev.squeeze.engine.nn.grad.LlamaFisher;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reading a sensitivity table: the levels every layer shares (the columns people compare), the layers ranked, and the
 * second proxy the issue asks for: the Fisher-information estimate {@code ½ Σ F (W − Ŵ)²} of every cell, compared
 * with the measured KL by Spearman's rank correlation (over all cells, and over the layers' mean sensitivity).
 */
public final class SensitivityProxies {
    private SensitivityProxies() {
    }

    /**
     * The Fisher proxy of every cell and how it agrees with the KL.
     *
     * @param proxy          {@code [layer][level]} ½ Σ F (W − Ŵ)² (0 for dense)
     * @param spearmanCells  rank correlation with the KL over every (layer, level) cell
     * @param spearmanLayers rank correlation of the layers' mean over their levels
     * @param samples        calibration windows (language models) or images (classifiers) the Fisher summed
     * @param nanos          the time the gradients and proxies took
     */
    public record Comparison(double[][] proxy, double spearmanCells, double spearmanLayers, int samples, long nanos) {
    }

    /**
     * Computes the Fisher diagonals on the subject's calibration data (language models: the level Hessians' windows;
     * classifiers: the calibration images) and the proxy of every cell of {@code table}.
     */
    public static Comparison fisher(LevelDatabase db, Sensitivity.Table table) {
        long t0 = System.nanoTime();
        SearchSubject subject = db.subject();
        List<LayerLevels> layers = table.layers();
        double[][] proxy = new double[layers.size()][];
        int samples;
        java.util.function.BiFunction<String, float[][], Double> cell;
        if (subject instanceof SearchSubject.Language lang) {
            FisherDiagonals f = LlamaFisher.compute(lang.model(), lang.hessianWindows());
            samples = f.samples();
            cell = (layer, wq) -> FisherProxy.lossIncrease(f, layer, wq[0], wq[1]);
        } else if (subject instanceof SearchSubject.Classifier c) {
            ClassifierFisher.Diagonals f = ClassifierFisher.compute(c.subject(), c.calibration());
            samples = f.images();
            cell = (layer, wq) -> f.proxy(layer, wq[0], wq[1]);
        } else {
            throw new SqueezeException("No Fisher information for " + subject.model().name(), "use the KL sensitivity");
        }
        for (int i = 0; i < layers.size(); i++) {
            LayerLevels l = layers.get(i);
            float[] w = subject.weights(l.layer());
            proxy[i] = new double[l.size()];
            for (int j = 1; j < l.size(); j++) {
                CompressedTensor t = db.tensor(i, j);
                proxy[i][j] = cell.apply(l.layer(), new float[][]{w, t.dequantize()});
            }
        }
        List<double[]> pairs = new ArrayList<>();
        double[] klMean = new double[layers.size()];
        double[] fMean = new double[layers.size()];
        for (Sensitivity.Cell c : table.cells()) {
            pairs.add(new double[]{c.kl(), proxy[c.layer()][c.level()]});
            klMean[c.layer()] += c.kl() / (layers.get(c.layer()).size() - 1);
            fMean[c.layer()] += proxy[c.layer()][c.level()] / (layers.get(c.layer()).size() - 1);
        }
        double[] a = pairs.stream().mapToDouble(p -> p[0]).toArray();
        double[] b = pairs.stream().mapToDouble(p -> p[1]).toArray();
        return new Comparison(proxy, spearman(a, b), spearman(klMean, fMean), samples, System.nanoTime() - t0);
    }

    /** Spearman's rank correlation (average ranks for ties); NaN with fewer than two values. */
    public static double spearman(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException(a.length + " vs " + b.length + " values");
        }
        if (a.length < 2) {
            return Double.NaN;
        }
        double[] ra = ranks(a);
        double[] rb = ranks(b);
        double ma = Arrays.stream(ra).average().orElseThrow();
        double mb = Arrays.stream(rb).average().orElseThrow();
        double num = 0;
        double da = 0;
        double dbb = 0;
        for (int i = 0; i < a.length; i++) {
            num += (ra[i] - ma) * (rb[i] - mb);
            da += (ra[i] - ma) * (ra[i] - ma);
            dbb += (rb[i] - mb) * (rb[i] - mb);
        }
        return da == 0 || dbb == 0 ? Double.NaN : num / Math.sqrt(da * dbb);
    }

    /** 1-based ranks, ties sharing their average rank. */
    static double[] ranks(double[] v) {
        Integer[] order = new Integer[v.length];
        for (int i = 0; i < v.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingDouble(i -> v[i]));
        double[] r = new double[v.length];
        int i = 0;
        while (i < v.length) {
            int j = i;
            while (j + 1 < v.length && v[order[j + 1]] == v[order[i]]) {
                j++;
            }
            double avg = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) {
                r[order[k]] = avg;
            }
            i = j + 1;
        }
        return r;
    }

    /**
     * Up to {@code n} setting keys that every layer has (uniform settings), spread evenly over their sizes from the
     * largest to the smallest, so that a table of layers × these keys compares like with like.
     */
    public static List<String> representativeKeys(List<LayerLevels> layers, int n) {
        Map<String, Long> shared = new LinkedHashMap<>();
        SearchJob.uniformChoices(layers).forEach((key, choice) -> shared.put(key, Allocation.bitsOf(layers, choice)));
        List<Map.Entry<String, Long>> sorted = new ArrayList<>(shared.entrySet());
        sorted.sort(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()));
        if (sorted.size() <= n) {
            return sorted.stream().map(Map.Entry::getKey).toList();
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(sorted.get((int) Math.round(i * (sorted.size() - 1) / (double) (n - 1))).getKey());
        }
        return out;
    }

    /** The setting of {@code key} in words (as the first layer that has it describes it). */
    public static String describeKey(List<LayerLevels> layers, String key) {
        for (LayerLevels l : layers) {
            int k = indexOf(l, key);
            if (k >= 0) {
                return l.level(k).describe();
            }
        }
        return key;
    }

    /** The KL of layer {@code layer} at the setting {@code key}, or null when the layer has no such level. */
    public static Double klAt(Sensitivity.Table table, int layer, String key) {
        int k = indexOf(table.layers().get(layer), key);
        return k <= 0 ? null : table.cell(layer, k).kl();
    }

    /** Each layer's rank (1 = most sensitive) by its mean KL over {@code keys} (over all its levels when empty). */
    public static int[] rankByMean(Sensitivity.Table table, List<String> keys) {
        int n = table.layers().size();
        double[] mean = new double[n];
        for (int i = 0; i < n; i++) {
            double sum = 0;
            int count = 0;
            if (keys.isEmpty()) {
                for (int j = 1; j < table.layers().get(i).size(); j++) {
                    sum += table.cell(i, j).kl();
                    count++;
                }
            } else {
                for (String k : keys) {
                    Double v = klAt(table, i, k);
                    if (v != null) {
                        sum += v;
                        count++;
                    }
                }
            }
            mean[i] = count == 0 ? 0 : sum / count;
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -mean[i]).thenComparingInt(i -> i));
        int[] rank = new int[n];
        for (int r = 0; r < n; r++) {
            rank[order[r]] = r + 1;
        }
        return rank;
    }

    private static int indexOf(LayerLevels l, String key) {
        return SearchJob.indexOf(l, key);
    }
}
