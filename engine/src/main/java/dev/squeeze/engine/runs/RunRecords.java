package dev.squeeze.engine.runs;

import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.store.RunRecord;

/** Pieces of a {@link RunRecord} that every kind of run builds the same way. */
final class RunRecords {
    private RunRecords() {
    }

    static RunRecord.ModelRecord model(Model model) {
        return new RunRecord.ModelRecord(model.contentHash(), model.name(), model.source(), model.format(),
                model.architecture(), model.parameterCount(), model.storedBytes());
    }
}
