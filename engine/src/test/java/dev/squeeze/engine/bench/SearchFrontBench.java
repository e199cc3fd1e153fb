package dev.squeeze.engine.bench;

import dev.squeeze.engine.backend.CpuInfo;
import dev.squeeze.engine.data.EvaluationData;
import dev.squeeze.engine.data.text.DataSplit;
import dev.squeeze.engine.data.text.TextEvaluation;
import dev.squeeze.engine.jobs.JobExecution;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.runs.RunHooks;
import dev.squeeze.engine.runs.RunSink;
import dev.squeeze.engine.search.SearchJob;
import dev.squeeze.engine.search.SearchSpec;
import dev.squeeze.engine.search.SearchSubject;
import dev.squeeze.engine.store.RunRecord;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Issue #13's measurements on stories260K (calibration stories 1–500, evaluation 501–1000), in this process with the
 * code a search job's worker runs ({@link SearchJob}):
 * <pre>
 *   front  METHODS FROM:TO:STEP [LEVELS_DIR]                 a front with the proxy allocator, uniform baselines
 *   budget METHODS BPW GENERATIONS OFFSPRING SEED [LEVELS_DIR] one budget: proxy allocator, then EvoPress from it
 * </pre>
 * Prints the CPU, the wall and process CPU time of every phase (the level database and the sensitivity included,
 * from an empty folder unless LEVELS_DIR is given), and each stored plan's bits per weight and perplexity.
 * Run with bench/search-front.sh.
 */
public final class SearchFrontBench {
    private SearchFrontBench() {
    }

    public static void main(String[] args) throws Exception {
        Path shared = Path.of(args[0]);
        String mode = args[1];
        List<String> methods = Arrays.asList(args[2].split(","));
        SearchSpec spec;
        int levelsArg;
        if (mode.equals("front")) {
            String[] f = args[3].split(":");
            spec = new SearchSpec(methods, null, null, Double.parseDouble(f[0]), Double.parseDouble(f[1]),
                    Double.parseDouble(f[2]), 0, 1, 0, 0,
                    !"false".equals(System.getProperty("squeeze.bench.baselines")));
            levelsArg = 4;
        } else {
            spec = new SearchSpec(methods, Double.parseDouble(args[3]), null, null, null, null,
                    Integer.parseInt(args[4]), Integer.parseInt(args[5]), 0, Long.parseLong(args[6]), false);
            levelsArg = 7;
        }
        Path levels = args.length > levelsArg ? Path.of(args[levelsArg]) : Files.createTempDirectory("squeeze-levels");
        System.setProperty("squeeze.data", shared.resolve("data").toString());
        Model model = ModelFormats.open(shared.resolve("models/stories260K/stories260K.bin"));
        TextEvaluation eval = EvaluationData.textFor(model).orElseThrow();
        System.out.println("CPU: " + CpuInfo.describe());
        System.out.println("search: " + spec.describe() + "; levels in " + levels);
        long wall0 = System.nanoTime();
        long cpu0 = cpu();
        long[] phaseStart = {System.nanoTime(), cpu()};
        String[] phase = {"loading"};
        List<RunRecord> runs = new ArrayList<>();
        RunHooks hooks = new RunHooks() {
            @Override
            public void phase(Phase p, String detail) {
                report();
                phase[0] = p.word() + " (" + detail + ")";
            }

            @Override
            public void warning(String message) {
                System.out.println("warning: " + message);
            }

            void report() {
                long now = System.nanoTime();
                long c = cpu();
                System.out.printf(Locale.ROOT, "  %-100s wall %7.1f s  cpu %7.1f s%n", shorten(phase[0]),
                        (now - phaseStart[0]) / 1e9, (c - phaseStart[1]) / 1e9);
                phaseStart[0] = now;
                phaseStart[1] = c;
            }
        };
        // -Dsqueeze.bench.db=PATH (and -Dsqueeze.bench.tag=TAG) also stores the runs, for charts and reports.
        String dbPath = System.getProperty("squeeze.bench.db");
        String tag = System.getProperty("squeeze.bench.tag", "bench");
        dev.squeeze.engine.store.ResultsStore store = dbPath == null ? null
                : dev.squeeze.engine.store.ResultsStore.openFile(Path.of(dbPath));
        RunSink sink = r -> {
            runs.add(r);
            if (store != null) {
                return store.recordRun(new RunRecord(r.model(), r.dataset(), r.planJson(), r.planDescription(),
                        r.label(), r.startedAt(), r.finishedAt(), r.seed(), r.provenance(), r.sizeBytes(),
                        r.fp16Bytes(), r.bitsPerWeight(), r.layers(), r.metrics(), r.calibration(), List.of(tag),
                        null));
            }
            return runs.size();
        };
        List<int[]> calibration = eval.corpus().tokens(DataSplit.TINYSTORIES_1K.calibration(), eval.tokenizer());
        try (SearchSubject subject = new SearchSubject.Language(model, calibration, 32, JobExecution.WINDOW_TOKENS, 0)) {
            new SearchJob(sink, hooks).run(spec, subject, eval, null, levels, "bench");
        }
        hooks.phase(RunHooks.Phase.LOADING, "end");
        if (store != null) {
            store.close();
        }
        System.out.printf(Locale.ROOT, "total: wall %.1f s, process CPU %.1f s, %d runs%n", (System.nanoTime() - wall0)
                / 1e9, (cpu() - cpu0) / 1e9, runs.size());
        System.out.printf("%-70s %9s %9s %11s %10s%n", "RUN", "BPW", "MODEL B", "PERPLEXITY", "SEARCH KL");
        for (RunRecord r : runs) {
            System.out.printf(Locale.ROOT, "%-70s %9.4f %9d %11.4f %10s%n", shorten(r.label()), metric(r,
                    "search_bits_per_weight"), r.sizeBytes(), metric(r, "perplexity"),
                    Double.isNaN(metric(r, "search_kl")) ? "" : String.format(Locale.ROOT, "%.5f", metric(r, "search_kl")));
        }
    }

    private static double metric(RunRecord r, String name) {
        return r.metrics().stream().filter(m -> m.name().equals(name)).mapToDouble(RunRecord.Metric::value)
                .findFirst().orElse(Double.NaN);
    }

    private static long cpu() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static String shorten(String s) {
        return s.length() <= 100 ? s : s.substring(0, 99) + "…";
    }
}
