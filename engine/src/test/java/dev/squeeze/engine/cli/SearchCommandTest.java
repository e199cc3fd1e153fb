package dev.squeeze.engine.cli;

import dev.squeeze.engine.testing.SearchModels;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code squeeze search}: every argument error is a usage error (exit 2) that says what is wrong, never a stack
 * trace, and nothing runs; a small front on a classifier stores its runs and prints them.
 */
class SearchCommandTest {
    @TempDir
    Path dir;

    private CliSmokeTest.Result run(String... args) {
        String[] all = new String[args.length + 2];
        all[0] = "--db";
        all[1] = dir.resolve("results").toString();
        System.arraycopy(args, 0, all, 2, args.length);
        return CliSmokeTest.run(all);
    }

    private static void assertUsageError(CliSmokeTest.Result r, String message) {
        assertEquals(SqueezeCli.EXIT_USAGE, r.code(), r.out() + "\n" + r.err());
        assertTrue(r.err().contains(message), "expected '" + message + "' in: " + r.err());
        assertFalse(r.err().contains("\tat ") || r.err().contains("internal error") || r.err().contains("Exception"),
                r.err());
        assertFalse(r.out().contains("Stored "), "nothing ran: " + r.out());
    }

    @Test
    void argumentErrorsAreUsageErrorsWithTheirMessage() throws Exception {
        Path model = SearchModels.writeMlp(dir, 3);
        Path[] idx = TinyModels.writeIdx(dir, TinyModels.images(100, 4));
        String m = model.toString();
        String[] images = {"--images", idx[0].toString(), "--labels", idx[1].toString()};
        assertUsageError(run("search", m), "Error: Missing required argument (specify one of these)");
        assertUsageError(run("search", m, "--budget-bpw", "4", "--budget-bytes", "1000"),
                "are mutually exclusive");
        assertUsageError(run("search", m, "--front", "2:6"), "--front '2:6' is not FROM:TO:STEP");
        assertUsageError(run("search", m, "--front", "2:x:1"), "--front '2:x:1' has a part that is not a number");
        assertUsageError(run("search", m, "--front", "6:2:0.5"), "The front 6.0:2.0:0.5 is not 0 < FROM ≤ TO ≤ 64");
        assertUsageError(run("search", m, "--budget-bpw", "4", "--time-limit", "10 minutes"),
                "--time-limit '10 minutes' is not a duration");
        assertUsageError(run("search", m, "--budget-bpw", "4", "--time-limit", "0s"), "--time-limit '0s' is zero");
        assertUsageError(run("search", m, "--budget-bpw", "4", "--methods", "rtn,awq"),
                "The search method 'awq' is not known");
        assertUsageError(run("search", m, "--budget-bpw", "0"), "The budget of 0.0 bits per weight is out of range");
        CliSmokeTest.Result hungry = run(concat(new String[]{"search", m, "--budget-bpw", "4", "--methods",
                "rtn,gptq"}, images));
        assertUsageError(hungry, "The search method 'gptq' needs calibration data");
        assertTrue(hungry.err().contains("use some of rtn, magnitude, lowrank"), hungry.err());
    }

    @Test
    void aSmallFrontOnAClassifierStoresAndPrintsItsRuns() throws Exception {
        Path model = SearchModels.writeMlp(dir, 3);
        Path[] idx = TinyModels.writeIdx(dir, TinyModels.images(100, 4));
        CliSmokeTest.Result r = run("search", model.toString(), "--images", idx[0].toString(), "--labels",
                idx[1].toString(), "--front", "5:8:3", "--methods", "rtn", "--no-baselines", "--tag", "front-t");
        assertEquals(0, r.code(), r.out() + "\n" + r.err());
        String out = r.out();
        assertTrue(out.contains("Search front-t on " + model + ": search front 5.0:8.0:3.0 bits/weight; methods rtn;"
                + " proxy allocator; seed 0"), out);
        assertTrue(out.contains("Stored 2 runs in "), out);
        assertTrue(out.contains("(tag front-t)"), out);
        assertTrue(out.contains("search ≤ 5 bits/weight"), out);
        assertTrue(out.contains("search ≤ 8 bits/weight"), out);
        assertTrue(out.contains("BITS/W"), "the runs table: " + out);
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = new String[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
