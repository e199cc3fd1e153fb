package dev.squeeze.app.export;

import dev.squeeze.app.pareto.ParetoView;
import dev.squeeze.app.pareto.ParetoViewModel;
import dev.squeeze.app.runs.RunDetailView;
import dev.squeeze.app.workbench.EngineExecutor;
import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.engine.export.Exports;
import dev.squeeze.engine.export.sqz.Sqz;
import dev.squeeze.engine.samples.SampleModels;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunSummary;
import javafx.application.Platform;
import javafx.scene.Scene;
import javafx.scene.control.Button;
import javafx.scene.control.ChoiceBox;
import javafx.scene.control.TextArea;
import javafx.scene.control.TextField;
import javafx.stage.Stage;
import javafx.stage.Window;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testfx.api.FxToolkit;
import org.testfx.util.WaitForAsyncUtils;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Export… in a run's detail, headless (Monocle): the dialog opens, writes the sample's run as a bundle, says so. */
class ExportDialogTest {
    @TempDir
    Path dir;

    private ResultsStore store;
    private EngineExecutor executor;
    private ParetoView view;
    private long runId;

    @BeforeEach
    void open() throws Exception {
        store = ResultsStore.inMemory();
        var sample = SampleModels.fashionMlp();
        SampleModels.ensureDefaultRuns(sample, store);
        runId = store.runs(sample.model().contentHash()).stream().filter(r -> r.label().contains("4-bit"))
                .map(RunSummary::id).findFirst().orElseThrow();
        executor = new EngineExecutor("export-dialog-test");
        ParetoViewModel vm = new ParetoViewModel(executor, () -> store);
        FxToolkit.registerPrimaryStage();
        FxToolkit.setupStage(stage -> {
            view = new ParetoView(vm);
            stage.setScene(new Scene(view.root(), 1024, 700));
            stage.show();
        });
        Platform.runLater(() -> vm.showModel(sample.model().contentHash(), sample.model().name(), MetricKind.TOP1));
    }

    @AfterEach
    void close() throws Exception {
        FxToolkit.cleanupStages();
        Platform.runLater(() -> Window.getWindows().stream().filter(w -> w instanceof Stage).map(w -> (Stage) w)
                .filter(s -> s.getTitle() != null && s.getTitle().startsWith("Export")).toList().forEach(Stage::close));
        executor.shutdown(() -> store.close());
    }

    @Test
    void exportFromARunsDetailWritesTheBundle() throws Exception {
        RunDetailView detail = WaitForAsyncUtils.asyncFx(() -> view.openDetail(runId)).get(10, TimeUnit.SECONDS);
        Button export = (Button) detail.root().lookup("#export-run");
        assertNotNull(export, "Export… in the run's detail");
        WaitForAsyncUtils.waitFor(30, TimeUnit.SECONDS, () -> !export.isDisabled());
        WaitForAsyncUtils.asyncFx(export::fire).get(10, TimeUnit.SECONDS);
        Stage dialog = WaitForAsyncUtils.asyncFx(() -> Window.getWindows().stream()
                .filter(w -> w instanceof Stage && w.isShowing() && w.getScene().getRoot().lookup("#export-dialog") != null)
                .map(w -> (Stage) w).findFirst().orElse(null)).get(10, TimeUnit.SECONDS);
        assertNotNull(dialog, "the Export dialog is open");
        var root = dialog.getScene().getRoot();
        @SuppressWarnings("unchecked")
        ChoiceBox<Exports.Format> format = (ChoiceBox<Exports.Format>) root.lookup("#export-format");
        WaitForAsyncUtils.waitFor(30, TimeUnit.SECONDS, () -> format.getItems().contains(Exports.Format.SQZ));
        Path out = dir.resolve("run.sqz");
        WaitForAsyncUtils.asyncFx(() -> {
            format.setValue(Exports.Format.SQZ);
            ((TextField) root.lookup("#export-target")).setText(out.toString());
            ((Button) root.lookup("#export-start")).fire();
        }).get(10, TimeUnit.SECONDS);
        TextArea result = (TextArea) root.lookup("#export-result");
        WaitForAsyncUtils.waitFor(60, TimeUnit.SECONDS, () -> result.getText().startsWith("Wrote"));
        assertTrue(Files.size(out) > 0);
        assertEquals(java.util.Optional.of(runId), Sqz.read(out).runId());
    }
}
