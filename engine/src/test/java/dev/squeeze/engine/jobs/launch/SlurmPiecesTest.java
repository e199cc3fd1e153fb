package dev.squeeze.engine.jobs.launch;

import dev.squeeze.engine.SqueezeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Slurm launcher's pieces that need no cluster: settings, the batch script, the file transport, Slurm's reasons. */
class SlurmPiecesTest {
    @TempDir
    Path dir;

    @Test
    void settingsAreCheckedWithMessagesThatSayWhatToGive() {
        assertTrue(assertThrows(SqueezeException.class, () -> SlurmSettings.of(null)).getMessage()
                .contains("need a shared directory"));
        assertTrue(assertThrows(SqueezeException.class, () -> SlurmSettings.of("relative/dir")).getMessage()
                .contains("not an absolute path"));
        assertTrue(assertThrows(SqueezeException.class, () -> new SlurmSettings("/s", null, null, 0, null, null, null,
                null, null, List.of())).getMessage().contains("--slurm-cpus is 0"));
        assertTrue(assertThrows(SqueezeException.class, () -> new SlurmSettings("/s", null, null, 1, "8 GB", null,
                null, null, null, List.of())).getMessage().contains("'8 GB' is not a size"));
        assertTrue(assertThrows(SqueezeException.class, () -> new SlurmSettings("/s", null, null, 1, null, "2h",
                null, null, null, List.of())).getMessage().contains("'2h' is not a time"));
        assertTrue(assertThrows(SqueezeException.class, () -> new SlurmSettings("/s", "gpu;rm", null, 1, null, null,
                null, null, null, List.of())).getMessage().contains("partition 'gpu;rm'"));
        assertTrue(assertThrows(SqueezeException.class, () -> new SlurmSettings("/s", null, null, 1, null, null,
                null, null, null, List.of("qos=short"))).getMessage().contains("not an option"));
        for (String t : List.of("30", "30:00", "2:00:00", "1-12", "1-12:30", "1-12:30:00", "UNLIMITED")) {
            assertEquals(t, new SlurmSettings("/s", null, null, 1, null, t, null, null, null, List.of()).timeLimit());
        }
    }

    @Test
    void settingsTravelWithTheJobAsJsonAndGiveTheHeapFromTheMemory() {
        SlurmSettings s = new SlurmSettings("/shared/sq", "debug", "lab", 4, "8G", "2:00:00", "/opt/jdk-25",
                "/etc/slurm/other.conf", null, List.of("--qos=short"));
        assertEquals(s, SlurmSettings.fromJson(s.toJson()));
        assertEquals("6553m", s.defaultHeap(), "80 % of 8 GiB, in MiB");
        assertEquals("819m", new SlurmSettings("/s", null, null, 1, "1024", null, null, null, null, List.of())
                .defaultHeap(), "a number without a unit is megabytes, as sbatch --mem takes it");
        assertNull(SlurmSettings.of("/s").defaultHeap(), "no memory given: the JVM's own default");
        SlurmSettings env = SlurmSettings.fromEnvironment(Map.of("SQUEEZE_SLURM_SHARED_DIR", "/nfs/sq",
                "SQUEEZE_SLURM_PARTITION", "short", "SQUEEZE_SLURM_CPUS", "2", "SQUEEZE_SLURM_MEM", "4G"));
        assertEquals(new SlurmSettings("/nfs/sq", "short", null, 2, "4G", null, null, null, null, List.of()), env);
        assertTrue(assertThrows(SqueezeException.class, () -> SlurmSettings.fromEnvironment(Map.of(
                "SQUEEZE_SLURM_SHARED_DIR", "/s", "SQUEEZE_SLURM_CPUS", "two"))).getMessage().contains("'two'"));
    }

