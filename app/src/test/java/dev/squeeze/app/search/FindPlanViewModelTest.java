package dev.squeeze.app.search;

import dev.squeeze.engine.jobs.JobEvent;
import dev.squeeze.engine.jobs.JobSpec;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.samples.SampleModels;
import dev.squeeze.engine.search.SearchSpec;
import dev.squeeze.engine.store.JobStatus;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The "Find best plan" form and its job, without a JavaFX toolkit, on the built-in sample (a classifier). */
class FindPlanViewModelTest {
    /** Records what the dialog asks of the workbench; answers with job 7 and the runs given. */
    static class FakeJobs implements SearchJobs {
        final List<JobSpec> submitted = new ArrayList<>();
        final List<Long> cancelled = new ArrayList<>();
        final List<String> readTags = new ArrayList<>();
        List<FoundRun> runs = List.of();
        String refuse;
        Consumer<JobEvent> listener;

        @Override
        public void submit(JobSpec spec, Consumer<Long> onQueued, Consumer<String> onError) {
            submitted.add(spec);
            if (refuse != null) {
                onError.accept(refuse);
            } else {
                onQueued.accept(7L);
            }
        }

        @Override
        public void cancel(long jobId) {
            cancelled.add(jobId);
        }

        @Override
        public Runnable listen(Consumer<JobEvent> l) {
            listener = l;
            return () -> listener = null;
        }

        @Override
        public void storedRuns(long jobId, String tag, Consumer<List<FoundRun>> onDone, Consumer<String> onError) {
            readTags.add(jobId + ":" + tag);
            onDone.accept(runs);
        }

        void event(JobEvent.Kind kind, JobStatus status, String phase, String detail, JobEvent.PhaseProgress p,
                   String message, Long runId) {
            listener.accept(new JobEvent(7, "search", kind, status, phase, detail, 0, 0, null, message, runId, p));
        }
    }

    private static final Model SAMPLE = SampleModels.fashionMlp().model();

    @Test
    void anInvalidBudgetShowsTheEnginesMessageAndQueuesNothing() {
        FakeJobs jobs = new FakeJobs();
        FindPlanViewModel vm = new FindPlanViewModel(SAMPLE, jobs);
        vm.budgetBpw().set("four");
        assertFalse(vm.start());
        assertTrue(vm.error().get().startsWith("The budget in bits per weight 'four' is not a number"),
                vm.error().get());

        // Out of range: SearchSpec's own words.
        vm.budgetBpw().set("0");
        assertFalse(vm.start());
        assertTrue(vm.error().get().startsWith("The budget of 0.0 bits per weight is out of range"), vm.error().get());
        assertTrue(vm.error().get().contains("Fix: give a budget above 0 and at most 64 bits per weight"));

        vm.budgetKind().set(FindPlanViewModel.BudgetKind.FRONT);
        vm.front().set("6:2:0.25");
        assertFalse(vm.start());
        assertTrue(vm.error().get().startsWith("The front 6.0:2.0:0.25 is not 0 < FROM ≤ TO ≤ 64 with STEP > 0"),
                vm.error().get());
        vm.front().set("2:6");
        assertFalse(vm.start());
        assertTrue(vm.error().get().startsWith("The front '2:6' is not FROM:TO:STEP"), vm.error().get());
        vm.front().set("2:6:0.001");
        assertFalse(vm.start());
        assertTrue(vm.error().get().contains("has 4001 budgets; at most 1000"), vm.error().get());

        vm.budgetKind().set(FindPlanViewModel.BudgetKind.BYTES);
        vm.budgetBytes().set("lots");
        assertFalse(vm.start());
        assertTrue(vm.error().get().startsWith("The budget 'lots' is not a size in bytes"), vm.error().get());

        vm.budgetKind().set(FindPlanViewModel.BudgetKind.BITS_PER_WEIGHT);
        vm.budgetBpw().set("4");
        vm.timeLimit().set("soon");
        assertFalse(vm.start());
        assertTrue(vm.error().get().startsWith("The time limit 'soon' is not a duration"), vm.error().get());
        vm.timeLimit().set("");
        vm.offspring().set("0");
        assertFalse(vm.start());
        assertTrue(vm.error().get().startsWith("The offspring count 0 is out of range"), vm.error().get());
        vm.offspring().set("8");
        vm.methods().values().forEach(p -> p.set(false));
        assertFalse(vm.start());
        assertTrue(vm.error().get().startsWith("No method family is chosen"), vm.error().get());

        assertTrue(jobs.submitted.isEmpty(), "nothing was queued");
        assertEquals(FindPlanViewModel.State.EDITING, vm.state().get());
    }

