package dev.squeeze.app;

import dev.squeeze.app.jobs.JobsViewModel;
import dev.squeeze.app.settings.SettingsStore;
import dev.squeeze.app.settings.SettingsViewModel;
import dev.squeeze.app.settings.Theme;
import dev.squeeze.app.settings.WindowBounds;
import dev.squeeze.app.workbench.EngineExecutor;
import dev.squeeze.app.workbench.Notification;
import dev.squeeze.app.workbench.WorkbenchView;
import dev.squeeze.app.workbench.WorkbenchViewModel;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.store.DataDirs;
import dev.squeeze.engine.store.ResultsStore;
import javafx.application.Application;
import javafx.application.Platform;
import javafx.geometry.Rectangle2D;
import javafx.scene.Scene;
import javafx.stage.Screen;
import javafx.stage.Stage;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;

/** The JavaFX application: one workbench window over the engine. */
public final class SqueezeApp extends Application {
    /** The smallest window the workbench allows; 1024×700 is laid out without hiding content. */
    static final double MIN_WIDTH = 960;
    static final double MIN_HEIGHT = 640;

    private final Supplier<ResultsStore> storeFactory;
    private final Supplier<SettingsStore> settingsFactory;
    private Thread closeOnExit;
    private final boolean measureBaselines;
    private final JobEngine.Options jobOptions;
    private EngineExecutor executor;
    private SettingsViewModel settings;
    private WorkbenchViewModel viewModel;
    private WorkbenchView view;
    private Stage stage;

    /**
     * The real application: settings in the data folder ({@code settings.properties}), the results database
     * they name (else the default one in the data folder).
     */
    public SqueezeApp() {
        this(null, true, JobEngine.Options.defaults(),
                () -> SettingsStore.file(DataDirs.home().resolve(SettingsStore.FILE_NAME)));
    }

    /**
     * For tests and embedding: the store is opened (off the FX thread) by this factory; {@code measureBaselines}
     * says whether opening a model measures its missing baseline. Settings are kept in memory.
     */
    public SqueezeApp(Supplier<ResultsStore> storeFactory, boolean measureBaselines) {
        this(storeFactory, measureBaselines, JobEngine.Options.defaults());
    }

    /** As above, with the background job engine's options (tests pass a small worker heap, injected faults). */
    public SqueezeApp(Supplier<ResultsStore> storeFactory, boolean measureBaselines, JobEngine.Options jobOptions) {
        this(storeFactory, measureBaselines, jobOptions, SettingsStore::inMemory);
    }

    /**
     * As above, with the settings' store ({@code storeFactory} null: the database the settings name, else the
     * default one).
     */
    public SqueezeApp(Supplier<ResultsStore> storeFactory, boolean measureBaselines, JobEngine.Options jobOptions,
                      Supplier<SettingsStore> settingsFactory) {
        this.storeFactory = storeFactory;
        this.measureBaselines = measureBaselines;
        this.jobOptions = jobOptions;
        this.settingsFactory = settingsFactory;
    }

