package dev.squeeze.app;

import dev.squeeze.app.jobs.JobItem;
import dev.squeeze.app.pareto.ParetoView;
import dev.squeeze.app.pareto.ParetoViewModel;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.Pareto;
import dev.squeeze.engine.store.ResultsStore;
import javafx.geometry.Point2D;
import javafx.scene.Node;
import javafx.scene.control.ComboBox;
import javafx.scene.control.Label;
import javafx.scene.control.TableView;
import org.jfree.chart.entity.ChartEntity;
import org.jfree.chart.entity.XYItemEntity;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testfx.api.FxRobot;
import org.testfx.api.FxToolkit;
import org.testfx.util.WaitForAsyncUtils;
import org.w3c.dom.Document;

import javax.xml.parsers.DocumentBuilderFactory;
import java.awt.geom.Rectangle2D;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The workbench end to end, as a user drives it, headless: open the sample; select every layer by regex and set
 * RTN 4-bit in the bulk bar; the size summary changes; launch; the job shows progress and ends; its run is on the
 * chart and on the frontier; clicking its point opens its detail; two runs are compared; the chart exports as SVG
 * that parses.
 */
class WorkbenchFlowTest {
    private SqueezeApp app;
    private final FxRobot robot = new FxRobot();

    @TempDir
    Path dir;

    @AfterEach
    void stop() throws Exception {
        if (app != null) {
            FxToolkit.cleanupApplication(app);
        }
    }

    @Test
    void editLaunchSeeOnTheFrontierOpenCompareExport() throws Exception {
        FxToolkit.registerPrimaryStage();
        JobEngine.Options jobs = new JobEngine.Options(1, "256m", List.of(), Duration.ofSeconds(10));
        AtomicReference<ResultsStore> opened = new AtomicReference<>();
        app = (SqueezeApp) FxToolkit.setupApplication(() -> new SqueezeApp(() -> {
            opened.set(ResultsStore.inMemory());
            return opened.get();
        }, false, jobs));
        waitFor(120, () -> !app.viewModel().busy().get() && app.viewModel().pareto().rows().size() == 3);
        fx(() -> app.view().root().getScene().getWindow().setWidth(1280));

        // Bulk edit: select every layer by regex, choose RTN, set 4 bits.
        Label summary = robot.lookup("#plan-summary").queryAs(Label.class);
        String before = summary.getText();
        assertTrue(before.startsWith("nothing compressed"), before);
        robot.clickOn("#plan-regex").write("fc.*");
        robot.clickOn("#plan-select-regex");
        TableView<?> layers = robot.lookup("#plan-table").queryTableView();
        assertEquals(3, layers.getSelectionModel().getSelectedItems().size(), "fc1, fc2, fc3 selected");
        @SuppressWarnings("unchecked")
        ComboBox<String> method = robot.lookup("#plan-bulk-method").queryAs(ComboBox.class);
        fx(() -> method.getSelectionModel().select("rtn"));
        @SuppressWarnings("unchecked")
        ComboBox<String> field = robot.lookup("#plan-bulk-field").queryAs(ComboBox.class);
        fx(() -> field.getSelectionModel().select("bits"));
        robot.clickOn("#plan-bulk-value").write("4");
        robot.clickOn("#plan-bulk-set");
        // One group per row, as the sample's stored RTN 4-bit run (the editor's RTN starts at groups of 128).
        fx(() -> field.getSelectionModel().select("groupSize"));
        robot.doubleClickOn("#plan-bulk-value").write("row");
        robot.clickOn("#plan-bulk-set");
        waitFor(20, () -> summary.getText().startsWith("4."));
        assertNotEquals(before, summary.getText());
        assertTrue(app.viewModel().plan().launchable().get(), app.viewModel().plan().problemsText().get());

        // Launch under a label of our own; the job runs with progress and ends DONE.
        robot.clickOn("#plan-label").write("flow 4-bit");
        robot.clickOn("#plan-launch");
        waitFor(60, () -> job("flow 4-bit").isPresent());
        JobItem item = job("flow 4-bit").orElseThrow();
        waitFor(180, () -> item.status().get() == JobStatus.DONE);
        assertEquals(1.0, item.progress().get());
        assertEquals("3/3", item.layers().get());

        // Its run is in the table and on the chart, and on the frontier the store computes.
        waitFor(60, () -> app.viewModel().pareto().rows().stream().anyMatch(r -> r.label().equals("flow 4-bit")));
        ParetoViewModel.RunRow run = app.viewModel().pareto().rows().stream()
                .filter(r -> r.label().equals("flow 4-bit")).findFirst().orElseThrow();
        assertTrue(run.onChart(), "plotted");
        String hash = app.viewModel().currentModel().get().contentHash();
        Pareto.Result frontier = Pareto.query(opened.get(), new Pareto.Query(hash, Pareto.XAxis.SIZE_BYTES, "top1",
                null, null));
        boolean onStoreFrontier = frontier.frontier().stream().anyMatch(p -> p.runId() == run.id());
        assertEquals(onStoreFrontier, run.onFrontier(), "the chart's frontier is the store's");
        // RTN is deterministic: the same settings as the stored per-row 4-bit run give the same size and accuracy,
        // and an exact tie keeps both on the frontier.
        assertTrue(run.onFrontier(), "per-row asymmetric RTN 4-bit ties the stored one: " + frontier.frontier());

        // Clicking its point selects its row and opens its detail in the right-hand tabs.
        ParetoView pareto = app.view().paretoView();
        waitFor(20, () -> screenPointOf(pareto, run.id()).isPresent());
        robot.clickOn(screenPointOf(pareto, run.id()).orElseThrow());
        waitFor(20, () -> robot.lookup("#run-detail").tryQuery().isPresent());
        Node detail = robot.lookup("#run-detail").query();
        waitFor(20, () -> robot.from(detail).lookup("#run-layers").queryTableView().getItems().size() == 3);

        // Compare it with the stored 8-bit run: two rows selected, Compare.
        app.view().showExplorer();
        TableView<ParetoViewModel.RunRow> runs = robot.lookup("#runs-table").queryTableView();
        ParetoViewModel.RunRow eight = runs.getItems().stream().filter(r -> r.label().startsWith("RTN 8-bit"))
                .findFirst().orElseThrow();
        fx(() -> {
            runs.getSelectionModel().clearSelection();
            runs.getSelectionModel().select(eight);
            runs.getSelectionModel().select(run);
        });
        robot.clickOn("#compare-runs");
        waitFor(20, () -> robot.lookup("#compare").tryQuery().isPresent());
        Node compare = robot.lookup("#compare").query();
        waitFor(20, () -> robot.from(compare).lookup("#compare-layers").queryTableView().getItems().size() == 3);

        // The chart exports as SVG that an XML parser reads.
        Path svg = dir.resolve("chart.svg");
        fx(() -> pareto.exportSvg(svg));
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(svg.toFile());
        assertEquals("svg", doc.getDocumentElement().getTagName());
        assertTrue(doc.getElementsByTagName("text").getLength() > 5, "axis ticks and labels are text");
    }

