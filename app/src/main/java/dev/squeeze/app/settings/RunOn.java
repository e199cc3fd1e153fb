package dev.squeeze.app.settings;

import java.util.Locale;

/** Where the workbench runs its jobs' workers (Settings ▸ Run jobs on). */
public enum RunOn {
    /** Worker processes on this machine. */
    LOCAL("local", "This computer"),
    /** Slurm batch jobs, with the cluster settings. */
    SLURM("slurm", "Slurm cluster");

    private final String key;
    private final String title;

    RunOn(String key, String title) {
        this.key = key;
        this.title = title;
    }

    /** As the settings file stores it. */
    public String key() {
        return key;
    }

    @Override
    public String toString() {
        return title;
    }

    /** The choice stored as {@code value}; LOCAL for null, blank or anything else. */
    public static RunOn parse(String value) {
        return value != null && value.strip().toLowerCase(Locale.ROOT).equals(SLURM.key) ? SLURM : LOCAL;
    }
}
