package dev.squeeze.app.workbench;

import dev.squeeze.engine.ResourceErrors;
import dev.squeeze.engine.SqueezeException;
import javafx.application.Platform;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Runs engine work off the FX thread, one task at a time (the results store has one writer), and hands the
 * result or a person-readable error back on the FX thread. Tasks are never interrupted: cancellation is
 * cooperative, so no thread is stopped inside database I/O.
 */
public final class EngineExecutor implements TaskExecutor, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EngineExecutor.class);
    private final ExecutorService executor;

    public EngineExecutor() {
        this("squeeze-engine");
    }

    /** An executor whose one thread is called {@code threadName} (it shows in logs and thread dumps). */
    public EngineExecutor(String threadName) {
        executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    /** Runs {@code work} in the background; {@code onDone} or {@code onError} then run on the FX thread. */
    @Override
    public <T> void submit(Supplier<T> work, Consumer<T> onDone, Consumer<String> onError) {
        executor.execute(() -> {
            try {
                T result = work.get();
                Platform.runLater(() -> onDone.accept(result));
            } catch (SqueezeException e) {
                LOG.warn("{}", e.getMessage());
                Platform.runLater(() -> onError.accept(e.getMessage()));
            } catch (RuntimeException | Error e) {
                String message = describe(e);
                Platform.runLater(() -> onError.accept(message));
            }
        });
    }

    /** Runs {@code work} in the background, after the tasks submitted before it; errors are only logged. */
    @Override
    public void execute(Runnable work) {
        executor.execute(() -> {
            try {
                work.run();
            } catch (RuntimeException | Error e) {
                describe(e);
            }
        });
    }

    /**
     * Logs an unexpected failure of engine work and returns the words for the user: running out of memory is a
     * limit with a remedy (no stack trace), anything else a bug whose details are in the log.
     */
    public static String describe(Throwable e) {
        Error limit = ResourceErrors.limitIn(e);
        if (limit != null) {
            String message = ResourceErrors.describe(limit, "working in the workbench");
            LOG.error("{}", message);
            return message;
        }
        LOG.error("Unexpected error in the engine", e);
        return "Internal error: " + e + ". This is a bug in Squeeze; the log has the details.";
    }

    /** A second single-thread executor for long work; made once per name, closed with this one. */
    @Override
    public synchronized TaskExecutor dedicated(String name) {
        return dedicated.computeIfAbsent(name, EngineExecutor::new);
    }

    private final java.util.Map<String, EngineExecutor> dedicated = new java.util.HashMap<>();

    @Override
    public void publish(Runnable update) {
        if (Platform.isFxApplicationThread()) {
            update.run();
        } else {
            Platform.runLater(update);
        }
    }

    /** Runs a last task (e.g. closing the store) and waits briefly for it. */
    public void shutdown(Runnable last) {
        shutdown(last, 10);
    }

    /** Runs a last task and waits up to {@code seconds} for it and the tasks before it. */
    public void shutdown(Runnable last, long seconds) {
        synchronized (this) {
            // Long work in flight (daemon threads) ends with the process; no new work starts.
            dedicated.values().forEach(d -> d.executor.shutdown());
        }
        executor.execute(last);
        executor.shutdown();
        try {
            if (!executor.awaitTermination(seconds, TimeUnit.SECONDS)) {
                LOG.warn("Engine work still running at exit");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        shutdown(() -> { });
    }
}
