package dev.squeeze.app;

import dev.squeeze.app.workbench.WorkbenchView;
import dev.squeeze.app.workbench.WorkbenchViewModel;
import dev.squeeze.engine.store.ResultsStore;
import javafx.application.Application;
import javafx.scene.Scene;
import javafx.stage.Stage;

import java.util.function.Supplier;

/** The JavaFX application: one workbench window over the engine. */
public final class SqueezeApp extends Application {
    private final Supplier<ResultsStore> storeFactory;
    private WorkbenchViewModel viewModel;
    private WorkbenchView view;

    /** The real application: the results database in the user's data directory. */
    public SqueezeApp() {
        this(ResultsStore::openDefault);
    }

    /** For tests and embedding: the store is opened (off the FX thread) by this factory. */
    public SqueezeApp(Supplier<ResultsStore> storeFactory) {
        this.storeFactory = storeFactory;
    }

    @Override
    public void start(Stage stage) {
        viewModel = new WorkbenchViewModel(storeFactory);
        view = new WorkbenchView(viewModel, stage);
        Scene scene = new Scene(view.root(), 1280, 800);
        scene.getStylesheets().add(SqueezeApp.class.getResource("squeeze.css").toExternalForm());
        stage.setTitle("Squeeze — compression workbench");
        stage.setScene(scene);
        stage.show();
        viewModel.openSample();
    }

    /** The window's view, for tests. */
    public WorkbenchView view() {
        return view;
    }

    /** The view-model, for tests. */
    public WorkbenchViewModel viewModel() {
        return viewModel;
    }

    @Override
    public void stop() {
        if (viewModel != null) {
            viewModel.close();
        }
    }
}
