package dev.squeeze.engine.cli;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.testing.SharedData;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Bad input at the command line: each case ends with exit code 3 (or 2 for usage) and a message that says what,
 * where and what to do — never a stack trace, never "internal error", never a hang.
 */
class CliBadInputTest {
    @TempDir
    Path dir;

    private static CliSmokeTest.Result run(String... args) {
        return CliSmokeTest.run(args);
    }

    private static void assertNoStackTrace(CliSmokeTest.Result r) {
        assertFalse(r.err().contains("\tat ") || r.err().contains("internal error"), r.err());
    }

    private Path plan(String name, String json) throws Exception {
        return Files.writeString(dir.resolve(name), json);
    }

    /** A typo in a -Dsqueeze.backend* property stops the CLI before any command runs, as a usage error. */
    @Test
    void aMistypedBackendPropertyIsAUsageErrorAtStart() {
        String db = dir.resolve("results").toString();
        String[][] cases = {
                {"squeeze.backend.packd", "java",
                        "-Dsqueeze.backend.packd is not a Squeeze setting: there is no op 'packd'"},
                {"squeeze.backend", "fast", "-Dsqueeze.backend=fast names no backend of Squeeze"},
                {"squeeze.backend.sparse", "nd4j", "-Dsqueeze.backend.sparse=nd4j names no backend of"}};
        for (String[] c : cases) {
            System.setProperty(c[0], c[1]);
            try {
                CliSmokeTest.Result r = run("--db", db, "runs");
                assertEquals(SqueezeCli.EXIT_USAGE, r.code(), r.err());
                assertTrue(r.err().startsWith("squeeze: " + c[2]), r.err());
                assertTrue(r.err().contains("Fix: "), r.err());
                assertNoStackTrace(r);
                assertFalse(Files.exists(dir.resolve("results.mv.db")), "the command must not have run");
                assertEquals(0, run("runs", "--help").code(), "help still works");
            } finally {
                System.clearProperty(c[0]);
            }
        }
    }

    @Test
    void everySubcommandTakesHelp() {
        // The subcommands as picocli sees the annotations, not as the code under test lists them.
        List<String> names = new CommandLine(new SqueezeCli()).getSubcommands().keySet().stream()
                .filter(n -> !n.equals("help")).toList();
        assertTrue(names.containsAll(List.of("run", "sweep", "inspect", "jobs", "resume", "cancel")), names.toString());
        for (String name : names) {
            for (String h : new String[]{"--help", "-h"}) {
                CliSmokeTest.Result r = run(name, h);
                assertEquals(0, r.code(), name + " " + h + ": " + r.err());
                assertTrue(r.out().startsWith("Usage: squeeze " + name), name + " " + h + ": " + r.out());
            }
        }
        assertEquals(0, run("help", "run").code());
    }

    @Test
    void controlCharactersInNamesArePrintedEscaped() {
        String name = dir.resolve("\u001b[31mred\u001b]0;title\u0007\u202e.bin").toString();
        CliSmokeTest.Result r = run("inspect", name);
        assertEquals(SqueezeCli.EXIT_INPUT, r.code(), r.err());
        assertTrue(r.err().contains("\\x1b[31mred\\x1b]0;title\\x07\\u202e.bin does not exist"), r.err());
        assertFalse(r.err().contains("\u001b") || r.err().contains("\u0007") || r.err().contains("\u202e"), r.err());
        // Line structure stays: the message and its fix on their own lines.
        assertTrue(r.err().contains("\n  Fix: "), r.err());
        // A usage error quotes what was typed: escaped too.
        CliSmokeTest.Result usage = run("inspect", "--\u001b[2J");
        assertEquals(SqueezeCli.EXIT_USAGE, usage.code());
        assertTrue(usage.err().contains("'--\\x1b[2J'") && !usage.err().contains("\u001b"), usage.err());
    }

    @Test
    void theEscapingKeepsTextAndLineBreaks() {
        assertEquals("plain ünïcödé 模型\n\tx", TerminalText.escape("plain ünïcödé 模型\n\tx"));
        assertEquals("a\\x0db\\x7f\\x9b\\u2028\\u2066", TerminalText.escape("a\rb\u007f\u009b\u2028\u2066"));
        assertEquals("line\r\n", TerminalText.escape("line\r\n"));
        StringWriter raw = new StringWriter();
        PrintWriter escaping = TerminalText.escaping(new PrintWriter(raw));
        escaping.print("\u001b[1mx");
        TerminalText.raw(escaping).print("\r");
        escaping.flush();
        assertEquals("\\x1b[1mx\r", raw.toString());
    }

