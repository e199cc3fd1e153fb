package dev.squeeze.engine.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "cluster", description = {
        "The Slurm cluster that jobs run on with --launcher slurm (see the README's \"Clusters\").",
        "'squeeze cluster check' says whether it is ready, and what to fix if not."},
        subcommands = {ClusterCommand.Check.class})
final class ClusterCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing the subcommand: 'squeeze cluster check'");
    }

    @Command(name = "check", description = {
            "Check that jobs can run on the Slurm cluster the --slurm-* options describe.",
            "It checks Slurm's commands and version; the nodes (sinfo), and the partition's",
            "CPUs and memory; the shared directory, written here and from a node; on that",
            "node, the worker's Java and Squeeze's files at this install's paths. Each line",
            "says ✓ or ✗, and for ✗ what to fix. The node checks are one-task srun steps",
            "(waiting at most 30 s for a free CPU). Defaults come from SQUEEZE_SLURM_*.",
            "Exit code 0 when every check passes, 3 otherwise."})
    static final class Check implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        JobsSupport.SlurmOptions slurm;

        /** Where defaults come from ({@code SQUEEZE_SLURM_*}, {@code SLURM_CONF}, {@code PATH}). */
        Map<String, String> env = System.getenv();

        @Override
        public Integer call() {
            boolean ok = new ClusterCheck(spec.commandLine().getOut()).run(slurm, env);
            return ok ? 0 : SqueezeCli.EXIT_INPUT;
        }
    }
}
