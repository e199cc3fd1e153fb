package dev.squeeze.engine.jobs.launch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.squeeze.engine.SqueezeException;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * How jobs are submitted to a Slurm cluster: the user's settings ({@code --slurm-*} on the command line,
 * {@code SQUEEZE_SLURM_*} in the environment, or the workbench's settings), stored with every job submitted with them
 * so that a resume submits it the same way.
 *
 * @param sharedDir    a directory every node and this machine reach at the same path: jobs' checkpoints, logs and
 *                     protocol files go under it (required)
 * @param partition    {@code --partition}, null for the cluster's default
 * @param account      {@code --account}, null for the user's default
 * @param cpusPerTask  {@code --cpus-per-task} of each worker (1 to 1024)
 * @param memory       {@code --mem} of each worker, e.g. {@code 8G}; null for the cluster's default. The worker's heap
 *                     is then 80 % of it unless {@code --worker-heap} says otherwise
 * @param timeLimit    {@code --time} (minutes, {@code HH:MM:SS}, {@code D-HH:MM} ...), null for the partition's
 * @param javaHome     the JDK 25 on the nodes; null: this process's, at the same path
 * @param slurmConf    the cluster's {@code slurm.conf} when it is not the system's (sets {@code SLURM_CONF} for the
 *                     Slurm commands); null for the default
 * @param binDir       where {@code sbatch}, {@code squeue}, {@code scontrol}, {@code scancel}, {@code srun} and
 *                     {@code sinfo} are; null to find them on the PATH
 * @param extraArgs    more {@code sbatch} options, e.g. {@code --qos=short}
 */
