package dev.squeeze.app;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the launcher says when JavaFX cannot open a window, instead of its stack trace. */
class MainTest {
    @Test
    void aMissingGtkNamesThePackageToInstall() {
        String m = Main.cannotStart(new UnsupportedOperationException("Unable to load glass GTK library."));
        assertTrue(m.startsWith("the workbench cannot start") && m.contains("libgtk-3-0") && m.contains("--help"), m);
    }

    @Test
    void noDisplaySaysHowToRunHeadless() {
        String m = Main.cannotStart(new UnsupportedOperationException("Unable to open DISPLAY"));
        assertTrue(m.contains("xvfb-run"), m);
    }
}
