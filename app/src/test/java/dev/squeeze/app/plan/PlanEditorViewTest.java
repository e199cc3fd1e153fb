package dev.squeeze.app.plan;

import dev.squeeze.app.workbench.EngineExecutor;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.samples.SampleModels;
import javafx.scene.Node;
import javafx.scene.Scene;
import javafx.scene.control.Button;
import javafx.scene.control.IndexedCell;
import javafx.scene.control.Label;
import javafx.scene.control.TableCell;
import javafx.scene.control.TableView;
import javafx.scene.input.KeyCode;
import javafx.stage.Stage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxRobot;
import org.testfx.api.FxToolkit;
import org.testfx.util.WaitForAsyncUtils;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The plan editor headless (Monocle): a cell edit, a bulk edit by regex, a marked invalid cell, undo, launch. */
class PlanEditorViewTest {
    private final FxRobot robot = new FxRobot();
    private EngineExecutor executor;

    @AfterEach
    void stop() throws Exception {
        FxToolkit.cleanupStages();
        if (executor != null) {
            executor.close();
        }
    }

    private static void waitFor(Callable<Boolean> condition) throws Exception {
        WaitForAsyncUtils.waitFor(20, TimeUnit.SECONDS, condition);
        WaitForAsyncUtils.waitForFxEvents();
    }

    /** The table cell of a layer in a column. */
    private TableCell<?, ?> cell(String columnId, String layer) {
        for (Node n : robot.lookup(".table-cell").queryAll()) {
            if (n instanceof TableCell<?, ?> c && c.getTableColumn() != null && columnId.equals(c.getTableColumn().getId())
                    && c.getTableRow() != null && c.getTableRow().getItem() instanceof PlanRow r && r.name().equals(layer)) {
                return c;
            }
        }
        throw new AssertionError("no cell " + columnId + " of " + layer);
    }

    private static PlanRow row(PlanEditorViewModel vm, String name) {
        return vm.rows().stream().filter(r -> r.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void editsACellAndBulkEditsByRegex() throws Exception {
        Model model = SampleModels.fashionMlp().model();
        FxToolkit.registerPrimaryStage();
        executor = new EngineExecutor("plan-editor-test");
        PlanEditorViewModel vm = new PlanEditorViewModel(executor);
        List<String> launched = new ArrayList<>();
        vm.setOnLaunch((label, json) -> launched.add(label + "|" + json));
        FxToolkit.setupStage(stage -> {
            PlanEditorView view = new PlanEditorView(vm, () -> stage);
            stage.setScene(new Scene(view.root(), 1200, 600));
            vm.show(model);
            stage.show();
        });
        WaitForAsyncUtils.waitForFxEvents();
        Label summary = robot.lookup("#plan-summary").queryAs(Label.class);
        waitFor(() -> summary.getText().startsWith("nothing compressed"));
        Button launch = robot.lookup("#plan-launch").queryButton();
        assertTrue(launch.isDisable());

        // Bulk: select every layer by regex, give them RTN, then 8 bits.
        robot.clickOn("#plan-regex").write("fc.*").type(KeyCode.ENTER);
        TableView<?> table = robot.lookup("#plan-table").queryAs(TableView.class);
        assertEquals(3, table.getSelectionModel().getSelectedItems().size());
        robot.clickOn("#plan-bulk-method");
        robot.clickOn("rtn");
        waitFor(() -> vm.rows().stream().allMatch(r -> r.current() instanceof RtnSettings));
        robot.clickOn("#plan-bulk-value").write("8");
        robot.clickOn("#plan-bulk-set");
        waitFor(() -> summary.getText().startsWith("8.351 bits/weight"));
        assertFalse(launch.isDisable());
        assertEquals("8", ((javafx.scene.control.Labeled) cell("col-bits", "fc3")).getText());

        // One cell: fc2's bits (clicked alone, so the edit applies to fc2 only).
        robot.clickOn(cell("col-layer", "fc2"));
        robot.doubleClickOn(cell("col-bits", "fc2"));
        robot.push(KeyCode.SHORTCUT, KeyCode.A).write("3").type(KeyCode.ENTER);
        waitFor(() -> row(vm, "fc2").current() instanceof RtnSettings r && r.bits() == 3);
        assertEquals(8, ((RtnSettings) row(vm, "fc1").current()).bits());
        waitFor(() -> !summary.getText().startsWith("8.351"));

        // An invalid group size is marked in its cell with the engine's message; launch is disabled.
        robot.clickOn(cell("col-layer", "fc3"));
        robot.doubleClickOn(cell("col-groupSize", "fc3"));
        robot.push(KeyCode.SHORTCUT, KeyCode.A).write("-4").type(KeyCode.ENTER);
        waitFor(() -> cell("col-groupSize", "fc3").getStyleClass().contains("plan-invalid"));
        TableCell<?, ?> bad = cell("col-groupSize", "fc3");
        assertNotNull(bad.getTooltip());
        assertTrue(bad.getTooltip().getText().contains("field 'groupSize' is -4"), bad.getTooltip().getText());
        assertTrue(launch.isDisable());

        robot.clickOn("#plan-undo");
        waitFor(() -> !launch.isDisable());
        assertFalse(cell("col-groupSize", "fc3").getStyleClass().contains("plan-invalid"));
        robot.clickOn("#plan-label").write("from the editor");
        robot.clickOn(launch);
        waitFor(() -> launched.size() == 1);
        assertTrue(launched.getFirst().startsWith("from the editor|{"), launched.getFirst());
    }
}
