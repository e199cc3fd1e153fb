package dev.squeeze.engine.data.text;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TextDataTest {
    @Test
    void storiesAreCutAtSeparatorLinesAndTrimmed() {
        String text = "Once there was a cat.\n\nIt sat.\n<|endoftext|>\n  Second story.  \r\n<|endoftext|>\n"
                + "<|endoftext|>\nThird <|endoftext|> inline stays.\n<|endoftext|>\n";
        StoryCorpus c = StoryCorpus.of("memory", text);
        assertEquals(3, c.size());
        assertEquals("Once there was a cat.\n\nIt sat.", c.story(1));
        assertEquals("Second story.", c.story(2));
        assertEquals("Third <|endoftext|> inline stays.", c.story(3));
        assertEquals(List.of("Second story.", "Third <|endoftext|> inline stays."), c.stories(StoryRange.of(2, 3)));
        assertThrows(SqueezeException.class, () -> c.stories(StoryRange.of(2, 4)));
        assertEquals(1, StoryCorpus.of("plain", "no separators\nat all").size());
        assertThrows(SqueezeException.class, () -> StoryCorpus.of("blank", "\n<|endoftext|>\n  \n"));
    }

    @Test
    void tinyStoriesFileHasAThousandStories() {
        StoryCorpus c = StoryCorpus.read(SharedData.require("data/tinystories/valid-1k.txt"));
        assertEquals(1000, c.size());
        assertTrue(c.story(1).startsWith("Spot. Spot saw the shiny car"), c.story(1));
        assertTrue(c.story(1000).endsWith("He knew he would always remember his special performance."));
        DataSplit.TINYSTORIES_1K.requireWithin(c.size(), c.source());
    }

    @Test
    void calibrationAndEvaluationCannotOverlap() {
        SqueezeException e = assertThrows(SqueezeException.class,
                () -> new DataSplit(StoryRange.of(1, 600), StoryRange.of(501, 1000)));
        assertTrue(e.getMessage().contains("stories 501–600 would be in both"), e.getMessage());
        assertThrows(SqueezeException.class, () -> new DataSplit(StoryRange.of(10, 10), StoryRange.of(1, 20)));
        DataSplit ok = new DataSplit(StoryRange.of(501, 1000), StoryRange.of(1, 500));
        assertFalse(ok.calibration().overlaps(ok.evaluation()));
        assertEquals(StoryRange.of(501, 1000), DataSplit.TINYSTORIES_1K.evaluation());
        assertThrows(SqueezeException.class, () -> DataSplit.TINYSTORIES_1K.requireWithin(900, "a file"));
        assertThrows(IllegalArgumentException.class, () -> StoryRange.of(0, 5));
        assertThrows(IllegalArgumentException.class, () -> StoryRange.of(6, 5));
        assertEquals("stories 501–1000", StoryRange.of(501, 1000).toString());
    }

    @Test
    void calibrationWindowsAreSeededAndStayInsideOneSequence() {
        List<int[]> seqs = List.of(seq(100, 5), seq(3000, 3), seq(2000, 40), seq(7000, 12));
        List<int[]> a = CalibrationWindows.sample(seqs, 50, 8, 1234);
        List<int[]> b = CalibrationWindows.sample(seqs, 50, 8, 1234);
        List<int[]> other = CalibrationWindows.sample(seqs, 50, 8, 99);
        assertEquals(50, a.size());
        boolean differs = false;
        for (int i = 0; i < a.size(); i++) {
            assertArrayEquals(a.get(i), b.get(i));
            differs |= !java.util.Arrays.equals(a.get(i), other.get(i));
            int[] w = a.get(i);
            assertEquals(8, w.length);
            // Each sequence counts up from a distinct base: a window is consecutive and within one sequence.
            int base = w[0] / 1000 * 1000;
            assertTrue(base == 2000 || base == 7000, "only sequences of ≥ 8 tokens are drawn from: " + w[0]);
            for (int k = 1; k < w.length; k++) {
                assertEquals(w[k - 1] + 1, w[k]);
            }
        }
        assertTrue(differs, "another seed draws other windows");
        // The recipe, restated: Random(seed); per window nextInt(#eligible), then nextInt(len - length + 1).
        java.util.Random r = new java.util.Random(1234);
        int[] chosen = r.nextInt(2) == 0 ? seqs.get(2) : seqs.get(3);
        int start = r.nextInt(chosen.length - 8 + 1);
        assertArrayEquals(java.util.Arrays.copyOfRange(chosen, start, start + 8), a.getFirst());
        SqueezeException e = assertThrows(SqueezeException.class, () -> CalibrationWindows.sample(seqs, 1, 41, 1));
        assertTrue(e.getMessage().contains("longest of 4 has 40"), e.getMessage());
    }

    private static int[] seq(int base, int n) {
        int[] s = new int[n];
        for (int i = 0; i < n; i++) {
            s[i] = base + i;
        }
        return s;
    }
}