    @Test
    void anEmptyOrFolderDatabaseIsRejected() throws Exception {
        CliSmokeTest.Result empty = run("--db", "", "jobs");
        assertEquals(SqueezeCli.EXIT_INPUT, empty.code());
        assertTrue(empty.err().startsWith("squeeze: --db is empty") && empty.err().contains("Fix: give the database's"),
                empty.err());
        assertFalse(Files.exists(Path.of(".mv.db")), "no database named .mv.db in the working folder");
        CliSmokeTest.Result blank = run("--db", "  ", "runs");
        assertEquals(SqueezeCli.EXIT_INPUT, blank.code(), blank.err());

        CliSmokeTest.Result folder = run("--db", dir.toString(), "jobs");
        assertEquals(SqueezeCli.EXIT_INPUT, folder.code());
        assertTrue(folder.err().contains("--db " + dir + " is a folder") && folder.err().contains(
                "--db " + dir.resolve("results")), folder.err());
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count(), "nothing created in the folder");
        }
        // The database file's own name works as its base path.
        CliSmokeTest.Result own = run("--db", dir.resolve("r.mv.db").toString(), "jobs");
        assertEquals(0, own.code(), own.err());
        assertTrue(Files.exists(dir.resolve("r.mv.db")) && !Files.exists(dir.resolve("r.mv.db.mv.db")));
    }

    @Test
    void aDeviceOrAFifoIsNotAModelAndIsNotRead() throws Exception {
        assumeTrue(Files.exists(Path.of("/dev/zero")), "no /dev/zero here");
        CliSmokeTest.Result zero = run("inspect", "/dev/zero");
        assertEquals(SqueezeCli.EXIT_INPUT, zero.code());
        assertTrue(zero.err().contains("Cannot open model /dev/zero: it is a character device, not a file"), zero.err());

        Path fifo = dir.resolve("model.bin");
        int made = new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor();
        assumeTrue(made == 0, "mkfifo failed");
        // Opening a FIFO for reading waits for a writer that never comes: the CLI must not open it.
        CliSmokeTest.Result r = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> run("inspect", fifo.toString()));
        assertEquals(SqueezeCli.EXIT_INPUT, r.code());
        assertTrue(r.err().contains("it is a FIFO (named pipe), not a file"), r.err());
    }

    @Test
    void aWorkerHeapTheJvmCannotUseIsBadInputBeforeAnythingRuns() throws Exception {
        Path p = plan("p.json", "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4}}");
        Path db = dir.resolve("db/results");
        for (String[] c : new String[][]{{"1k", "--worker-heap is 1k (1,024 bytes); a worker needs at least 64m"},
                {"99999g", "--worker-heap is 99999g (99999.0 GiB), more than this machine's"},
                {"4gb", "--worker-heap is '4gb', which is not a heap size"}}) {
            CliSmokeTest.Result r = run("--db", db.toString(), "run", "fashion-mlp", "--plan", p.toString(),
                    "--worker-heap", c[0]);
            assertEquals(SqueezeCli.EXIT_INPUT, r.code(), r.err());
            assertTrue(r.err().startsWith("squeeze: " + c[1]), r.err());
            assertTrue(r.err().contains("of memory"), "says what the machine has: " + r.err());
        }
        assertFalse(Files.exists(db.getParent()), "no database opened, no job queued");
    }

    @Test
    void heapSizesFollowTheJvmsSyntaxAndTheMachinesMemory() {
        long machine = 16L << 30;
        assertEquals("64m", WorkerHeap.check("64m", "--worker-heap", machine));
        assertEquals("2G", WorkerHeap.check(" 2G ", "--worker-heap", machine));
        assertEquals("16g", WorkerHeap.check("16g", "--worker-heap", machine));
        assertEquals(String.valueOf(1L << 30), WorkerHeap.check(String.valueOf(1L << 30), "x", machine));
        String m = assertThrows(SqueezeException.class, () -> WorkerHeap.check("63m", "SQUEEZE_WORKER_HEAP", machine))
                .getMessage();
        assertTrue(m.startsWith("SQUEEZE_WORKER_HEAP is 63m (63.0 MiB); a worker needs at least 64m"), m);
        m = assertThrows(SqueezeException.class, () -> WorkerHeap.check("17g", "--worker-heap", machine)).getMessage();
        assertTrue(m.contains("more than this machine's 16.0 GiB of memory") && m.contains("give at most 16g"), m);
        m = assertThrows(SqueezeException.class,
                () -> WorkerHeap.check("99999999999999999999t", "--worker-heap", machine)).getMessage();
        assertTrue(m.contains("more than 8 EiB"), m);
        for (String bad : new String[]{"", "g", "-1g", "1.5g", "1 g", "0x10m"}) {
            assertThrows(SqueezeException.class, () -> WorkerHeap.check(bad, "--worker-heap", machine), bad);
        }
    }

    @Test
    void badPlanFilesAreBadInputNamingTheFile() throws Exception {
        Files.write(dir.resolve("latin1.json"), "{\"schema\":1,\"description\":\"é\"}".getBytes(StandardCharsets.ISO_8859_1));
        plan("empty.json", "");
        plan("big-number.json", "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":" + "9".repeat(1001) + "}}");
        for (String[] c : new String[][]{{"latin1.json", "is not UTF-8 text: the byte 0xE9 at offset 27"},
                {"empty.json", ": The plan is empty"},
                {"big-number.json", ": The plan is not valid JSON: Number value length (1001) exceeds the maximum"}}) {
            CliSmokeTest.Result r = run("--db", dir.resolve("r").toString(), "run", "fashion-mlp", "--plan",
                    dir.resolve(c[0]).toString());
            assertEquals(SqueezeCli.EXIT_INPUT, r.code(), r.err());
            assertTrue(r.err().startsWith("squeeze: Plan file " + dir.resolve(c[0])) && r.err().contains(c[1]), r.err());
            assertNoStackTrace(r);
        }
    }

    @Test
    void aBacktrackingRegexIsBadInputAndAHugeGroupSizeRuns() throws Exception {
        String model = TinyModels.writeMlp(dir, 1).toString();
        Path[] idx = TinyModels.writeIdx(dir, TinyModels.images(20, 2));
        String db = dir.resolve("db/results").toString();
        // Layer names as long as a Llama's: java.util.regex copes with (.*){20}X on "fc1", not on these.
        String llama = SharedData.require("models/stories260K/stories260K.bin").toString();
        Path regex = plan("regex.json", "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4},"
                + "\"overrides\":[{\"match\":\"regex:(.*){20}X\",\"method\":\"rtn\",\"bits\":8}]}");
        CliSmokeTest.Result r = assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> run("--db", db, "run", llama, "--plan", regex.toString()));
        assertEquals(SqueezeCli.EXIT_INPUT, r.code(), r.err());
        assertTrue(r.err().contains("overrides[0] (match regex:(.*){20}X): field 'match': the pattern takes too long"
                + " to match layer names (more than 1,000,000 steps on 'model.layers.0.self_attn.q_proj')"), r.err());

        // Once the worker failed with an index out of bounds: (cols + g - 1) / g overflowed.
        Path huge = plan("huge-group.json",
                "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4,\"groupSize\":2147483647}}");
        r = run("--db", db, "run", model, "--plan", huge.toString(), "--images", idx[0].toString(), "--labels",
                idx[1].toString());
        assertEquals(0, r.code(), r.out() + r.err());
        // A group wider than the row is one group per row: the same size and accuracy as per-row RTN.
        Path perRow = plan("per-row.json", "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4}}");
        CliSmokeTest.Result p = run("--db", db, "run", model, "--plan", perRow.toString(), "--images",
                idx[0].toString(), "--labels", idx[1].toString());
        assertEquals(0, p.code(), p.out() + p.err());
        assertEquals(lastRowNumbers(p.out()), lastRowNumbers(r.out()));
    }

    /** The size, bits per weight and metric columns of the last row of a runs table. */
    private static String lastRowNumbers(String out) {
        String last = out.strip().lines().reduce((a, b) -> b).orElseThrow();
        String[] cols = last.trim().split("\\s{2,}");
        return String.join(" ", java.util.Arrays.copyOfRange(cols, cols.length - 3, cols.length));
    }

    @Test
    void sweepNamesEveryPlanFileThatCannotBeReadOrDoesNotFit() throws Exception {
        String model = TinyModels.writeMlp(dir, 1).toString();
        Path plans = Files.createDirectory(dir.resolve("plans"));
        Files.writeString(plans.resolve("a.json"), "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4}}");
        Files.writeString(plans.resolve("b.json"), "{\"schema\":1,\"defualts\":{}}");
        Files.writeString(plans.resolve("c.json"), "");
        String db = dir.resolve("db/results").toString();
        CliSmokeTest.Result r = run("--db", db, "sweep", model, "--plans", plans.toString());
        assertEquals(SqueezeCli.EXIT_INPUT, r.code(), r.err());
        assertTrue(r.err().startsWith("squeeze: 2 of 3 plan files in " + plans + " cannot be read; no job was queued:"),
                r.err());
        assertTrue(r.err().contains("Plan file " + plans.resolve("b.json") + ": The plan is invalid (1 problem)")
                && r.err().contains("unknown field 'defualts'"), r.err());
        assertTrue(r.err().contains("Plan file " + plans.resolve("c.json") + ": The plan is empty"), r.err());

        Files.writeString(plans.resolve("b.json"),
                "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4},\"overrides\":[{\"layer\":\"fc9\",\"method\":\"none\"}]}");
        Files.writeString(plans.resolve("c.json"), "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":9}}");
        r = run("--db", db, "sweep", model, "--plans", plans.toString());
        assertEquals(SqueezeCli.EXIT_INPUT, r.code(), r.err());
        assertTrue(r.err().startsWith("squeeze: 2 of 3 plans do not fit tiny-mlp; no job was queued:"), r.err());
        assertTrue(r.err().contains("Plan file " + plans.resolve("b.json") + ": The plan does not fit the model"
                + " (1 problem):\n  - overrides[0] (layer fc9): field 'layer' names no layer of the model"), r.err());
        assertTrue(r.err().contains("Plan file " + plans.resolve("c.json") + ": The plan does not fit the model"), r.err());
        assertFalse(r.err().contains("a.json"), r.err());
        CliSmokeTest.Result jobs = run("--db", db, "jobs", "--format", "json");
        assertEquals(0, jobs.code(), jobs.err());
        assertFalse(jobs.out().contains("\"id\""), "no job was queued: " + jobs.out());

        r = run("--db", db, "sweep", model, "--grid", "method=rtn", "--grid", "bits=4,9");
        assertEquals(SqueezeCli.EXIT_INPUT, r.code(), r.err());
        assertTrue(r.err().contains("1 of 2 plans does not fit tiny-mlp")
                && r.err().contains("Grid plan 'method=rtn bits=9': The plan does not fit"), r.err());
    }

    @Test
    void runningOutOfMemoryIsBadInputWithTheHeapAndTheKnob() {
        StringWriter err = new StringWriter();
        int code = SqueezeCli.failed(new OutOfMemoryError("Java heap space"), new PrintWriter(err, true),
                "running 'squeeze inspect'");
        assertEquals(SqueezeCli.EXIT_INPUT, code);
        assertTrue(err.toString().startsWith("squeeze: Squeeze ran out of memory (Java heap space; the heap may grow"
                + " to "), err.toString());
        assertTrue(err.toString().contains("MB) while running 'squeeze inspect'\n  Fix: ")
                && err.toString().contains("SQUEEZE_HEAP="), err.toString());

        // Wrapped (thrown in another thread and rethrown) it is still running out of memory.
        err.getBuffer().setLength(0);
        assertEquals(SqueezeCli.EXIT_INPUT, SqueezeCli.failed(new IllegalStateException(new OutOfMemoryError()),
                new PrintWriter(err, true), "x"));
        assertTrue(err.toString().contains("ran out of memory"), err.toString());

        long gib = 1L << 30;
        String m = dev.squeeze.engine.ResourceErrors.outOfMemory(new OutOfMemoryError("Java heap space"), "running 'squeeze run'", 4 * gib, 16 * gib);
        assertTrue(m.contains("the heap may grow to 4,096 MB") && m.contains("SQUEEZE_HEAP=8g ./squeeze ... (this"
                + " machine has 16.0 GiB)"), m);
        m = dev.squeeze.engine.ResourceErrors.outOfMemory(new OutOfMemoryError(), "x", 15 * gib, 16 * gib);
        assertTrue(m.contains("has no more memory to give"), m);
    }

    @Test
    void anErrorEscapingACommandIsReportedWithoutAStackTrace() {
        // An Error thrown while the CLI writes its output (picocli hands only Exceptions to its handlers).
        for (Error e : new Error[]{new OutOfMemoryError("Java heap space"), new StackOverflowError()}) {
            Writer failing = new Writer() {
                @Override
                public void write(char[] buf, int off, int len) {
                    throw e;
                }

                @Override
                public void flush() {
                }

                @Override
                public void close() {
                }
            };
            StringWriter err = new StringWriter();
            int code = SqueezeCli.execute(new String[]{"--version"}, new PrintWriter(failing), new PrintWriter(err, true));
            if (e instanceof OutOfMemoryError) {
                assertEquals(SqueezeCli.EXIT_INPUT, code, err.toString());
                assertTrue(err.toString().startsWith("squeeze: Squeeze ran out of memory"), err.toString());
            } else {
                assertEquals(SqueezeCli.EXIT_INTERNAL, code, err.toString());
                assertTrue(err.toString().startsWith("squeeze: internal error while running 'squeeze':"
                        + " java.lang.StackOverflowError"), err.toString());
            }
            assertFalse(err.toString().contains("\tat "), err.toString());
        }
    }
}
