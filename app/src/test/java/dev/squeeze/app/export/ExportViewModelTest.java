package dev.squeeze.app.export;

import dev.squeeze.app.workbench.InlineExecutor;
import dev.squeeze.engine.export.Exports;
import dev.squeeze.engine.samples.SampleModels;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunSummary;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Export dialog's logic, without a toolkit: the sample's stored RTN 4-bit run written to a file. */
class ExportViewModelTest {
    @TempDir
    Path dir;

    private static long rtn4(ResultsStore store) {
        var sample = SampleModels.fashionMlp();
        SampleModels.ensureDefaultRuns(sample, store);
        return store.runs(sample.model().contentHash()).stream().filter(r -> r.label().contains("4-bit"))
                .map(RunSummary::id).findFirst().orElseThrow();
    }

    @Test
    void offersTheFormatsOfAClassifierAndWritesTheRun() throws Exception {
        try (ResultsStore store = ResultsStore.inMemory()) {
            long id = rtn4(store);
            List<String> announced = new ArrayList<>();
            ExportViewModel vm = new ExportViewModel(new InlineExecutor(), new InlineExecutor(), () -> store,
                    announced::add);
            vm.load(id);
            assertNull(vm.error().get());
            assertTrue(vm.loaded().get());
            assertTrue(vm.formats().contains(Exports.Format.ONNX), vm.formats().toString());
            assertFalse(vm.formats().contains(Exports.Format.GGUF), "a classifier has no GGUF");
            assertTrue(vm.llamaQuantize().get().contains("only for Llama"), vm.llamaQuantize().get());

            vm.format().set(Exports.Format.ONNX);
            assertTrue(vm.target().get().endsWith("-run" + id + "-onnx.onnx"), vm.target().get());
            Path out = dir.resolve("sample.onnx");
            vm.target().set(out.toString());
            vm.export();
            assertNull(vm.error().get(), vm.error().get());
            assertFalse(vm.running().get());
            assertTrue(Files.size(out) > 0);
            assertTrue(vm.result().get().startsWith("Wrote " + out), vm.result().get());
            assertTrue(vm.result().get().contains("3 of 3 tensors give back the run's weights exactly"),
                    vm.result().get());
            assertEquals(1, announced.size());
            assertTrue(announced.getFirst().startsWith("Exported run " + id + " to " + out), announced.getFirst());
        }
    }

    @Test
    void aCancelledExportWritesNothingAndSaysSo() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            long id = rtn4(store);
            List<String> announced = new ArrayList<>();
            // The cancel arrives while the run is being recomputed: at its first phase.
            ExportViewModel[] holder = new ExportViewModel[1];
            InlineExecutor inline = new InlineExecutor();
            dev.squeeze.app.workbench.TaskExecutor reads = new dev.squeeze.app.workbench.TaskExecutor() {
                @Override
                public <T> void submit(java.util.function.Supplier<T> work, java.util.function.Consumer<T> onDone,
                                       java.util.function.Consumer<String> onError) {
                    inline.submit(work, onDone, onError);
                }

                @Override
                public void execute(Runnable work) {
                    work.run();
                }

                @Override
                public void publish(Runnable update) {
                    update.run();
                    holder[0].cancel();
                }
            };
            ExportViewModel vm = new ExportViewModel(reads, new InlineExecutor(), () -> store, announced::add);
            holder[0] = vm;
            vm.load(id);
            vm.format().set(Exports.Format.ONNX);
            Path out = dir.resolve("cancelled.onnx");
            vm.target().set(out.toString());
            vm.export();
            assertNotNull(vm.error().get());
            assertTrue(vm.error().get().contains("cancelled"), vm.error().get());
            assertFalse(Files.exists(out));
            assertTrue(announced.getFirst().startsWith("Export of run " + id + " failed"), announced.toString());
        }
    }

    @Test
    void withoutADatabaseTheDialogSaysWhatToDo() {
        ExportViewModel vm = new ExportViewModel(new InlineExecutor(), new InlineExecutor(), () -> null, s -> { });
        vm.load(1);
        assertTrue(vm.error().get().contains("no results database"), vm.error().get());
        assertFalse(vm.loaded().get());
    }
}
