package dev.squeeze.engine.jobs.launch;

import dev.squeeze.engine.jobs.protocol.ParentMessage;
import dev.squeeze.engine.jobs.protocol.WorkerMessage;

import java.util.function.Consumer;

/**
 * The parent's side of one job's worker, wherever it runs: a process on this machine (the local launcher) or a
 * Slurm job on a cluster node ({@link SlurmLauncher}). The job protocol is the same; only how its lines travel
 * differs (pipes, or two files in the shared directory).
 */
public interface Worker {
    /** Sends a message to the worker (a worker that is gone is not an error: its end is read from how it ended). */
    void send(ParentMessage m);

    /** Reads the worker's messages until its job ends (or {@link #detach} is called), and says how it ended. */
    WorkerEnding readUntilEnd(Consumer<WorkerMessage> onMessage);

    /** Ends the worker now: kills the local process, or {@code scancel}s the Slurm job. */
    void destroy();

    /**
     * The parent is closing. A local worker is ended (it cannot outlive its parent's pipes); a Slurm job is left
     * running, {@link #readUntilEnd} returns at once with {@link WorkerEnding#detached()}, and a later
     * {@code squeeze resume} reconnects to it.
     */
    void detach();

    /** Where the worker runs, as far as known now (a Slurm job's node is known once it starts). */
    Placement placement();

    /** Adds a line to the job's log (the worker's standard error). */
    void appendToLog(String line);
}
