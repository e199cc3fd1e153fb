package dev.squeeze.engine.jobs;

import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.runs.RunHooks;
import dev.squeeze.engine.runs.RunSink;
import dev.squeeze.engine.search.SearchSpec;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.store.RunSummary;
import dev.squeeze.engine.store.StoredRun;
import dev.squeeze.engine.testing.SearchModels;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A search job (a front of three budgets on a small classifier, EvoPress after the proxy allocator) whose worker is
 * killed with SIGKILL twice — in the middle of the first budget's generations, and between the first and the second
 * stored point — resumes each time and ends with exactly the runs an uninterrupted search stores, each point once.
 * And a running EvoPress search that is cancelled ends DONE with the best plan found stored.
 */
class SearchKillAndResumeTest {
    @TempDir
    Path dir;

    private ResultsStore store;
    private Path model;
    private Path[] idx;

    @BeforeEach
    void setUp() throws Exception {
        store = ResultsStore.openFile(dir.resolve("results"));
        model = SearchModels.writeMlp(dir, 21);
        ImageSet images = TinyModels.images(200, 8);
        idx = TinyModels.writeIdx(dir, images);
    }

    @AfterEach
    void tearDown() {
        store.close();
    }

    private JobSpec spec(SearchSpec search) {
        return new JobSpec(model.toString(), null, "search k", 32, 0, false, 0, idx[0].toString(), idx[1].toString(),
                List.of("k"), search);
    }

    /** Every run an uninterrupted search stores, in order, as the job in this process would produce them. */
    private List<RunRecord> uninterrupted(JobSpec spec) {
        List<RunRecord> out = new ArrayList<>();
        JobExecution.run(spec, new RunSink() {
            @Override
            public long accept(RunRecord run) {
                out.add(run);
                return -1;
            }

            @Override
            public long acceptPoint(RunRecord run, String key) {
                out.add(run);
                return -1;
            }
        }, new RunHooks() {
            @Override
            public Optional<Path> sharedCacheDir() {
                return Optional.of(dir.resolve("reference-levels"));
            }
        });
        return out;
    }

    /** How many hangs the job's log shows (the log goes on across attempts). */
    private static int hangs(JobEngine engine, long id) throws Exception {
        Path log = engine.logFile(id);
        return Files.exists(log) ? Files.readString(log).split("fault injection: hanging after state ", -1).length - 1
                : 0;
    }

    /**
     * Waits until the job's worker has reached the injected hang after {@code state} saved states (the job's log
     * shows more hangs than {@code before}), then kills it with SIGKILL.
     */
    private void killWhenHung(JobEngine engine, long id, JobTesting.Events events, int state, int before)
            throws Exception {
        Path log = engine.logFile(id);
        String mark = "fault injection: hanging after state " + state;
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (hangs(engine, id) <= before || !Files.readString(log).contains(mark)) {
            if (System.nanoTime() > deadline) {
                fail("the worker never reached state " + state + "; log: "
                        + (Files.exists(log) ? Files.readString(log) : "none"));
            }
            Thread.sleep(50);
        }
        List<ProcessHandle> workers = JobTesting.workers();
        assertEquals(1, workers.size(), "one worker: " + workers);
        workers.getFirst().destroyForcibly(); // SIGKILL
        workers.getFirst().onExit().get(30, TimeUnit.SECONDS);
        JobEvent ended = events.await(e -> e.jobId() == id && e.kind() == JobEvent.Kind.ENDED
                && e.status() != JobStatus.RUNNING, Duration.ofSeconds(60));
        assertEquals(JobStatus.FAILED, ended.status(), ended.describe());
    }

    private List<Long> jobRuns(long id) {
        return store.runs(null).stream().map(RunSummary::id)
                .filter(r -> Long.valueOf(id).equals(store.run(r).orElseThrow().jobId())).sorted().toList();
    }

