package dev.squeeze.app;

import dev.squeeze.app.settings.RecentModel;
import dev.squeeze.app.settings.Theme;
import dev.squeeze.app.workbench.WorkbenchAction;
import dev.squeeze.app.workbench.WorkbenchView;
import dev.squeeze.engine.store.ResultsStore;
import javafx.application.Application;
import javafx.application.Platform;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.event.ActionEvent;
import javafx.geometry.Bounds;
import javafx.scene.Node;
import javafx.scene.control.Label;
import javafx.scene.control.MenuItem;
import javafx.scene.control.Spinner;
import javafx.scene.control.TabPane;
import javafx.scene.input.KeyCode;
import javafx.stage.Stage;
import javafx.stage.Window;
import org.controlsfx.control.NotificationPane;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxRobot;
import org.testfx.api.FxToolkit;
import org.testfx.util.WaitForAsyncUtils;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The window around the features: banner queue, menu hooks and shortcuts, theme, recent models, small window. */
class WorkbenchShellTest {
    private SqueezeApp app;
    private final FxRobot robot = new FxRobot();

    @BeforeEach
    void start() throws Exception {
        FxToolkit.registerPrimaryStage();
        app = (SqueezeApp) FxToolkit.setupApplication(() -> new SqueezeApp(ResultsStore::inMemory, false));
        WaitForAsyncUtils.waitFor(120, TimeUnit.SECONDS, () -> !app.viewModel().busy().get()
                && app.viewModel().pareto().rows().size() >= 3);
    }

    @AfterEach
    void stop() throws Exception {
        FxToolkit.cleanupApplication(app);
        Platform.runLater(() -> Application.setUserAgentStylesheet(Theme.LIGHT.stylesheet()));
        WaitForAsyncUtils.waitForFxEvents();
    }

    private static void fx(Runnable r) throws Exception {
        WaitForAsyncUtils.asyncFx(r).get(10, TimeUnit.SECONDS);
    }

    private static <T> T fx(Callable<T> c) throws Exception {
        return WaitForAsyncUtils.asyncFx(c).get(10, TimeUnit.SECONDS);
    }

    @Test
    void aSecondErrorWhileTheBannerShowsIsQueuedAndPagedThrough() throws Exception {
        WorkbenchView view = app.view();
        NotificationPane banner = view.banner();
        fx(() -> {
            app.viewModel().report("Cannot open a.onnx: not a model\n  Fix: pick an ONNX file");
            app.viewModel().report("Cannot open b.onnx: truncated\n  at byte 12\n  Fix: download it again");
            app.viewModel().report("third problem");
        });
        WaitForAsyncUtils.waitFor(10, TimeUnit.SECONDS, banner::isShowing);
        assertEquals("Cannot open a.onnx: not a model  Fix: pick an ONNX file", banner.getText());
        assertEquals("1 of 3", position());
        assertTrue(robot.lookup("#notification-previous").queryButton().isDisabled(), "nothing before the first");

        fx(() -> robot.lookup("#notification-next").queryButton().fire());
        assertEquals("Cannot open b.onnx: truncated  Fix: download it again", banner.getText());
        assertEquals("2 of 3", position());

        // Details on demand: hidden until asked for.
        Node details = robot.lookup("#notification-details").query();
        assertFalse(details.getParent().isVisible());
        fx(() -> robot.lookup("#notification-details-toggle").queryAs(javafx.scene.control.ToggleButton.class)
                .fire());
        assertTrue(details.getParent().isVisible());
        assertEquals("Cannot open b.onnx: truncated  Fix: download it again\n\nat byte 12",
                ((javafx.scene.control.TextArea) details).getText());

        // The close button dismisses the one on show; the next takes its place.
        fx(banner::hide);
        WaitForAsyncUtils.waitFor(10, TimeUnit.SECONDS, () -> banner.isShowing()
                && "third problem".equals(banner.getText()));
        assertEquals("2 of 2", position());
        assertTrue(robot.lookup("#notification-next").queryButton().isDisabled(), "nothing after the last");
        fx(() -> banner.getActions().stream().filter(a -> a.getText().equals("Dismiss all")).findFirst()
                .orElseThrow().handle(new ActionEvent()));
        WaitForAsyncUtils.waitFor(10, TimeUnit.SECONDS, () -> !banner.isShowing());
        assertNull(app.viewModel().notifications().current().get());
    }

