package dev.squeeze.engine.cli;

import dev.squeeze.engine.jobs.JobEvent;
import dev.squeeze.engine.store.JobStatus;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProgressPrinterTest {
    private static JobEvent started(long id) {
        return new JobEvent(id, "j" + id, JobEvent.Kind.STARTED, JobStatus.RUNNING, null, null, 0, 0, null, null, null);
    }

    private static JobEvent phase(long id, String phase, String detail, int done, int total) {
        return new JobEvent(id, "j" + id, JobEvent.Kind.PHASE, JobStatus.RUNNING, phase, detail, done, total, null,
                null, null);
    }

    private static JobEvent layer(long id, int done, int total, String layer, String state) {
        return new JobEvent(id, "j" + id, JobEvent.Kind.LAYER, JobStatus.RUNNING, "compression", null, done, total,
                layer, state, null);
    }

    private static JobEvent warning(long id, String text) {
        return new JobEvent(id, "j" + id, JobEvent.Kind.WARNING, JobStatus.RUNNING, "compression", null, 1, 3, null,
                text, null);
    }

    private static JobEvent done(long id, long run) {
        return new JobEvent(id, "j" + id, JobEvent.Kind.ENDED, JobStatus.DONE, null, null, 3, 3, null, null, run);
    }

    private static JobEvent failed(long id, String why) {
        return new JobEvent(id, "j" + id, JobEvent.Kind.ENDED, JobStatus.FAILED, null, null, 1, 3, null, why, null);
    }

    private static String feed(boolean terminal, List<JobEvent> events) {
        StringWriter sw = new StringWriter();
        ProgressPrinter p = new ProgressPrinter(new PrintWriter(sw), terminal);
        events.forEach(p);
        p.finish();
        return sw.toString();
    }

    /** What a terminal shows after the text: each '\r' returns to the start of the line, '\n' ends it. */
    private static List<String> screen(String text) {
        return java.util.Arrays.stream(text.split("\n")).map(l -> {
            // Later text overwrites earlier text from column 0; the clearing uses spaces, so the visible line is
            // the text after the last '\r' padded over what was there (here: the last segment, then trimmed).
            int cr = l.lastIndexOf('\r');
            return cr < 0 ? l : l.substring(cr + 1);
        }).toList();
    }

    @Test
    void pipedOutputIsOnePlainLinePerPhaseFinishedLayerAndEnd() {
        String out = feed(false, List.of(
                started(4),
                phase(4, "loading", null, 0, 0),
                phase(4, "compression", "", 0, 0),
                layer(4, 0, 3, "fc1", "started"),
                layer(4, 1, 3, "fc1", "done"),
                layer(4, 1, 3, "fc2", "started"),
                layer(4, 2, 3, "fc2", "restored"),
                warning(4, "checkpoint of fc3 damaged"),
                phase(4, "evaluation", "block 1 of 2", 3, 3),
                done(4, 17),
                failed(5, "the worker ran out of memory")));
        assertFalse(out.contains("\r"), "no carriage returns when piped");
        assertEquals(List.of(
                "job 4 (j4): started",
                "job 4 (j4): loading",
                "job 4 (j4): compression",
                "job 4 (j4): layer 1/3 fc1 done",
                "job 4 (j4): layer 2/3 fc2 restored",
                "job 4 (j4): warning: checkpoint of fc3 damaged",
                "job 4 (j4): evaluation (block 1 of 2)",
                "job 4 (j4): done, run 17",
                "job 5 (j5): failed: the worker ran out of memory"), out.lines().toList());
    }

    @Test
    void aTerminalGetsABarRedrawnInPlaceAndEndedJobsOnTheirOwnLines() {
        StringWriter sw = new StringWriter();
        ProgressPrinter p = new ProgressPrinter(new PrintWriter(sw), true);
        p.accept(started(1));
        assertEquals("job 1 [" + "-".repeat(24) + "] 0/0 starting", sw.toString(), "first draw, nothing to clear");
        p.accept(phase(1, "compression", null, 0, 3));
        p.accept(layer(1, 1, 3, "fc1", "done"));
        String afterLayer = sw.toString();
        String bar = "job 1 [" + "#".repeat(8) + "-".repeat(16) + "] 1/3 compression";
        assertTrue(afterLayer.endsWith("\r" + bar), afterLayer);
        assertFalse(afterLayer.contains("\n"), "progress stays on one line: " + afterLayer);

        p.accept(started(2));
        p.accept(layer(2, 2, 2, "fc9", "done"));
        String both = sw.toString().substring(afterLayer.length());
        assertTrue(both.endsWith("\r" + bar + "  job 2 [" + "#".repeat(24) + "] 2/2 compression"), both);

        p.accept(done(1, 9));
        p.accept(warning(2, "damaged checkpoint"));
        p.accept(failed(2, "native crash"));
        p.finish();
        String text = sw.toString();
        List<String> lines = screen(text);
        assertEquals("job 1 (j1): done, run 9", lines.get(0));
        assertEquals("job 2 (j2): warning: damaged checkpoint", lines.get(1));
        assertEquals("job 2 (j2): failed: native crash", lines.get(2));
        assertEquals(3, lines.size(), "no status line is left once every job ended: " + lines);
        assertTrue(text.endsWith("native crash\n"), text);
    }

    @Test
    void finishBlanksAStatusLineStillShown() {
        StringWriter sw = new StringWriter();
        ProgressPrinter p = new ProgressPrinter(new PrintWriter(sw), true);
        p.accept(layer(3, 2, 4, "fc2", "done"));
        String bar = "job 3 [" + "#".repeat(12) + "-".repeat(12) + "] 2/4 compression";
        assertEquals(bar, sw.toString());
        p.finish();
        assertEquals(bar + "\r" + " ".repeat(bar.length()) + "\r", sw.toString(),
                "the whole status line is overwritten with spaces and the cursor goes back");
    }

    @Test
    void aTerminalShowsAtMostThreeBars() {
        StringWriter sw = new StringWriter();
        ProgressPrinter p = new ProgressPrinter(new PrintWriter(sw), true);
        for (long id = 1; id <= 5; id++) {
            p.accept(started(id));
        }
        String last = screen(sw.toString()).getLast();
        assertEquals(3, last.split("job ", -1).length - 1, last);
        assertTrue(last.endsWith(" (+2 more)"), last);
        assertTrue(last.startsWith("job 1 ") && last.contains("job 3 ") && !last.contains("job 4 "), last);
    }

    @Test
    void finishOnAPipeAddsNothing() {
        assertEquals("", feed(false, List.of()));
        assertEquals("", feed(true, List.of()));
    }
}
