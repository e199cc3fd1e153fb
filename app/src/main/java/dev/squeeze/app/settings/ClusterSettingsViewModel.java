package dev.squeeze.app.settings;

import dev.squeeze.app.workbench.TaskExecutor;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.jobs.launch.SlurmCommands;
import dev.squeeze.engine.jobs.launch.SlurmLauncher;
import dev.squeeze.engine.jobs.launch.SlurmSettings;
import javafx.beans.property.IntegerProperty;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.ReadOnlyBooleanProperty;
import javafx.beans.property.ReadOnlyBooleanWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleIntegerProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.property.SimpleStringProperty;
import javafx.beans.property.StringProperty;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Where the workbench runs its jobs (Settings ▸ Run jobs on): this computer, or a Slurm cluster with its settings.
 * Every field is checked as it is typed by {@link SlurmSettings}' own constructor (the rules the command line's
 * {@code --slurm-*} options follow); a field's problem is its {@link #problem(Field)}, and {@link #launcher()} is
 * the launcher new jobs get, or null while the Slurm settings are not usable. What is typed is saved as typed.
 * Needs no JavaFX toolkit.
 */
public final class ClusterSettingsViewModel {
    static final String RUN_ON = "launcher";
    static final String PREFIX = "slurm.";
    /** The most CPUs per worker {@link SlurmSettings} takes. */
    public static final int MAX_CPUS = 1024;
    /** How long "Check cluster" waits for a node to run its probe. */
    static final Duration PROBE_WAIT = Duration.ofSeconds(30);

    /** A Slurm setting typed as text. */
    public enum Field {
        SHARED_DIR("sharedDir"), PARTITION("partition"), ACCOUNT("account"), MEMORY("memory"), TIME("time"),
        JAVA_HOME("javaHome"), SLURM_CONF("conf");

        private final String key;

        Field(String key) {
            this.key = key;
        }
    }

    private final SettingsStore store;
    private final TaskExecutor executor;
    private final Runnable save;
    private final ObjectProperty<RunOn> runOn = new SimpleObjectProperty<>(RunOn.LOCAL);
    private final Map<Field, StringProperty> text = new EnumMap<>(Field.class);
    private final Map<Field, ReadOnlyStringWrapper> problems = new EnumMap<>(Field.class);
    private final IntegerProperty cpus = new SimpleIntegerProperty(1);
    private final ReadOnlyObjectWrapper<SlurmSettings> slurm = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyObjectWrapper<JobEngine.Launcher> launcher =
            new ReadOnlyObjectWrapper<>(JobEngine.Launcher.LOCAL);
    private final ReadOnlyStringWrapper launcherProblem = new ReadOnlyStringWrapper();
    private final ReadOnlyStringWrapper checkReport = new ReadOnlyStringWrapper("");
    private final ReadOnlyBooleanWrapper checking = new ReadOnlyBooleanWrapper();

    /**
     * @param save writes the store in the background (the settings' own save)
     */
    ClusterSettingsViewModel(SettingsStore store, TaskExecutor executor, Runnable save) {
        this.store = store;
        this.executor = executor;
        this.save = save;
        runOn.set(RunOn.parse(store.get(RUN_ON)));
        for (Field f : Field.values()) {
            String saved = store.get(PREFIX + f.key);
            text.put(f, new SimpleStringProperty(saved == null ? "" : saved));
            problems.put(f, new ReadOnlyStringWrapper());
        }
        cpus.set(clampCpus(parseInt(store.get(PREFIX + "cpus"), 1)));
        validate();

        runOn.addListener((obs, old, r) -> {
            if (r == null) {
                runOn.set(RunOn.LOCAL);
                return;
            }
            store.put(RUN_ON, r.key());
            validate();
            save.run();
        });
        for (Field f : Field.values()) {
            text.get(f).addListener((obs, old, typed) -> {
                store.put(PREFIX + f.key, typed == null || typed.isBlank() ? null : typed.strip());
                validate();
                save.run();
            });
        }
        cpus.addListener((obs, old, n) -> {
            int clamped = clampCpus(n.intValue());
            if (clamped != n.intValue()) {
                cpus.set(clamped);
                return;
            }
            store.put(PREFIX + "cpus", Integer.toString(clamped));
            validate();
            save.run();
        });
    }

    /** This computer or the Slurm cluster. */
    public ObjectProperty<RunOn> runOn() {
        return runOn;
    }

