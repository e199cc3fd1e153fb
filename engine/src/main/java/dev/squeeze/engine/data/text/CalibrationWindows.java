package dev.squeeze.engine.data.text;

import dev.squeeze.engine.SqueezeException;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Seeded sampling of fixed-length calibration windows, GPTQ's recipe: for each window draw a sequence uniformly
 * among those at least {@code length} tokens long ({@code random.nextInt(eligible)}), then a start uniformly
 * among its possible starts ({@code random.nextInt(size - length + 1)}), with one {@link Random} seeded once.
 * The same sequences, count, length and seed always give the same windows. A window never crosses a sequence
 * boundary; it starts with BOS only when it starts at a story's beginning.
 */
public final class CalibrationWindows {
    private CalibrationWindows() {
    }

    /**
     * @param sequences token sequences (e.g. {@link StoryCorpus#tokens} of the calibration range)
     * @param count     windows to draw (with replacement)
     * @param length    tokens per window
     * @param seed      the {@link Random} seed
     */
    public static List<int[]> sample(List<int[]> sequences, int count, int length, long seed) {
        if (count < 0 || length <= 0) {
            throw new IllegalArgumentException("need count ≥ 0 and length > 0, got " + count + " and " + length);
        }
        List<int[]> eligible = new ArrayList<>();
        int longest = 0;
        for (int[] s : sequences) {
            longest = Math.max(longest, s.length);
            if (s.length >= length) {
                eligible.add(s);
            }
        }
        if (eligible.isEmpty() && count > 0) {
            throw new SqueezeException("No calibration sequence is " + length + " tokens long (the longest of "
                    + sequences.size() + " has " + longest + ")", "choose a window of at most " + longest + " tokens");
        }
        Random random = new Random(seed);
        List<int[]> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int[] s = eligible.get(random.nextInt(eligible.size()));
            int start = random.nextInt(s.length - length + 1);
            out.add(java.util.Arrays.copyOfRange(s, start, start + length));
        }
        return out;
    }
}
