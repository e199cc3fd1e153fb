package dev.squeeze.engine.cli;

import dev.squeeze.engine.export.sqz.Sqz;
import dev.squeeze.engine.export.sqz.SqzBundle;
import dev.squeeze.engine.export.sqz.SqzEvaluation;
import dev.squeeze.engine.store.RunRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "eval", description = {
        "Evaluate a Squeeze bundle (.sqz) again, on the data its run was evaluated on, computing with its",
        "compressed layers as the run did, and compare with the metrics stored in it.",
        "Exit code 0 when every metric is identical, 3 when one differs or the data cannot be found."})
final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "BUNDLE", description = "A .sqz file (squeeze export --run ID --format sqz).")
    Path bundle;

    @picocli.CommandLine.Mixin
    JobsSupport.ImageOptions images;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        SqzBundle b = Sqz.read(bundle);
        SqzEvaluation e = images.images != null || images.labels != null
                ? SqzEvaluation.evaluate(b, dev.squeeze.engine.jobs.ModelRefs.evaluationImages(bundle.toString(),
                b.model(), images.images, images.labels))
                : Sqz.evaluate(b);
        out.printf("%s: %s%nEvaluated on %s%n", bundle, b.label(), e.on());
        out.printf("%-28s %-12s %18s %18s%n", "metric", "split", "stored", "measured");
        for (RunRecord.Metric m : e.measured()) {
            String stored = e.stored().stream().filter(s -> s.name().equals(m.name()) && s.split().equals(m.split()))
                    .findFirst().map(s -> String.format(Locale.ROOT, "%.10g", s.value())).orElse("—");
            out.printf(Locale.ROOT, "%-28s %-12s %18s %18.10g%n", m.name(), m.split(), stored, m.value());
        }
        if (e.identical()) {
            out.println("Identical to the stored metrics.");
            return 0;
        }
        out.println("Different from the stored metrics:");
        e.differences().forEach(d -> out.println("  " + d));
        return SqueezeCli.EXIT_INPUT;
    }
}
