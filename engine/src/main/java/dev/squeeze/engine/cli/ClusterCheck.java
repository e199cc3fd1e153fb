package dev.squeeze.engine.cli;

import dev.squeeze.engine.jobs.launch.SlurmCommands;
import dev.squeeze.engine.jobs.launch.SlurmLauncher;
import dev.squeeze.engine.jobs.launch.SlurmSettings;

import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code squeeze cluster check}: what a user needs to know before sending jobs to a Slurm cluster, one line a check,
 * ✓ or ✗ with the fix. The checks follow what a job needs, in order: Slurm's client commands (and a cluster they
 * reach), a partition with nodes up and large enough for the job's CPUs and memory, the shared directory written here
 * and from a node, then on that node the worker's Java and Squeeze's own files at the paths this process uses (a node
 * without the install at the same path is the most common mistake). Checks that need an earlier one (a reachable
 * cluster, a shared directory) are left out when it failed, and the summary says so.
 */
final class ClusterCheck {
    /** The client commands the Slurm launcher runs. */
    static final List<String> COMMANDS = List.of("sbatch", "squeue", "scontrol", "scancel", "srun", "sinfo");
    /** How long a node-side check waits for a free CPU before giving up (srun --immediate). */
    static final Duration WAIT = Duration.ofSeconds(30);
    /** Node states in which a node takes new jobs ({@code sinfo %T}; a trailing * means it does not answer). */
    private static final Set<String> UP = Set.of("idle", "mixed", "allocated", "completing", "planned");
    /** The fix when an srun step did not start. */
    private static final String BUSY = "when srun says why, fix that; else every CPU of the partition is busy"
            + " ('squeue'): run the check again later";
    private static final Pattern JAVA_VERSION = Pattern.compile("version \"(\\d+)");
    private static final Pattern MEMORY = Pattern.compile("(\\d+)([KMGT]?)", Pattern.CASE_INSENSITIVE);

    private final PrintWriter out;
    private int passed;
    private int failed;
    private final List<String> skipped = new ArrayList<>();

    ClusterCheck(PrintWriter out) {
        this.out = out;
    }

    /** A node the cluster lists: {@code sinfo -N -o '%N|%P|%T|%c|%m'}. */
    record NodeRow(String node, String partition, String state, String cpus, String memoryMb) {
        boolean up() {
            return UP.contains(state);
        }

        boolean inDefaultPartition() {
            return partition.endsWith("*");
        }

        String partitionName() {
            return inDefaultPartition() ? partition.substring(0, partition.length() - 1) : partition;
        }
    }

    /** Runs every check, printing as it goes; true when all passed. */
    boolean run(JobsSupport.SlurmOptions options, Map<String, String> env) {
        Map<String, String> merged = options.environment(env);
        String shared = merged.get("SQUEEZE_SLURM_SHARED_DIR");
        boolean hasShared = shared != null && !shared.isBlank();
        if (!hasShared) {
            // A stand-in, so that the other settings are checked as jobs would; the shared directory's line says it is missing.
            merged.put("SQUEEZE_SLURM_SHARED_DIR", "/");
        }
        SlurmSettings settings = options.settings(merged);
        // The probe files go straight into the shared directory (not a database's folder under it): a check leaves
        // nothing behind.
        SlurmLauncher launcher = new SlurmLauncher(settings, Path.of(settings.sharedDir()));
        SlurmCommands commands = launcher.commands();
        out.println("Checking Slurm for Squeeze jobs (" + (settings.slurmConf() == null ? "Slurm's default configuration"
                : "SLURM_CONF " + settings.slurmConf()) + "):");

        boolean clientsOk = clientCommands(settings, commands, merged.get("PATH"));
        // The node checks are srun steps in the job's partition: they need one with a node up.
        boolean partitionOk = clientsOk && nodes(settings, commands);
        if (!clientsOk) {
            skipped.add("the cluster's nodes");
        }
        String node = null;
        boolean sharedOk = hasShared ? sharedHere(Path.of(settings.sharedDir())) : missingShared();
        if (partitionOk && sharedOk) {
            node = sharedFromNode(launcher);
        } else {
            skipped.add("a node writing the shared directory");
        }
        if (partitionOk) {
            node = java(launcher, node);
            squeezeFiles(launcher, node);
        } else {
            skipped.add("Java and Squeeze's files on a node");
        }
        if (failed == 0) {
            out.printf("✓ All %d checks passed: jobs can run on this cluster with --launcher slurm and these settings.%n",
                    passed);
            return true;
        }
        out.printf("✗ %d of %d checks failed%s; fix what ✗ marks and run 'squeeze cluster check' again.%n", failed,
                failed + passed, skipped.isEmpty() ? "" : " (not checked: " + String.join(", ", skipped) + ")");
        return false;
    }

