package dev.squeeze.engine.cli;

import dev.squeeze.engine.jobs.launch.LoopbackSlurm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static dev.squeeze.engine.cli.CliSmokeTest.Result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code squeeze cluster check} against a fake Slurm: a folder of tiny shell scripts named like Slurm's commands
 * (given with --slurm-bin) that print canned {@code sinfo} output and run what is {@code srun}'d here, as "node1"
 * (or the --nodelist node), after dropping srun's options. A broken node is one that sees other paths: its srun
 * rewrites the shared directory and one of Squeeze's class path entries to folders that do not exist, so the real
 * shell there fails as it would on a node without the mount or the install.
 */
class ClusterCheckTest {
    private static final String HEALTHY_NODES = """
            node1|debug*|idle|2|4000
            node2|debug*|mixed|2|4000
            node3|long|down*|8|64000
            """;
    private static final String BROKEN_NODES = """
            node1|debug*|idle|2|4000
            node2|debug*|drained|2|4000
            """;
    private static final String ELSEWHERE = "/nonexistent-on-this-node";

    @TempDir
    Path dir;

    /** A fake Slurm in {@code dir/name}: sinfo answers only with SLURM_CONF = {@code conf}; srun as described above. */
    private Path fakeSlurm(String name, Path conf, String nodes, Map<String, String> nodeSeesElsewhere)
            throws IOException {
        Path bin = Files.createDirectories(dir.resolve(name));
        script(bin, "sinfo", """
                if [ "$SLURM_CONF" != "%s" ]; then
                  echo "sinfo: fatal: Could not establish a configuration source" >&2; exit 1
                fi
                if [ "$1" = "-V" ]; then echo "slurm 23.11.4"; exit 0; fi
                cat <<'EOF'
                %sEOF
                """.formatted(conf, nodes));
        StringBuilder rewrite = new StringBuilder();
        nodeSeesElsewhere.forEach((from, to) -> rewrite.append(" -e 's|").append(from).append('|').append(to).append("|g'"));
        script(bin, "srun", """
                echo "srun $*" >> "$(dirname "$0")/srun.log"
                SLURMD_NODENAME=node1
                while [ $# -gt 0 ]; do
                  case "$1" in
                    --nodelist=*) SLURMD_NODENAME=${1#--nodelist=}; shift;;
                    -*) shift;;
                    *) break;;
                  esac
                done
                export SLURMD_NODENAME
                first=1
                for a do
                  if [ $first = 1 ]; then set --; first=0; fi
                  %s
                  set -- "$@" "$a"
                done
                exec "$@"
                """.formatted(rewrite.isEmpty() ? ":" : "a=$(printf '%s' \"$a\" | sed" + rewrite + ")"));
        for (String other : List.of("sbatch", "squeue", "scontrol", "scancel")) {
            script(bin, other, "echo \"" + other + ": not used by the check\" >&2; exit 1\n");
        }
        return bin;
    }

