package dev.squeeze.engine.bench;

import dev.squeeze.engine.backend.CpuInfo;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.jobs.JobEvent;
import dev.squeeze.engine.jobs.JobSpec;
import dev.squeeze.engine.jobs.launch.SlurmSettings;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.store.JobRow;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Issue #14's measurements: jobs on the built-in sample model through a local queue and through a Slurm cluster
 * (bench/slurm.sh starts a loopback one), measured in the same run, side by side.
 *
 * <pre>
 *   SlurmBench overhead N SHARED_DIR     N single jobs each way, alternating: submit → first phase line, and whole job
 *   SlurmBench sweep W SHARED_DIR        the same 64 plans with W workers locally, then on Slurm (W one-CPU nodes)
 * </pre>
 * Slurm is reached through SLURM_CONF. Utilisation = the machine's busy CPU time during the sweep / (its CPUs ×
 * wall time), from /proc/stat: on the loopback cluster the nodes are this machine's CPUs, and Slurm's workers are
 * not children of this process (slurmstepd is re-parented to init), so the whole machine is what can be compared.
 * It includes the parent, Slurm's daemons and anything else running here. The parent's own CPU time (its polling of
 * the protocol files included) is given beside it.
 */
public final class SlurmBench {
    private SlurmBench() {
    }

    /** One job's times, in ms from its submission. */
    record Times(double firstLine, double whole) {
    }

    public static void main(String[] args) throws Exception {
        System.out.println("CPU: " + CpuInfo.describe());
        Path shared = Path.of(args[2]).toAbsolutePath();
        SlurmSettings slurm = new SlurmSettings(shared.toString(), null, null, 1, null, null, null,
                System.getenv("SLURM_CONF"), null, List.of());
        switch (args[0]) {
            case "overhead" -> overhead(Integer.parseInt(args[1]), slurm, shared);
            case "sweep" -> sweep(Integer.parseInt(args[1]), slurm, shared);
            default -> throw new IllegalArgumentException("overhead N DIR | sweep W DIR");
        }
    }

