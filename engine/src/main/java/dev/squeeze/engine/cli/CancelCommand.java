package dev.squeeze.engine.cli;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.JobEngine;
import dev.squeeze.engine.store.ResultsStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "cancel", description = {
        "Cancel jobs. A job running in another Squeeze process (a 'run', 'sweep' or the workbench) stops at its",
        "next safe point; a failed or interrupted job is cancelled for good and its checkpoints are deleted."})
final class CancelCommand implements Callable<Integer> {
    @ParentCommand
    SqueezeCli parent;

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "JOB", arity = "1..*", description = "Job ids (see 'squeeze jobs').")
    List<Long> ids;

    @Override
    public Integer call() {
        var out = spec.commandLine().getOut();
        ResultsStore store;
        try {
            store = parent.openStore();
        } catch (SqueezeException inUse) {
            if (!inUse.getMessage().contains("in use by another Squeeze process")) {
                throw inUse;
            }
            // The process running the jobs holds the database: ask it through a request file it watches.
            Path root = ResultsStore.checkpointRootFor(parent.database());
            for (long id : ids) {
                try {
                    Files.createDirectories(root);
                    Files.writeString(JobEngine.cancelRequestFile(root, id), "cancel\n");
                } catch (IOException e) {
                    throw new SqueezeException("Could not ask the running Squeeze to cancel job " + id + ": "
                            + e.getMessage(), "stop it from the window or terminal that runs it", e);
                }
                out.printf("Asked the running Squeeze process to cancel job %d.%n", id);
            }
            return 0;
        }
        try (store) {
            try (JobEngine engine = new JobEngine(store, JobEngine.Options.defaults())) {
                for (long id : ids) {
                    engine.cancel(id);
                    out.printf("Cancelled job %d.%n", id);
                }
            }
        }
        return 0;
    }
}
