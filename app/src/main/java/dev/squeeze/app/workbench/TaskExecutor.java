package dev.squeeze.app.workbench;

import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Where view-models run engine work (JabRef's TaskExecutor pattern): the workbench passes an
 * {@link EngineExecutor} (a background thread, results handed back on the FX thread); view-model tests pass
 * {@code InlineExecutor}, which runs everything on the calling thread, so their logic is tested without a toolkit.
 */
public interface TaskExecutor {
    /** Runs {@code work} off the FX thread; then {@code onDone} or, with a person-readable message, {@code onError}. */
    <T> void submit(Supplier<T> work, Consumer<T> onDone, Consumer<String> onError);

    /** Runs {@code work} after the tasks submitted before it; failures are only logged. */
    void execute(Runnable work);

    /** Runs {@code update} where the view's properties may be changed (the FX thread in the workbench). */
    void publish(Runnable update);

    /**
     * An executor for long work (an export that recomputes a run) that must not hold up the short reads queued on
     * this one; the same executor where everything runs inline anyway (tests).
     */
    default TaskExecutor dedicated(String name) {
        return this;
    }
}
