package dev.squeeze.app.report;

import dev.squeeze.app.compare.CompareViewModel;
import dev.squeeze.app.pareto.ParetoViewModel;
import dev.squeeze.app.pareto.StoredRuns;
import dev.squeeze.app.workbench.InlineExecutor;
import dev.squeeze.app.workbench.Notification;
import dev.squeeze.engine.eval.MetricKind;
import dev.squeeze.engine.store.Pareto;
import dev.squeeze.engine.store.ResultsStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.squeeze.app.pareto.StoredRuns.A;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** "Report…" without a toolkit: what is selected, and what the user is told. */
class ReportViewModelTest {
    @TempDir
    Path dir;

    private ResultsStore store;
    private final List<Notification> told = new ArrayList<>();
    private long rtn4;
    private long gptq4;
    private long dense;

    @BeforeEach
    void fill() {
        store = ResultsStore.inMemory();
        dense = StoredRuns.run(store, "dense f32", 400).top1(0.9).store();
        rtn4 = StoredRuns.run(store, "RTN 4-bit", 70).bpw(4).layer("fc1", "rtn", "rtn 4", 400, 4, 0.01).top1(0.8)
                .tag("sweep").store();
        gptq4 = StoredRuns.run(store, "GPTQ 4-bit", 70).bpw(4).layer("fc1", "gptq", "gptq 4", 400, 4, 0.005)
                .top1(0.85).tag("sweep").store();
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void theExplorersReportHasTheRunsItShowsThroughItsFilters() throws Exception {
        ParetoViewModel explorer = new ParetoViewModel(new InlineExecutor(), () -> store);
        explorer.showModel(A, "mlp-a", MetricKind.TOP1);
        explorer.tagFilter().setAll("sweep");
        Reports.Request request = ReportViewModel.explorerRequest(explorer);
        assertEquals(List.of(rtn4, gptq4), request.runIds());
        assertEquals("top1", request.metric());
        assertEquals(Pareto.XAxis.SIZE_BYTES, request.x());
        assertEquals("runs of mlp-a in the Pareto explorer (tagged sweep)", request.selection());

        ReportViewModel reports = new ReportViewModel(new InlineExecutor(), () -> store, told::add);
        Path file = dir.resolve("r.csv");
        reports.write(request, file);
        assertFalse(reports.busy().get());
        assertEquals(1, told.size());
        assertTrue(told.getFirst().message().startsWith("Report written: " + file + " (csv, "), told.getFirst().message());
        assertEquals(2, reports.lastWritten().get().runs());
        List<String> lines = Files.readAllLines(file);
        assertEquals(3, lines.size(), "header and the two shown runs");
        assertTrue(lines.get(1).startsWith(rtn4 + ","));
        assertTrue(lines.get(2).startsWith(gptq4 + ","));
    }

    @Test
    void theComparisonsReportHasTheComparedRuns() {
        CompareViewModel compare = new CompareViewModel(new InlineExecutor(), () -> store);
        compare.load(List.of(gptq4, dense));
        Reports.Request request = ReportViewModel.compareRequest(compare.comparison().get());
        assertEquals(List.of(gptq4, dense), request.runIds());
        assertEquals("the compared runs #" + gptq4 + ", #" + dense + " (reference #" + gptq4 + ")",
                request.selection());
        ReportViewModel reports = new ReportViewModel(new InlineExecutor(), () -> store, told::add);
        Path file = dir.resolve("sub/compare.html");
        reports.write(request, file);
        assertTrue(Files.isRegularFile(file));
        assertEquals(ReportFormat.HTML, reports.lastWritten().get().format());
    }

    @Test
    void failuresAreToldAndNothingIsWritten() {
        ReportViewModel noStore = new ReportViewModel(new InlineExecutor(), () -> null, told::add);
        Path file = dir.resolve("r.html");
        noStore.write(new Reports.Request("t", "s", List.of(dense), null, Pareto.XAxis.SIZE_BYTES), file);
        assertEquals(1, told.size());
        assertTrue(told.getFirst().message().startsWith("The report was not written: No report: there is no results"
                + " database"), told.getFirst().message());
        assertFalse(noStore.busy().get(), "ready for the next try");
        assertNull(noStore.lastWritten().get());

        ReportViewModel reports = new ReportViewModel(new InlineExecutor(), () -> store, told::add);
        reports.write(new Reports.Request("t", "nothing shown", List.of(), null, Pareto.XAxis.SIZE_BYTES), file);
        assertTrue(told.get(1).message().contains("No runs to report on (nothing shown)"), told.get(1).message());
        assertTrue(Files.notExists(file));
    }
}