    /** What is typed into one Slurm field. */
    public StringProperty text(Field f) {
        return text.get(f);
    }

    /** CPUs per worker, 1 to {@value #MAX_CPUS}. */
    public IntegerProperty cpus() {
        return cpus;
    }

    /** What is wrong with what is typed into {@code f} (SlurmSettings' message), or null. */
    public ReadOnlyStringProperty problem(Field f) {
        return problems.get(f).getReadOnlyProperty();
    }

    /** The Slurm settings as typed, or null while a field has a problem. */
    public ReadOnlyObjectProperty<SlurmSettings> slurmSettings() {
        return slurm.getReadOnlyProperty();
    }

    /**
     * Where new jobs run: {@link JobEngine.Launcher#LOCAL}, or Slurm with {@link #slurmSettings()}; null when Slurm
     * is chosen and its settings have a problem ({@link #launcherProblem()} says which).
     */
    public ReadOnlyObjectProperty<JobEngine.Launcher> launcher() {
        return launcher.getReadOnlyProperty();
    }

    /** Why jobs cannot be launched as chosen (the first field's problem), or null. */
    public ReadOnlyStringProperty launcherProblem() {
        return launcherProblem.getReadOnlyProperty();
    }

    /** What the last "Check cluster" found, a line per check (✓ or ✗); empty before one. */
    public ReadOnlyStringProperty checkReport() {
        return checkReport.getReadOnlyProperty();
    }

    /** Whether a check is running (the button waits for it). */
    public ReadOnlyBooleanProperty checking() {
        return checking.getReadOnlyProperty();
    }

    private void validate() {
        for (Field f : Field.values()) {
            problems.get(f).set(problemOf(f, text.get(f).get()));
        }
        String first = null;
        for (Field f : Field.values()) {
            if (first == null && problems.get(f).get() != null) {
                first = problems.get(f).get();
            }
        }
        SlurmSettings s = null;
        if (first == null) {
            try {
                s = build();
            } catch (SqueezeException e) {
                first = e.getMessage();
            }
        }
        slurm.set(s);
        if (runOn.get() == RunOn.LOCAL) {
            launcher.set(JobEngine.Launcher.LOCAL);
            launcherProblem.set(null);
        } else {
            launcher.set(s == null ? null : JobEngine.Launcher.slurm(s));
            launcherProblem.set(s == null ? "The Slurm settings have a problem: " + first : null);
        }
    }

    private SlurmSettings build() {
        return new SlurmSettings(get(Field.SHARED_DIR), get(Field.PARTITION), get(Field.ACCOUNT), cpus.get(),
                get(Field.MEMORY), get(Field.TIME), get(Field.JAVA_HOME), get(Field.SLURM_CONF), null, List.of());
    }

    private String get(Field f) {
        String t = text.get(f).get();
        return t == null || t.isBlank() ? null : t.strip();
    }

    /**
     * The problem of one field alone, as {@link SlurmSettings}' constructor words it (every other field at its
     * default), or null. Paths on this machine must be absolute: they are handed to other machines.
     */
    static String problemOf(Field f, String typed) {
        String v = typed == null || typed.isBlank() ? null : typed.strip();
        if (f == Field.SHARED_DIR && v == null) {
            return "Jobs on Slurm need a shared directory: one this machine and every node reach at the same path";
        }
        if ((f == Field.JAVA_HOME || f == Field.SLURM_CONF) && v != null && !Path.of(v).isAbsolute()) {
            return "'" + v + "' is not an absolute path\n  Fix: give the full path"
                    + (f == Field.JAVA_HOME ? " of the JDK 25 on the nodes, e.g. /opt/jdk-25" : " of slurm.conf");
        }
        String root = Path.of("").toAbsolutePath().getRoot().toString();
        try {
            switch (f) {
                case SHARED_DIR -> new SlurmSettings(v, null, null, 1, null, null, null, null, null, List.of());
                case PARTITION -> new SlurmSettings(root, v, null, 1, null, null, null, null, null, List.of());
                case ACCOUNT -> new SlurmSettings(root, null, v, 1, null, null, null, null, null, List.of());
                case MEMORY -> new SlurmSettings(root, null, null, 1, v, null, null, null, null, List.of());
                case TIME -> new SlurmSettings(root, null, null, 1, null, v, null, null, null, List.of());
                case JAVA_HOME -> new SlurmSettings(root, null, null, 1, null, null, v, null, null, List.of());
                case SLURM_CONF -> new SlurmSettings(root, null, null, 1, null, null, null, v, null, List.of());
            }
            return null;
        } catch (SqueezeException e) {
            return e.getMessage();
        }
    }

