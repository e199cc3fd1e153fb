package dev.squeeze.app;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.app.plan.PlanRow;
import dev.squeeze.engine.store.ResultsStore;
import javafx.scene.control.Label;
import javafx.scene.control.TableView;
import org.controlsfx.control.NotificationPane;
import org.jfree.data.xy.XYSeriesCollection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxRobot;
import org.testfx.api.FxToolkit;
import org.testfx.util.WaitForAsyncUtils;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Starts the real workbench headless (Monocle) on the built-in sample model and checks what it shows. */
class WorkbenchSmokeTest {
    private SqueezeApp app;
    private final FxRobot robot = new FxRobot();

    private SqueezeApp start(Supplier<ResultsStore> store) throws Exception {
        return start(store, true);
    }

    private SqueezeApp start(Supplier<ResultsStore> store, boolean measureBaselines) throws Exception {
        FxToolkit.registerPrimaryStage();
        app = (SqueezeApp) FxToolkit.setupApplication(() -> new SqueezeApp(store, measureBaselines));
        return app;
    }

    @AfterEach
    void stop() throws Exception {
        if (app != null) {
            FxToolkit.cleanupApplication(app);
        }
    }

    @Test
    void showsTheSampleModelsLayersAndItsStoredRunsOnTheChart() throws Exception {
        start(ResultsStore::inMemory);
        WaitForAsyncUtils.waitFor(120, TimeUnit.SECONDS, () -> !app.viewModel().busy().get()
                && app.viewModel().pareto().rows().size() >= 3);

        TableView<PlanRow> layers = robot.lookup("#plan-table").queryTableView();
        assertEquals(List.of("fc1", "fc2", "fc3"), layers.getItems().stream().map(PlanRow::name).toList());
        assertEquals(784 * 256 + 256, layers.getItems().getFirst().layer().parameters());

        XYSeriesCollection chart = app.view().paretoView().dataset();
        int points = 0;
        for (int s = 0; s < chart.getSeriesCount(); s++) {
            points += chart.getItemCount(s);
        }
        assertEquals(3, points, "dense, RTN 8-bit and RTN 4-bit on the chart");
        assertEquals(List.of("dense", "rtn"), chart.getSeries().stream().map(s -> ((org.jfree.data.xy.XYSeries) s).getKey()).toList());
        // Every plotted accuracy is a percentage the model actually reached on its evaluation subset.
        for (int s = 0; s < chart.getSeriesCount(); s++) {
            for (int i = 0; i < chart.getItemCount(s); i++) {
                double acc = chart.getYValue(s, i);
                assertTrue(acc > 70 && acc <= 100, "accuracy " + acc);
            }
        }
        TableView<?> runs = robot.lookup("#runs-table").queryTableView();
        assertEquals(3, runs.getItems().size());
        Label status = robot.lookup("#status").queryAs(Label.class);
        assertTrue(status.getText().startsWith("fashion-mlp: 3 layers, 3 stored runs"), status.getText());

        // The sample is a classifier, run data-free: of the four presets only the RTN recipe is valid for it, and
        // the editor and the jobs' Queue menu offer that one alone.
        WaitForAsyncUtils.waitFor(20, TimeUnit.SECONDS, () -> app.viewModel().plan().presets().size() == 1);
        assertEquals("mostly-4bit-first-last-8bit", app.viewModel().plan().presets().getFirst().preset().name());
        javafx.scene.control.MenuButton queue = robot.lookup("#queue-job").queryAs(javafx.scene.control.MenuButton.class);
        assertEquals(List.of("queue-preset-mostly-4bit-first-last-8bit", "queue-preset-separator", "queue-plan-file"),
                queue.getItems().stream().map(javafx.scene.control.MenuItem::getId).toList());
    }

    @Test
    void aDatabaseThatCannotBeOpenedIsReportedAndTheModelStillShows() throws Exception {
        start(() -> {
            throw new SqueezeException("The results database /x/results.mv.db is damaged", "move it aside");
        });
        WaitForAsyncUtils.waitFor(60, TimeUnit.SECONDS, () -> !app.viewModel().busy().get()
                && app.viewModel().plan().rows().size() == 3);
        WaitForAsyncUtils.waitForFxEvents();
        NotificationPane pane = robot.lookup("#notifications").queryAs(NotificationPane.class);
        WaitForAsyncUtils.waitFor(10, TimeUnit.SECONDS, pane::isShowing);
        assertTrue(pane.getText().contains("/x/results.mv.db") && pane.getText().contains("Fix: move it aside"),
                pane.getText());
        assertEquals(0, app.viewModel().pareto().rows().size());
    }