    @Test
    void aSearchKilledInsideEvoPressAndBetweenPointsResumesToTheUninterruptedRuns() throws Exception {
        // Saved states in order: evo-5 after generations 1, 2, 3; done-5; evo-7 ×3; done-7; evo-9 ×3.
        JobSpec spec = spec(new SearchSpec(List.of("rtn", "magnitude"), null, null, 5.0, 9.0, 2.0, 3, 4, 0, 11,
                false));
        long id;
        JobTesting.Events first = new JobTesting.Events();
        try (JobEngine engine = JobTesting.engine(store, dir, first, 1, "-Dsqueeze.worker.fault=hang-after-state:2")) {
            id = engine.submit(spec);
            killWhenHung(engine, id, first, 2, 0); // generation 2 of the first budget saved
        }
        assertEquals(List.of(), jobRuns(id), "nothing stored before the first point");

        JobTesting.Events second = new JobTesting.Events();
        try (JobEngine engine = JobTesting.engine(store, dir, second, 1, "-Dsqueeze.worker.fault=hang-after-state:2")) {
            int before = hangs(engine, id);
            engine.resume(id);
            // Resumed at generation 2: generation 3 saved (1), the first point stored and marked done (2).
            killWhenHung(engine, id, second, 2, before);
        }
        assertEquals(1, jobRuns(id).size(), "the first point is stored, the job is not done");

        JobTesting.Events third = new JobTesting.Events();
        try (JobEngine engine = JobTesting.engine(store, dir, third, 1)) {
            engine.resume(id);
            JobEvent ended = third.await(e -> e.jobId() == id && e.kind() == JobEvent.Kind.ENDED,
                    Duration.ofMinutes(3));
            assertEquals(JobStatus.DONE, ended.status(), ended.describe());
            assertTrue(third.of(id).stream().noneMatch(e -> e.detail() != null
                    && e.detail().equals("stored search ≤ 5 bits/weight")), "the first point is not stored again");
        }

        List<RunRecord> reference = uninterrupted(spec);
        assertEquals(List.of("search ≤ 5 bits/weight", "search ≤ 7 bits/weight", "search ≤ 9 bits/weight"),
                reference.stream().map(RunRecord::label).toList());
        List<Long> runs = jobRuns(id);
        assertEquals(reference.size(), runs.size(), "each point stored once");
        for (int i = 0; i < runs.size(); i++) {
            RunRecord ref = reference.get(i);
            long runId = runs.get(i);
            StoredRun stored = store.run(runId).orElseThrow();
            assertEquals(ref.label(), stored.summary().label());
            assertEquals(ref.planJson(), stored.planJson(), ref.label());
            assertEquals(ref.seed(), stored.seed());
            assertEquals(ref.provenance().search(), stored.provenance().search(), ref.label());
            assertEquals(List.of("k"), stored.tags());
            JobTesting.assertSameResults(ref, store, runId);
            long budget = new BigDecimal(5 + 2 * i).multiply(BigDecimal.valueOf(SearchModels.WEIGHTS))
                    .setScale(0, RoundingMode.FLOOR).longValueExact();
            long bits = store.layerResults(runId).stream().mapToLong(RunRecord.LayerResult::storedBits).sum();
            assertTrue(bits <= budget, ref.label() + ": " + bits + " > " + budget);
        }
        assertEquals(runs.getLast(), store.jobs().get(id).orElseThrow().runId(), "the last run ends the job");
        assertTrue(reference.stream().allMatch(r -> r.provenance().search().contains("3 generations")),
                "EvoPress ran its 3 generations on every budget");
    }

    @Test
    void cancellingARunningEvoPressSearchStoresTheBestPlanFound() throws Exception {
        JobSpec spec = spec(new SearchSpec(List.of("rtn", "magnitude"), 6.0, null, null, null, null, 1_000_000, 8,
                0, 2, false));
        JobTesting.Events events = new JobTesting.Events();
        try (JobEngine engine = JobTesting.engine(store, dir, events, 1)) {
            long id = engine.submit(spec);
            events.await(e -> e.jobId() == id && e.kind() == JobEvent.Kind.PROGRESS && "search".equals(e.phase())
                    && e.progress() != null && e.progress().done() >= 1, Duration.ofMinutes(3));
            engine.cancel(id);
            JobEvent ended = events.await(e -> e.jobId() == id && e.kind() == JobEvent.Kind.ENDED,
                    Duration.ofMinutes(2));
            assertEquals(JobStatus.DONE, ended.status(), ended.describe());
            assertNotNull(ended.runId());
            StoredRun run = store.run(ended.runId()).orElseThrow();
            assertEquals("search ≤ 6 bits/weight", run.summary().label());
            assertTrue(run.provenance().search().contains("stopped by cancelled"), run.provenance().search());
            long bits = store.layerResults(ended.runId()).stream().mapToLong(RunRecord.LayerResult::storedBits).sum();
            assertTrue(bits <= 6 * SearchModels.WEIGHTS, bits + " bits");
            assertTrue(store.metrics(ended.runId()).stream().anyMatch(m -> m.name().equals("search_kl")),
                    "the best plan's KL is recorded");
            assertEquals(List.of(ended.runId()), jobRuns(id));
        }
    }
}