    private void pass(String what) {
        passed++;
        out.println("✓ " + what);
    }

    private void fail(String what, String fix) {
        failed++;
        problem(what, fix);
    }

    /** One of several problems a check found (counted once, by {@link #fail}). */
    private void problem(String what, String fix) {
        out.println("✗ " + what);
        out.println("    Fix: " + fix);
    }

    /** The client commands are there, and {@code sinfo -V} answers (it needs the cluster's configuration). */
    private boolean clientCommands(SlurmSettings settings, SlurmCommands commands, String path) {
        List<String> missing = new ArrayList<>();
        Set<Path> folders = new LinkedHashSet<>();
        for (String name : COMMANDS) {
            Path found = locate(name, settings.binDir(), path);
            if (found == null) {
                missing.add(name);
            } else {
                folders.add(found.getParent());
            }
        }
        String where = settings.binDir() != null ? "in " + settings.binDir() + " (--slurm-bin)" : "on the PATH";
        String install = "install Slurm's client commands (Debian/Ubuntu: apt install slurm-client; on a cluster often"
                + " 'module load slurm'), or give their folder with --slurm-bin (or SQUEEZE_SLURM_BIN)";
        if (missing.size() == COMMANDS.size()) {
            fail("Slurm's client commands: none of " + String.join(", ", COMMANDS) + " " + where, install);
            return false;
        }
        if (!missing.isEmpty()) {
            fail("Slurm's client commands: " + String.join(", ", missing) + " missing " + where, install);
            return false;
        }
        SlurmCommands.Result v = commands.run("sinfo", "-V");
        if (!v.ok()) {
            fail("Slurm's commands cannot reach a cluster: " + said(v),
                    "give the cluster's slurm.conf with --slurm-conf (or SLURM_CONF), or run Squeeze where jobs are"
                            + " submitted from (a login node)");
            return false;
        }
        pass("Slurm's client commands: " + String.join(", ", COMMANDS) + " in "
                + String.join(", ", folders.stream().map(Path::toString).toList()) + " (" + v.out().strip() + ")");
        return true;
    }

    /** A command's file: in {@code binDir} when given, else the first on {@code path}; null when there is none. */
    static Path locate(String name, String binDir, String path) {
        List<String> dirs = binDir != null ? List.of(binDir)
                : path == null ? List.of() : List.of(path.split(Pattern.quote(File.pathSeparator)));
        for (String d : dirs) {
            if (d.isEmpty()) {
                continue;
            }
            Path p = Path.of(d).resolve(name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p.toAbsolutePath();
            }
        }
        return null;
    }

