package dev.squeeze.engine.jobs;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProgressThrottleTest {
    private static final long MS = 1_000_000L;

    @Test
    void letsOneReportThroughPerIntervalPlusTheFirstOfAPhaseAndTheCompleteOne() {
        ProgressThrottle t = new ProgressThrottle(100 * MS);
        assertTrue(t.admit("evaluation", 0, 10, 0), "the first");
        assertFalse(t.admit("evaluation", 1, 10, 50 * MS), "50 ms later");
        assertFalse(t.admit("evaluation", 2, 10, 99 * MS), "99 ms after the last that went out");
        assertTrue(t.admit("evaluation", 3, 10, 100 * MS), "100 ms after");
        assertFalse(t.admit("evaluation", 4, 10, 150 * MS));
        assertTrue(t.admit("evaluation", 10, 10, 160 * MS), "the complete one always");
        assertTrue(t.admit("calibration", 0, 5, 170 * MS), "a new phase's first");
        assertFalse(t.admit("calibration", 1, 5, 180 * MS));
    }

    @Test
    void aPhaseReportingEveryMillisecondForASecondPassesAboutTenTimes() {
        ProgressThrottle t = new ProgressThrottle(ProgressThrottle.INTERVAL_NANOS);
        int passed = 0;
        for (int ms = 0; ms < 1000; ms++) {
            if (t.admit("evaluation", ms, 1000, ms * MS)) {
                passed++;
            }
        }
        // 0, 100, ..., 900 ms
        assertTrue(passed == 10, "passed " + passed);
    }
}
