package dev.squeeze.app.settings;

import dev.squeeze.app.settings.ClusterSettingsViewModel.Field;
import dev.squeeze.app.workbench.InlineExecutor;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.jobs.launch.SlurmSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Settings ▸ Run jobs on, without a JavaFX toolkit: checked as typed, saved, and the cluster check's report. */
class ClusterSettingsViewModelTest {
    @TempDir
    Path dir;
    private final List<String> errors = new ArrayList<>();

    private SettingsViewModel open(Path file) {
        return new SettingsViewModel(SettingsStore.file(file), new InlineExecutor(), 4, 1, errors::add);
    }

    @Test
    void thisComputerIsTheDefaultAndGivesTheLocalLauncher() {
        ClusterSettingsViewModel c = open(dir.resolve("s.properties")).cluster();
        assertEquals(RunOn.LOCAL, c.runOn().get());
        assertEquals(JobEngine.Launcher.LOCAL, c.launcher().get());
        assertNull(c.launcherProblem().get());
        assertNull(c.slurmSettings().get(), "no shared directory yet");
        assertTrue(c.problem(Field.SHARED_DIR).get().contains("need a shared directory"));
    }

    @Test
    void aBadMemoryTimeOrRelativeDirectoryShowsSlurmSettingsOwnMessageAtItsField() {
        ClusterSettingsViewModel c = open(dir.resolve("s.properties")).cluster();
        c.runOn().set(RunOn.SLURM);
        c.text(Field.SHARED_DIR).set("shared/squeeze");
        c.text(Field.MEMORY).set("8X");
        c.text(Field.TIME).set("2 hours");
        c.text(Field.PARTITION).set("gpu nodes");

        assertEquals("The Slurm shared directory 'shared/squeeze' is not an absolute path\n"
                        + "  Fix: give the absolute path every node mounts it at, e.g. /shared/squeeze",
                c.problem(Field.SHARED_DIR).get());
        assertTrue(c.problem(Field.MEMORY).get().startsWith("Slurm memory '8X' is not a size\n  Fix: "),
                c.problem(Field.MEMORY).get());
        assertTrue(c.problem(Field.TIME).get().startsWith("Slurm time limit '2 hours' is not a time\n  Fix: "),
                c.problem(Field.TIME).get());
        assertTrue(c.problem(Field.PARTITION).get().startsWith("Slurm partition 'gpu nodes' is not a name"),
                c.problem(Field.PARTITION).get());
        assertNull(c.problem(Field.ACCOUNT).get(), "an empty account is the user's default");
        assertNull(c.launcher().get(), "no launcher while a field is wrong");
        assertNull(c.slurmSettings().get());
        assertTrue(c.launcherProblem().get().startsWith("The Slurm settings have a problem: The Slurm shared"
                + " directory 'shared/squeeze' is not an absolute path"), c.launcherProblem().get());

        // Fixed one by one: the problems go, and the settings are what was typed.
        c.text(Field.SHARED_DIR).set(dir.toString());
        c.text(Field.MEMORY).set("8G");
        c.text(Field.TIME).set("2:00:00");
        c.text(Field.PARTITION).set("debug");
        for (Field f : Field.values()) {
            assertNull(c.problem(f).get(), f.name());
        }
        assertEquals(JobEngine.Launcher.slurm(new SlurmSettings(dir.toString(), "debug", null, 1, "8G", "2:00:00",
                null, null, null, List.of())), c.launcher().get());
        assertNull(c.launcherProblem().get());

        // Back to this computer: local jobs, whatever the Slurm fields say.
        c.text(Field.MEMORY).set("lots");
        c.runOn().set(RunOn.LOCAL);
        assertEquals(JobEngine.Launcher.LOCAL, c.launcher().get());
        assertNull(c.launcherProblem().get());
        assertTrue(c.problem(Field.MEMORY).get().startsWith("Slurm memory 'lots' is not a size"));
    }

    @Test
    void javaHomeAndSlurmConfMustBeAbsolutePaths() {
        ClusterSettingsViewModel c = open(dir.resolve("s.properties")).cluster();
        c.text(Field.JAVA_HOME).set("jdk-25");
        c.text(Field.SLURM_CONF).set("etc/slurm.conf");
        assertTrue(c.problem(Field.JAVA_HOME).get().startsWith("'jdk-25' is not an absolute path"));
        assertTrue(c.problem(Field.SLURM_CONF).get().startsWith("'etc/slurm.conf' is not an absolute path"));
        c.text(Field.JAVA_HOME).set("/opt/jdk-25");
        c.text(Field.SLURM_CONF).set("");
        assertNull(c.problem(Field.JAVA_HOME).get());
        assertNull(c.problem(Field.SLURM_CONF).get(), "empty: the system's slurm.conf");
    }

