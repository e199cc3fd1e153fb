package dev.squeeze.app.settings;

import dev.squeeze.app.workbench.InlineExecutor;
import dev.squeeze.engine.kernels.Kernels;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Settings kept in a properties file, without a JavaFX toolkit. */
class SettingsViewModelTest {
    @TempDir
    Path dir;
    private final List<String> errors = new ArrayList<>();
    private final String kernelsBefore = System.getProperty(Kernels.BACKEND_PROPERTY);

    @AfterEach
    void restoreKernelProperty() {
        if (kernelsBefore == null) {
            System.clearProperty(Kernels.BACKEND_PROPERTY);
        } else {
            System.setProperty(Kernels.BACKEND_PROPERTY, kernelsBefore);
        }
    }

    private SettingsViewModel open(Path file) {
        return new SettingsViewModel(SettingsStore.file(file), new InlineExecutor(), 4, 2, errors::add);
    }

    @Test
    void everySettingSurvivesARestart() {
        Path file = dir.resolve("settings.properties");
        SettingsViewModel s = open(file);
        assertEquals(2, s.workers().get(), "the default before anything is saved");
        assertEquals(Theme.LIGHT, s.theme().get());
        assertNull(s.windowBounds());

        s.workers().set(3);
        s.theme().set(Theme.DARK);
        s.kernelBackend().set(KernelBackend.JAVA);
        s.setDatabase(dir.resolve("other/results"));
        s.saveWindowBounds(new WindowBounds(40, 30, 1100, 720, false));

        SettingsViewModel again = open(file);
        assertEquals(3, again.workers().get());
        assertEquals(Theme.DARK, again.theme().get());
        assertEquals(KernelBackend.JAVA, again.kernelBackend().get());
        assertEquals(dir.resolve("other/results").toAbsolutePath(), again.database().get());
        assertEquals(dir.resolve("other/results").toAbsolutePath(), again.effectiveDatabase());
        assertEquals(new WindowBounds(40, 30, 1100, 720, false), again.windowBounds());
        assertTrue(errors.isEmpty(), errors.toString());
    }

    @Test
    void workerCountsOutsideTheRangeAreClamped() {
        SettingsViewModel s = open(dir.resolve("s.properties"));
        s.workers().set(9);
        assertEquals(4, s.workers().get());
        s.workers().set(0);
        assertEquals(1, s.workers().get());
    }

    @Test
    void recentModelsKeepTheLastTenNewestFirstWithoutDuplicates() throws IOException {
        Path file = dir.resolve("settings.properties");
        SettingsViewModel s = open(file);
        for (int i = 0; i < 12; i++) {
            s.addRecent(Files.createFile(dir.resolve("m" + i + ".onnx")));
        }
        s.addRecent(dir.resolve("m5.onnx"));
        List<String> names = s.recentModels().stream().map(r -> r.path().getFileName().toString()).toList();
        assertEquals(List.of("m5.onnx", "m11.onnx", "m10.onnx", "m9.onnx", "m8.onnx", "m7.onnx", "m6.onnx",
                "m4.onnx", "m3.onnx", "m2.onnx"), names);

        Files.delete(dir.resolve("m9.onnx"));
        SettingsViewModel again = open(file);
        assertEquals(names, again.recentModels().stream().map(r -> r.path().getFileName().toString()).toList());
        again.checkRecent();
        List<String> missing = again.recentModels().stream().filter(r -> !r.exists())
                .map(r -> r.path().getFileName().toString()).toList();
        assertEquals(List.of("m9.onnx"), missing);

        again.removeRecent(dir.resolve("m9.onnx").toAbsolutePath());
        assertEquals(9, again.recentModels().size());
        assertEquals(9, open(file).recentModels().size(), "the removal is saved");
        again.clearRecent();
        assertTrue(open(file).recentModels().isEmpty());
    }

