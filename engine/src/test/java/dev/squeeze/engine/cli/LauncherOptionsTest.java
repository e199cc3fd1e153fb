package dev.squeeze.engine.cli;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.jobs.launch.SlurmSettings;
import dev.squeeze.engine.store.JobRow;
import dev.squeeze.engine.store.JobStatus;
import dev.squeeze.engine.store.ResultsStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.squeeze.engine.cli.CliSmokeTest.Result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --launcher} and the {@code --slurm-*} options as the engine gets them (with the environment injected, so
 * that the machine's own variables do not matter), their usage errors, and the WHERE column of {@code squeeze jobs}.
 */
class LauncherOptionsTest {
    @TempDir
    Path dir;

    /** Parses {@code args} as the CLI does and returns the command's engine options, with {@code env} as the environment. */
    private static JobsSupport.EngineOptions parse(Map<String, String> env, String... args) {
        CommandLine cl = new CommandLine(new SqueezeCli());
        CommandLine.ParseResult parsed = cl.parseArgs(args);
        Object command = parsed.subcommand().commandSpec().userObject();
        JobsSupport.EngineOptions o = switch (command) {
            case RunCommand r -> r.engineOptions;
            case SweepCommand s -> s.engineOptions;
            case SearchCommand s -> s.engineOptions;
            case ResumeCommand r -> r.engineOptions;
            default -> throw new AssertionError(command);
        };
        o.env = env;
        return o;
    }

    private static JobEngine.Options run(Map<String, String> env, String... options) {
        List<String> args = new ArrayList<>(List.of("run", "model", "--plan", "plan.json"));
        args.addAll(List.of(options));
        return parse(env, args.toArray(String[]::new)).toOptions();
    }

    @Test
    void withoutOptionsJobsRunHereOneAtATime() {
        JobEngine.Options o = run(Map.of());
        assertEquals(JobEngine.Launcher.LOCAL, o.launcher());
        assertEquals(1, o.workers());
        assertNull(o.workerHeap());
        assertEquals(JobEngine.Launcher.LOCAL, run(Map.of("SQUEEZE_LAUNCHER", "local")).launcher());
        assertEquals(3, run(Map.of(), "--workers", "3").workers());
    }

    @Test
    void everySlurmOptionReachesTheSettingsAndSixtyFourJobsAreInFlight() {
        JobEngine.Options o = run(Map.of(), "--launcher", "slurm", "--slurm-shared-dir", "/shared/squeeze",
                "--slurm-partition", "debug", "--slurm-account", "lab42", "--slurm-cpus", "2", "--slurm-mem", "4G",
                "--slurm-time", "1:00:00", "--slurm-java-home", "/opt/jdk-25", "--slurm-conf", "/etc/slurm/lab.conf",
                "--slurm-bin", "/opt/slurm/bin", "--slurm-arg", "--qos=short", "--slurm-arg=--exclusive");
        assertEquals(new SlurmSettings("/shared/squeeze", "debug", "lab42", 2, "4G", "1:00:00", "/opt/jdk-25",
                "/etc/slurm/lab.conf", "/opt/slurm/bin", List.of("--qos=short", "--exclusive")), o.launcher().slurm());
        assertEquals("slurm", o.launcher().kind());
        assertEquals(JobsSupport.SLURM_WORKERS, o.workers());
        assertEquals(64, o.workers());
        assertNull(o.workerHeap(), "the worker's heap then follows --slurm-mem");

        JobEngine.Options two = run(Map.of(), "--launcher", "slurm", "--slurm-shared-dir", "/shared", "--workers", "2");
        assertEquals(2, two.workers());
        assertEquals(SlurmSettings.of("/shared"), two.launcher().slurm());
    }

    @Test
    void theEnvironmentGivesDefaultsThatOptionsOverride() {
        Map<String, String> env = Map.of("SQUEEZE_LAUNCHER", "slurm", "SQUEEZE_SLURM_SHARED_DIR", "/nfs/squeeze",
                "SQUEEZE_SLURM_PARTITION", "batch", "SQUEEZE_SLURM_CPUS", "4", "SQUEEZE_SLURM_MEM", "16G",
                "SQUEEZE_SLURM_TIME", "2:00:00", "SQUEEZE_SLURM_JAVA_HOME", "/opt/jdk", "SLURM_CONF", "/etc/s.conf",
                "SQUEEZE_SLURM_BIN", "/opt/slurm/bin", "SQUEEZE_WORKER_HEAP", "2g");
        JobEngine.Options o = run(env);
        assertEquals(new SlurmSettings("/nfs/squeeze", "batch", null, 4, "16G", "2:00:00", "/opt/jdk", "/etc/s.conf",
                "/opt/slurm/bin", List.of()), o.launcher().slurm());
        assertEquals(64, o.workers());
        assertEquals("2g", o.workerHeap());

        JobEngine.Options over = run(env, "--slurm-partition", "debug", "--slurm-cpus", "1", "--worker-heap", "3g");
        assertEquals("debug", over.launcher().slurm().partition());
        assertEquals(1, over.launcher().slurm().cpusPerTask());
        assertEquals("16G", over.launcher().slurm().memory());
        assertEquals("3g", over.workerHeap());

        // --launcher local wins over SQUEEZE_LAUNCHER=slurm.
        assertEquals(JobEngine.Launcher.LOCAL, run(env, "--launcher", "local").launcher());
        // The same variables for sweep and search.
        assertEquals("slurm", parse(env, "sweep", "model", "--grid", "method=rtn").toOptions().launcher().kind());
        assertEquals("slurm", parse(env, "search", "model", "--budget-bpw", "4").toOptions().launcher().kind());
    }

    @Test
    void aRelativeSharedDirectoryBecomesAbsolute() {
        JobEngine.Options o = run(Map.of(), "--launcher", "slurm", "--slurm-shared-dir", "shared/sq");
        assertEquals(Path.of("shared/sq").toAbsolutePath().normalize().toString(), o.launcher().slurm().sharedDir());
    }

    @Test
    void resumeMovesJobsOnlyWithAnExplicitLauncher() {
        Map<String, String> env = Map.of("SQUEEZE_LAUNCHER", "slurm", "SQUEEZE_SLURM_SHARED_DIR", "/nfs/squeeze");
        JobEngine.Options stay = parse(env, "resume", "--all").toResumeOptions();
        assertNull(stay.launcher(), "without --launcher, each job goes back where it was submitted");
        assertEquals(1, stay.workers());

        JobEngine.Options toSlurm = parse(env, "resume", "--all", "--launcher", "slurm", "--slurm-cpus", "2")
                .toResumeOptions();
        assertEquals(new SlurmSettings("/nfs/squeeze", null, null, 2, null, null, null, null, null, List.of()),
                toSlurm.launcher().slurm());
        assertEquals(64, toSlurm.workers());
        assertEquals(JobEngine.Launcher.LOCAL,
                parse(env, "resume", "--all", "--launcher", "local").toResumeOptions().launcher());
    }

    @Test
    void resumedJobsThatAllGoBackToSlurmHaveSixtyFourInFlight() {
        JobRow slurm1 = row(1, "slurm"), slurm2 = row(2, "slurm"), local = row(3, "local");
        JobEngine.Options stay = parse(Map.of(), "resume", "--all").toResumeOptions();
        assertEquals(64, ResumeCommand.forJobs(stay, false, List.of(slurm1, slurm2)).workers());
        assertEquals(1, ResumeCommand.forJobs(stay, false, List.of(slurm1, local)).workers(),
                "local workers are not started 64 at a time");
        assertEquals(5, ResumeCommand.forJobs(stay.withWorkers(5), true, List.of(slurm1, slurm2)).workers());
        JobEngine.Options here = parse(Map.of(), "resume", "--all", "--launcher", "local").toResumeOptions();
        assertEquals(1, ResumeCommand.forJobs(here, false, List.of(slurm1, slurm2)).workers(),
                "--launcher local brings them here");
    }

    private static JobRow row(long id, String launcher) {
        return new JobRow(id, "{}", "0".repeat(64), "m", "job " + id, JobStatus.FAILED, null, null, null, 1, 0, 2,
                null, "failed", null, launcher, null, "1" + id, "node1", null);
    }

    @Test
    void slurmOptionsWithoutTheSlurmLauncherAreAUsageError() {
        CommandLine.ParameterException noLauncher = assertThrows(CommandLine.ParameterException.class,
                () -> run(Map.of(), "--slurm-partition", "debug", "--slurm-cpus", "2"));
        assertTrue(noLauncher.getMessage().contains("--slurm-partition, --slurm-cpus")
                && noLauncher.getMessage().contains("--launcher slurm"), noLauncher.getMessage());
        // Resume ignores SQUEEZE_LAUNCHER: --slurm-* there needs --launcher slurm itself.
        CommandLine.ParameterException resume = assertThrows(CommandLine.ParameterException.class,
                () -> parse(Map.of("SQUEEZE_LAUNCHER", "slurm"), "resume", "--all", "--slurm-mem", "4G").toResumeOptions());
        assertTrue(resume.getMessage().contains("where it was submitted"), resume.getMessage());

        // Through the CLI: exit code 2 with the message, before any database is opened.
        Path db = dir.resolve("db/results");
        Result local = CliSmokeTest.run("--db", db.toString(), "run", "model", "--plan", "plan.json",
                "--launcher", "local", "--slurm-shared-dir", "/shared");
        assertEquals(SqueezeCli.EXIT_USAGE, local.code(), local.err());
        assertTrue(local.err().contains("--slurm-shared-dir is for --launcher slurm, not local"), local.err());
        Result resumeCli = CliSmokeTest.run("--db", db.toString(), "resume", "--all", "--slurm-cpus", "2");
        assertEquals(SqueezeCli.EXIT_USAGE, resumeCli.code(), resumeCli.err());
        assertTrue(resumeCli.err().contains("--slurm-cpus without --launcher slurm"), resumeCli.err());
        Result unknown = CliSmokeTest.run("--db", db.toString(), "sweep", "model", "--launcher", "cloud");
        assertEquals(SqueezeCli.EXIT_USAGE, unknown.code(), unknown.err());
        assertTrue(unknown.err().contains("local, slurm"), unknown.err());
        assertFalse(Files.exists(db.getParent()), "nothing was opened");
    }

    @Test
    void badSlurmSettingsAreBadInputNamingTheSetting() {
        SqueezeException noShared = assertThrows(SqueezeException.class, () -> run(Map.of(), "--launcher", "slurm"));
        assertTrue(noShared.getMessage().contains("--slurm-shared-dir"), noShared.getMessage());
        SqueezeException launcher = assertThrows(SqueezeException.class,
                () -> run(Map.of("SQUEEZE_LAUNCHER", "cloud")));
        assertTrue(launcher.getMessage().contains("SQUEEZE_LAUNCHER is 'cloud'"), launcher.getMessage());
        SqueezeException cpus = assertThrows(SqueezeException.class, () -> run(Map.of("SQUEEZE_SLURM_CPUS", "two",
                "SQUEEZE_SLURM_SHARED_DIR", "/s"), "--launcher", "slurm"));
        assertTrue(cpus.getMessage().contains("SQUEEZE_SLURM_CPUS is 'two'"), cpus.getMessage());
        SqueezeException heap = assertThrows(SqueezeException.class, () -> run(Map.of(), "--launcher", "slurm",
                "--slurm-shared-dir", "/s", "--slurm-mem", "4G", "--worker-heap", "4g"));
        assertTrue(heap.getMessage().contains("--worker-heap is 4g") && heap.getMessage().contains("--slurm-mem 4G")
                && heap.getMessage().contains("at most 3276m"), heap.getMessage());
        // A heap larger than this machine is fine for a node (Slurm's --mem bounds it there).
        assertEquals("64t", run(Map.of(), "--launcher", "slurm", "--slurm-shared-dir", "/s", "--worker-heap", "64t")
                .workerHeap());

        // Through the CLI: exit code 3 with the fix.
        Result mem = CliSmokeTest.run("--db", dir.resolve("r").toString(), "run", "model", "--plan", "plan.json",
                "--launcher", "slurm", "--slurm-shared-dir", "/shared", "--slurm-mem", "lots");
        assertEquals(SqueezeCli.EXIT_INPUT, mem.code(), mem.err());
        assertTrue(mem.err().contains("Slurm memory 'lots' is not a size") && mem.err().contains("Fix:"), mem.err());
        assertFalse(mem.err().contains("\tat "), mem.err());
    }

    @Test
    void theHelpOfEveryJobCommandListsTheLauncherAndItsSettings() {
        for (String command : List.of("run", "sweep", "search", "resume")) {
            Result r = CliSmokeTest.run(command, "--help");
            assertEquals(0, r.code(), r.err());
            String help = r.out().replaceAll("\\s+", " ");
            for (String option : List.of("--launcher=local|slurm", "--slurm-shared-dir=DIR", "--slurm-partition=NAME",
                    "--slurm-account=NAME", "--slurm-cpus=N", "--slurm-mem=SIZE", "--slurm-time=TIME",
                    "--slurm-java-home=DIR", "--slurm-conf=FILE", "--slurm-bin=DIR", "--slurm-arg=OPT")) {
                assertTrue(help.contains(option), command + " " + option + ": " + help);
            }
            // '%' written as such, not a format error.
            assertTrue(help.contains("the worker's heap is 80 % of it"), help);
            assertTrue(help.contains("with --launcher slurm 64"), help);
        }
        Result check = CliSmokeTest.run("cluster", "check", "--help");
        assertEquals(0, check.code(), check.err());
        assertTrue(check.out().contains("--slurm-shared-dir=DIR") && !check.out().contains("--launcher"), check.out());
    }

    @Test
    void jobsShowsWhereEachJobRanInAnAlignedColumn() {
        Path db = dir.resolve("db/results");
        try (ResultsStore store = ResultsStore.openFile(db)) {
            String settings = SlurmSettings.of("/shared").toJson();
            long a = store.jobs().add("{}", "1".repeat(64), "/models/a.safetensors", "rtn4", "slurm", settings, "/shared/squeeze-k");
            store.jobs().placed(a, "12", "node2");
            store.jobs().end(a, JobStatus.FAILED, "Slurm: time limit");
            long b = store.jobs().add("{}", "2".repeat(64), "/models/b.safetensors", "a much longer label than usual,"
                    + " rtn 3-bit per group", "local", null, null);
            store.jobs().placed(b, "4711", "laptop");
            store.jobs().end(b, JobStatus.CANCELLED, "cancelled");
            long c = store.jobs().add("{}", "3".repeat(64), "/models/c.safetensors", "red\u001b[31m", "slurm", settings, "/shared/squeeze-k");
            store.jobs().end(c, JobStatus.CANCELLED, "cancelled before it started");
        }
        Result r = CliSmokeTest.run("--db", db.toString(), "jobs");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(4, lines.size(), r.out());
        String header = lines.getFirst();
        int where = header.indexOf("WHERE");
        int last = header.indexOf("MODEL / REASON");
        assertTrue(where > header.indexOf("RUN") && last > where, header);
        assertEquals(List.of("Slurm job 12 on node2", "local, pid 4711 on laptop", "Slurm"),
                lines.subList(1, 4).stream().map(l -> l.substring(where, last).strip()).toList(), r.out());
        assertEquals(List.of("Slurm: time limit", "cancelled", "cancelled before it started"),
                lines.subList(1, 4).stream().map(l -> l.substring(last)).toList(), r.out());
        assertTrue(lines.get(3).contains("red\\x1b[31m"), "a control character is escaped: " + lines.get(3));
    }
}