    /** {@code sinfo}: the nodes as a table, then whether the job's partition has a node up that fits its CPUs and memory. */
    private boolean nodes(SlurmSettings settings, SlurmCommands commands) {
        SlurmCommands.Result r = commands.run("sinfo", "-h", "-N", "-o", "%N|%P|%T|%c|%m");
        if (!r.ok()) {
            fail("sinfo failed: " + said(r), "check that slurmctld is running: 'sinfo' should list the nodes");
            return false;
        }
        List<NodeRow> rows = parseNodes(r.out());
        if (rows.isEmpty()) {
            fail("The cluster lists no nodes (sinfo -N)", "ask the cluster's admins: slurm.conf names no node");
            return false;
        }
        printNodes(rows);
        String wanted = settings.partition();
        List<NodeRow> mine = rows.stream().filter(n -> wanted != null ? n.partitionName().equals(wanted)
                : n.inDefaultPartition()).toList();
        String partitions = String.join(", ", rows.stream().map(NodeRow::partition).distinct().toList());
        if (mine.isEmpty()) {
            fail(wanted != null ? "No partition " + wanted + " (the cluster has " + partitions + ")"
                            : "The cluster has no default partition (it has " + partitions + ")",
                    "give one of " + partitions + " with --slurm-partition (* marks the default)");
            return false;
        }
        String name = mine.getFirst().partitionName();
        String label = "Partition " + name + (wanted == null ? " (the default)" : "");
        List<NodeRow> up = mine.stream().filter(NodeRow::up).toList();
        if (up.isEmpty()) {
            fail(label + ": no node is up (" + String.join(", ", mine.stream().map(n -> n.node() + " " + n.state())
                    .toList()) + ")", "ask the cluster's admins ('sinfo -R' says why nodes are down), or give"
                    + " another partition with --slurm-partition");
            return false;
        }
        long cpus = up.stream().mapToLong(n -> number(n.cpus())).max().orElse(0);
        long memory = up.stream().mapToLong(n -> number(n.memoryMb())).max().orElse(0);
        boolean ok = true;
        if (settings.cpusPerTask() > cpus) {
            failed++;
            problem(label + ": a job asks for " + settings.cpusPerTask() + " CPUs (--slurm-cpus), no node up has more"
                    + " than " + cpus, "give --slurm-cpus " + cpus + " or fewer");
            ok = false;
        }
        long askedMb = settings.memory() == null ? 0 : megabytes(settings.memory());
        if (askedMb > memory) {
            failed += ok ? 1 : 0;
            problem(label + ": a job asks for " + settings.memory() + " of memory (--slurm-mem), no node up has more than "
                    + memory + " MB", "give --slurm-mem " + memory + "M or less");
            ok = false;
        }
        if (ok) {
            pass(label + ": " + up.size() + " of " + mine.size() + (mine.size() == 1 ? " node" : " nodes") + " up, "
                    + "up to " + cpus + (cpus == 1 ? " CPU" : " CPUs") + " and " + memory + " MB each; a job asks for " + settings.cpusPerTask()
                    + (settings.cpusPerTask() == 1 ? " CPU" : " CPUs")
                    + (settings.memory() == null ? "" : " and " + settings.memory()));
        }
        return ok;
    }

    static List<NodeRow> parseNodes(String sinfo) {
        List<NodeRow> rows = new ArrayList<>();
        for (String line : sinfo.split("\\R")) {
            String[] f = line.strip().split("\\|", -1);
            if (f.length == 5 && !f[0].isEmpty()) {
                rows.add(new NodeRow(f[0], f[1], f[2].toLowerCase(Locale.ROOT), f[3], f[4]));
            }
        }
        return rows;
    }

    private void printNodes(List<NodeRow> rows) {
        String[] head = {"NODE", "PARTITION", "STATE", "CPUS", "MEMORY MB"};
        int[] w = new int[head.length];
        for (int i = 0; i < head.length; i++) {
            w[i] = head[i].length();
        }
        for (NodeRow n : rows) {
            String[] cells = {n.node(), n.partition(), n.state(), n.cpus(), n.memoryMb()};
            for (int i = 0; i < cells.length; i++) {
                w[i] = Math.max(w[i], TerminalText.escape(cells[i]).length());
            }
        }
        String row = "    %-" + w[0] + "s  %-" + w[1] + "s  %-" + w[2] + "s  %" + w[3] + "s  %" + w[4] + "s%n";
        out.printf(Locale.ROOT, row, (Object[]) head);
        for (NodeRow n : rows) {
            out.printf(Locale.ROOT, row, n.node(), n.partition(), n.state(), n.cpus(), n.memoryMb());
        }
    }

    private boolean missingShared() {
        fail("No shared directory given", "give --slurm-shared-dir DIR (or SQUEEZE_SLURM_SHARED_DIR): a directory this"
                + " machine and every node reach at the same path, e.g. on the cluster's NFS or Lustre");
        return false;
    }