    private Optional<JobItem> job(String label) {
        return app.viewModel().jobs().jobs().stream().filter(j -> j.label().equals(label)).findFirst();
    }

    /** Where run {@code runId}'s point is on screen, from the chart's last rendering. */
    private Optional<Point2D> screenPointOf(ParetoView view, long runId) {
        for (Object o : view.viewer().getRenderingInfo().getEntityCollection().getEntities()) {
            ChartEntity e = (ChartEntity) o;
            if (e instanceof XYItemEntity item && item.getDataset() == view.dataset()) {
                String key = (String) view.dataset().getSeriesKey(item.getSeriesIndex());
                List<ParetoViewModel.ChartPoint> points = app.viewModel().pareto().chart().get().pointsOf(key);
                if (item.getItem() < points.size() && points.get(item.getItem()).runId() == runId) {
                    Rectangle2D b = item.getArea().getBounds2D();
                    return Optional.of(view.viewer().getCanvas().localToScreen(b.getCenterX(), b.getCenterY()));
                }
            }
        }
        return Optional.empty();
    }

    private static void waitFor(int seconds, Callable<Boolean> condition) throws Exception {
        WaitForAsyncUtils.waitFor(seconds, TimeUnit.SECONDS, condition);
        WaitForAsyncUtils.waitForFxEvents();
    }

    private static void fx(Runnable r) throws Exception {
        WaitForAsyncUtils.asyncFx(r).get(10, TimeUnit.SECONDS);
        WaitForAsyncUtils.waitForFxEvents();
    }
}
