package dev.squeeze.app.search;

import dev.squeeze.app.plan.PlanEditorView;
import dev.squeeze.app.plan.PlanEditorViewModel;
import dev.squeeze.app.plan.PlanRow;
import dev.squeeze.app.workbench.EngineExecutor;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.samples.SampleModels;
import javafx.scene.Node;
import javafx.scene.Scene;
import javafx.scene.control.Button;
import javafx.scene.control.CheckBox;
import javafx.scene.control.Label;
import javafx.scene.control.TableCell;
import javafx.scene.control.TextField;
import javafx.stage.Stage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxRobot;
import org.testfx.api.FxToolkit;
import org.testfx.util.WaitForAsyncUtils;

import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The dialog and the editor's sensitivity column headless (Monocle). */
class SearchViewsTest {
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

    @Test
    void theDialogShowsAnInvalidBudgetInlineAndQueuesAValidOne() throws Exception {
        Model model = SampleModels.fashionMlp().model();
        FxToolkit.registerPrimaryStage();
        FindPlanViewModelTest.FakeJobs jobs = new FindPlanViewModelTest.FakeJobs();
        FindPlanViewModel vm = new FindPlanViewModel(model, jobs);
        FindPlanDialog[] dialog = new FindPlanDialog[1];
        WaitForAsyncUtils.asyncFx(() -> {
            dialog[0] = new FindPlanDialog(vm, null);
            dialog[0].show();
        }).get(10, TimeUnit.SECONDS);
        WaitForAsyncUtils.waitForFxEvents();
        Stage stage = dialog[0].stage();
        Node root = dialog[0].root();
        CheckBox gptq = (CheckBox) root.lookup("#method-gptq");
        assertTrue(gptq.isDisabled(), "a classifier takes data-free methods only");
        assertTrue(gptq.getTooltip().getText().contains("needs calibration data"));
        assertEquals("gptq, spqr, sparsegpt need calibration data (layer Hessians): fashion-mlp takes the data-free"
                + " methods only", ((Label) root.lookup("#methods-unavailable")).getText());

        TextField bpw = (TextField) root.lookup("#budget-bits-per-weight-value");
        robot.clickOn(bpw).push(javafx.scene.input.KeyCode.SHORTCUT, javafx.scene.input.KeyCode.A).write("70");
        fire(root, "#search-start");
        Label error = (Label) root.lookup("#search-error");
        waitFor(error::isVisible);
        assertTrue(error.getText().startsWith("The budget of 70.0 bits per weight is out of range"), error.getText());
        assertTrue(jobs.submitted.isEmpty());

        robot.clickOn(bpw).push(javafx.scene.input.KeyCode.SHORTCUT, javafx.scene.input.KeyCode.A).write("3");
        fire(root, "#search-start");
        waitFor(() -> jobs.submitted.size() == 1);
        assertFalse(error.isVisible());
        assertEquals(3.0, jobs.submitted.getFirst().search().budgetBpw());
        assertEquals(List.of("rtn", "lowrank"), jobs.submitted.getFirst().search().methods());
        Button stopButton = (Button) root.lookup("#search-stop");
        assertFalse(stopButton.isDisabled());
        assertTrue(((Button) root.lookup("#search-start")).isDisabled());
        assertTrue(bpw.isDisabled(), "the form is fixed while the search runs");
        fire(root, "#search-stop");
        waitFor(() -> jobs.cancelled.equals(List.of(7L)));
    }

    @Test
    void theSensitivityColumnShowsTheValueAtTheLayersSettingAndBlankWhenUnknown() throws Exception {
        Model model = SampleModels.fashionMlp().model();
        FxToolkit.registerPrimaryStage();
        executor = new EngineExecutor("search-views-test");
        PlanEditorViewModel plan = new PlanEditorViewModel(executor);
        SensitivityViewModel sensitivity = new SensitivityViewModel(executor);
        plan.sensitivity().bind(sensitivity.table());
        SensitivityViewModelTest.FakeSource source = new SensitivityViewModelTest.FakeSource();
        FxToolkit.setupStage(stage -> {
            PlanEditorView view = new PlanEditorView(plan, () -> stage);
            javafx.scene.layout.VBox pane = new SensitivityPane(sensitivity, plan).root();
            pane.setPrefWidth(400);
            javafx.scene.layout.HBox.setHgrow(view.root(), javafx.scene.layout.Priority.ALWAYS);
            stage.setScene(new Scene(new javafx.scene.layout.HBox(view.root(), pane), 1260, 700));
            plan.show(model);
            sensitivity.show(model);
            stage.show();
        });
        WaitForAsyncUtils.waitForFxEvents();
        WaitForAsyncUtils.asyncFx(() -> {
            plan.setMethod(plan.rowsMatching(".*"), "rtn");
            plan.setColumn(plan.rowsMatching(".*"), "bits", "4");
            plan.setColumn(plan.rowsMatching(".*"), "groupSize", "128");
            plan.setColumn(plan.rowsMatching("fc3"), "bits", "2");
        }).get(10, TimeUnit.SECONDS);
        WaitForAsyncUtils.waitForFxEvents();
        assertNull(text("fc1"), "nothing measured yet");
        assertTrue(robot.lookup("#sensitivity-compute").queryButton().isDisabled(), "no source: not available");

        WaitForAsyncUtils.asyncFx(() -> sensitivity.source().set(source)).get(10, TimeUnit.SECONDS);
        waitFor(() -> !robot.lookup("#sensitivity-compute").queryButton().isDisabled());
        fire(robot.lookup("#plan-sensitivity").query(), "#sensitivity-compute");
        waitFor(() -> "0.0125".equals(text("fc1")));
        assertEquals("0.0031", text("fc2"));
        assertNull(text("fc3"), "fc3 at RTN 2-bit g128 was not measured");
        Label status = robot.lookup("#sensitivity-status").queryAs(Label.class);
        assertEquals("Sensitivity of 3 layers at 3 levels (KL to the dense model on calibration data)",
                status.getText());
    }

    /** Presses a button as a click would (the dialog's bottom row may be scrolled out of a small screen). */
    private static void fire(Node root, String id) throws Exception {
        WaitForAsyncUtils.asyncFx(() -> ((Button) root.lookup(id)).fire()).get(10, TimeUnit.SECONDS);
        WaitForAsyncUtils.waitForFxEvents();
    }

    private String text(String layer) {
        for (Node n : robot.lookup(".table-cell").queryAll()) {
            if (n instanceof TableCell<?, ?> c && c.getTableColumn() != null
                    && "col-sensitivity".equals(c.getTableColumn().getId()) && c.getTableRow() != null
                    && c.getTableRow().getItem() instanceof PlanRow r && r.name().equals(layer)) {
                String t = c.getText();
                return t == null || t.isEmpty() ? null : t;
            }
        }
        throw new AssertionError("no sensitivity cell of " + layer);
    }
}
