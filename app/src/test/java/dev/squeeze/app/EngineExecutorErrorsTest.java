package dev.squeeze.app;

import dev.squeeze.app.workbench.EngineExecutor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the workbench's banner says when engine work fails with something other than a SqueezeException. */
class EngineExecutorErrorsTest {
    @Test
    void runningOutOfMemoryIsALimitWithARemedyNotABug() {
        String message = EngineExecutor.describe(new OutOfMemoryError("Java heap space"));
        assertTrue(message.startsWith("Squeeze ran out of memory"), message);
        assertTrue(message.contains("MB of heap") && message.contains("SQUEEZE_HEAP="), message);
        assertFalse(message.contains("bug") || message.contains("java.lang."), message);
    }

    @Test
    void anythingElseIsReportedAsABug() {
        String message = EngineExecutor.describe(new IllegalStateException("boom"));
        assertTrue(message.contains("bug") && message.contains("boom"), message);
    }
}
