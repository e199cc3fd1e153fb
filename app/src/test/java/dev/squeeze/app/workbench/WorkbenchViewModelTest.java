package dev.squeeze.app.workbench;

import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.store.ResultsStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The workbench's commands over an inline executor: no JavaFX toolkit. */
class WorkbenchViewModelTest {
    @TempDir
    Path dir;
    private WorkbenchViewModel vm;

    @AfterEach
    void close() {
        if (vm != null) {
            vm.close();
        }
    }

    private WorkbenchViewModel open(Path first) {
        vm = new WorkbenchViewModel(new InlineExecutor(), () -> ResultsStore.openFile(first), ResultsStore::openFile,
                false, JobEngine.Options.defaults().withWorkers(1));
        return vm;
    }

    @Test
    void switchingToANewDatabaseShowsItsRunsAndNewJobs() {
        open(dir.resolve("first"));
        vm.openSample();
        assertEquals(3, vm.pareto().rows().size(), "the sample's default runs in the first database");
        var jobsBefore = vm.jobs();
        List<String> switched = new ArrayList<>();

        vm.switchDatabase(dir.resolve("second"), () -> switched.add("ok"));

        assertEquals(List.of("ok"), switched);
        assertTrue(Files.exists(dir.resolve("second.mv.db")), "a new database file is created");
        assertEquals(dir.resolve("second"), vm.switchedDatabase().get());
        assertNotSame(jobsBefore, vm.jobs(), "jobs now run over the new database");
        assertEquals(0, vm.pareto().rows().size(), "the new database holds no runs of the sample yet");
        assertEquals(1, vm.workers().get());
        assertNull(vm.notifications().current().get(), "no error");
        assertFalse(vm.busy().get());
    }

    @Test
    void aDatabaseThatCannotBeOpenedIsReportedAndTheCurrentOneStays() throws IOException {
        open(dir.resolve("first"));
        vm.openSample();
        var jobsBefore = vm.jobs();
        Path notAFolder = Files.writeString(dir.resolve("plain-file"), "x");
        List<String> failures = new ArrayList<>();

        vm.switchDatabase(notAFolder.resolve("results"), () -> failures.add("switched?!"), failures::add);

        assertEquals(1, failures.size(), failures.toString());
        assertTrue(failures.getFirst().startsWith("Cannot use " + notAFolder.resolve("results")), failures.getFirst());
        Notification shown = vm.notifications().current().get();
        assertTrue(shown.message().contains("the current one stays in use"), shown.message());
        assertFalse(shown.message().contains("Exception"), shown.message());
        assertSame(jobsBefore, vm.jobs());
        assertNull(vm.switchedDatabase().get());
        // The first database is still open and in use.
        vm.reloadRuns(null);
        assertEquals(3, vm.pareto().rows().size());
    }

    @Test
    void aFirstDatabaseThatCannotBeOpenedIsReportedOnceAndTheModelStillOpens() {
        vm = new WorkbenchViewModel(new InlineExecutor(), () -> {
            throw new dev.squeeze.engine.SqueezeException("The results database /x/results.mv.db is damaged",
                    "move it aside");
        }, ResultsStore::openFile, false, JobEngine.Options.defaults());
        vm.openSample();
        vm.reloadRuns(null);
        assertEquals(3, vm.plan().rows().size());
        assertEquals(1, vm.notifications().all().size(), "reported once, not on every store access");
        assertEquals("The results database /x/results.mv.db is damaged  Fix: move it aside",
                vm.notifications().current().get().message());
        assertEquals("(The workbench continues without stored runs.)", vm.notifications().current().get().details());
    }

    @Test
    void eachOpenedModelFileIsAnnounced() {
        open(dir.resolve("first"));
        Path onnx = Path.of(System.getProperty("squeeze.root")).toAbsolutePath().normalize()
                .resolveSibling("shared").resolve("models/mnist-7/mnist-7.onnx");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(onnx) || "true".equalsIgnoreCase(System.getenv("CI")),
                "shared data missing: " + onnx);
        List<Path> opened = new ArrayList<>();
        vm.setOnFileOpened(opened::add);
        vm.openFile(dir.resolve("no-such-model.onnx"));
        assertTrue(opened.isEmpty(), "a file that failed to open is not a recent model");
        assertTrue(vm.notifications().current().get().message().contains("no-such-model.onnx"),
                vm.notifications().current().get().message());
        vm.openFile(onnx);
        assertEquals(List.of(onnx), opened);
        assertEquals("mnist-7", vm.currentModel().get().name());
    }
}
