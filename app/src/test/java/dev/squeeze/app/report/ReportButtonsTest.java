package dev.squeeze.app.report;

import dev.squeeze.app.compare.CompareView;
import dev.squeeze.app.pareto.ParetoView;
import dev.squeeze.app.pareto.ParetoViewModel;
import dev.squeeze.app.pareto.StoredRuns;
import dev.squeeze.app.workbench.EngineExecutor;
import dev.squeeze.app.workbench.Notification;
import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.engine.store.ResultsStore;
import javafx.application.Platform;
import javafx.scene.Scene;
import javafx.scene.control.Button;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxToolkit;
import org.testfx.util.WaitForAsyncUtils;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The "Report…" buttons headless (Monocle): in the explorer's table bar, and in a comparison once it has loaded. */
class ReportButtonsTest {
    private ResultsStore store;
    private EngineExecutor executor;
    private ParetoView view;
    private final List<Notification> told = new CopyOnWriteArrayList<>();
    private long a;
    private long b;

    @BeforeEach
    void open() throws Exception {
        store = ResultsStore.inMemory();
        a = StoredRuns.run(store, "dense f32", 400).top1(0.9).store();
        b = StoredRuns.run(store, "RTN 4-bit", 70).bpw(4).layer("fc1", "rtn", "rtn 4", 400, 4, 0.01).top1(0.8).store();
        executor = new EngineExecutor("report-buttons-test");
        ParetoViewModel vm = new ParetoViewModel(executor, () -> store);
        ReportViewModel reports = new ReportViewModel(executor, () -> store, told::add);
        FxToolkit.registerPrimaryStage();
        FxToolkit.setupStage(stage -> {
            view = new ParetoView(vm);
            view.setReports(reports);
            stage.setScene(new Scene(view.root(), 1024, 700));
            stage.show();
        });
        Platform.runLater(() -> vm.showModel(StoredRuns.A, "mlp-a", MetricKind.TOP1));
        WaitForAsyncUtils.waitFor(30, TimeUnit.SECONDS, () -> vm.rows().size() == 2);
    }

    @AfterEach
    void close() throws Exception {
        FxToolkit.cleanupStages();
        executor.shutdown(() -> store.close());
    }

    @Test
    void theExplorerAndTheComparisonOfferReports() throws Exception {
        Button explorer = (Button) view.root().lookup("#pareto-report");
        assertNotNull(explorer, "Report… in the explorer");
        assertFalse(explorer.isDisabled());
        CompareView[] compare = new CompareView[1];
        WaitForAsyncUtils.asyncFx(() -> compare[0] = view.openComparison(List.of(a, b))).get(10, TimeUnit.SECONDS);
        Button button = (Button) compare[0].root().lookup("#compare-report");
        assertNotNull(button, "Report… in the comparison");
        WaitForAsyncUtils.waitFor(30, TimeUnit.SECONDS, () -> !button.isDisabled());
        assertTrue(told.isEmpty(), "nothing to tell before a report is asked for: " + told);
    }
}
