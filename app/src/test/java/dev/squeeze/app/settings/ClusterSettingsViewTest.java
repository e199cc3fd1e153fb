package dev.squeeze.app.settings;

import dev.squeeze.app.workbench.EngineExecutor;
import dev.squeeze.app.workbench.InlineExecutor;
import dev.squeeze.app.workbench.WorkbenchViewModel;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.store.ResultsStore;
import javafx.scene.control.Button;
import javafx.scene.control.ChoiceBox;
import javafx.scene.control.Label;
import javafx.scene.control.TextArea;
import javafx.scene.control.TextField;
import javafx.stage.Stage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxRobot;
import org.testfx.api.FxToolkit;
import org.testfx.util.WaitForAsyncUtils;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Settings ▸ Run jobs on, headless (Monocle): the Slurm fields follow the choice and show their problems. */
class ClusterSettingsViewTest {
    private final FxRobot robot = new FxRobot();
    private final List<String> errors = new ArrayList<>();
    private WorkbenchViewModel workbench;
    private EngineExecutor executor;

    @AfterEach
    void stop() throws Exception {
        FxToolkit.cleanupStages();
        if (workbench != null) {
            workbench.close();
        }
        if (executor != null) {
            executor.close();
        }
    }

    private static void fx(Runnable r) throws Exception {
        WaitForAsyncUtils.asyncFx(r).get(10, TimeUnit.SECONDS);
        WaitForAsyncUtils.waitForFxEvents();
    }

    @Test
    void theSlurmFieldsAreGreyedForThisComputerAndShowTheirProblemsForSlurm() throws Exception {
        Stage stage = FxToolkit.registerPrimaryStage();
        FxToolkit.setupStage(s -> s.setScene(new javafx.scene.Scene(new javafx.scene.layout.StackPane(), 400, 300)));
        executor = new EngineExecutor("settings-test");
        SettingsViewModel settings = new SettingsViewModel(SettingsStore.inMemory(), executor, 4, 1, errors::add);
        workbench = new WorkbenchViewModel(new InlineExecutor(), ResultsStore::inMemory, ResultsStore::openFile, false,
                JobEngine.Options.defaults());
        SettingsView view = WaitForAsyncUtils.asyncFx(() -> new SettingsView(settings, workbench, stage))
                .get(10, TimeUnit.SECONDS);
        fx(view::show);

        TextField memory = robot.lookup("#settings-slurm-memory").queryAs(TextField.class);
        TextField shared = robot.lookup("#settings-slurm-shared-dir").queryAs(TextField.class);
        Label memoryProblem = robot.lookup("#settings-slurm-memory-problem").queryAs(Label.class);
        Label sharedProblem = robot.lookup("#settings-slurm-shared-dir-problem").queryAs(Label.class);
        Button check = robot.lookup("#settings-slurm-check").queryButton();
        assertTrue(memory.isDisabled(), "this computer: the Slurm fields are greyed");
        assertTrue(check.isDisabled());
        assertFalse(sharedProblem.isVisible(), "no problems shown for settings not in use");

        @SuppressWarnings("unchecked")
        ChoiceBox<RunOn> runOn = robot.lookup("#settings-run-on").queryAs(ChoiceBox.class);
        fx(() -> runOn.setValue(RunOn.SLURM));
        assertEquals(RunOn.SLURM, settings.cluster().runOn().get());
        assertFalse(memory.isDisabled());
        assertFalse(check.isDisabled());
        assertTrue(sharedProblem.isVisible(), "the shared directory is required");
        assertTrue(sharedProblem.getText().startsWith("Jobs on Slurm need a shared directory"), sharedProblem.getText());

        fx(() -> memory.setText("8X"));
        assertTrue(memoryProblem.isVisible());
        assertTrue(memoryProblem.getText().startsWith("Slurm memory '8X' is not a size"), memoryProblem.getText());
        fx(() -> memory.setText("8G"));
        assertFalse(memoryProblem.isVisible());
        assertEquals("8G", settings.cluster().text(ClusterSettingsViewModel.Field.MEMORY).get());

        // CPUs typed: a number is taken (clamped to 1..1024), anything else keeps the value, without an exception.
        @SuppressWarnings("unchecked")
        javafx.scene.control.Spinner<Integer> cpus = robot.lookup("#settings-slurm-cpus")
                .queryAs(javafx.scene.control.Spinner.class);
        fx(() -> {
            cpus.getEditor().setText("8");
            cpus.commitValue();
        });
        assertEquals(8, settings.cluster().cpus().get());
        fx(() -> {
            cpus.getEditor().setText("eight");
            cpus.commitValue();
        });
        assertEquals(8, settings.cluster().cpus().get());
        fx(() -> {
            cpus.getEditor().setText("5000");
            cpus.commitValue();
        });
        assertEquals(ClusterSettingsViewModel.MAX_CPUS, settings.cluster().cpus().get());

        // Check cluster with a setting missing says which, at once, in the report under the button.
        fx(check::fire);
        TextArea report = robot.lookup("#settings-slurm-check-report").queryAs(TextArea.class);
        assertTrue(report.isVisible());
        assertTrue(report.getText().startsWith("✗ Jobs on Slurm need a shared directory"), report.getText());

        fx(() -> shared.setText("/shared/squeeze"));
        assertFalse(sharedProblem.isVisible());
        assertEquals("slurm", settings.cluster().launcher().get().kind());

        fx(() -> runOn.setValue(RunOn.LOCAL));
        assertTrue(memory.isDisabled());
        assertEquals(JobEngine.Launcher.LOCAL, settings.cluster().launcher().get());
        assertTrue(errors.isEmpty(), errors.toString());
    }
}
