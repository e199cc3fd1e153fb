package dev.squeeze.app;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.LayerInfo;
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
        FxToolkit.registerPrimaryStage();
        app = (SqueezeApp) FxToolkit.setupApplication(() -> new SqueezeApp(store));
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
                && app.viewModel().runs().runs().size() >= 3);

        TableView<LayerInfo> layers = robot.lookup("#layer-table").queryTableView();
        assertEquals(List.of("fc1", "fc2", "fc3"), layers.getItems().stream().map(LayerInfo::name).toList());
        assertEquals(784 * 256 + 256, layers.getItems().getFirst().parameters());

        XYSeriesCollection chart = app.view().runsView().dataset();
        int points = 0;
        for (int s = 0; s < chart.getSeriesCount(); s++) {
            points += chart.getItemCount(s);
        }
        assertEquals(3, points, "dense, RTN 8-bit and RTN 4-bit on the chart");
        assertEquals(List.of("dense", "RTN"), chart.getSeries().stream().map(s -> ((org.jfree.data.xy.XYSeries) s).getKey()).toList());
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
    }

    @Test
    void aDatabaseThatCannotBeOpenedIsReportedAndTheModelStillShows() throws Exception {
        start(() -> {
            throw new SqueezeException("The results database /x/results.mv.db is damaged", "move it aside");
        });
        WaitForAsyncUtils.waitFor(60, TimeUnit.SECONDS, () -> !app.viewModel().busy().get()
                && app.viewModel().model().layers().size() == 3);
        WaitForAsyncUtils.waitForFxEvents();
        NotificationPane pane = robot.lookup("#notifications").queryAs(NotificationPane.class);
        WaitForAsyncUtils.waitFor(10, TimeUnit.SECONDS, pane::isShowing);
        assertTrue(pane.getText().contains("/x/results.mv.db") && pane.getText().contains("Fix: move it aside"),
                pane.getText());
        assertEquals(0, app.viewModel().runs().runs().size());
    }
}