    private String position() throws Exception {
        return fx(() -> robot.lookup("#notification-position").queryAs(Label.class).getText());
    }

    @Test
    void featureCommandsAreDisabledUntilWiredThenRunFromTheMenuAndTheirShortcut() throws Exception {
        WorkbenchView view = app.view();
        // COMPARE needs two selected runs; none is selected yet.
        assertTrue(view.menuItem(WorkbenchAction.COMPARE).isDisable(), "compare with no runs selected");
        for (WorkbenchAction a : WorkbenchAction.values()) {
            fx(() -> view.wire(a, null, null));
            assertTrue(view.menuItem(a).isDisable(), a + " without an action: disabled, not dead");
        }
        AtomicInteger launched = new AtomicInteger();
        SimpleBooleanProperty planValid = new SimpleBooleanProperty(false);
        fx(() -> view.wire(WorkbenchAction.LAUNCH, launched::incrementAndGet, planValid));
        MenuItem launch = view.menuItem(WorkbenchAction.LAUNCH);
        assertTrue(launch.isDisable(), "wired, but the plan has errors");
        fx(() -> planValid.set(true));
        assertFalse(launch.isDisable());

        Window window = fx(() -> app.view().root().getScene().getWindow());
        fx(() -> ((Stage) window).toFront());
        robot.clickOn("#status");
        robot.press(KeyCode.CONTROL, KeyCode.R).release(KeyCode.R, KeyCode.CONTROL);
        WaitForAsyncUtils.waitForFxEvents();
        assertEquals(1, launched.get(), "Ctrl+R launches");
        fx(() -> launch.fire());
        assertEquals(2, launched.get());

        fx(() -> planValid.set(false));
        robot.press(KeyCode.CONTROL, KeyCode.R).release(KeyCode.R, KeyCode.CONTROL);
        WaitForAsyncUtils.waitForFxEvents();
        assertEquals(2, launched.get(), "a disabled command's shortcut does nothing");

        fx(() -> view.wire(WorkbenchAction.LAUNCH, null, null));
        assertTrue(launch.isDisable());
    }

    @Test
    void featureViewsPlugIntoTheCentreAndTheRunsTabs() throws Exception {
        WorkbenchView view = app.view();
        TabPane tabs = robot.lookup("#runs-tabs").queryAs(TabPane.class);
        assertEquals(2, tabs.getTabs().size(), "the explorer and the sensitivity until detail and compare are plugged in");
        Label editor = new Label("plan editor");
        editor.setId("test-editor");
        Label detail = new Label("detail");
        Label compare = new Label("compare");
        fx(() -> {
            view.setCentre(editor);
            view.setCompare(compare);
            view.setDetail(detail);
        });
        assertNotNull(robot.lookup("#test-editor").tryQuery().orElse(null));
        assertEquals(java.util.List.of("Runs — fashion-mlp", "Run detail", "Compare", "Sensitivity"),
                tabs.getTabs().stream().map(javafx.scene.control.Tab::getText).toList(),
                "the explorer's tab is named after the open model");
        fx(view::showCompare);
        assertEquals("Compare", tabs.getSelectionModel().getSelectedItem().getText());
        fx(view::showDetail);
        assertEquals(detail, tabs.getSelectionModel().getSelectedItem().getContent());
    }

