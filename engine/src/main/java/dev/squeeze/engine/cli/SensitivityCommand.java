package dev.squeeze.engine.cli;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.jobs.ModelRefs;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.search.Candidates;
import dev.squeeze.engine.search.ClassifierKlFitness;
import dev.squeeze.engine.search.Fitness;
import dev.squeeze.engine.search.LayerLevels;
import dev.squeeze.engine.search.LevelDatabase;
import dev.squeeze.engine.search.LlamaKlFitness;
import dev.squeeze.engine.search.SearchSpec;
import dev.squeeze.engine.search.SearchSubject;
import dev.squeeze.engine.search.Sensitivity;
import dev.squeeze.engine.search.SensitivityCache;
import dev.squeeze.engine.search.SensitivityProxies;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.util.AtomicFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "sensitivity", description = {
        "Per-layer sensitivity: compress one layer at a time at every candidate level and measure the KL divergence",
        "from the dense model on calibration data (language models: stories 1–500; classifiers: the last fifth of",
        "their evaluation images). Stored in the results database and reused until the model or the calibration",
        "data changes. With --fisher, also the Fisher-information proxy ½ Σ F (W − Ŵ)² of every cell, and how well",
        "the two rank the same cells (Spearman).",
        "Example: squeeze sensitivity stories260K.bin --methods gptq --fisher"})
