package dev.squeeze.engine.data.text;

/**
 * Stories {@code first..last}, numbered from 1 and inclusive, the way people say "stories 501–1000".
 */
public record StoryRange(int first, int last) {
    public StoryRange {
        if (first < 1 || last < first) {
            throw new IllegalArgumentException("a story range runs from story 1 or later to a story at or after its"
                    + " first; got " + first + "–" + last);
        }
    }

    public static StoryRange of(int first, int last) {
        return new StoryRange(first, last);
    }

    public int size() {
        return last - first + 1;
    }

    public boolean contains(int story) {
        return story >= first && story <= last;
    }

    public boolean overlaps(StoryRange other) {
        return first <= other.last && other.first <= last;
    }

    @Override
    public String toString() {
        return "stories " + first + "–" + last;
    }
}
