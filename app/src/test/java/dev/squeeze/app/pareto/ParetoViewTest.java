package dev.squeeze.app.pareto;

import dev.squeeze.app.workbench.EngineExecutor;
import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.engine.store.ResultsStore;
import javafx.application.Platform;
import javafx.geometry.Point2D;
import javafx.scene.Node;
import javafx.scene.Scene;
import javafx.scene.control.MenuItem;
import javafx.scene.control.TabPane;
import javafx.scene.control.TableView;
import org.jfree.chart.entity.ChartEntity;
import org.jfree.chart.entity.XYItemEntity;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testfx.api.FxRobot;
import org.testfx.api.FxToolkit;
import org.testfx.util.WaitForAsyncUtils;
import org.w3c.dom.Document;
import org.w3c.dom.NodeList;

import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The explorer headless (Monocle): 24 stored runs on the chart, click a point, compare two rows, export. */
class ParetoViewTest {
    @TempDir
    Path dir;

    private final FxRobot robot = new FxRobot();
    private ResultsStore store;
    private EngineExecutor executor;
    private ParetoViewModel vm;
    private ParetoView view;
    private final List<String> plansFromRuns = new ArrayList<>();

    @BeforeEach
    void open() throws Exception {
        store = ResultsStore.inMemory();
        StoredRuns.run(store, "dense f32", 4000).fp16(2000).top1(0.91).store();
        String[] methods = {"rtn", "gptq", "spqr"};
        // 3 methods × 7 bit widths = 21 compressed runs: accuracy grows with bits, GPTQ a little above RTN.
        for (int m = 0; m < methods.length; m++) {
            for (int bits = 2; bits <= 8; bits++) {
                long size = 200L * bits + 40L * m;
                StoredRuns.run(store, methods[m].toUpperCase() + " " + bits + "-bit", size).fp16(2000).bpw(bits)
                        .layer("fc1", methods[m], "bits=" + bits, 100L * bits, bits, 0.1 / bits / (m + 1))
                        .layer("fc2", methods[m], "bits=8", 800, 8, 0.001)
                        .top1(0.5 + 0.05 * bits + 0.01 * m).tag(bits < 4 ? "low-bit" : "normal").store();
            }
        }
        executor = new EngineExecutor("pareto-test");
        vm = new ParetoViewModel(executor, () -> store);
        FxToolkit.registerPrimaryStage();
        FxToolkit.setupStage(stage -> {
            view = new ParetoView(vm);
            view.setOnPlanFromRun(plansFromRuns::add);
            stage.setScene(new Scene(view.root(), 1024, 700));
            stage.show();
        });
        fx(() -> vm.showModel(StoredRuns.A, "mlp-a", MetricKind.TOP1));
        waitFor(30, () -> vm.rows().size() == 22 && view.dataset().getSeriesCount() == 4);
    }

    @AfterEach
    void close() throws Exception {
        FxToolkit.cleanupStages();
        executor.shutdown(() -> store.close());
    }

    private static void fx(Runnable r) {
        Platform.runLater(r);
        WaitForAsyncUtils.waitForFxEvents();
    }

    private static void waitFor(int seconds, Callable<Boolean> condition) throws Exception {
        WaitForAsyncUtils.waitFor(seconds, TimeUnit.SECONDS, condition);
        WaitForAsyncUtils.waitForFxEvents();
    }

    /** Where run {@code runId}'s point is on screen, from the chart's last rendering. */
    private Point2D screenPointOf(long runId) {
        for (Object o : view.viewer().getRenderingInfo().getEntityCollection().getEntities()) {
            ChartEntity e = (ChartEntity) o;
            if (e instanceof XYItemEntity item && item.getDataset() == view.dataset()) {
                ParetoViewModel.ChartPoint p = viewPoint(item);
                if (p != null && p.runId() == runId) {
                    Rectangle2D b = item.getArea().getBounds2D();
                    return view.viewer().getCanvas().localToScreen(b.getCenterX(), b.getCenterY());
                }
            }
        }
        throw new AssertionError("run " + runId + " is not drawn");
    }

    private ParetoViewModel.ChartPoint viewPoint(XYItemEntity item) {
        String key = (String) view.dataset().getSeriesKey(item.getSeriesIndex());
        return vm.chart().get().pointsOf(key).get(item.getItem());
    }

    private ParetoViewModel.RunRow rowLabelled(String label) {
        return vm.rows().stream().filter(r -> r.label().equals(label)).findFirst().orElseThrow();
    }