    /**
     * Checks the cluster in the background: {@code sinfo}, whether this machine can write the shared directory, and
     * whether a node can (a one-task {@code srun} that writes a file there, waiting at most 30 s for a free CPU).
     * The result is {@link #checkReport()}; nothing here throws.
     */
    public void checkCluster() {
        if (checking.get()) {
            return;
        }
        SlurmSettings s = slurm.get();
        if (s == null) {
            String first = null;
            for (Field f : Field.values()) {
                if (first == null && problems.get(f).get() != null) {
                    first = problems.get(f).get();
                }
            }
            checkReport.set("✗ " + (first == null ? "the Slurm settings are not complete" : flat(first)));
            return;
        }
        checking.set(true);
        checkReport.set("Checking " + s.describe() + "…");
        executor.submit(() -> check(s), report -> {
            checking.set(false);
            checkReport.set(report);
        }, message -> {
            checking.set(false);
            checkReport.set("✗ " + message);
        });
    }

    /** The checks, off the FX thread: one line per check, ✓ or ✗, and what sinfo said. */
    static String check(SlurmSettings s) {
        List<String> lines = new ArrayList<>();
        boolean sinfoOk = false;
        try {
            SlurmCommands.Result r = new SlurmCommands(s).run(Duration.ofSeconds(20),
                    List.of("sinfo", "--format=%P %a %l %D %t %N"));
            if (r.ok()) {
                sinfoOk = true;
                lines.add("✓ sinfo answers:");
                r.out().lines().limit(12).forEach(l -> lines.add("    " + l));
            } else {
                lines.add("✗ sinfo failed (exit " + r.exit() + "): " + lastLine(r.err()));
            }
        } catch (SqueezeException e) {
            lines.add("✗ " + flat(e.getMessage()));
        }
        Path shared = Path.of(s.sharedDir());
        boolean writable = false;
        if (!Files.isDirectory(shared)) {
            lines.add("✗ The shared directory " + shared + " does not exist on this machine");
        } else {
            try {
                Path probe = Files.createTempFile(shared, ".squeeze-check-", ".tmp");
                Files.delete(probe);
                writable = true;
                lines.add("✓ This machine can write " + shared);
            } catch (IOException | SecurityException e) {
                lines.add("✗ This machine cannot write " + shared + ": " + e.getMessage());
            }
        }
        if (!sinfoOk || !writable) {
            lines.add("– A node's view of the shared directory was not checked (fix the lines above first)");
            return String.join("\n", lines);
        }
        try {
            SlurmLauncher.NodeProbe p = new SlurmLauncher(s, shared).probeNode(PROBE_WAIT);
            String node = p.node() == null || p.node().isBlank() ? "A node" : "Node " + p.node();
            if (p.wrote()) {
                lines.add("✓ " + node + " wrote a file in " + shared + " and this machine sees it");
            } else if (p.answered()) {
                lines.add("✗ " + node + " cannot write " + shared + (p.said().isBlank() ? "" : ": " + p.said()));
            } else {
                lines.add("✗ No node ran the check within " + PROBE_WAIT.toSeconds() + " s (the cluster is busy, or"
                        + " srun failed" + (p.said().isBlank() ? "" : ": " + p.said()) + ")");
            }
        } catch (SqueezeException e) {
            lines.add("✗ " + flat(e.getMessage()));
        }
        return String.join("\n", lines);
    }

    /** A message on one line: "what — fix". */
    private static String flat(String s) {
        return s == null ? "" : s.replace("\n  Fix: ", " — ").replace('\n', ' ');
    }

    /** The last line a command printed (Slurm's commands end with the one that says why they stopped). */
    private static String lastLine(String s) {
        List<String> lines = s == null ? List.of() : s.strip().lines().map(String::strip).filter(l -> !l.isEmpty())
                .toList();
        return lines.isEmpty() ? "(it printed nothing)" : lines.getLast();
    }

    private static int clampCpus(int n) {
        return Math.max(1, Math.min(MAX_CPUS, n));
    }

    private static int parseInt(String s, int otherwise) {
        try {
            return s == null ? otherwise : Integer.parseInt(s.strip());
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }
}
