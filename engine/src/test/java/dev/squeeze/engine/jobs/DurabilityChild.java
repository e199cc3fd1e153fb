package dev.squeeze.engine.jobs;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.store.CrashPoints;
import dev.squeeze.engine.store.StoreFixtures;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.testing.FaultyDisk;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The process that holds the database in {@link DurabilityMatrixTest}: opens it as the CLI does (upgrading it if
 * needed, marking jobs a dead process left as interrupted), runs one job with a worker, prints every job event on
 * standard output, and exits. The test kills it (or its worker) at a chosen point; for a full disk it fills the
 * simulated disk itself when the point is reached.
 *
 * <p>Arguments: {@code BASE SPEC DISK}. SPEC is a job spec file, or {@code -} to only open the database. DISK is
 * {@code real}, or the point where the simulated disk ({@link FaultyDisk}) fills up: {@code event:TEXT} (the first
 * job event whose description contains TEXT) or {@code point:NAME} (a {@link CrashPoints} name).
 */
public final class DurabilityChild {
    /** Printed once the database is open (and upgraded). */
    static final String OPEN = "durability-child: open";
    /** Printed before a normal exit. */
    static final String DONE = "durability-child: done";

    private DurabilityChild() {
    }

    public static void main(String[] args) throws Exception {
        Path base = Path.of(args[0]);
        String spec = args[1];
        String disk = args[2];
        if (disk.startsWith("point:")) {
            String point = disk.substring("point:".length());
            CrashPoints.onReach(p -> {
                if (p.equals(point)) {
                    FaultyDisk.fillUpAfter(0);
                }
            });
        }
        String event = disk.startsWith("event:") ? disk.substring("event:".length()) : null;
        try (ResultsStore store = disk.equals("real") ? ResultsStore.openFile(base) : StoreFixtures.openOnFaultyDisk(base)) {
            System.out.println(OPEN);
            if (!spec.equals("-")) {
                JobEngine.recoverInterrupted(store.jobs());
                try (JobEngine engine = new JobEngine(store, new JobEngine.Options(1, "512m", DurabilityMatrixTest.QUICK_JVM,
                        Duration.ofSeconds(10)))) {
                    engine.addListener(e -> {
                        String line = e.describe();
                        if (event != null && line.contains(event)) {
                            FaultyDisk.fillUpAfter(0);
                        }
                        System.out.println(line);
                        System.out.flush();
                    });
                    long id = engine.submit(JobSpec.fromJson(Files.readString(Path.of(spec))));
                    engine.await(List.of(id));
                    if (engine.stoppedBy() != null) {
                        System.out.println("squeeze: " + engine.stoppedBy().getMessage());
                    }
                }
            }
        } catch (SqueezeException e) {
            System.out.println("squeeze: " + e.getMessage());
            System.out.flush();
            System.exit(3);
        }
        System.out.println(DONE);
        System.out.flush();
        System.exit(0);
    }
}
