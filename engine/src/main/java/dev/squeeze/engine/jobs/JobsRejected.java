package dev.squeeze.engine.jobs;

import dev.squeeze.engine.SqueezeException;

import java.util.List;

/**
 * Jobs refused before any was queued: each job that does not fit its model, with the reason. The message is the
 * first refusal's (what a single {@code run} shows); a caller that knows where each job came from (a sweep's plan
 * files) can name them all from {@link #refusals()} without checking the plans a second time.
 */
public final class JobsRejected extends SqueezeException {
    private static final long serialVersionUID = 1L;

    /** One refused job, the display name of its model, and why. */
    public record Refusal(JobSpec spec, String modelName, SqueezeException reason) {
    }

    private final transient List<Refusal> refusals;

    JobsRejected(List<Refusal> refusals) {
        super(refusals.getFirst().reason().getMessage(), null, refusals.getFirst().reason());
        this.refusals = List.copyOf(refusals);
    }

    public List<Refusal> refusals() {
        return refusals;
    }

    @Override
    public String fix() {
        return refusals.getFirst().reason().fix();
    }
}