    @Test
    void theKernelChoiceBecomesThePropertyWorkersInheritAndSaysWhenItApplies() {
        System.clearProperty(Kernels.BACKEND_PROPERTY);
        SettingsViewModel s = open(dir.resolve("settings.properties"));
        s.kernelBackend().set(KernelBackend.JAVA);
        assertEquals("java", System.getProperty(Kernels.BACKEND_PROPERTY));
        assertTrue(s.kernelNote().get().contains("jobs started from now on"), s.kernelNote().get());
        assertTrue(s.kernelNote().get().contains("next start"), s.kernelNote().get());
        s.kernelBackend().set(KernelBackend.AUTO);
        assertNull(System.getProperty(Kernels.BACKEND_PROPERTY), "automatic is no property");

        // Saved "native"; a new start applies it before any engine work.
        s.kernelBackend().set(KernelBackend.NATIVE);
        System.clearProperty(Kernels.BACKEND_PROPERTY);
        SettingsViewModel next = open(dir.resolve("settings.properties"));
        next.applyAtStart();
        assertEquals("native", System.getProperty(Kernels.BACKEND_PROPERTY));
    }

    @Test
    void aCommandLineKernelChoiceWinsAtStart() {
        SettingsViewModel s = open(dir.resolve("settings.properties"));
        s.kernelBackend().set(KernelBackend.NATIVE);
        System.setProperty(Kernels.BACKEND_PROPERTY, "java"); // as -Dsqueeze.backend=java
        SettingsViewModel next = open(dir.resolve("settings.properties"));
        next.applyAtStart();
        assertEquals("java", System.getProperty(Kernels.BACKEND_PROPERTY));
        assertTrue(next.kernelNote().get().contains("-Dsqueeze.backend=java"), next.kernelNote().get());
    }

    @Test
    void anUnreadableSettingsFileFallsBackToDefaultsAndSaysSo() throws IOException {
        Path file = dir.resolve("settings.properties");
        Files.writeString(file, "workers=\\u00zz\n"); // a malformed escape: Properties.load refuses it
        SettingsViewModel s = open(file);
        assertNotNull(s.loadProblem());
        assertTrue(s.loadProblem().contains(file.toString()) && s.loadProblem().contains("defaults"),
                s.loadProblem());
        assertEquals(2, s.workers().get());
    }

    @Test
    void aSettingsFileThatCannotBeWrittenIsReported() throws IOException {
        Path blocker = Files.writeString(dir.resolve("not-a-folder"), "x");
        SettingsViewModel s = open(blocker.resolve("settings.properties"));
        s.theme().set(Theme.DARK);
        assertEquals(1, errors.size(), errors.toString());
        assertTrue(errors.getFirst().contains("Cannot save the settings") && errors.getFirst().contains("Fix:"),
                errors.getFirst());
        assertFalse(errors.getFirst().contains("Exception"), "no exception class name as the message");
    }

    @Test
    void aDamagedWindowEntryIsIgnored() {
        SettingsStore store = SettingsStore.inMemory();
        store.put(SettingsViewModel.WINDOW, "12,x,800,600,false");
        assertNull(new SettingsViewModel(store, new InlineExecutor(), 4, 1, errors::add).windowBounds());
        store.put(SettingsViewModel.WINDOW, "12,30,-5,600,false");
        assertNull(new SettingsViewModel(store, new InlineExecutor(), 4, 1, errors::add).windowBounds());
    }

    @Test
    void aWindowSavedOnAMonitorThatIsGoneOpensOnTheScreen() {
        // Saved at x=3000 on a second monitor; only a 1280×800 screen now.
        WindowBounds b = new WindowBounds(3000, 900, 1400, 900, false).fitTo(0, 0, 1280, 800);
        assertEquals(new WindowBounds(0, 0, 1280, 800, false), b);
        // Saved smaller than the minimum: grown to 1024×700, kept where it was.
        WindowBounds small = new WindowBounds(100, 50, 600, 400, true).fitTo(0, 0, 1920, 1080);
        assertEquals(new WindowBounds(100, 50, 1024, 700, true), small);
    }

    @Test
    void aTypedDatabaseNameLosesH2sSuffix() {
        assertEquals(dir.resolve("r").toAbsolutePath(), SettingsViewModel.databaseBase(dir.resolve("r.mv.db") + " "));
        assertEquals(Path.of(System.getProperty("user.home"), "x", "results").toAbsolutePath(),
                SettingsViewModel.databaseBase("~/x/results"));
    }
}
