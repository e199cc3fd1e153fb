package dev.squeeze.app.workbench;

import dev.squeeze.engine.SqueezeException;

import java.util.function.Consumer;
import java.util.function.Supplier;

/** Runs view-model work on the calling thread, so view-model tests need no JavaFX toolkit. */
public final class InlineExecutor implements TaskExecutor {
    @Override
    public <T> void submit(Supplier<T> work, Consumer<T> onDone, Consumer<String> onError) {
        T result;
        try {
            result = work.get();
        } catch (SqueezeException e) {
            onError.accept(e.getMessage());
            return;
        }
        onDone.accept(result);
    }

    @Override
    public void execute(Runnable work) {
        work.run();
    }

    @Override
    public void publish(Runnable update) {
        update.run();
    }
}
