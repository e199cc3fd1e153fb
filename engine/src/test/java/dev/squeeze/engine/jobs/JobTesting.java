package dev.squeeze.engine.jobs;

import dev.squeeze.engine.eval.Latency;
import dev.squeeze.engine.runs.RunHooks;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Shared pieces of the job-engine tests. */
final class JobTesting {
    private JobTesting() {
    }

    /** Records every event and lets a test wait for one. */
    static final class Events implements Consumer<JobEvent> {
        private final List<JobEvent> all = new ArrayList<>();

        @Override
        public synchronized void accept(JobEvent e) {
            all.add(e);
            notifyAll();
        }

        synchronized List<JobEvent> all() {
            return List.copyOf(all);
        }

        synchronized JobEvent await(Predicate<JobEvent> p, Duration timeout) throws InterruptedException {
            long end = System.nanoTime() + timeout.toNanos();
            while (true) {
                for (JobEvent e : all) {
                    if (p.test(e)) {
                        return e;
                    }
                }
                long left = end - System.nanoTime();
                if (left <= 0) {
                    fail("no such event within " + timeout + "; events: " + all.stream().map(JobEvent::describe).toList());
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }

        /** Forgets the events so far (a test that resumes a job waits for its new end, not the old one). */
        synchronized void clear() {
            all.clear();
        }

        synchronized List<JobEvent> of(long job) {
            return all.stream().filter(e -> e.jobId() == job).toList();
        }
    }

    static JobEngine.Options options(int workers, String... jvmArgs) {
        return new JobEngine.Options(workers, "512m", List.of(jvmArgs), Duration.ofSeconds(10));
    }

    static JobEngine engine(ResultsStore store, Path dir, Events events, int workers, String... jvmArgs) {
        JobEngine e = new JobEngine(store, dir.resolve("checkpoints"), options(workers, jvmArgs));
        e.addListener(events);
        return e;
    }

    /** The run as an uninterrupted job in this process would produce it. */
    static RunRecord reference(JobSpec spec) {
        RunRecord[] out = new RunRecord[1];
        JobExecution.run(spec, r -> {
            out[0] = r;
            return -1;
        }, RunHooks.NONE);
        return out[0];
    }

    /** The layer results without their timings (a resumed run keeps the timings of its first attempt). */
    static List<RunRecord.LayerResult> untimed(List<RunRecord.LayerResult> layers) {
        return layers.stream().map(l -> new RunRecord.LayerResult(l.layer(), l.method(), l.settings(), l.storedBits(),
                l.bitsPerWeight(), l.reconError(), 0)).toList();
    }

    /**
     * Asserts that stored run {@code runId} has exactly the reference's metrics, layers and sizes. The latency
     * ({@link Latency#METRIC}) is a timing, not a result: both runs must have measured it, not measured the same.
     */
    static void assertSameResults(RunRecord reference, ResultsStore store, long runId) {
        var summary = store.runs(null).stream().filter(r -> r.id() == runId).findFirst().orElseThrow();
        assertEquals(reference.sizeBytes(), summary.sizeBytes(), "size");
        assertEquals(reference.bitsPerWeight(), summary.bitsPerWeight(), "bits per weight");
        List<RunRecord.Metric> expected = reference.metrics().stream()
                .sorted(java.util.Comparator.comparing(RunRecord.Metric::name).thenComparing(RunRecord.Metric::split))
                .toList();
        List<RunRecord.Metric> stored = store.metrics(runId);
        assertEquals(results(expected), results(stored), "metrics (exactly equal)");
        assertEquals(latencies(expected), latencies(stored), "which splits have a measured latency");
        assertEquals(untimed(reference.layers()), untimed(store.layerResults(runId)), "layer results");
    }

    /** The metrics that are results of the computation: all but the latency. */
    static List<RunRecord.Metric> results(List<RunRecord.Metric> metrics) {
        return metrics.stream().filter(m -> !m.name().equals(Latency.METRIC)).toList();
    }

    private static List<String> latencies(List<RunRecord.Metric> metrics) {
        return metrics.stream().filter(m -> m.name().equals(Latency.METRIC) && m.value() > 0)
                .map(RunRecord.Metric::split).toList();
    }

    static JobStatus status(JobEngine engine, long id) {
        return engine.jobs().get(id).orElseThrow().status();
    }

    /** The worker processes (children running WorkerMain) of this JVM. */
    static List<ProcessHandle> workers() {
        return ProcessHandle.current().descendants().filter(JobTesting::isWorker).toList();
    }

    /**
     * Whether a process runs {@link WorkerMain}. Reads the whole {@code /proc/PID/cmdline}: the JDK's
     * {@code ProcessHandle.Info.commandLine()} reads only its first page (4 KiB) on Linux, and a worker's class path
     * alone is longer than that, so the main class comes after the cut.
     */
    static boolean isWorker(ProcessHandle p) {
        String main = WorkerMain.class.getName();
        try {
            byte[] cmdline = java.nio.file.Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()), "cmdline"));
            return new String(cmdline, java.nio.charset.StandardCharsets.UTF_8).contains(main);
        } catch (java.io.IOException | RuntimeException e) {
            return p.info().commandLine().orElse("").contains(main);
        }
    }
}