    /** The shared directory exists here and this process can create a file in it. */
    private boolean sharedHere(Path dir) {
        if (!Files.isDirectory(dir)) {
            fail("Shared directory " + dir + ": does not exist here", "create it on a filesystem every node mounts at"
                    + " the same path, or give another with --slurm-shared-dir");
            return false;
        }
        Path probe = dir.resolve(".squeeze-check-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        try {
            Files.writeString(probe, "squeeze\n");
            Files.delete(probe);
        } catch (IOException e) {
            fail("Shared directory " + dir + ": this machine cannot write it (" + e + ")",
                    "make it writable for you, or give another with --slurm-shared-dir");
            return false;
        }
        pass("Shared directory " + dir + ": writable here");
        return true;
    }

    /** A node writes a file in the shared directory, and it is visible here; returns the node's name, or null. */
    private String sharedFromNode(SlurmLauncher launcher) {
        SlurmLauncher.NodeProbe p = launcher.probeNode(WAIT);
        String dir = launcher.settings().sharedDir();
        String node = p.node().isBlank() ? null : p.node().lines().findFirst().orElse(null);
        if (p.wrote()) {
            pass("Shared directory " + dir + ": node " + node + " wrote a file there, and it is visible here");
            return node;
        }
        if (!p.answered()) {
            fail("Shared directory " + dir + ": no node ran the test within " + WAIT.toSeconds() + " s"
                    + (p.said().isEmpty() ? "" : " (" + p.said() + ")"), BUSY);
            return null;
        }
        String on = node == null ? "a node" : "node " + node;
        if (!p.said().isEmpty()) {
            fail("Shared directory " + dir + ": " + on + " cannot write it: " + p.said(), "mount it read-write at the"
                    + " same path on every node, or give another with --slurm-shared-dir");
        } else {
            fail("Shared directory " + dir + ": " + on + " wrote a file there, but it is not visible here: the node's "
                    + dir + " is another directory", "give a directory every node and this machine mount from the"
                    + " same filesystem at the same path (--slurm-shared-dir)");
        }
        return node;
    }

    /**
     * The worker's java on a node (the one that wrote the shared directory, when one did): it starts with the module
     * workers need, and is Java 25 or later. Returns the node's name, or {@code node} when srun did not run.
     */
    private String java(SlurmLauncher launcher, String node) {
        SlurmSettings settings = launcher.settings();
        String home = settings.javaHome() != null ? settings.javaHome() : System.getProperty("java.home");
        String java = Path.of(home, "bin", "java").toString();
        String which = settings.javaHome() != null ? "--slurm-java-home" : "this process's Java, as no"
                + " --slurm-java-home is given";
        SlurmCommands.Result r = onNode(launcher, node, List.of("sh", "-c",
                "echo \"$SLURMD_NODENAME\"; exec \"$0\" --add-modules=jdk.incubator.vector -version 2>&1", java));
        List<String> lines = r.out().lines().toList();
        if (lines.isEmpty()) {
            fail("Java on a node: srun did not run (" + said(r) + ")", BUSY);
            return node;
        }
        String ran = lines.getFirst().strip();
        String text = String.join("\n", lines.subList(1, lines.size())) + "\n" + r.err();
        String version = text.lines().filter(l -> l.contains(" version ")).findFirst().orElse("").strip();
        Matcher m = JAVA_VERSION.matcher(version);
        String install = "install JDK 25 at the same path on every node, or give its folder on the nodes with"
                + " --slurm-java-home (or SQUEEZE_SLURM_JAVA_HOME)";
        if (!r.ok() || !m.find()) {
            fail("Java on node " + ran + ": " + java + " (" + which + ") does not start: "
                    + SlurmCommands.oneLine(text.isBlank() ? "exit status " + r.exit() : text), install);
        } else if (Integer.parseInt(m.group(1)) < 25) {
            fail("Java on node " + ran + ": " + java + " is " + version + "; workers need Java 25 or later", install);
        } else {
            pass("Java on node " + ran + ": " + java + " (" + version + ")");
        }
        return ran.isEmpty() ? node : ran;
    }