    @Test
    void everySlurmSettingSurvivesARestart() {
        Path file = dir.resolve("settings.properties");
        ClusterSettingsViewModel c = open(file).cluster();
        c.runOn().set(RunOn.SLURM);
        c.text(Field.SHARED_DIR).set(dir.toString());
        c.text(Field.PARTITION).set("long");
        c.text(Field.ACCOUNT).set("lab-7");
        c.cpus().set(4);
        c.text(Field.MEMORY).set("16G");
        c.text(Field.TIME).set("1-00:00");
        c.text(Field.JAVA_HOME).set("/opt/jdk-25");
        c.text(Field.SLURM_CONF).set("/etc/slurm-lab/slurm.conf");

        ClusterSettingsViewModel again = open(file).cluster();
        assertEquals(RunOn.SLURM, again.runOn().get());
        SlurmSettings expected = new SlurmSettings(dir.toString(), "long", "lab-7", 4, "16G", "1-00:00",
                "/opt/jdk-25", "/etc/slurm-lab/slurm.conf", null, List.of());
        assertEquals(expected, again.slurmSettings().get());
        assertEquals(JobEngine.Launcher.slurm(expected), again.launcher().get());

        // What is typed is kept as typed, also when it is wrong (the user comes back to fix it).
        again.text(Field.MEMORY).set("16 gigs");
        again.cpus().set(5000);
        assertEquals(ClusterSettingsViewModel.MAX_CPUS, again.cpus().get(), "clamped");
        ClusterSettingsViewModel third = open(file).cluster();
        assertEquals("16 gigs", third.text(Field.MEMORY).get());
        assertEquals(ClusterSettingsViewModel.MAX_CPUS, third.cpus().get());
        assertNull(third.launcher().get());
        assertTrue(errors.isEmpty(), errors.toString());
    }

    @Test
    void checkingWithSettingsThatHaveAProblemSaysWhichWithoutRunningAnything() {
        ClusterSettingsViewModel c = open(dir.resolve("s.properties")).cluster();
        c.runOn().set(RunOn.SLURM);
        c.text(Field.SHARED_DIR).set("relative");
        c.checkCluster();
        assertEquals("✗ The Slurm shared directory 'relative' is not an absolute path — give the absolute path every"
                + " node mounts it at, e.g. /shared/squeeze", c.checkReport().get());
        assertFalse(c.checking().get());
    }

    /** A fake Slurm: {@code sinfo} prints a partition, {@code srun} runs its command as node "node7" would. */
    private Path fakeSlurm(String sinfoBody) throws IOException {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        script(bin.resolve("sinfo"), sinfoBody);
        script(bin.resolve("srun"), """
                while [ "${1#--}" != "$1" ]; do shift; done
                export SLURMD_NODENAME=node7
                exec "$@"
                """);
        return bin;
    }

    private static void script(Path file, String body) throws IOException {
        Files.writeString(file, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private SlurmSettings settings(Path shared, Path bin) {
        return new SlurmSettings(shared.toString(), null, null, 1, null, null, null, null,
                bin == null ? null : bin.toString(), List.of());
    }

    @Test
    void theCheckReportsSinfoTheSharedDirectoryHereAndWhatANodeWrote() throws IOException {
        Path bin = fakeSlurm("echo 'PARTITION AVAIL TIMELIMIT NODES STATE NODELIST'\necho 'debug* up infinite 1 idle node7'\n");
        Path shared = Files.createDirectories(dir.resolve("shared"));
        String report = ClusterSettingsViewModel.check(settings(shared, bin));
        assertEquals(String.join("\n",
                "✓ sinfo answers:",
                "    PARTITION AVAIL TIMELIMIT NODES STATE NODELIST",
                "    debug* up infinite 1 idle node7",
                "✓ This machine can write " + shared,
                "✓ Node node7 wrote a file in " + shared + " and this machine sees it"), report);
        try (var left = Files.list(shared)) {
            assertEquals(List.of(), left.toList(), "the probes' files are removed");
        }
    }

    @Test
    void theCheckSaysWhatFailedAndSkipsTheNodeWhenSinfoOrTheDirectoryDoNot() throws IOException {
        Path bin = fakeSlurm("echo 'slurm_load_partitions: Unable to contact slurm controller' >&2\nexit 1\n");
        Path missing = dir.resolve("not-there");
        String report = ClusterSettingsViewModel.check(settings(missing, bin));
        assertEquals(String.join("\n",
                "✗ sinfo failed (exit 1): slurm_load_partitions: Unable to contact slurm controller",
                "✗ The shared directory " + missing + " does not exist on this machine",
                "– A node's view of the shared directory was not checked (fix the lines above first)"), report);

        String noSlurm = ClusterSettingsViewModel.check(settings(dir, dir.resolve("no-bin")));
        assertTrue(noSlurm.startsWith("✗ Cannot run the Slurm command 'sinfo' ("), noSlurm);
        assertTrue(noSlurm.contains(" — install Slurm's client commands"), noSlurm);
        assertTrue(noSlurm.contains("✓ This machine can write " + dir), noSlurm);
    }

    @Test
    void aNodeThatCannotWriteTheSharedDirectoryIsNamed() throws IOException {
        Path bin = fakeSlurm("echo 'debug* up infinite 1 idle node7'\n");
        // The node sees another filesystem: its write fails as a read-only mount would.
        script(bin.resolve("srun"), "echo 'sh: 1: cannot create /shared/x: Read-only file system' >&2\nexit 2\n");
        Path shared = Files.createDirectories(dir.resolve("shared"));
        String report = ClusterSettingsViewModel.check(settings(shared, bin));
        assertTrue(report.endsWith("✗ A node cannot write " + shared
                + ": sh: 1: cannot create /shared/x: Read-only file system"), report);
    }
}