    @Test
    void clickAPointForItsDetailCompareTwoRowsAndExportTheChart() throws Exception {
        // Four series from the stored families; 21 points (the dense run has a point too: x is size).
        assertEquals(List.of("dense", "gptq", "rtn", "spqr"), view.dataset().getSeries().stream()
                .map(s -> ((org.jfree.data.xy.XYSeries) s).getKey()).toList());
        assertEquals(22, vm.chart().get().points().size());
        assertEquals(1, view.frontierDataset().getSeriesCount());
        assertTrue(view.labelsDrawn() > 0, "some labels fit");
        assertTrue(view.labelsDrawn() < 22, "not every label fits on a 1024×700 window: they are not piled up");

        // Click GPTQ 4-bit's point: its row is selected and its detail opens.
        ParetoViewModel.RunRow gptq4 = rowLabelled("GPTQ 4-bit");
        robot.clickOn(screenPointOf(gptq4.id()));
        waitFor(20, () -> robot.lookup("#run-detail").tryQuery().isPresent());
        TableView<?> table = robot.lookup("#runs-table").queryTableView();
        assertEquals(gptq4, table.getSelectionModel().getSelectedItem());
        assertEquals(gptq4.id(), view.highlightedRun());
        Node detail = robot.lookup("#run-detail").query();
        waitFor(20, () -> robot.from(detail).lookup("#run-layers").queryTableView().getItems().size() == 2);
        assertEquals("gptq", ((dev.squeeze.engine.store.RunRecord.LayerResult)
                robot.from(detail).lookup("#run-layers").queryTableView().getItems().getFirst()).method());
        robot.clickOn(robot.from(detail).lookup("#plan-from-run").queryButton());
        WaitForAsyncUtils.waitForFxEvents();
        assertEquals(1, plansFromRuns.size());
        assertTrue(plansFromRuns.getFirst().contains("\"schema\":1"), plansFromRuns.getFirst());
        fx(() -> detail.getScene().getWindow().hide()); // it covers the explorer

        // Selecting a row highlights its point.
        ParetoViewModel.RunRow rtn3 = rowLabelled("RTN 3-bit");
        fx(() -> {
            table.getSelectionModel().clearSelection();
            table.getSelectionModel().select(table.getItems().indexOf(rtn3));
        });
        assertEquals(rtn3.id(), view.highlightedRun());

        // Two rows selected: compare them.
        ParetoViewModel.RunRow rtn4 = rowLabelled("RTN 4-bit");
        fx(() -> table.getSelectionModel().select(table.getItems().indexOf(rtn4)));
        assertEquals(List.of(rtn3.id(), rtn4.id()), List.copyOf(vm.selectedRuns()));
        robot.clickOn("#compare-runs");
        waitFor(20, () -> robot.lookup("#compare").tryQuery().isPresent());
        Node compare = robot.lookup("#compare").query();
        TableView<?> layers = robot.from(compare).lookup("#compare-layers").queryTableView();
        waitFor(20, () -> layers.getItems().size() == 2);
        TabPane tabs = robot.from(compare).lookup("#compare-tabs").queryAs(TabPane.class);
        fx(() -> tabs.getSelectionModel().select(1));
        // fc1 differs (3 vs 4 bits: settings, bits, error); fc2 is the same 8-bit RTN in both.
        waitFor(10, () -> !robot.from(compare).lookup(".diff-cell").queryAll().isEmpty());
        assertEquals(3, robot.from(compare).lookup(".diff-cell").queryAll().size(),
                "settings, bits and error of fc1 in the second run");

        // The context menu offers the exports; SVG parses as XML and carries the axis label.
        List<String> menu = view.viewer().getContextMenu().getItems().stream().map(MenuItem::getId).toList();
        assertTrue(menu.contains("export-svg") && menu.contains("export-png"), menu.toString());
        Path svg = dir.resolve("pareto.svg");
        Path png = dir.resolve("pareto.png");
        fx(() -> {
            view.exportSvg(svg);
            view.exportPng(png, 640, 400);
        });
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(svg.toFile());
        assertEquals("svg", doc.getDocumentElement().getTagName());
        NodeList texts = doc.getElementsByTagName("text");
        List<String> words = new ArrayList<>();
        for (int i = 0; i < texts.getLength(); i++) {
            words.add(texts.item(i).getTextContent());
        }
        assertTrue(words.contains("Model size (bytes)"), "the x axis label is SVG text: " + words);
        assertTrue(words.contains("dense f32"), "the baseline's label is SVG text: " + words);
        BufferedImage image = ImageIO.read(png.toFile());
        assertNotNull(image);
        assertEquals(640, image.getWidth());
        assertEquals(400, image.getHeight());
    }

    @Test
    void theFamilyFilterNarrowsTableAndChart() throws Exception {
        fx(() -> vm.familyFilter().setAll("gptq"));
        waitFor(10, () -> vm.rows().size() == 7);
        assertEquals(1, view.dataset().getSeriesCount());
        TableView<?> table = robot.lookup("#runs-table").queryTableView();
        assertEquals(7, table.getItems().size());
        assertTrue(robot.lookup("#pareto-hint").queryLabeled().getText().contains("Drag a box to zoom"));

        // A typed date that is not one is reported in words; the filter stays off.
        javafx.scene.control.DatePicker since = robot.lookup("#filter-since").queryAs(
                javafx.scene.control.DatePicker.class);
        robot.clickOn(since.getEditor()).write("yesterday").type(javafx.scene.input.KeyCode.ENTER);
        WaitForAsyncUtils.waitForFxEvents();
        assertTrue(vm.error().get() != null && vm.error().get().startsWith("'yesterday' is not a date"),
                String.valueOf(vm.error().get()));
        assertEquals(null, vm.since().get());
        fx(() -> since.getEditor().setText(""));
        robot.clickOn(since.getEditor()).write("2026-11-28").type(javafx.scene.input.KeyCode.ENTER);
        waitFor(10, () -> vm.rows().isEmpty());
        assertEquals(java.time.LocalDate.of(2026, 11, 28), vm.since().get(), "every run finished on 27 November");
    }
}