    private static void overhead(int n, SlurmSettings slurm, Path shared) throws Exception {
        List<Times> local = new ArrayList<>();
        List<Times> onSlurm = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // Alternating, so that a noisy neighbour hurts both sides alike.
            local.addAll(run(List.of(plan(4, 16, false, "local-" + i)), 1, JobEngine.Launcher.LOCAL, shared, "l" + i)
                    .times());
            onSlurm.addAll(run(List.of(plan(4, 16, false, "slurm-" + i)), 1, JobEngine.Launcher.slurm(slurm), shared,
                    "s" + i).times());
        }
        System.out.printf(Locale.ROOT, "%d single jobs each way (RTN 4-bit g16 on the sample, 3 layers)%n", n);
        System.out.printf(Locale.ROOT, "| launcher | submit → first phase line, median (min–max) | whole job, median (min–max) |%n");
        System.out.printf(Locale.ROOT, "|---|---|---|%n");
        row("local", local);
        row("slurm", onSlurm);
        System.out.printf(Locale.ROOT, "slurm − local: first line %+.0f ms, whole job %+.0f ms (medians); ratio of whole job %.2f%n",
                median(onSlurm, Times::firstLine) - median(local, Times::firstLine),
                median(onSlurm, Times::whole) - median(local, Times::whole),
                median(onSlurm, Times::whole) / median(local, Times::whole));
    }

    private static void row(String what, List<Times> t) {
        System.out.printf(Locale.ROOT, "| %s | %.0f ms (%.0f–%.0f) | %.0f ms (%.0f–%.0f) |%n", what,
                median(t, Times::firstLine), min(t, Times::firstLine), max(t, Times::firstLine),
                median(t, Times::whole), min(t, Times::whole), max(t, Times::whole));
    }

    private static void sweep(int workers, SlurmSettings slurm, Path shared) throws Exception {
        List<JobSpec> specs = new ArrayList<>();
        for (int bits = 2; bits <= 5; bits++) {
            for (int g : new int[] {0, 8, 16, 32, 64, 128, 256, 512}) {
                for (boolean sym : new boolean[] {true, false}) {
                    specs.add(plan(bits, g, sym, "rtn" + bits + "-g" + g + (sym ? "-sym" : "")));
                }
            }
        }
        Result local = run(specs, workers, JobEngine.Launcher.LOCAL, shared, "sweep-local");
        Result onSlurm = run(specs, workers, JobEngine.Launcher.slurm(slurm), shared, "sweep-slurm, " + workers
                + " in flight");
        // The CLI's default on Slurm: every job submitted at once, Slurm's queue starts each as a node frees.
        Result queued = run(specs, Math.min(64, specs.size()), JobEngine.Launcher.slurm(slurm), shared,
                "sweep-slurm, all " + specs.size() + " submitted at once");
        System.out.printf(Locale.ROOT, "%d plans, %d workers (Slurm: %d one-CPU nodes)%n", specs.size(), workers, workers);
        System.out.printf(Locale.ROOT, "| queue | wall | CPU busy (machine) | parent's CPU | median job (leaves our queue → end) | all DONE | metrics equal to local |%n|---|---|---|---|---|---|---|%n");
        for (Result r : List.of(local, onSlurm, queued)) {
            boolean same = local.metrics().equals(r.metrics());
            System.out.printf(Locale.ROOT, "| %s | %.1f s | %.0f %% | %.1f s | %.0f ms | %s | %s |%n", r.name(),
                    r.wallMs() / 1000, 100 * r.machineBusy(), r.parentCpuS(), median(r.times(), Times::whole),
                    r.allDone(), same);
        }
        System.out.printf(Locale.ROOT, "wall time ratio slurm / local: %.2f (%d in flight), %.2f (all submitted)%n",
                onSlurm.wallMs() / local.wallMs(), workers, queued.wallMs() / local.wallMs());
    }

    record Result(String name, double wallMs, List<Times> times, boolean allDone, Map<String, List<Double>> metrics,
                  double machineBusy, double parentCpuS) {
    }

    /** Busy and total CPU time of the machine so far, in clock ticks ({@code /proc/stat}'s first line). */
    private static long[] machineCpu() throws Exception {
        String[] f = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
        long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]); // idle, iowait
        long total = 0;
        for (int i = 1; i <= 8 && i < f.length; i++) { // user nice system idle iowait irq softirq steal
            total += Long.parseLong(f[i]);
        }
        long steal = f.length > 8 ? Long.parseLong(f[8]) : 0;
        return new long[] {total - idle - steal, total - steal};
    }

    private static double parentCpuSeconds() {
        return ProcessHandle.current().info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(Double.NaN);
    }

    private static Result run(List<JobSpec> specs, int workers, JobEngine.Launcher launcher, Path shared, String name)
            throws Exception {
        Path dir = Files.createTempDirectory(shared, "bench-db-");
        Map<Long, Long> submitted = new ConcurrentHashMap<>();
        Map<Long, Long> firstLine = new ConcurrentHashMap<>();
        Map<Long, Long> ended = new ConcurrentHashMap<>();
        try (ResultsStore store = ResultsStore.openFile(dir.resolve("results"));
             JobEngine engine = new JobEngine(store, dir.resolve("checkpoints"), new JobEngine.Options(workers, "400m",
                     List.of(), Duration.ofSeconds(10), launcher))) {
            engine.addListener(e -> {
                long now = System.nanoTime();
                if (e.kind() == JobEvent.Kind.PHASE) {
                    firstLine.putIfAbsent(e.jobId(), now);
                } else if (e.kind() == JobEvent.Kind.ENDED) {
                    ended.put(e.jobId(), now);
                }
            });
            long[] cpu0 = machineCpu();
            double parent0 = parentCpuSeconds();
            long t0 = System.nanoTime();
            // Queued together; the engine starts at most `workers` at once. Each job's clock starts when it leaves
            // the queue (its STARTED event), so queueing time is not counted as overhead.
            engine.addListener(e -> {
                if (e.kind() == JobEvent.Kind.STARTED) {
                    submitted.putIfAbsent(e.jobId(), System.nanoTime());
                }
            });
            List<Long> ids = engine.submitAll(specs);
            engine.await(ids);
            double wall = (System.nanoTime() - t0) / 1e6;
            long[] cpu1 = machineCpu();
            double busy = (double) (cpu1[0] - cpu0[0]) / (cpu1[1] - cpu0[1]);
            double parentCpu = parentCpuSeconds() - parent0;
            List<Times> times = new ArrayList<>();
            boolean allDone = true;
            Map<String, List<Double>> metrics = new java.util.TreeMap<>();
            for (long id : ids) {
                JobRow row = store.jobs().get(id).orElseThrow();
                allDone &= row.status() == JobStatus.DONE;
                if (row.status() == JobStatus.DONE) {
                    metrics.put(row.label(), store.metrics(row.runId()).stream()
                            .filter(m -> !m.name().startsWith("latency")).map(dev.squeeze.engine.store.RunRecord.Metric::value)
                            .toList());
                } else {
                    System.out.println("job " + id + " " + row.status() + ": " + row.reason());
                }
                long s = submitted.get(id);
                long f = firstLine.getOrDefault(id, ended.get(id));
                times.add(new Times((f - s) / 1e6, (ended.get(id) - s) / 1e6));
            }
            return new Result(name.startsWith("sweep-") ? name.substring(6) : name, wall, times, allDone, metrics,
                    busy, parentCpu);
        }
    }

    private static JobSpec plan(int bits, int group, boolean sym, String label) {
        String json = "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":" + bits + ",\"groupSize\":" + group
                + ",\"symmetric\":" + sym + "}}";
        return new JobSpec("builtin:fashion-mlp", CompressionPlan.parse(json).canonicalJson(), label, 32, 0, false, 0,
                null, null, List.of("bench"));
    }

    private interface Field {
        double of(Times t);
    }

    private static double median(List<Times> t, Field f) {
        double[] v = t.stream().mapToDouble(f::of).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static double min(List<Times> t, Field f) {
        return t.stream().mapToDouble(f::of).min().orElse(Double.NaN);
    }

    private static double max(List<Times> t, Field f) {
        return Arrays.stream(t.stream().mapToDouble(f::of).toArray()).max().orElse(Double.NaN);
    }
}