final class SensitivityCommand implements Callable<Integer> {
    @ParentCommand
    SqueezeCli parent;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "A model file or folder, or a built-in sample.")
    String model;

    @Option(names = "--methods", paramLabel = "M,…", split = ",",
            description = "Method families to measure: rtn, gptq, spqr, sparsegpt, magnitude, lowrank"
                    + " (default: rtn,gptq,sparsegpt,lowrank; classifiers take rtn, magnitude, lowrank).")
    List<String> methods;

    @Option(names = "--all", description = "Print every layer at every level, not only the representative levels.")
    boolean all;

    @Option(names = "--csv", paramLabel = "FILE", description = "Also write every cell as CSV.")
    Path csv;

    @Option(names = "--fisher", description = "Also compute the Fisher-information proxy and compare it with the KL.")
    boolean fisher;

    @Mixin
    JobsSupport.ImageOptions imageOptions;

    /** Columns of the summary table. */
    static final int COLUMNS = 6;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Model m = ModelRefs.open(model);
        boolean language = LlamaConfig.ARCHITECTURE.equals(m.architecture());
        List<String> families = methods == null || methods.isEmpty()
                ? (language ? SearchSpec.DEFAULT_METHODS : Candidates.DATA_FREE_FAMILIES)
                : new SearchSpec(methods, 4.0, null, null, null, null, 0, 1, 0, 0, false).methods();
        if (!language) {
            for (String f : families) {
                if (!Candidates.DATA_FREE_FAMILIES.contains(f)) {
                    throw new SqueezeException("The method '" + f + "' needs calibration data (layer Hessians), and"
                            + " classifier sensitivity is data-free", "use some of "
                            + String.join(", ", Candidates.DATA_FREE_FAMILIES));
                }
            }
        }
        ImageSet images = language ? null : ModelRefs.evaluationImages(model, m, imageOptions.images, imageOptions.labels);
        try (ResultsStore store = parent.openStore();
             SearchSubject subject = SearchSubject.of(m, images)) {
            Path root = store.checkpointRoot() != null ? store.checkpointRoot().resolve("levels")
                    : LevelDatabase.defaultRoot();
            ProgressLine progress = new ProgressLine(out, ProgressPrinter.stdoutIsTerminal(out, parent.systemOut));
            LevelDatabase db = LevelDatabase.build(subject, root, families,
                    (layer, level, done, total) -> progress.show("level database", done, total), () -> false);
            progress.done();
            Fitness fitness = language ? new LlamaKlFitness(db) : new ClassifierKlFitness(db);
            long samples = language ? Sensitivity.DEFAULT_TOKENS : Sensitivity.DEFAULT_IMAGES;
            SensitivityCache cache = SensitivityCache.inStoreAndFolder(store, db.dir(), subject, SensitivityCache.KL,
                    samples, Sensitivity.DEFAULT_SEED);
            Sensitivity.Table table = Sensitivity.measure(db, fitness, cache, samples, Sensitivity.DEFAULT_SEED,
                    (layer, level, done, total, cached) -> progress.show("sensitivity", done, total), () -> false);
            progress.done();
            SensitivityProxies.Comparison fisherProxy = null;
            if (fisher) {
                out.println("Fisher information on the calibration data…");
                out.flush();
                fisherProxy = SensitivityProxies.fisher(db, table);
            }
            print(out, m, db, table, fisherProxy);
            if (csv != null) {
                writeCsv(csv, table, fisherProxy);
                out.printf("Wrote %d cells to %s%n", table.cells().size(), csv);
            }
        }
        return 0;
    }

    private void print(PrintWriter out, Model m, LevelDatabase db, Sensitivity.Table table,
                       SensitivityProxies.Comparison fisherProxy) {
        List<LayerLevels> layers = table.layers();
        out.printf(Locale.ROOT, "Sensitivity of %s: %d layers × %d levels; KL to the dense model (nats per %s) on"
                        + " %s calibration %s, seed %d; %d measured now, %d from the cache%n", m.name(), layers.size(),
                table.cells().size(), db.subject() instanceof SearchSubject.Language ? "token" : "image",
                table.samples() == Long.MAX_VALUE ? "all" : String.format(Locale.ROOT, "%,d", table.samples()),
                db.subject() instanceof SearchSubject.Language ? "tokens" : "images", table.seed(), table.measured(),
                table.cells().size() - table.measured());
        if (all) {
            out.printf("%-34s %-44s %8s %12s%s%n", "LAYER", "LEVEL", "BITS/W", "KL",
                    fisherProxy != null ? String.format("%14s", "FISHER PROXY") : "");
            for (Sensitivity.Cell c : table.cells()) {
                out.printf(Locale.ROOT, "%-34s %-44s %8.3f %12.4g%s%n", c.name(), shorten(c.description(), 44),
                        c.bits() / (double) layers.get(c.layer()).weights(), c.kl(),
                        fisherProxy != null ? String.format(Locale.ROOT, "%14.4g",
                                fisherProxy.proxy()[c.layer()][c.level()]) : "");
            }
        } else {
            List<String> keys = SensitivityProxies.representativeKeys(layers, COLUMNS);
            StringBuilder head = new StringBuilder(String.format("%-34s %-9s", "LAYER", "SHAPE"));
            for (String k : keys) {
                head.append(String.format(" %16s", shorten(SensitivityProxies.describeKey(layers, k)
                        .replace(" asym", "").replace("-bit", "b"), 16)));
            }
            out.println(head.append("  RANK"));
            int[] rank = SensitivityProxies.rankByMean(table, keys);
            for (int i = 0; i < layers.size(); i++) {
                LayerLevels l = layers.get(i);
                StringBuilder row = new StringBuilder(String.format("%-34s %-9s", shorten(l.layer(), 34),
                        l.rows() + "×" + l.cols()));
                for (String k : keys) {
                    Double v = SensitivityProxies.klAt(table, i, k);
                    row.append(v == null ? String.format("%17s", "–") : String.format(Locale.ROOT, " %16.4g", v));
                }
                out.println(row.append(String.format("  %4d", rank[i])));
            }
            out.println("KL in nats per " + (db.subject() instanceof SearchSubject.Language ? "position" : "image")
                    + " with only that layer compressed; RANK 1 = most sensitive (mean over the columns); --all lists"
                    + " every level.");
        }
        if (fisherProxy != null) {
            out.printf(Locale.ROOT, "Fisher proxy vs KL: Spearman rank correlation %.3f over all %d cells; %.3f over"
                            + " the layers' mean sensitivity (%d samples, %.1f s)%n", fisherProxy.spearmanCells(),
                    table.cells().size(), fisherProxy.spearmanLayers(), fisherProxy.samples(),
                    fisherProxy.nanos() / 1e9);
        }
    }

    private static void writeCsv(Path file, Sensitivity.Table table, SensitivityProxies.Comparison fisherProxy) {
        StringBuilder b = new StringBuilder("layer,level,bits,bits_per_weight,kl,top1_delta");
        b.append(fisherProxy != null ? ",fisher_proxy\n" : "\n");
        for (Sensitivity.Cell c : table.cells()) {
            long w = table.layers().get(c.layer()).weights();
            b.append(csvText(c.name())).append(',').append(csvText(c.key())).append(',').append(c.bits()).append(',')
                    .append(c.bits() / (double) w).append(',').append(c.kl()).append(',')
                    .append(Double.isNaN(c.top1Delta()) ? "" : Double.toString(c.top1Delta()));
            if (fisherProxy != null) {
                b.append(',').append(fisherProxy.proxy()[c.layer()][c.level()]);
            }
            b.append('\n');
        }
        byte[] bytes = b.toString().getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(file, o -> o.write(bytes));
    }

    private static String csvText(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }

    private static String shorten(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n - 1) + "…";
    }

    /** One progress line, rewritten in place on a terminal; a line per tenth otherwise. */
    private static final class ProgressLine {
        private final PrintWriter out;
        private final boolean terminal;
        private int lastTenth = -1;
        private boolean open;

        ProgressLine(PrintWriter out, boolean terminal) {
            this.out = out;
            this.terminal = terminal;
        }

        void show(String what, int done, int total) {
            if (total <= 0) {
                return;
            }
            if (terminal) {
                out.printf("\r%s: %d of %d", what, done, total);
                open = true;
                out.flush();
            } else {
                int tenth = (int) (10L * done / total);
                if (tenth != lastTenth) {
                    lastTenth = tenth;
                    out.printf("%s: %d of %d%n", what, done, total);
                    out.flush();
                }
            }
        }

        void done() {
            if (open) {
                out.println();
                open = false;
            }
            lastTenth = -1;
        }
    }
}
