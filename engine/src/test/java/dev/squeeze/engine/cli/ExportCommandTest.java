package dev.squeeze.engine.cli;

import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.store.RunSummary;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code squeeze export} end to end: a stored run out of the database into a file another runtime evaluates. */
class ExportCommandTest {
    @TempDir
    Path dir;

    private static CliSmokeTest.Result run(String... args) {
        return CliSmokeTest.run(args);
    }

    @Test
    void anMnistRunExportedToOnnxScoresInOnnxRuntimeWhatTheRunStored() throws Exception {
        Path mnist = SharedData.require("models/mnist-7/mnist-7.onnx").toAbsolutePath();
        String db = dir.resolve("db/results").toString();
        CliSmokeTest.Result rtn = run("--db", db, "rtn", mnist.toString(), "--bits", "4", "--no-dense");
        assertEquals(0, rtn.code(), rtn.err());
        long runId;
        double stored;
        try (ResultsStore store = ResultsStore.openFile(Path.of(db))) {
            RunSummary r = store.runs(store.models().getFirst().contentHash()).getFirst();
            runId = r.id();
            stored = store.metrics(runId).stream().filter(m -> m.name().equals("top1")).findFirst()
                    .map(RunRecord.Metric::value).orElseThrow();
        }

        Path out = dir.resolve("mnist-rtn4.onnx");
        CliSmokeTest.Result export = run("--db", db, "export", "--run", Long.toString(runId), "--format", "onnx",
                "--out", out.toString());
        assertEquals(0, export.code(), export.err());
        assertTrue(export.out().contains("Wrote " + out), export.out());
        assertTrue(Files.size(out) < Files.size(mnist), Files.size(out) + " bytes, dense " + Files.size(mnist));

        // The exported file is a model of its own: its baseline is ONNX Runtime's accuracy on the same 10,000 images.
        String db2 = dir.resolve("db2/results").toString();
        CliSmokeTest.Result baseline = run("--db", db2, "baseline", out.toString());
        assertEquals(0, baseline.code(), baseline.err());
        try (ResultsStore store = ResultsStore.openFile(Path.of(db2))) {
            long id = store.runs(store.models().getFirst().contentHash()).getFirst().id();
            double exported = store.metrics(id).stream().filter(m -> m.name().equals("top1")).findFirst()
                    .map(RunRecord.Metric::value).orElseThrow();
            assertEquals(stored, exported, 0.0, "ONNX Runtime on the exported file vs the run");
        }

        // A format that cannot hold a classifier is refused before any work, with the formats that can.
        Path gguf = dir.resolve("mnist.gguf");
        CliSmokeTest.Result refused = run("--db", db, "export", "--run", Long.toString(runId), "--format", "gguf",
                "--out", gguf.toString());
        assertEquals(SqueezeCli.EXIT_INPUT, refused.code());
        assertTrue(refused.err().contains("is an ONNX classifier; gguf export is for Llama-family models")
                && refused.err().contains("Fix: export it as onnx"), refused.err());
        assertFalse(Files.exists(gguf));
        assertFalse(refused.err().contains("\tat "), refused.err());

        CliSmokeTest.Result noSqz = run("--db", db, "export", "--run", Long.toString(runId), "--format", "sqz",
                "--out", dir.resolve("mnist.sqz").toString());
        assertEquals(SqueezeCli.EXIT_INPUT, noSqz.code());
        assertTrue(noSqz.err().contains("export it as onnx"), noSqz.err());

        CliSmokeTest.Result noRun = run("--db", db, "export", "--run", "999", "--format", "onnx", "--out",
                dir.resolve("x.onnx").toString());
        assertEquals(SqueezeCli.EXIT_INPUT, noRun.code());
        assertTrue(noRun.err().contains("There is no run 999"), noRun.err());
        assertEquals(List.of(), Files.list(dir).filter(p -> p.getFileName().toString().startsWith("x.onnx")).toList());
    }

    @Test
    void anMlpRunAsABundleEvaluatesAgainToItsStoredMetrics() throws Exception {
        Path model = dev.squeeze.engine.testing.TinyModels.writeDeepMlp(dir, 5);
        Path[] idx = dev.squeeze.engine.testing.TinyModels.writeIdx(dir,
                dev.squeeze.engine.testing.TinyModels.images(300, 4));
        String db = dir.resolve("db/results").toString();
        CliSmokeTest.Result rtn = run("--db", db, "rtn", model.toString(), "--bits", "3", "--group-size", "16",
                "--no-dense", "--images", idx[0].toString(), "--labels", idx[1].toString());
        assertEquals(0, rtn.code(), rtn.err());
        long runId;
        try (ResultsStore store = ResultsStore.openFile(Path.of(db))) {
            runId = store.runs(store.models().getFirst().contentHash()).stream()
                    .filter(r -> r.label().contains("3-bit")).findFirst().orElseThrow().id();
        }
        Path sqz = dir.resolve("sample-rtn3.sqz");
        CliSmokeTest.Result bundle = run("--db", db, "export", "--run", Long.toString(runId), "--format", "sqz",
                "--out", sqz.toString());
        assertEquals(0, bundle.code(), bundle.err() + bundle.out());
        CliSmokeTest.Result eval = run("eval", sqz.toString(), "--images", idx[0].toString(), "--labels",
                idx[1].toString());
        assertEquals(0, eval.code(), eval.out() + eval.err() + bundle.out());
        assertTrue(eval.out().contains("Identical to the stored metrics."), eval.out());
        assertTrue(eval.out().contains("top1"), eval.out());
    }
}