    /**
     * Squeeze's class path entries, and the files its {@code squeeze.*} settings name, are readable on the node: a
     * worker there runs with this process's class path and settings.
     */
    private void squeezeFiles(SlurmLauncher launcher, String node) {
        List<String> files = squeezeFiles();
        List<String> cmd = new ArrayList<>(List.of("sh", "-c",
                "echo \"$SLURMD_NODENAME\"; for f do [ -r \"$f\" ] || echo \"$f\"; done", "sh"));
        cmd.addAll(files);
        SlurmCommands.Result r = onNode(launcher, node, cmd);
        List<String> lines = r.out().lines().toList();
        if (!r.ok() || lines.isEmpty()) {
            fail("Squeeze's files on a node: srun did not run (" + said(r) + ")", BUSY);
            return;
        }
        String ran = lines.getFirst().strip();
        List<String> missing = lines.subList(1, lines.size()).stream().map(String::strip).filter(s -> !s.isEmpty())
                .toList();
        if (missing.isEmpty()) {
            pass("Squeeze's files on node " + ran + ": all " + files.size() + " (class path and settings) are there");
            return;
        }
        StringBuilder what = new StringBuilder("Squeeze's files on node " + ran + ": " + missing.size() + " of "
                + files.size() + " are not there, e.g.");
        missing.stream().limit(3).forEach(f -> what.append("\n    ").append(f));
        fail(what.toString(), "install Squeeze at the same path on every node (simplest: on the shared filesystem,"
                + " and run it from there), or mount " + commonFolder(files) + " on the nodes");
    }

    /** This process's class path entries and the paths its {@code squeeze.*} properties name, absolute. */
    static List<String> squeezeFiles() {
        Set<String> files = new LinkedHashSet<>();
        for (String e : System.getProperty("java.class.path", "").split(Pattern.quote(File.pathSeparator))) {
            if (!e.isBlank()) {
                files.add(Path.of(e).toAbsolutePath().normalize().toString());
            }
        }
        for (String k : System.getProperties().stringPropertyNames().stream().sorted().toList()) {
            String v = System.getProperty(k);
            if (k.startsWith("squeeze.") && v.startsWith("/") && Files.exists(Path.of(v))) {
                files.add(Path.of(v).normalize().toString());
            }
        }
        return new ArrayList<>(files);
    }

    /** The deepest folder above every file, e.g. {@code /opt/squeeze}. */
    static String commonFolder(List<String> files) {
        Path common = null;
        for (String f : files) {
            Path p = Path.of(f).getParent();
            if (p == null) {
                return "/";
            }
            if (common == null) {
                common = p;
            }
            while (!p.startsWith(common)) {
                common = common.getParent();
                if (common == null) {
                    return "/";
                }
            }
        }
        return common == null ? "/" : common.toString();
    }

    /** {@code command} as one srun step, on {@code node} when one is known (the checks then describe one node). */
    private static SlurmCommands.Result onNode(SlurmLauncher launcher, String node, List<String> command) {
        List<String> options = launcher.placementOptions();
        if (node != null) {
            options.add("--nodelist=" + node);
        }
        return launcher.commands().srunNow(WAIT, options, command);
    }

    private static String said(SlurmCommands.Result r) {
        String s = SlurmCommands.oneLine(r.err().isBlank() ? r.out() : r.err());
        return s.isEmpty() ? "exit status " + r.exit() : s;
    }

    private static long number(String s) {
        try {
            return Long.parseLong(s.strip().replaceAll("\\+$", ""));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** sbatch --mem's size in megabytes (a plain number is megabytes). */
    static long megabytes(String memory) {
        Matcher m = MEMORY.matcher(memory.strip());
        if (!m.matches()) {
            return 0;
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2).toUpperCase(Locale.ROOT)) {
            case "K" -> Math.max(1, n / 1024);
            case "G" -> n * 1024;
            case "T" -> n * 1024 * 1024;
            default -> n;
        };
    }
}
