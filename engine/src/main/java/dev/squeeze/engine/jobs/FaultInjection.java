package dev.squeeze.engine.jobs;

import dev.squeeze.engine.kernels.NativeFaults;
import dev.squeeze.engine.runs.RunHooks;

import java.util.ArrayList;
import java.util.List;

/**
 * Faults a worker injects into itself on purpose, so tests can show that the job engine survives them. Only
 * read from the system property {@code squeeze.worker.fault}, which nothing but tests sets; a comma-separated list
 * of:
 * <ul>
 *   <li>{@code hang-after-layer:N}: after layer N is done (and checkpointed), wait forever (to be killed with
 *       kill -9 at a known point);</li>
 *   <li>{@code segfault-after-layer:N}: after layer N, crash in native code (SIGSEGV; needs the native kernels
 *       and {@code -Dsqueeze.test.faults=true});</li>
 *   <li>{@code oom-after-layer:N}: after layer N, fill the heap until the JVM runs out of memory;</li>
 *   <li>{@code slow-layer:N:MILLIS}: spend MILLIS inside layer N, checking for cancellation as a long layer
 *       does (to cancel mid-layer);</li>
 *   <li>{@code hang-in-calibration:N}: when a calibration pass begins after N layers are done, wait there until
 *       cancelled (a cancel, or the parent's end);</li>
 *   <li>{@code hang-after-state:N}: after the worker saved its Nth piece of job state (a search saves one after
 *       every EvoPress generation and after every stored point; counted from the worker's start), wait forever (to
 *       be killed with kill -9 in the middle of a search);</li>
 *   <li>{@code hang-after-result:0}: after sending the finished run, wait until cancelled instead of exiting;</li>
 *   <li>{@code slow-evaluation:0:MILLIS}: after each evaluation progress report that goes out (before the last),
 *       spend MILLIS checking for cancellation (so a test sees an evaluation take long enough to report several
 *       times).</li>
 * </ul>
 * The last two stop as soon as the parent is gone, so a test that kills the parent does not wait for the orphan.
 * {@code squeeze.worker.fault.jobs}, a comma-separated list of job ids, limits the faults to those jobs.
 */
final class FaultInjection {
    private record Fault(String kind, int layer, long millis) {
    }

    private final List<Fault> faults;

    private FaultInjection(List<Fault> faults) {
        this.faults = faults;
    }

    static FaultInjection fromSystemProperty(long jobId) {
        String spec = System.getProperty("squeeze.worker.fault", "").trim();
        String jobs = System.getProperty("squeeze.worker.fault.jobs", "").trim();
        List<Fault> out = new ArrayList<>();
        boolean forThisJob = jobs.isEmpty() || java.util.Arrays.stream(jobs.split(",")).map(String::trim)
                .anyMatch(j -> j.equals(Long.toString(jobId)));
        if (!spec.isEmpty() && forThisJob) {
            for (String part : spec.split(",")) {
                String[] f = part.trim().split(":");
                out.add(new Fault(f[0], Integer.parseInt(f[1]), f.length > 2 ? Long.parseLong(f[2]) : 0));
            }
        }
        return new FaultInjection(out);
    }

    void inLayer(int index, RunHooks hooks) {
        for (Fault f : faults) {
            if (f.kind.equals("slow-layer") && f.layer == index) {
                long end = System.nanoTime() + f.millis * 1_000_000;
                while (System.nanoTime() < end) {
                    hooks.checkCancelled();
                    sleep(10);
                }
            }
        }
    }

    void inPhase(RunHooks.Phase phase, int layersDone, RunHooks hooks) {
        if (phase == RunHooks.Phase.CALIBRATION) {
            hangIf("hang-in-calibration", layersDone, hooks);
        }
    }

    void afterProgress(RunHooks.Phase phase, long done, long total, RunHooks hooks) {
        if (phase != RunHooks.Phase.EVALUATION || done >= total) {
            return;
        }
        for (Fault f : faults) {
            if (f.kind.equals("slow-evaluation")) {
                long end = System.nanoTime() + f.millis * 1_000_000;
                while (System.nanoTime() < end) {
                    hooks.checkCancelled();
                    sleep(10);
                }
            }
        }
    }

    void afterResult(RunHooks hooks) {
        hangIf("hang-after-result", 0, hooks);
    }

    private void hangIf(String kind, int at, RunHooks hooks) {
        for (Fault f : faults) {
            if (f.kind.equals(kind) && f.layer == at) {
                System.err.println("fault injection: " + kind + " " + at);
                while (true) {
                    hooks.checkCancelled();
                    sleep(10);
                }
            }
        }
    }

    void afterState(int saved) {
        for (Fault f : faults) {
            if (f.kind.equals("hang-after-state") && f.layer == saved) {
                System.err.println("fault injection: hanging after state " + saved);
                while (true) {
                    sleep(1000);
                }
            }
        }
    }

    void afterLayer(int index) {
        for (Fault f : faults) {
            if (f.layer != index) {
                continue;
            }
            switch (f.kind) {
                case "hang-after-layer" -> {
                    System.err.println("fault injection: hanging after layer " + index);
                    while (true) {
                        sleep(1000);
                    }
                }
                case "segfault-after-layer" -> NativeFaults.segfault();
                case "oom-after-layer" -> {
                    List<long[]> hog = new ArrayList<>();
                    while (true) {
                        hog.add(new long[1 << 20]);
                    }
                }
                default -> {
                }
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
