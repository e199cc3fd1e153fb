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
            "Check the Slurm cluster the --slurm-* options (or the SQUEEZE_SLURM_* variables) describe, as jobs will",
            "use it: Slurm's commands and their version; the nodes (sinfo), the partition, CPUs and memory; the shared",
            "directory, written here and from a node; the worker's Java and Squeeze's files on that node.",
            "Each line says ✓ or ✗, and for ✗ what to do. The node checks are one-task srun steps of a few seconds",
            "(waiting at most 30 s for a free CPU). Exit code 0 when every check passes, 3 otherwise."})
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