    @Test
    void aValidFormQueuesExactlyTheSearchItDescribes() {
        FakeJobs jobs = new FakeJobs();
        FindPlanViewModel vm = new FindPlanViewModel(SAMPLE, jobs);
        vm.budgetBpw().set(" 3.5 ");
        vm.methods().get("rtn").set(true);
        vm.methods().get("magnitude").set(true);
        vm.methods().get("lowrank").set(false);
        vm.generations().set("5");
        vm.offspring().set("8");
        vm.timeLimit().set("1m30s");
        vm.seed().set("7");
        vm.baselines().set(false);
        vm.tag().set("mixed 3.5");
        vm.label().set("find 3.5");
        assertTrue(vm.start());
        assertNull(vm.error().get());
        SearchSpec search = new SearchSpec(List.of("rtn", "magnitude"), 3.5, null, null, null, null, 5, 8, 90, 7,
                false);
        assertEquals(List.of(JobSpec.search("builtin:fashion-mlp", search, "find 3.5", List.of("mixed 3.5"))),
                jobs.submitted);
        assertEquals(FindPlanViewModel.State.QUEUED, vm.state().get());
        assertEquals(7L, vm.jobId());
        assertFalse(vm.start(), "one search at a time");
        assertEquals(1, jobs.submitted.size());
    }

    @Test
    void aFrontWithDefaultsGetsALabelAndTagFromItsBudgets() {
        FakeJobs jobs = new FakeJobs();
        FindPlanViewModel vm = new FindPlanViewModel(SAMPLE, jobs);
        vm.budgetKind().set(FindPlanViewModel.BudgetKind.FRONT);
        vm.front().set("2:6:0.5");
        assertTrue(vm.start());
        JobSpec spec = jobs.submitted.getFirst();
        // The sample is a classifier: of the default families only the data-free ones.
        SearchSpec search = new SearchSpec(List.of("rtn", "lowrank"), null, null, 2.0, 6.0, 0.5, 20, 16, 600, 0, true);
        assertEquals(JobSpec.search("builtin:fashion-mlp", search, "search front 2:6:0.5",
                List.of("search front 2:6:0.5 seed 0")), spec);
    }

    @Test
    void methodsThatNeedCalibrationAreNotOfferedForAClassifier() {
        FindPlanViewModel vm = new FindPlanViewModel(SAMPLE, new FakeJobs());
        for (String family : List.of("gptq", "spqr", "sparsegpt")) {
            assertNotNull(vm.unavailableReason(family), family);
            assertTrue(vm.unavailableReason(family).contains("needs calibration data"), vm.unavailableReason(family));
            assertFalse(vm.methods().get(family).get(), family);
        }
        for (String family : List.of("rtn", "magnitude", "lowrank")) {
            assertNull(vm.unavailableReason(family), family);
        }
        // Even ticked behind the dialog's back, a family the model cannot take is not searched.
        vm.methods().get("gptq").set(true);
        assertEquals(List.of("rtn", "lowrank"), vm.chosenMethods());
    }

    @Test
    void followsTheJobAndOpensWhatItFound() {
        FakeJobs jobs = new FakeJobs();
        FindPlanViewModel vm = new FindPlanViewModel(SAMPLE, jobs);
        List<String> opened = new ArrayList<>();
        List<String> fronts = new ArrayList<>();
        vm.setOnOpenPlan(opened::add);
        vm.setOnShowFront(fronts::add);
        vm.budgetKind().set(FindPlanViewModel.BudgetKind.FRONT);
        vm.tag().set("f1");
        assertTrue(vm.start());
        assertFalse(vm.canOpen().get());

        // Another job's events are not ours.
        jobs.listener.accept(new JobEvent(8, "other", JobEvent.Kind.PHASE, JobStatus.RUNNING, "evaluation", "", 0, 0,
                null, null, null));
        assertEquals("queued", vm.phase().get());

        jobs.event(JobEvent.Kind.STARTED, JobStatus.RUNNING, null, null, null, null, null);
        assertEquals(FindPlanViewModel.State.RUNNING, vm.state().get());
        jobs.event(JobEvent.Kind.PHASE, JobStatus.RUNNING, "search", "budget 3 of 17; best KL 0.0123", null, null,
                null);
        assertEquals("search", vm.phase().get());
        assertEquals("budget 3 of 17; best KL 0.0123", vm.detail().get());
        assertEquals(-1, vm.progress().get());
        jobs.event(JobEvent.Kind.PROGRESS, JobStatus.RUNNING, "search", null,
                new JobEvent.PhaseProgress(3, 20, "generations"), null, null);
        assertEquals("budget 3 of 17; best KL 0.0123 · generation 3 of 20", vm.detail().get());
        assertEquals(0.15, vm.progress().get(), 1e-12);
        assertTrue(vm.canStop().get());

        String plan2 = "{\"defaults\":{\"bits\":2,\"groupSize\":32,\"method\":\"rtn\",\"symmetric\":false},\"schema\":1}";
        String plan4 = "{\"defaults\":{\"bits\":4,\"groupSize\":32,\"method\":\"rtn\",\"symmetric\":false},\"schema\":1}";
        jobs.runs = List.of(new SearchJobs.FoundRun(11, "search 2 bpw", 2.0, "top-1 70.1 %", plan2, "search ≤ 2.0"),
                new SearchJobs.FoundRun(12, "uniform RTN 4-bit g32", 4.0, "top-1 80.0 %", plan4,
                        "search front 2:6:0.25; seed 0; uniform baseline RTN 4-bit g32 from the same level database"),
                new SearchJobs.FoundRun(13, "search 4 bpw", 4.0, "top-1 80.5 %", plan4, "search ≤ 4.0"));
        jobs.event(JobEvent.Kind.ENDED, JobStatus.DONE, null, null, null, null, 13L);
        assertEquals(FindPlanViewModel.State.DONE, vm.state().get());
        assertEquals(List.of("7:f1"), jobs.readTags);
        assertEquals(3, vm.found().size());
        assertEquals(13, vm.selected().get().runId(), "the run the job ended with is selected");
        assertEquals("Done; 2 plans found and 1 uniform baselines stored under the tag 'f1'", vm.outcome().get());
        assertTrue(vm.canOpen().get());
        assertTrue(vm.canShowFront().get());
        assertFalse(vm.canStop().get());
        assertTrue(vm.canStart().get(), "another search can start");

        vm.selected().set(vm.found().getFirst());
        vm.openInEditor();
        assertEquals(List.of(plan2), opened);
        vm.showFront();
        assertEquals(List.of("f1"), fronts);
    }

