package dev.squeeze.engine.cli;

import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CliSmokeTest {
    @TempDir
    Path dir;

    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = SqueezeCli.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void helpListsTheCommandsAndExitCodes() {
        Result r = run("--help");
        assertEquals(0, r.code());
        for (String cmd : new String[]{"inspect", "rtn", "runs", "Exit codes"}) {
            assertTrue(r.out().contains(cmd), r.out());
        }
    }

    @Test
    void inspectRtnAndRunsWorkEndToEnd() throws Exception {
        Path model = TinyModels.writeMlp(dir, 1);
        Path[] idx = TinyModels.writeIdx(dir, TinyModels.images(40, 2));
        String db = dir.resolve("db/results").toString();

        Result inspect = run("inspect", model.toString());
        assertEquals(0, inspect.code(), inspect.err());
        assertTrue(inspect.out().contains("fc1") && inspect.out().contains("32 × 64") && inspect.out().contains("2,080"),
                inspect.out());

        Result rtn = run("--db", db, "rtn", model.toString(), "--bits", "8,4", "--images", idx[0].toString(),
                "--labels", idx[1].toString());
        assertEquals(0, rtn.code(), rtn.err());
        assertTrue(rtn.out().contains("Stored 3 runs"), rtn.out());

        Result csv = run("--db", db, "runs", "--format", "csv");
        assertEquals(0, csv.code(), csv.err());
        assertEquals(4, csv.out().strip().lines().count(), csv.out());
        assertTrue(csv.out().contains("RTN 4-bit asym per-row"), csv.out());

        Result json = run("--db", db, "runs", "--format", "json", "--model", "tiny-mlp");
        assertEquals(0, json.code(), json.err());
        assertTrue(json.out().contains("\"label\" : \"dense f32\""), json.out());
    }

    @Test
    void badInputGivesOneClearMessageAndExitCode3() {
        Result missing = run("inspect", dir.resolve("nope.safetensors").toString());
        assertEquals(SqueezeCli.EXIT_INPUT, missing.code());
        assertTrue(missing.err().contains("nope.safetensors") && missing.err().contains("Fix:"), missing.err());
        assertFalse(missing.err().contains("\tat "), "no stack trace: " + missing.err());

        Result bits = run("--db", dir.resolve("r").toString(), "rtn", "--bits", "9");
        assertEquals(SqueezeCli.EXIT_INPUT, bits.code());
        assertTrue(bits.err().contains("'bits'") && bits.err().contains("9"), bits.err());

        Result usage = run("inspect", "--frobnicate");
        assertEquals(SqueezeCli.EXIT_USAGE, usage.code());
    }
}