    /** Opening a llama2.c checkpoint shows its transformer layers with their roles (baseline not measured here). */
    @Test
    void opensAStoriesCheckpointAndListsItsTransformerLayers() throws Exception {
        java.nio.file.Path root = java.nio.file.Path.of(System.getProperty("squeeze.root")).toAbsolutePath().normalize();
        java.nio.file.Path bin = root.resolveSibling("shared").resolve("models/stories260K/stories260K.bin");
        if (!java.nio.file.Files.exists(bin)) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new AssertionError("missing " + bin + " under CI");
            }
            org.junit.jupiter.api.Assumptions.abort("shared data missing: " + bin);
        }
        start(ResultsStore::inMemory, false);
        WaitForAsyncUtils.waitFor(120, TimeUnit.SECONDS, () -> !app.viewModel().busy().get()
                && app.viewModel().pareto().rows().size() >= 3);
        javafx.application.Platform.runLater(() -> app.viewModel().openFile(bin));
        WaitForAsyncUtils.waitFor(60, TimeUnit.SECONDS, () -> !app.viewModel().busy().get()
                && app.viewModel().model().title().get().equals("stories260K"));
        WaitForAsyncUtils.waitForFxEvents();
        TableView<PlanRow> layers = robot.lookup("#plan-table").queryTableView();
        // Embedding + 5 blocks × (q, k, v, o, gate, up, down); the classifier is shared with the embedding.
        assertEquals(1 + 5 * 7, layers.getItems().size());
        assertEquals("EMBEDDING", layers.getItems().getFirst().layer().role().name());
        assertEquals("ATTN_Q", layers.getItems().get(1).layer().role().name());
        assertEquals(List.of(172L, 64L), java.util.Arrays.stream(layers.getItems().get(5).layer().shape()).boxed().toList());
        assertTrue(app.viewModel().model().summary().get().contains("260,032 parameters"),
                app.viewModel().model().summary().get());
        assertTrue(app.viewModel().model().summary().get().contains("baseline not measured yet"),
                app.viewModel().model().summary().get());
    }

    /** Opening mnist-7 shows its graph's layers and measures its baseline on the MNIST test set from shared/. */
    @Test
    void opensAnOnnxModelAndMeasuresItsBaseline() throws Exception {
        java.nio.file.Path root = java.nio.file.Path.of(System.getProperty("squeeze.root")).toAbsolutePath().normalize();
        java.nio.file.Path onnx = root.resolveSibling("shared").resolve("models/mnist-7/mnist-7.onnx");
        if (!java.nio.file.Files.exists(onnx)) {
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new AssertionError("missing " + onnx + " under CI");
            }
            org.junit.jupiter.api.Assumptions.abort("shared data missing: " + onnx);
        }
        start(ResultsStore::inMemory);
        WaitForAsyncUtils.waitFor(120, TimeUnit.SECONDS, () -> !app.viewModel().busy().get()
                && app.viewModel().pareto().rows().size() >= 3);
        javafx.application.Platform.runLater(() -> app.viewModel().openFile(onnx));
        WaitForAsyncUtils.waitFor(120, TimeUnit.SECONDS, () -> !app.viewModel().busy().get()
                && app.viewModel().model().title().get().equals("mnist-7")
                && app.viewModel().pareto().rows().size() == 1);
        WaitForAsyncUtils.waitForFxEvents();
        TableView<PlanRow> layers = robot.lookup("#plan-table").queryTableView();
        assertEquals(List.of("conv", "conv", "linear"),
                layers.getItems().stream().map(l -> l.layer().role().name().toLowerCase(java.util.Locale.ROOT)).toList());
        XYSeriesCollection chart = app.view().paretoView().dataset();
        assertEquals(1, chart.getSeriesCount());
        // shared/README.md: mnist-7 reaches 98.91% top-1 on the 10,000 MNIST test images.
        assertEquals(98.91, chart.getYValue(0, 0), 1e-9);
        assertTrue(app.viewModel().model().summary().get().contains("baseline 98.91% top-1"),
                app.viewModel().model().summary().get());
    }
}
