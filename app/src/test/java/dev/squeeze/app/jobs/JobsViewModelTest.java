package dev.squeeze.app.jobs;

import dev.squeeze.app.workbench.InlineExecutor;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.jobs.JobEvent;
import dev.squeeze.engine.jobs.JobSpec;
import dev.squeeze.engine.jobs.launch.SlurmSettings;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The jobs view-model without a JavaFX toolkit: an {@link InlineExecutor} runs its engine work and publishes on
 * the calling thread, a clock the test moves times it. Jobs are rows in an in-memory database and events are fed
 * as the engine's listener receives them, so every time and fraction here is chosen by the test.
 */
class JobsViewModelTest {
    private static final String SAMPLE = "builtin:fashion-mlp";
    private static final String PLAN = "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4,\"groupSize\":64}}";

    @TempDir
    Path dir;

    /** A clock that stands still until the test moves it. */
    private static final class TestClock extends Clock {
        Instant now = Instant.parse("2026-12-06T12:00:00Z");

        void advance(int seconds) {
            now = now.plusSeconds(seconds);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    private final TestClock clock = new TestClock();
    private final List<Long> stored = new ArrayList<>();
    private final List<String> errors = new ArrayList<>();
    private ResultsStore store;
    private JobsViewModel vm;

    @BeforeEach
    void open() {
        store = ResultsStore.inMemory();
        vm = new JobsViewModel(new JobEngine.Options(1, "256m", List.of(), Duration.ofSeconds(10)),
                new InlineExecutor(), clock, stored::add, errors::add);
        vm.attach(store);
        assertTrue(vm.available().get(), "the engine started inline");
    }

    @AfterEach
    void close() {
        vm.close();
        store.close();
    }

    /** A job row as the engine adds it, for {@code model}; the view reads it. */
    private long addJob(String model, String label) {
        JobSpec spec = JobSpec.of(model, CompressionPlan.parse(PLAN), label);
        long id = store.jobs().add(spec.toJson(), spec.hash(), spec.model(), label);
        vm.refresh();
        return id;
    }

    private JobItem item(long id) {
        return vm.jobs().stream().filter(j -> j.id() == id).findFirst().orElseThrow();
    }

    private static JobEvent event(long id, JobEvent.Kind kind, JobStatus status, String phase, int done, int total,
                                  JobEvent.PhaseProgress progress, String message, Long runId) {
        return new JobEvent(id, "j", kind, status, phase, null, done, total, null, message, runId, progress);
    }

    private static JobEvent evaluated(long id, long done, long total) {
        return event(id, JobEvent.Kind.PROGRESS, JobStatus.RUNNING, "evaluation", 3, 3,
                new JobEvent.PhaseProgress(done, total, "images"), null, null);
    }

    @Test
    void elapsedTimeEtaAndPhaseProgressFollowTheEventsAndTheClock() {
        long id = addJob(SAMPLE, "timed");
        JobItem job = item(id);
        assertEquals("", job.elapsed().get(), "not started");
        assertEquals("", job.eta().get());

        assertTrue(store.jobs().markRunning(id));
        vm.accept(event(id, JobEvent.Kind.STARTED, JobStatus.RUNNING, null, 0, 0, null, null, null));
        assertEquals("0:00", job.elapsed().get());
        assertEquals(JobItem.UNKNOWN, job.eta().get(), "nothing has moved yet");
        assertEquals(JobItem.PHASE_UNKNOWN, job.phaseProgress().get());

        // Compression: one of four layers after 10 s, two after 20 s: 20 s left for the other two.
        vm.accept(event(id, JobEvent.Kind.PHASE, JobStatus.RUNNING, "compression", 0, 4, null, null, null));
        assertEquals(0.0, job.phaseProgress().get());
        clock.advance(10);
        vm.accept(event(id, JobEvent.Kind.LAYER, JobStatus.RUNNING, "compression", 1, 4, null, "done", null));
        assertEquals(0.25, job.phaseProgress().get());
        assertEquals("1/4 layers", job.phaseDetail().get());
        clock.advance(10);
        vm.accept(event(id, JobEvent.Kind.LAYER, JobStatus.RUNNING, "compression", 2, 4, null, "done", null));
        assertEquals("0:20", job.elapsed().get());
        assertEquals("~0:20", job.eta().get());
        clock.advance(5);
        vm.tick();
        assertEquals("0:25", job.elapsed().get(), "the clock moves the elapsed time between events");
        assertEquals("~0:15", job.eta().get(), "and the ETA down");

        // Evaluation: its own bar, from 0; its ETA from its own rate (a quarter of the images in 8 s: 24 s left).
        clock.advance(15);
        vm.accept(event(id, JobEvent.Kind.PHASE, JobStatus.RUNNING, "evaluation", 4, 4, null, null, null));
        assertEquals("evaluation", job.phase().get());
        assertEquals(JobItem.PHASE_UNKNOWN, job.phaseProgress().get(), "not said yet");
        vm.accept(evaluated(id, 0, 1000));
        assertEquals(0.0, job.phaseProgress().get());
        assertEquals(JobItem.UNKNOWN, job.eta().get(), "evaluation has not moved yet");
        clock.advance(8);
        vm.accept(evaluated(id, 250, 1000));
        assertEquals(0.25, job.phaseProgress().get());
        assertEquals("250/1000 images", job.phaseDetail().get());
        assertEquals("~0:24", job.eta().get());
        clock.advance(8);
        vm.accept(evaluated(id, 500, 1000));
        assertEquals(0.5, job.phaseProgress().get());
        assertEquals("~0:16", job.eta().get());
        assertEquals("0:56", job.elapsed().get());

        // It fails: the elapsed time stops, the ETA goes, the failure is announced.
        clock.advance(4);
        store.jobs().end(id, JobStatus.FAILED, "the worker ran out of memory\nFix: give it more");
        vm.accept(event(id, JobEvent.Kind.ENDED, JobStatus.FAILED, null, 4, 4, null,
                "the worker ran out of memory\nFix: give it more", null));
        assertEquals(JobStatus.FAILED, job.status().get());
        assertEquals("1:00", job.elapsed().get());
        assertEquals("", job.eta().get());
        assertEquals(0.0, job.phaseProgress().get());
        clock.advance(30);
        vm.tick();
        assertEquals("1:00", job.elapsed().get(), "an ended job's time stands still");
        JobsViewModel.Announcement said = vm.lastAnnouncement().get();
        assertEquals("Job #" + id + " timed failed after 1:00: the worker ran out of memory", said.text());
        assertEquals(JobStatus.FAILED, said.status());
        assertEquals(id, said.jobId());
        assertTrue(stored.isEmpty());
        assertTrue(errors.isEmpty(), errors.toString());
    }

    @Test
    void aFinishedJobAnnouncesItselfAndItsRunAndACancelledOneDoesNot() {
        long done = addJob(SAMPLE, "rtn4");
        long cancelled = addJob(SAMPLE, "dropped");
        assertNull(vm.lastAnnouncement().get());
        assertTrue(store.jobs().markRunning(done));
        vm.accept(event(done, JobEvent.Kind.STARTED, JobStatus.RUNNING, null, 0, 0, null, null, null));
        clock.advance(75);
        vm.accept(event(done, JobEvent.Kind.ENDED, JobStatus.DONE, null, 3, 3, null, null, 12L));
        JobsViewModel.Announcement first = vm.lastAnnouncement().get();
        assertEquals("Job #" + done + " rtn4 finished in 1:15: run 12 stored", first.text());
        assertEquals(List.of(12L), stored, "the workbench is told to show the new run");

        vm.accept(event(cancelled, JobEvent.Kind.ENDED, JobStatus.CANCELLED, null, 0, 0, null,
                "cancelled by the user", null));
        assertSame(first, vm.lastAnnouncement().get(), "the user cancelled it: nothing to announce");

        // The same words again are a new announcement (the view shows every one).
        vm.accept(event(done, JobEvent.Kind.ENDED, JobStatus.DONE, null, 3, 3, null, null, 12L));
        assertEquals(first.text(), vm.lastAnnouncement().get().text());
        assertNotEquals(first, vm.lastAnnouncement().get());
        assertEquals(first.sequence() + 1, vm.lastAnnouncement().get().sequence());
    }

    @Test
    void theFilterShowsTheOpenModelsJobsOrAll() throws Exception {
        Path other = Files.createFile(dir.resolve("other.safetensors"));
        long a = addJob(SAMPLE, "sample job");
        long b = addJob(other.toString(), "other job");
        assertEquals(List.of(b, a), ids(vm.shownJobs()), "all, newest first");

        vm.setOpenModel(SAMPLE, "fashion-mlp");
        vm.onlyOpenModel().set(true);
        assertEquals(List.of(a), ids(vm.shownJobs()));
        // The workbench names a file model by its path; the job stores it absolute and normalised.
        vm.setOpenModel(dir.resolve("sub").resolve("..").resolve("other.safetensors").toString(), "other");
        assertEquals(List.of(b), ids(vm.shownJobs()));
        long c = addJob(other.toString(), "another");
        assertEquals(List.of(c, b), ids(vm.shownJobs()), "a new job of the open model shows at once");
        vm.onlyOpenModel().set(false);
        assertEquals(List.of(c, b, a), ids(vm.shownJobs()));
        assertEquals(3, vm.jobs().size());
    }

    private static List<Long> ids(List<JobItem> items) {
        return items.stream().map(JobItem::id).toList();
    }

    @Test
    void theLogShowsItsLast200LinesOrSaysThatThereIsNone() throws Exception {
        long id = addJob(SAMPLE, "logged");
        vm.showLog(id);
        JobsViewModel.JobLog none = vm.jobLog().get();
        Path file = vm.engine().logFile(id);
        assertFalse(none.found());
        assertEquals(file, none.file());
        assertTrue(none.text().contains("no log yet") && none.text().contains(file.toString()), none.text());

        // 500 lines, long enough that the last 200 span several of the blocks read from the end.
        String line = "x".repeat(60);
        Files.writeString(file, IntStream.range(0, 500).mapToObj(i -> "line " + i + " " + line + "\n")
                .collect(Collectors.joining()));
        vm.showLog(id);
        JobsViewModel.JobLog log = vm.jobLog().get();
        assertTrue(log.found());
        assertEquals("logged", log.label());
        String expected = IntStream.range(300, 500).mapToObj(i -> "line " + i + " " + line + "\n")
                .collect(Collectors.joining());
        assertEquals(expected, log.text());
        assertNotEquals(none.request(), log.request());
        assertTrue(errors.isEmpty(), errors.toString());
    }

    @Test
    void changingTheWorkerCountChangesTheRunningEngineInsteadOfMakingANewOne() {
        JobEngine engine = vm.engine();
        assertEquals(1, engine.options().workers());
        vm.workers().set(3);
        assertSame(engine, vm.engine(), "the same engine");
        assertEquals(3, engine.options().workers());
        vm.setWorkers(9);
        assertEquals(JobsViewModel.MAX_WORKERS, vm.workers().get(), "clamped");
        assertEquals(JobsViewModel.MAX_WORKERS, engine.options().workers());
        vm.setWorkers(1);
        assertEquals(1, engine.options().workers());
    }

    @Test
    void theLauncherGoesIntoTheRunningEnginesOptionsForTheJobsQueuedAfterwards() {
        JobEngine engine = vm.engine();
        assertEquals(JobEngine.Launcher.LOCAL, engine.options().launcher(), "this computer unless told otherwise");
        JobEngine.Launcher slurm = JobEngine.Launcher.slurm(SlurmSettings.of(dir.toString()));
        vm.launcher().set(slurm);
        assertSame(engine, vm.engine(), "the same engine: running jobs carry on");
        assertEquals(slurm, engine.options().launcher());
        vm.launcher().set(null);
        assertEquals(slurm, engine.options().launcher(), "no launcher (settings with a problem) changes nothing");
        vm.launcher().set(JobEngine.Launcher.LOCAL);
        assertEquals(JobEngine.Launcher.LOCAL, engine.options().launcher());
    }

    @Test
    void anEngineStartedForSettingsThatChoseSlurmHasItsLauncher() {
        JobEngine.Launcher slurm = JobEngine.Launcher.slurm(SlurmSettings.of(dir.toString()));
        JobsViewModel other = new JobsViewModel(new JobEngine.Options(1, "256m", List.of(), Duration.ofSeconds(10))
                .withLauncher(slurm), new InlineExecutor(), clock, stored::add, errors::add);
        ResultsStore second = ResultsStore.inMemory();
        try {
            other.attach(second);
            assertEquals(slurm, other.launcher().get());
            assertEquals(slurm, other.engine().options().launcher());
        } finally {
            other.close();
            second.close();
        }
    }

    @Test
    void newJobsAreRefusedWithTheSettingsProblemWhileThereIsOne() {
        vm.setOpenModel(SAMPLE, "fashion-mlp");
        vm.launcher().set(null);
        vm.launcherProblem().set("The Slurm settings have a problem: Slurm memory '8X' is not a size");
        vm.queuePlanJson("refused", PLAN);
        assertEquals(List.of("The Slurm settings have a problem: Slurm memory '8X' is not a size\n"
                + "  Fix: choose where jobs run in File ▸ Settings… (Run jobs on)"), errors);
        assertEquals(List.of(), store.jobs().all(), "nothing was queued");
    }

    @Test
    void resumeRunsAJobAgainWhereItWasSubmittedWhateverNewJobsGet() {
        long id = addJob(SAMPLE, "local one");
        store.jobs().end(id, JobStatus.CANCELLED, "cancelled by the user");
        JobEngine.Launcher slurm = JobEngine.Launcher.slurm(SlurmSettings.of(dir.toString()));
        vm.launcher().set(slurm);
        vm.resume(id);
        assertTrue(errors.isEmpty(), errors.toString());
        assertEquals("local", store.jobs().get(id).orElseThrow().launcher(), "it stays on this computer");
        assertNull(store.jobs().get(id).orElseThrow().launcherSettings());
        assertEquals(slurm, vm.engine().options().launcher(), "new jobs still go to Slurm");
        vm.engine().cancel(id);
    }

    @Test
    void theWhereColumnFollowsTheDatabaseWhenAJobIsPlacedAndItsWorkerSaysHello() {
        long id = addJob(SAMPLE, "placed");
        assertEquals("local", item(id).where().get(), "queued: no worker yet");
        assertTrue(store.jobs().markRunning(id));
        store.jobs().placed(id, "4711", "bench-host");
        vm.accept(new JobEvent(id, "placed", JobEvent.Kind.PLACED, JobStatus.RUNNING, null, null, 0, 0, null,
                "local (pid 4711)", null));
        assertEquals("local, pid 4711 on bench-host", item(id).where().get());

        // A Slurm job: submitted (its Slurm id known, its node not yet), then its worker's hello from the node.
        long onSlurm = store.jobs().add(JobSpec.of(SAMPLE, CompressionPlan.parse(PLAN), "far").toJson(), "h", SAMPLE,
                "far", "slurm", SlurmSettings.of(dir.toString()).toJson(), dir.resolve("squeeze-k").toString());
        vm.refresh();
        assertEquals("Slurm", item(onSlurm).where().get(), "not submitted yet");
        assertTrue(store.jobs().markRunning(onSlurm));
        store.jobs().placed(onSlurm, "12", null);
        vm.accept(new JobEvent(onSlurm, "far", JobEvent.Kind.PLACED, JobStatus.RUNNING, null, null, 0, 0, null,
                "submitted as Slurm job 12", null));
        assertEquals("Slurm job 12", item(onSlurm).where().get());
        store.jobs().placed(onSlurm, "12", "node2");
        vm.accept(new JobEvent(onSlurm, "far", JobEvent.Kind.PLACED, JobStatus.RUNNING, null, null, 0, 0, null,
                "Slurm job 12 on node2", null));
        assertEquals("Slurm job 12 on node2", item(onSlurm).where().get());
    }
}
