package dev.squeeze.app.report;

import dev.squeeze.app.pareto.StoredRuns;
import dev.squeeze.engine.cli.SqueezeCli;
import dev.squeeze.engine.store.ResultsStore;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static dev.squeeze.app.pareto.StoredRuns.A;
import static dev.squeeze.app.pareto.StoredRuns.B;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code squeeze report} as the launcher runs it: the engine's CLI finds the app's command through ServiceLoader. */
class ReportCommandTest {
    @TempDir
    Path dir;

    private Path db;
    private Set<Long> taggedOfA;

    record Result(int code, String out, String err) {
    }

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = SqueezeCli.execute(args, new PrintWriter(out), new PrintWriter(err));
        return new Result(code, out.toString(), err.toString());
    }

    @BeforeEach
    void fill() {
        db = dir.resolve("db/results");
        try (ResultsStore store = ResultsStore.openFile(db)) {
            long a1 = StoredRuns.run(store, "A RTN 4", 70).bpw(4).layer("fc1", "rtn", "rtn 4", 400, 4, 0.01)
                    .top1(0.8).tag("sweep").store();
            long a2 = StoredRuns.run(store, "A RTN 8", 120).bpw(8).layer("fc1", "rtn", "rtn 8", 800, 8, 0.001)
                    .top1(0.9).tag("sweep").store();
            StoredRuns.run(store, "A dense", 400).top1(0.9).store();
            StoredRuns.run(store, "B RTN 4", 60).model(B).bpw(4).layer("fc1", "rtn", "rtn 4", 400, 4, 0.02)
                    .top1(0.7).tag("sweep").store();
            taggedOfA = Set.of(a1, a2);
        }
    }

    private static Set<Long> csvIds(Path csv) throws Exception {
        List<String> lines = Files.readAllLines(csv);
        assertTrue(lines.getFirst().startsWith("run_id,model,"), lines.getFirst());
        return lines.stream().skip(1).map(l -> Long.parseLong(l.substring(0, l.indexOf(','))))
                .collect(Collectors.toSet());
    }

    @Test
    void reportIsACommandOfTheCliAndSelectsByModelAndTag() throws Exception {
        Result help = run("--help");
        assertTrue(help.out().contains("report"), help.out());

        Path csv = dir.resolve("out/runs.csv");
        Result r = run("--db", db.toString(), "report", "mlp-a", "--tag", "sweep", "--format", "csv", "--out",
                csv.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("2 runs of 1 model"), r.out());
        assertEquals(taggedOfA, csvIds(csv));

        // By content hash, every model, format from the extension.
        Path all = dir.resolve("out/all.csv");
        assertEquals(0, run("--db", db.toString(), "report", "--out", all.toString()).code());
        assertEquals(4, csvIds(all).size());
        Path byHash = dir.resolve("out/a.csv");
        assertEquals(0, run("--db", db.toString(), "report", A, "--out", byHash.toString()).code());
        assertEquals(3, csvIds(byHash).size());

        Path html = dir.resolve("out/report.html");
        Result h = run("--db", db.toString(), "report", "mlp-a", "mlp-b", "--out", html.toString(), "--title",
                "Sweep <1>");
        assertEquals(0, h.code(), h.err());
        String text = Files.readString(html);
        assertTrue(text.startsWith("<!DOCTYPE html>"));
        assertTrue(text.contains("<h1>Sweep &lt;1&gt;</h1>"));
        assertTrue(text.contains("runs of mlp-a, mlp-b"), "the selection in words");

        Path pdf = dir.resolve("out/report.pdf");
        assertEquals(0, run("--db", db.toString(), "report", "--tag", "sweep", "--out", pdf.toString()).code());
        assertTrue(new String(Files.readAllBytes(pdf), 0, 5, java.nio.charset.StandardCharsets.US_ASCII)
                .equals("%PDF-"));
    }

    @Test
    void badInputIsExitThreeWithWhatToDo() {
        Path out = dir.resolve("x.html");
        Result unknown = run("--db", db.toString(), "report", "nope", "--out", out.toString());
        assertEquals(3, unknown.code());
        assertTrue(unknown.err().contains("No stored runs for a model named 'nope'"), unknown.err());
        Result noTag = run("--db", db.toString(), "report", "--tag", "missing", "--out", out.toString());
        assertEquals(3, noTag.code());
        assertTrue(noTag.err().contains("tagged missing"), noTag.err());
        Result format = run("--db", db.toString(), "report", "--format", "docx", "--out", out.toString());
        assertEquals(3, format.code());
        assertTrue(format.err().contains("use html, pdf or csv"), format.err());
        Result noOut = run("--db", db.toString(), "report");
        assertEquals(2, noOut.code(), "a missing --out is a usage error");
        assertTrue(Files.notExists(out), "nothing written");
    }
}