public record SlurmSettings(String sharedDir, String partition, String account, int cpusPerTask, String memory,
                            String timeLimit, String javaHome, String slurmConf, String binDir, List<String> extraArgs) {
    private static final Pattern MEMORY = Pattern.compile("\\d+[KMGT]?", Pattern.CASE_INSENSITIVE);
    private static final Pattern TIME = Pattern.compile(
            "\\d+|\\d+:\\d{1,2}|\\d+:\\d{1,2}:\\d{1,2}|\\d+-\\d+|\\d+-\\d+:\\d{1,2}|\\d+-\\d+:\\d{1,2}:\\d{1,2}|UNLIMITED|INFINITE",
            Pattern.CASE_INSENSITIVE);
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.+-]+");
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    public SlurmSettings {
        if (sharedDir == null || sharedDir.isBlank()) {
            throw new SqueezeException("Jobs on Slurm need a shared directory",
                    "give --slurm-shared-dir DIR (or SQUEEZE_SLURM_SHARED_DIR): a directory this machine and every node"
                            + " reach at the same path");
        }
        if (!Path.of(sharedDir).isAbsolute()) {
            throw new SqueezeException("The Slurm shared directory '" + sharedDir + "' is not an absolute path",
                    "give the absolute path every node mounts it at, e.g. /shared/squeeze");
        }
        if (cpusPerTask < 1 || cpusPerTask > 1024) {
            throw new SqueezeException("--slurm-cpus is " + cpusPerTask, "give 1 to 1024 CPUs per worker");
        }
        memory = blankToNull(memory);
        if (memory != null && !MEMORY.matcher(memory).matches()) {
            throw new SqueezeException("Slurm memory '" + memory + "' is not a size",
                    "give it as sbatch --mem takes it: a number of megabytes, or with K, M, G or T (e.g. 8G)");
        }
        timeLimit = blankToNull(timeLimit);
        if (timeLimit != null && !TIME.matcher(timeLimit).matches()) {
            throw new SqueezeException("Slurm time limit '" + timeLimit + "' is not a time",
                    "give it as sbatch --time takes it: minutes, HH:MM:SS, or D-HH:MM (e.g. 2:00:00)");
        }
        partition = checkName(blankToNull(partition), "partition");
        account = checkName(blankToNull(account), "account");
        javaHome = blankToNull(javaHome);
        slurmConf = blankToNull(slurmConf);
        binDir = blankToNull(binDir);
        extraArgs = extraArgs == null ? List.of() : List.copyOf(extraArgs);
        for (String a : extraArgs) {
            if (!a.startsWith("-")) {
                throw new SqueezeException("Extra sbatch argument '" + a + "' is not an option",
                        "give options such as --qos=short (with '=' for their values)");
            }
        }
    }

    /** Only a shared directory; everything else the cluster's defaults and 1 CPU per worker. */
    public static SlurmSettings of(String sharedDir) {
        return new SlurmSettings(sharedDir, null, null, 1, null, null, null, null, null, List.of());
    }

    /** The settings from {@code SQUEEZE_SLURM_*} variables (shared dir, partition, account, cpus, mem, time, java, conf). */
    public static SlurmSettings fromEnvironment(Map<String, String> env) {
        String cpus = env.getOrDefault("SQUEEZE_SLURM_CPUS", "1");
        int n;
        try {
            n = Integer.parseInt(cpus.strip());
        } catch (NumberFormatException e) {
            throw new SqueezeException("SQUEEZE_SLURM_CPUS is '" + cpus + "'", "give a whole number of CPUs");
        }
        return new SlurmSettings(env.get("SQUEEZE_SLURM_SHARED_DIR"), env.get("SQUEEZE_SLURM_PARTITION"),
                env.get("SQUEEZE_SLURM_ACCOUNT"), n, env.get("SQUEEZE_SLURM_MEM"), env.get("SQUEEZE_SLURM_TIME"),
                env.get("SQUEEZE_SLURM_JAVA_HOME"), env.get("SLURM_CONF"), env.get("SQUEEZE_SLURM_BIN"), List.of());
    }

    public SlurmSettings withSharedDir(String dir) {
        return new SlurmSettings(dir, partition, account, cpusPerTask, memory, timeLimit, javaHome, slurmConf, binDir,
                extraArgs);
    }

    /** The worker's -Xmx when none is given: 80 % of {@link #memory} (the rest for the JVM itself), or null. */
    public String defaultHeap() {
        if (memory == null) {
            return null;
        }
        char unit = Character.toUpperCase(memory.charAt(memory.length() - 1));
        long mb = Long.parseLong(Character.isDigit(unit) ? memory : memory.substring(0, memory.length() - 1));
        mb = switch (unit) {
            case 'K' -> mb / 1024;
            case 'G' -> mb * 1024;
            case 'T' -> mb * 1024 * 1024;
            default -> mb;
        };
        if (mb == 0) {
            return null; // --mem=0 asks for all of a node's memory: the JVM sizes its heap from what it sees
        }
        return Math.max(64, mb * 4 / 5) + "m";
    }

    /** As stored with a job. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static SlurmSettings fromJson(String json) {
        try {
            return JSON.readValue(json, SlurmSettings.class);
        } catch (JsonProcessingException e) {
            throw new SqueezeException("The job's Slurm settings cannot be read (" + e.getOriginalMessage() + ")",
                    "resume it with --launcher slurm and the settings again, or --launcher local");
        }
    }

    /** For people, e.g. "partition debug, 2 CPUs, 8G, 2:00:00, shared /shared/squeeze". */
    public String describe() {
        StringBuilder s = new StringBuilder();
        s.append(partition == null ? "default partition" : "partition " + partition);
        if (account != null) {
            s.append(", account ").append(account);
        }
        s.append(", ").append(cpusPerTask).append(cpusPerTask == 1 ? " CPU" : " CPUs");
        if (memory != null) {
            s.append(", ").append(memory);
        }
        if (timeLimit != null) {
            s.append(", time ").append(timeLimit);
        }
        return s.append(", shared ").append(sharedDir).toString();
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    private static String checkName(String value, String what) {
        if (value != null && !NAME.matcher(value).matches()) {
            throw new SqueezeException("Slurm " + what + " '" + value + "' is not a name Slurm takes",
                    "give letters, digits, '_', '.', '+' or '-' ('sinfo' lists partitions)");
        }
        return value;
    }
}
