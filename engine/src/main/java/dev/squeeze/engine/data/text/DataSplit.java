package dev.squeeze.engine.data.text;

import dev.squeeze.engine.SqueezeException;

/**
 * Which stories calibrate a compression method and which evaluate it. The two ranges never share a story: a
 * method tuned on the text it is scored on would report a flattering number, so the constructor refuses it.
 */
public record DataSplit(StoryRange calibration, StoryRange evaluation) {
    /** The split used for stories260K from issue #3 on: calibrate on stories 1–500, evaluate on 501–1000. */
    public static final DataSplit TINYSTORIES_1K = new DataSplit(StoryRange.of(1, 500), StoryRange.of(501, 1000));

    public DataSplit {
        if (calibration == null || evaluation == null) {
            throw new IllegalArgumentException("both ranges are required");
        }
        if (calibration.overlaps(evaluation)) {
            int from = Math.max(calibration.first(), evaluation.first());
            int to = Math.min(calibration.last(), evaluation.last());
            throw new SqueezeException("Calibration " + calibration + " and evaluation " + evaluation
                    + " overlap: stories " + from + "–" + to + " would be in both",
                    "choose ranges that share no story, e.g. calibration 1–500 and evaluation 501–1000");
        }
    }

    /** Checks that both ranges exist in a corpus of {@code stories} stories. */
    public void requireWithin(int stories, String where) {
        for (StoryRange r : new StoryRange[]{calibration, evaluation}) {
            if (r.last() > stories) {
                throw new SqueezeException("The split asks for " + r + " but " + where + " holds " + stories
                        + " stories", "choose ranges within 1–" + stories);
            }
        }
    }
}