    @Test
    void stopKeepsTheBestPlanFoundSoFar() {
        FakeJobs jobs = new FakeJobs();
        FindPlanViewModel vm = new FindPlanViewModel(SAMPLE, jobs);
        vm.tag().set("t");
        assertTrue(vm.start());
        jobs.event(JobEvent.Kind.PHASE, JobStatus.RUNNING, "search", "", null, null, null);
        vm.stop();
        assertEquals(List.of(7L), jobs.cancelled);
        assertEquals(FindPlanViewModel.State.STOPPING, vm.state().get());
        assertFalse(vm.canStop().get());
        String plan = "{\"defaults\":{\"bits\":4,\"groupSize\":0,\"method\":\"rtn\",\"symmetric\":false},\"schema\":1}";
        jobs.runs = List.of(new SearchJobs.FoundRun(21, "search ≤ 4.125 bpw", 4.1, "top-1 80.0 %", plan, "search"));
        jobs.event(JobEvent.Kind.ENDED, JobStatus.DONE, null, null, null, null, 21L);
        assertEquals(FindPlanViewModel.State.STOPPED, vm.state().get());
        assertEquals("Stopped; 1 plan found stored under the tag 't'", vm.outcome().get());
        assertFalse(vm.canShowFront().get(), "one budget is no front");
        List<String> opened = new ArrayList<>();
        vm.setOnOpenPlan(opened::add);
        vm.openInEditor();
        assertEquals(List.of(plan), opened);
    }

    @Test
    void aFailedOrRefusedSearchSaysWhy() {
        FakeJobs jobs = new FakeJobs();
        FindPlanViewModel vm = new FindPlanViewModel(SAMPLE, jobs);
        assertTrue(vm.start());
        jobs.event(JobEvent.Kind.ENDED, JobStatus.FAILED, null, null, null,
                "The level database could not be built\n  Fix: free disk space", null);
        assertEquals(FindPlanViewModel.State.FAILED, vm.state().get());
        assertEquals("The search failed: The level database could not be built", vm.outcome().get());
        assertTrue(vm.error().get().contains("Fix: free disk space"));
        assertTrue(jobs.readTags.isEmpty());

        jobs.refuse = "Jobs are not available: no database";
        assertTrue(vm.start());
        assertEquals(FindPlanViewModel.State.FAILED, vm.state().get());
        assertEquals("Jobs are not available: no database", vm.error().get());
    }

    @Test
    void eventsBeforeTheJobIdIsKnownAreNotLost() {
        FakeJobs jobs = new FakeJobs() {
            @Override
            public void submit(JobSpec spec, Consumer<Long> onQueued, Consumer<String> onError) {
                submitted.add(spec);
                // The worker starts and reports before the engine's answer reaches the dialog.
                event(JobEvent.Kind.STARTED, JobStatus.RUNNING, null, null, null, null, null);
                event(JobEvent.Kind.PHASE, JobStatus.RUNNING, "levels", "35 layers", null, null, null);
                onQueued.accept(7L);
            }
        };
        FindPlanViewModel vm = new FindPlanViewModel(SAMPLE, jobs);
        assertTrue(vm.start());
        assertEquals(FindPlanViewModel.State.RUNNING, vm.state().get());
        assertEquals("levels", vm.phase().get());
        assertEquals("35 layers", vm.detail().get());
    }

    @Test
    void parsesSizesAndDurationsAsPeopleWriteThem() {
        assertEquals(1_572_864, FindPlanViewModel.bytes("1.5 MiB"));
        assertEquals(614_400, FindPlanViewModel.bytes("600 KiB"));
        assertEquals(1_500_000, FindPlanViewModel.bytes("1,500,000"));
        assertEquals(2_000_000, FindPlanViewModel.bytes("2 MB"));
        assertEquals(5_400, FindPlanViewModel.seconds("1h30m"));
        assertEquals(90, FindPlanViewModel.seconds("90s"));
        assertEquals(600, FindPlanViewModel.seconds("10m"));
        assertEquals(45, FindPlanViewModel.seconds("45"));
        assertEquals(0, FindPlanViewModel.seconds(""));
    }
}
