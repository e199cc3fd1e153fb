package dev.squeeze.engine.store;

import dev.squeeze.engine.testing.FaultyDisk;

import java.nio.file.Path;

/** For tests outside this package: a file database on the simulated disk ({@link FaultyDisk}). */
public final class FaultyStores {
    private FaultyStores() {
    }

    /** {@link ResultsStore#openFile(Path)} with every file operation going through {@link FaultyDisk}. */
    public static ResultsStore open(Path base) {
        FaultyDisk.register();
        return ResultsStore.openFile(base, FaultyDisk.SCHEME + ":");
    }
}
