package dev.squeeze.app;

import dev.squeeze.app.workbench.WorkbenchView;
import dev.squeeze.app.workbench.WorkbenchViewModel;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.store.ResultsStore;
import javafx.application.Application;
import javafx.scene.Scene;
import javafx.stage.Stage;

import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;

/** The JavaFX application: one workbench window over the engine. */
public final class SqueezeApp extends Application {
    private final Supplier<ResultsStore> storeFactory;
    private Thread closeOnExit;
    private final boolean measureBaselines;
    private final JobEngine.Options jobOptions;
    private WorkbenchViewModel viewModel;
    private WorkbenchView view;

    /** The real application: the results database in the user's data directory. */
    public SqueezeApp() {
        this(ResultsStore::openDefault, true);
    }

    /**
     * For tests and embedding: the store is opened (off the FX thread) by this factory; {@code measureBaselines}
     * says whether opening a model measures its missing baseline.
     */
    public SqueezeApp(Supplier<ResultsStore> storeFactory, boolean measureBaselines) {
        this(storeFactory, measureBaselines, JobEngine.Options.defaults());
    }

    /** As above, with the background job engine's options (tests pass a small worker heap, injected faults). */
    public SqueezeApp(Supplier<ResultsStore> storeFactory, boolean measureBaselines, JobEngine.Options jobOptions) {
        this.storeFactory = storeFactory;
        this.measureBaselines = measureBaselines;
        this.jobOptions = jobOptions;
    }

    @Override
    public void start(Stage stage) {
        viewModel = new WorkbenchViewModel(storeFactory, measureBaselines, jobOptions);
        // Anything that escapes on the FX thread (or another thread of ours) goes to the log and the banner,
        // never as a bare stack trace on the terminal; the window stays usable.
        WorkbenchViewModel banner = viewModel;
        Thread.setDefaultUncaughtExceptionHandler((thread, e) -> {
            String message = dev.squeeze.app.workbench.EngineExecutor.describe(e);
            javafx.application.Platform.runLater(() -> banner.error().set(message));
        });
        // SIGTERM or Ctrl-C ends the JVM without stop(): close the engine then too, so running jobs are recorded
        // as interrupted (resumable) with that reason, and the database is closed cleanly.
        WorkbenchViewModel closing = viewModel;
        closeOnExit = new Thread(closing::close, "close-workbench-on-exit");
        Runtime.getRuntime().addShutdownHook(closeOnExit);
        view = new WorkbenchView(viewModel, stage);
        Scene scene = new Scene(view.root(), 1280, 800);
        scene.getStylesheets().add(SqueezeApp.class.getResource("squeeze.css").toExternalForm());
        stage.setTitle("Squeeze — compression workbench");
        stage.setScene(scene);
        stage.show();
        // `./squeeze gui MODEL` opens that model instead of the built-in sample.
        List<String> args = getParameters() == null ? List.of() : getParameters().getUnnamed();
        if (args.isEmpty()) {
            viewModel.openSample();
        } else {
            viewModel.openFile(Path.of(args.getFirst()));
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

    /** Closing the window ends the job engine: running jobs become INTERRUPTED and can be resumed next time. */
    @Override
    public void stop() {
        if (viewModel != null) {
            viewModel.close();
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