    @Test
    void theBatchScriptExecsTheWorkerWithEveryArgumentQuotedAndTheOptionsCarryTheSettings() {
        String script = SlurmLauncher.script(7, List.of("/opt/jdk/bin/java", "-Dsqueeze.x=it's here", "-cp", "/a b/c.jar"));
        assertTrue(script.startsWith("#!/bin/sh\n"));
        assertTrue(script.contains("exec '/opt/jdk/bin/java' '-Dsqueeze.x=it'\\''s here' '-cp' '/a b/c.jar'\n"), script);
        SlurmLauncher l = new SlurmLauncher(new SlurmSettings("/s", "debug", "lab", 2, "4G", "1:00:00", null, null,
                null, List.of("--qos=short")), Path.of("/s/squeeze-k"));
        List<String> o = l.sbatchOptions(7, Path.of("/s/squeeze-k/job-7/slurm-1"), Path.of("/s/squeeze-k/job-7.log"));
        for (String want : List.of("--job-name=squeeze-7", "--cpus-per-task=2", "--mem=4G", "--time=1:00:00",
                "--partition=debug", "--account=lab", "--chdir=/s/squeeze-k/job-7/slurm-1", "--no-requeue",
                "--output=/s/squeeze-k/job-7.log", "--qos=short")) {
            assertTrue(o.contains(want), want + " in " + o);
        }
    }

    @Test
    void theWorkersClassPathIsAbsoluteBecauseItStartsInItsJobsFolder() {
        String cwd = Path.of("").toAbsolutePath().toString();
        assertEquals(cwd + "/engine/target/classes:/opt/sq/lib/a.jar:" + cwd + "/lib/*",
                WorkerJvm.absoluteClassPath("engine/target/classes:/opt/sq/lib/./a.jar::lib/*"));
    }

    @Test
    void aFollowedFileGivesOnlyCompleteLinesAndWhatWasAppendedSince() throws Exception {
        Path f = dir.resolve("out.jsonl");
        FollowedFile follow = new FollowedFile(f);
        assertEquals(List.of(), follow.poll(), "no file yet: no lines");
        Files.writeString(f, "{\"a\":1}\n{\"b\":", StandardCharsets.UTF_8);
        assertEquals(List.of("{\"a\":1}"), follow.poll(), "the half-written second line waits");
        Files.writeString(f, "2}\nnäh\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        assertEquals(List.of("{\"b\":2}", "näh"), follow.poll());
        assertEquals(List.of(), follow.poll());
        FollowedFile.append(f, "{\"c\":3}");
        assertEquals(List.of("{\"c\":3}"), follow.poll());
        Files.writeString(f, "x\n");
        assertThrows(java.io.IOException.class, follow::poll, "a file that shrank was replaced: not read on");
    }

    @Test
    void slurmsWayOfEndingAJobBecomesAReasonThatSaysWhatToDo() {
        SlurmLauncher l = new SlurmLauncher(SlurmSettings.of("/s"), new SlurmCommands(null, null), dir);
        SlurmWorker w = new SlurmWorker(l, "42", dir.resolve("w"), dir.resolve("job-1.log"), 0);
        assertTrue(w.why(info("TIMEOUT", "TimeLimit=00:10:00", "NodeList=node2")).contains(
                "Slurm stopped Slurm job 42 on node2 at its time limit (00:10:00); resume the job"));
        assertTrue(w.why(info("OUT_OF_MEMORY", "MinMemoryNode=4G")).contains("more than its memory (4G)"));
        assertTrue(w.why(info("NODE_FAIL", "Reason=NodeDown", "NodeList=node1")).contains(
                "the node running Slurm job 42 on node1 failed (Slurm: NODE_FAIL, reason NodeDown)"));
        assertTrue(w.why(info("PREEMPTED")).contains("preempted"));
        assertTrue(w.why(info("CANCELLED")).contains("Slurm cancelled Slurm job 42"));
        assertTrue(w.why(info("FAILED", "ExitCode=0:9")).contains("killed by signal 9"));
        assertTrue(w.why(info("FAILED", "ExitCode=5:0")).contains("could not write its messages to the shared directory"));
        assertTrue(w.why(Optional.empty()).contains("Slurm no longer knows Slurm job 42"));
    }

    private static Optional<SlurmCommands.JobInfo> info(String state, String... more) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("JobState", state);
        for (String kv : more) {
            f.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        }
        return Optional.of(new SlurmCommands.JobInfo(f));
    }
}
