package dev.squeeze.engine.runs;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.store.RunRecord;

import java.util.Optional;

/**
 * What a compression run reports and asks while it works: progress per phase and per layer, whether it should
 * stop, and per-layer checkpoints to resume from. A run in the calling process uses {@link #NONE}; a job worker
 * reports over the job protocol and keeps checkpoints on disk.
 *
 * <p>Layers are numbered 0..total-1 in the order the run compresses them (the plan's order for classifiers;
 * block by block for language models), which is also the order of their checkpoints.
 */
public interface RunHooks {
    /** The phases of a run, in order. */
    enum Phase {
        /**
         * The last two are a search's: per-layer sensitivity on calibration data, then the allocation (proxy
         * allocator, EvoPress generations); a search's level database is built in COMPRESSION.
         */
        LOADING, CALIBRATION, COMPRESSION, EVALUATION, SENSITIVITY, SEARCH;

        public String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** A layer restored from a checkpoint. */
    record Restored(CompressedTensor tensor, RunRecord.LayerResult result) {
    }

    RunHooks NONE = new RunHooks() {
    };

    /** A new phase begins; {@code detail} says what (e.g. "block 2 of 5"), may be empty. */
    default void phase(Phase phase, String detail) {
    }

    /**
     * Progress within the current phase: {@code done} of {@code total} {@code unit}s (e.g. calibration windows,
     * evaluation tokens or images), {@code 0 <= done <= total}; a total of 0 (nothing to count) is not progress and
     * is ignored by implementations. Called often (every window, sequence or batch); an implementation that
     * reports further throttles.
     */
    default void progress(Phase phase, long done, long total, String unit) {
    }

    /** Something the user should know that does not stop the run (a budget a front cannot reach). */
    default void warning(String message) {
    }

    /** Layer {@code index} of {@code total} begins. */
    default void layerStarted(int index, int total, String layer) {
    }

    /** Layer {@code index} of {@code total} is done (computed, or restored from its checkpoint). */
    default void layerDone(int index, int total, String layer, boolean restored) {
    }

    /** Called often (between layers, calibration windows and evaluation sequences): throws to stop the run. */
    default void checkCancelled() {
    }

    /** The checkpoint of layer {@code index}, if one is stored and intact. */
    default Optional<Restored> restore(int index, String layer) {
        return Optional.empty();
    }

    /** Stores the checkpoint of a finished layer. */
    default void save(int index, String layer, CompressedTensor tensor, RunRecord.LayerResult result) {
    }

    /**
     * The state a long job saved under {@code key} ({@link #saveState}), e.g. a search's last finished generation;
     * empty when none was saved (or in the calling process, which does not resume).
     */
    default Optional<byte[]> loadState(String key) {
        return Optional.empty();
    }

    /** Saves a job's state under {@code key}, replacing what was there, atomically; a job resumes from it. */
    default void saveState(String key, byte[] state) {
    }

    /**
     * A folder for work that outlives one job and is shared by all of them (a search's level database), or empty
     * to keep such work in memory only.
     */
    default Optional<java.nio.file.Path> sharedCacheDir() {
        return Optional.empty();
    }
}