    @Override
    public void start(Stage stage) {
        this.stage = stage;
        executor = new EngineExecutor();
        settings = new SettingsViewModel(settingsFactory.get(), executor, JobsViewModel.MAX_WORKERS,
                jobOptions.workers(), message -> viewModel.report(message));
        // Before any engine work: the saved kernel backend becomes the property the engine and workers read.
        settings.applyAtStart();
        Supplier<ResultsStore> stores = storeFactory != null ? storeFactory
                : () -> ResultsStore.openFile(settings.effectiveDatabase());
        viewModel = new WorkbenchViewModel(executor, stores, ResultsStore::openFile, measureBaselines, jobOptions);
        viewModel.workers().bindBidirectional(settings.workers());
        viewModel.launcher().bind(settings.cluster().launcher());
        viewModel.launcherProblem().bind(settings.cluster().launcherProblem());
        viewModel.setOnFileOpened(settings::addRecent);
        if (settings.loadProblem() != null) {
            viewModel.report(settings.loadProblem());
        }
        // Anything that escapes on the FX thread (or another thread of ours) goes to the log and the banner,
        // never as a bare stack trace on the terminal or as the message; the trace is behind "Details".
        WorkbenchViewModel banner = viewModel;
        Thread.setDefaultUncaughtExceptionHandler((thread, e) -> {
            String message = EngineExecutor.describe(e);
            StringWriter trace = new StringWriter();
            e.printStackTrace(new PrintWriter(trace));
            Platform.runLater(() -> banner.notifications().add(
                    new Notification(message.lines().findFirst().orElse(message), trace.toString(), null, null)));
        });
        // SIGTERM or Ctrl-C ends the JVM without stop(): close the engine then too, so running jobs are recorded
        // as interrupted (resumable) with that reason, and the database is closed cleanly.
        WorkbenchViewModel closing = viewModel;
        closeOnExit = new Thread(closing::close, "close-workbench-on-exit");
        Runtime.getRuntime().addShutdownHook(closeOnExit);

        applyTheme(settings.theme().get());
        settings.theme().addListener((obs, old, t) -> applyTheme(t));
        view = new WorkbenchView(viewModel, settings, stage);
        Scene scene = new Scene(view.root(), 1280, 800);
        scene.getStylesheets().add(SqueezeApp.class.getResource("squeeze.css").toExternalForm());
        stage.setTitle("Squeeze — compression workbench");
        stage.setMinWidth(MIN_WIDTH);
        stage.setMinHeight(MIN_HEIGHT);
        stage.setScene(scene);
        restoreBounds(stage);
        stage.setOnCloseRequest(e -> rememberBounds());
        stage.show();
        settings.checkRecent();
        // `./squeeze gui MODEL` opens that model instead of the built-in sample.
        List<String> args = getParameters() == null ? List.of() : getParameters().getUnnamed();
        if (args.isEmpty()) {
            viewModel.openSample();
        } else {
            viewModel.openFile(Path.of(args.getFirst()));
        }
    }

    private static void applyTheme(Theme t) {
        Application.setUserAgentStylesheet((t == null ? Theme.LIGHT : t).stylesheet());
    }

    /** Puts the window where it was last time, fitted to a screen that exists now. */
    private void restoreBounds(Stage s) {
        WindowBounds saved = settings.windowBounds();
        if (saved == null) {
            // First start: 1280×800, or the screen if it is smaller.
            Rectangle2D area = Screen.getPrimary().getVisualBounds();
            s.setWidth(Math.min(1280, area.getWidth()));
            s.setHeight(Math.min(800, area.getHeight()));
            return;
        }
        List<Screen> screens = Screen.getScreensForRectangle(saved.x(), saved.y(), saved.width(), saved.height());
        Rectangle2D area = (screens.isEmpty() ? Screen.getPrimary() : screens.getFirst()).getVisualBounds();
        WindowBounds b = saved.fitTo(area.getMinX(), area.getMinY(), area.getWidth(), area.getHeight());
        s.setX(b.x());
        s.setY(b.y());
        s.setWidth(b.width());
        s.setHeight(b.height());
        s.setMaximized(b.maximized());
    }

    private void rememberBounds() {
        if (stage != null && settings != null && stage.getWidth() > 0 && stage.getHeight() > 0) {
            settings.saveWindowBounds(new WindowBounds(stage.getX(), stage.getY(), stage.getWidth(),
                    stage.getHeight(), stage.isMaximized()));
        }
    }

    /** The window's view, for tests. */
    public WorkbenchView view() {
        return view;
    }

    /** The view-model, for tests. */
    public WorkbenchViewModel viewModel() {
        return viewModel;
    }

    /** The settings, for tests and for feature views that follow the theme. */
    public SettingsViewModel settings() {
        return settings;
    }

    /** Closing the window ends the job engine: running jobs become INTERRUPTED and can be resumed next time. */
    @Override
    public void stop() {
        rememberBounds();
        if (viewModel != null) {
            viewModel.close();
        }
        if (executor != null) {
            executor.shutdown(() -> { });
        }
        if (closeOnExit != null) {
            try {
                Runtime.getRuntime().removeShutdownHook(closeOnExit);
            } catch (IllegalStateException alreadyExiting) {
                // The hook is running or about to: close() is idempotent.
            }
        }
    }
}
