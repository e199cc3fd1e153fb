package dev.squeeze.app;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the launcher says when JavaFX cannot open a window or a backend setting is wrong, instead of a stack trace. */
class MainTest {
    @Test
    void aMissingGtkNamesThePackageToInstall() {
        String m = Main.cannotStart(new UnsupportedOperationException("Unable to load glass GTK library."));
        assertTrue(m.startsWith("the workbench cannot start") && m.contains("libgtk-3-0") && m.contains("--help"), m);
    }

    @Test
    void aMistypedBackendPropertyIsReportedBeforeTheWindowOpens() {
        assertNull(Main.backendSettingsProblem(), "no squeeze.backend property is set in this test JVM");
        System.setProperty("squeeze.backend.packd", "java");
        try {
            String m = Main.backendSettingsProblem();
            assertTrue(m != null && m.startsWith("-Dsqueeze.backend.packd is not a Squeeze setting")
                    && m.contains("squeeze.backend.packed") && m.contains("Fix: "), m);
        } finally {
            System.clearProperty("squeeze.backend.packd");
        }
        System.setProperty("squeeze.backend.sparse", "cuda");
        try {
            String m = Main.backendSettingsProblem();
            assertTrue(m != null && m.startsWith("-Dsqueeze.backend.sparse=cuda names no backend")
                    && m.contains("[native, java]"), m);
        } finally {
            System.clearProperty("squeeze.backend.sparse");
        }
    }

    @Test
    void noDisplaySaysHowToRunHeadless() {
        String m = Main.cannotStart(new UnsupportedOperationException("Unable to open DISPLAY"));
        assertTrue(m.contains("xvfb-run"), m);
    }
}
