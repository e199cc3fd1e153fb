package dev.squeeze.engine.cli;

import dev.squeeze.engine.jobs.JobEvent;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Shows job progress: on a terminal one status line redrawn in place (a bar per running job, at most three),
 * with finished jobs printed above it; when output is piped or captured, plain lines — one per phase, finished
 * layer and end — that a log or a script can read.
 */
final class ProgressPrinter implements Consumer<JobEvent> {
    private static final int BAR = 24;

    private final PrintWriter out;
    /** The same output unescaped, for the carriage returns that redraw the status line (see TerminalText). */
    private final PrintWriter raw;
    private final boolean terminal;
    private final Map<Long, JobEvent> latest = new TreeMap<>();
    private int lastWidth;

    ProgressPrinter(PrintWriter out, boolean terminal) {
        this.out = out;
        this.raw = TerminalText.raw(out);
        this.terminal = terminal;
    }

    /** Whether standard output is an interactive terminal (not a pipe, a file or a test's writer). */
    static boolean stdoutIsTerminal(PrintWriter out, PrintWriter systemOut) {
        return out == systemOut && System.console() != null && System.console().isTerminal();
    }

    @Override
    public synchronized void accept(JobEvent e) {
        if (e.kind() == JobEvent.Kind.PLACED && e.message() != null && e.message().startsWith("local")) {
            return; // a local worker's pid is in 'squeeze jobs'; a Slurm job's id and node are worth a line
        }
        if (!terminal) {
            if ((e.kind() != JobEvent.Kind.LAYER || !"started".equals(e.message()))
                    && e.kind() != JobEvent.Kind.PROGRESS) {
                out.println(e.describe());
                out.flush();
            }
            return;
        }
        if (e.kind() == JobEvent.Kind.ENDED || e.kind() == JobEvent.Kind.WARNING || e.kind() == JobEvent.Kind.PLACED) {
            clearLine();
            out.println(e.describe());
            if (e.kind() == JobEvent.Kind.ENDED) {
                latest.remove(e.jobId());
            }
        } else {
            latest.put(e.jobId(), e);
        }
        redraw();
    }

    private void redraw() {
        StringBuilder line = new StringBuilder();
        int shown = 0;
        for (JobEvent e : latest.values()) {
            if (shown++ == 3) {
                line.append(" (+").append(latest.size() - 3).append(" more)");
                break;
            }
            int total = Math.max(e.layersTotal(), 1);
            int filled = e.layersTotal() == 0 ? 0 : (int) Math.round((double) BAR * e.layersDone() / total);
            line.append(shown > 1 ? "  " : "").append(String.format(Locale.ROOT, "job %d [%s%s] %d/%d %s",
                    e.jobId(), "#".repeat(filled), "-".repeat(BAR - filled), e.layersDone(), e.layersTotal(),
                    e.phase() == null ? "starting" : TerminalText.escape(e.phase())));
        }
        clearLine();
        raw.print(line);
        lastWidth = line.length();
        raw.flush();
    }

    private void clearLine() {
        if (lastWidth > 0) {
            raw.print("\r" + " ".repeat(lastWidth) + "\r");
            lastWidth = 0;
        }
    }

    /** Ends the status line (call when the last job has ended). */
    synchronized void finish() {
        if (terminal) {
            clearLine();
            raw.flush();
        }
    }
}