    private static void script(Path bin, String name, String body) throws IOException {
        Path p = bin.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    /** Runs {@code cluster check args} with {@code env} as its environment; the exit code and what it printed. */
    private static Result check(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        CommandLine cl = new CommandLine(new SqueezeCli());
        cl.setOut(new PrintWriter(out, true));
        List<String> all = new ArrayList<>(List.of("cluster", "check"));
        all.addAll(List.of(args));
        CommandLine.ParseResult parsed = cl.parseArgs(all.toArray(String[]::new));
        ClusterCommand.Check check = (ClusterCommand.Check) parsed.subcommand().subcommand().commandSpec().userObject();
        check.env = env;
        int code = check.call();
        return new Result(code, out.toString(), "");
    }

    private static Map<String, String> env() {
        return Map.of("PATH", System.getenv("PATH"));
    }

    private static List<String> marked(String out, String mark) {
        return out.lines().filter(l -> l.startsWith(mark)).toList();
    }

    @Test
    void aHealthyClusterPassesEveryCheckOnOneNode() throws Exception {
        Path conf = Files.writeString(dir.resolve("slurm.conf"), "ClusterName=fake\n");
        Path bin = fakeSlurm("bin", conf, HEALTHY_NODES, Map.of());
        Path shared = Files.createDirectories(dir.resolve("shared"));
        Result r = check(env(), "--slurm-bin", bin.toString(), "--slurm-conf", conf.toString(),
                "--slurm-shared-dir", shared.toString(), "--slurm-cpus", "2", "--slurm-mem", "2G");
        String out = r.out();
        assertEquals(0, r.code(), out);
        assertEquals(List.of(), marked(out, "✗"), out);
        assertTrue(out.startsWith("Checking Slurm for Squeeze jobs (SLURM_CONF " + conf + "):"), out);
        List<String> passed = marked(out, "✓");
        assertEquals(7, passed.size(), out);
        assertEquals("✓ Slurm's client commands: sbatch, squeue, scontrol, scancel, srun, sinfo in " + bin
                + " (slurm 23.11.4)", passed.get(0));
        assertEquals("✓ Partition debug (the default): 2 of 2 nodes up, up to 2 CPUs and 4000 MB each; a job asks for"
                + " 2 CPUs and 2G", passed.get(1));
        assertEquals("✓ Shared directory " + shared + ": writable here", passed.get(2));
        assertEquals("✓ Shared directory " + shared + ": node node1 wrote a file there, and it is visible here",
                passed.get(3));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        assertTrue(passed.get(4).startsWith("✓ Java on node node1: " + java + " (")
                && passed.get(4).contains("version \"" + Runtime.version().feature()), passed.get(4));
        assertTrue(Pattern.matches("✓ Squeeze's files on node node1: all \\d+ \\(class path and settings\\) are there",
                passed.get(5)), passed.get(5));
        assertEquals("✓ All 6 checks passed: jobs can run on this cluster with --launcher slurm and these settings.",
                passed.get(6));

        // sinfo's nodes as an aligned table, every partition's.
        List<String> table = out.lines().filter(l -> l.startsWith("    ")).toList();
        assertEquals(List.of(
                "    NODE   PARTITION  STATE  CPUS  MEMORY MB",
                "    node1  debug*     idle      2       4000",
                "    node2  debug*     mixed     2       4000",
                "    node3  long       down*     8      64000"), table, out);

        // The Java and file checks ran on the node that wrote the shared directory; the probes left nothing behind.
        List<String> sruns = Files.readAllLines(bin.resolve("srun.log"));
        assertEquals(3, sruns.size(), sruns.toString());
        assertTrue(sruns.stream().allMatch(s -> s.contains("--immediate=30")), sruns.toString());
        assertFalse(sruns.getFirst().contains("--nodelist"), sruns.getFirst());
        assertTrue(sruns.get(1).contains("--nodelist=node1") && sruns.get(2).contains("--nodelist=node1"),
                sruns.toString());
        try (Stream<Path> left = Files.list(shared)) {
            assertEquals(List.of(), left.toList());
        }
    }

    @Test
    void aBrokenClusterSaysWhatIsWrongAndHowToFixIt() throws Exception {
        Path conf = Files.writeString(dir.resolve("slurm.conf"), "ClusterName=fake\n");
        Path shared = Files.createDirectories(dir.resolve("shared"));
        String entry = ClusterCheck.squeezeFiles().getFirst();
        // The node has neither the shared directory nor this class path entry at these paths.
        Path bin = fakeSlurm("bin", conf, BROKEN_NODES, Map.of(shared.toString(), ELSEWHERE + "/shared",
                entry, ELSEWHERE + "/squeeze.jar"));
        Path noJdk = dir.resolve("no-jdk");
        Result r = check(env(), "--slurm-bin", bin.toString(), "--slurm-conf", conf.toString(),
                "--slurm-shared-dir", shared.toString(), "--slurm-java-home", noJdk.toString());
        String out = r.out();
        assertEquals(SqueezeCli.EXIT_INPUT, r.code(), out);
        List<String> failed = marked(out, "✗");
        assertEquals(4, failed.size(), out);
        assertTrue(failed.get(0).startsWith("✗ Shared directory " + shared + ": node node1 cannot write it: ")
                && failed.get(0).contains(ELSEWHERE + "/shared/.node-probe-"), failed.get(0));
        assertTrue(failed.get(1).startsWith("✗ Java on node node1: " + noJdk.resolve("bin/java")
                + " (--slurm-java-home) does not start: ") && failed.get(1).contains("not found"), failed.get(1));
        assertTrue(Pattern.matches("✗ Squeeze's files on node node1: 1 of \\d+ are not there, e.g.", failed.get(2)),
                failed.get(2));
        assertTrue(out.contains("e.g.\n    " + ELSEWHERE + "/squeeze.jar\n"), out);
        assertEquals("✗ 3 of 6 checks failed; fix what ✗ marks and run 'squeeze cluster check' again.", failed.get(3));
        // Every failure says what to do, right below it.
        List<String> lines = out.lines().toList();
        for (String f : failed.subList(0, 3)) {
            int i = lines.indexOf(f);
            while (lines.get(i + 1).startsWith("    /")) {
                i++; // the listed files
            }
            assertTrue(lines.get(i + 1).startsWith("    Fix: "), f + "\n" + out);
        }
        assertTrue(out.contains("Fix: mount it read-write at the same path on every node"), out);
        assertTrue(out.contains("Fix: install JDK 25 at the same path on every node, or give its folder on the nodes"
                + " with --slurm-java-home"), out);
        assertTrue(out.contains("Fix: install Squeeze at the same path on every node"), out);
        assertEquals(List.of("✓ Slurm's client commands: sbatch, squeue, scontrol, scancel, srun, sinfo in " + bin
                + " (slurm 23.11.4)", "✓ Partition debug (the default): 1 of 2 nodes up, up to 2 CPUs and 4000 MB each;"
                + " a job asks for 1 CPU", "✓ Shared directory " + shared + ": writable here"), marked(out, "✓"));
    }

    @Test
    void aPartitionThatIsMissingOrTooSmallIsNamed() throws Exception {
        Path conf = Files.writeString(dir.resolve("slurm.conf"), "ClusterName=fake\n");
        Path bin = fakeSlurm("bin", conf, HEALTHY_NODES, Map.of());
        Path shared = Files.createDirectories(dir.resolve("shared"));
        Result none = check(env(), "--slurm-bin", bin.toString(), "--slurm-conf", conf.toString(),
                "--slurm-shared-dir", shared.toString(), "--slurm-partition", "gpu");
        assertEquals(SqueezeCli.EXIT_INPUT, none.code(), none.out());
        assertTrue(none.out().contains("✗ No partition gpu (the cluster has debug*, long)\n"
                + "    Fix: give one of debug*, long with --slurm-partition (* marks the default)"), none.out());

        Result big = check(env(), "--slurm-bin", bin.toString(), "--slurm-conf", conf.toString(),
                "--slurm-shared-dir", shared.toString(), "--slurm-cpus", "4", "--slurm-mem", "8G");
        assertEquals(SqueezeCli.EXIT_INPUT, big.code(), big.out());
        assertEquals(List.of("✗ Partition debug (the default): a job asks for 4 CPUs (--slurm-cpus), no node up has"
                        + " more than 2",
                "✗ Partition debug (the default): a job asks for 8G of memory (--slurm-mem), no node up has more than"
                        + " 4000 MB",
                "✗ 1 of 3 checks failed (not checked: a node writing the shared directory, Java and Squeeze's files on"
                        + " a node); fix what ✗ marks and run 'squeeze cluster check' again."), marked(big.out(), "✗"));

        // The partition "long" has a node with 8 CPUs, but it is down.
        Result down = check(env(), "--slurm-bin", bin.toString(), "--slurm-conf", conf.toString(),
                "--slurm-shared-dir", shared.toString(), "--slurm-partition", "long");
        assertTrue(down.out().contains("✗ Partition long: no node is up (node3 down*)\n"
                + "    Fix: ask the cluster's admins ('sinfo -R' says why nodes are down), or give another partition with"
                + " --slurm-partition"), down.out());
        assertFalse(Files.exists(bin.resolve("srun.log")), "no srun step was tried in a partition without nodes");
    }

    /** The real thing: the loopback cluster CI starts (skipped where none can be had, failed under CI without one). */
    @Test
    void theLoopbackClusterPassesEveryCheck() throws Exception {
        LoopbackSlurm cluster = LoopbackSlurm.get();
        cluster.awaitIdle(Duration.ofSeconds(60));
        Path shared = Files.createDirectories(dir.resolve("shared"));
        Result r = check(env(), "--slurm-conf", cluster.slurmConf().toString(), "--slurm-shared-dir",
                shared.toString(), "--slurm-mem", "600M");
        String out = r.out();
        assertEquals(0, r.code(), out);
        assertEquals(List.of(), marked(out, "✗"), out);
        assertEquals(7, marked(out, "✓").size(), out);
        for (String node : cluster.nodes()) {
            assertTrue(Pattern.compile("(?m)^    " + Pattern.quote(node) + " +\\S+ +idle ").matcher(out).find(), out);
        }
        Matcher wrote = Pattern.compile("(?m)^✓ Shared directory .*: node (\\S+) wrote a file there").matcher(out);
        assertTrue(wrote.find(), out);
        String node = wrote.group(1);
        assertTrue(cluster.nodes().contains(node), node + " " + cluster.nodes());
        assertTrue(out.contains("✓ Java on node " + node + ": "), out);
        assertTrue(out.contains("✓ Squeeze's files on node " + node + ": all "), out);
        try (Stream<Path> left = Files.list(shared)) {
            assertEquals(List.of(), left.toList());
        }
    }

    @Test
    void withoutACluster() throws Exception {
        Path conf = dir.resolve("slurm.conf");
        Path bin = fakeSlurm("bin", conf, HEALTHY_NODES, Map.of());
        // No --slurm-conf: the fake sinfo finds no configuration, as a real one does without SLURM_CONF on a laptop.
        Result r = check(env(), "--slurm-bin", bin.toString());
        assertEquals(SqueezeCli.EXIT_INPUT, r.code(), r.out());
        assertEquals(List.of("✗ Slurm's commands cannot reach a cluster: sinfo: fatal: Could not establish a"
                        + " configuration source",
                "✗ No shared directory given",
                "✗ 2 of 2 checks failed (not checked: the cluster's nodes, a node writing the shared directory, Java"
                        + " and Squeeze's files on a node); fix what ✗ marks and run 'squeeze cluster check' again."),
                marked(r.out(), "✗"));
        assertTrue(r.out().contains("Fix: give the cluster's slurm.conf with --slurm-conf (or SLURM_CONF)"), r.out());
        assertFalse(Files.exists(bin.resolve("srun.log")), "nothing was srun'd");

        // Commands that are not there, through the CLI itself: exit code 3.
        Path empty = Files.createDirectories(dir.resolve("empty-bin"));
        script(empty, "sinfo", Files.readString(bin.resolve("sinfo")).substring("#!/bin/sh\n".length()));
        Result missing = CliSmokeTest.run("cluster", "check", "--slurm-bin", empty.toString(), "--slurm-shared-dir",
                dir.toString());
        assertEquals(SqueezeCli.EXIT_INPUT, missing.code(), missing.out() + missing.err());
        assertTrue(missing.out().contains("✗ Slurm's client commands: sbatch, squeue, scontrol, scancel, srun missing in "
                + empty + " (--slurm-bin)\n    Fix: install Slurm's client commands"), missing.out());
        assertTrue(missing.out().contains("✓ Shared directory " + dir + ": writable here"), missing.out());

        // 'cluster' alone is a usage error naming its subcommand.
        Result alone = CliSmokeTest.run("cluster");
        assertEquals(SqueezeCli.EXIT_USAGE, alone.code());
        assertTrue(alone.err().contains("squeeze cluster check"), alone.err());
    }
}