    @Test
    void theThemeSwitchesTheStylesheetAndIsExposedForCharts() throws Exception {
        fx(() -> app.settings().theme().set(Theme.DARK));
        assertEquals(Theme.DARK.stylesheet(), fx(Application::getUserAgentStylesheet));
        assertTrue(app.view().root().getStyleClass().contains("theme-dark"));
        assertTrue(Theme.DARK.chartBackground().getRed() < 64, "a dark chart background for AWT-drawn charts");
        fx(() -> app.settings().theme().set(Theme.LIGHT));
        assertEquals(Theme.LIGHT.stylesheet(), fx(Application::getUserAgentStylesheet));
        assertTrue(app.view().root().getStyleClass().contains("theme-light"));
    }

    @Test
    void aRecentModelThatIsGoneIsReportedAndForgotten(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path gone = dir.resolve("gone.onnx");
        fx(() -> app.settings().addRecent(gone));
        fx(() -> app.settings().checkRecent());
        WaitForAsyncUtils.waitFor(10, TimeUnit.SECONDS, () -> !app.settings().recentModels().getFirst().exists());
        RecentModel r = app.settings().recentModels().getFirst();
        fx(() -> app.view().openRecent(r));
        assertTrue(app.settings().recentModels().isEmpty());
        String message = app.viewModel().notifications().current().get().message();
        assertTrue(message.contains("gone.onnx no longer exists") && message.contains("Fix:"), message);
    }

    @Test
    void theSettingsDialogEditsTheWorkerCountTheJobsUse() throws Exception {
        fx(() -> app.view().openSettings());
        Spinner<?> workers = robot.lookup("#settings-workers").queryAs(Spinner.class);
        fx(() -> workers.increment());
        assertEquals(app.settings().workers().get(), app.viewModel().jobs().workers().get());
        assertEquals(((Integer) workers.getValue()).intValue(), app.viewModel().jobs().workers().get());
        fx(() -> ((Stage) workers.getScene().getWindow()).close());
    }

    @Test
    void at1024By700TheEditorTheRunsAndTheJobsAllKeepUsableSpace() throws Exception {
        Stage stage = fx(() -> (Stage) app.view().root().getScene().getWindow());
        fx(() -> {
            stage.setWidth(1024);
            stage.setHeight(700);
        });
        WaitForAsyncUtils.waitForFxEvents();
        Bounds layers = fx(() -> robot.lookup("#plan-table").query().localToScene(
                robot.lookup("#plan-table").query().getLayoutBounds()));
        Bounds runs = fx(() -> robot.lookup("#runs-tabs").query().localToScene(
                robot.lookup("#runs-tabs").query().getLayoutBounds()));
        Node jobsPane = app.view().jobsView().root();
        Bounds jobs = fx(() -> jobsPane.localToScene(jobsPane.getLayoutBounds()));
        // The table's header and four rows of 24 px under the editor's bars (the jobs divider gives more).
        assertTrue(layers.getWidth() >= 300 && layers.getHeight() >= 120, "layer table " + layers);
        assertTrue(runs.getWidth() >= 330 && runs.getHeight() >= 200, "runs " + runs);
        assertTrue(jobs.getHeight() >= 100, "jobs pane " + jobs);
        assertTrue(layers.getMaxX() <= runs.getMinX() + 1, "side by side, not overlapping");
        assertTrue(runs.getMaxX() <= 1024 && jobs.getMaxY() <= 700, "inside the window: " + runs + " " + jobs);
    }

    @Test
    void quitRemembersTheWindowAndClosesIt() throws Exception {
        Stage stage = fx(() -> (Stage) app.view().root().getScene().getWindow());
        fx(() -> {
            stage.setX(20);
            stage.setY(10);
            stage.setWidth(1100);
            stage.setHeight(720);
        });
        MenuItem quit = fx(() -> ((javafx.scene.control.MenuBar) ((javafx.scene.layout.BorderPane) app.view().root())
                .getTop()).getMenus().getFirst().getItems().stream()
                .filter(i -> "menu-quit".equals(i.getId())).findFirst().orElseThrow());
        fx(quit::fire);
        assertFalse(stage.isShowing());
        assertEquals(new dev.squeeze.app.settings.WindowBounds(20, 10, 1100, 720, false),
                app.settings().windowBounds());
    }
}
