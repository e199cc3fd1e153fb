package dev.squeeze.engine.plan;

import java.util.regex.Pattern;

/**
 * Whole-name regex matching with a bound on the work, so that a pattern that backtracks catastrophically —
 * {@code (.*){20}X} takes longer than the universe on a 30-character layer name — is reported instead of hanging
 * plan validation. We keep {@code java.util.regex} (plans use its lookaheads, e.g. {@code ^(?!.*lm_head)}) and
 * count its steps: the name is handed to the matcher as a {@link CharSequence} that counts {@code charAt} calls
 * and gives up past a limit. Steps, not wall time, so that the same plan on the same model passes or fails the
 * same way on an idle laptop and on a loaded build machine.
 *
 * <p>Both limits are far above what sensible patterns need. The matcher reads about 50 million characters a
 * second, so one name costs at most ~20 ms and a whole plan ~4 s. A whole-name pattern reads a name a few times
 * ({@code ^(?!.*lm_head).*} reads a 32-character name 131 times); even a cubic one such as {@code .*a.*b.*c} on a
 * 100-character name needs ~170,000 steps. The plan limit leaves room for 1,000 regex entries on a 1,000-layer
 * model at 200 steps each.
 *
 * <p>Not bounded: a pattern whose blow-up reads no character at all (dozens of empty alternatives {@code (|)} in a
 * row meeting the end of the name) — {@code java.util.regex} gives no other hook to count with.
 */
final class RegexBudget {
    /** At most this many characters read to match one pattern against one name. */
    static final long STEPS_PER_NAME = 1_000_000;
    /** At most this many characters read by all the regex entries of one plan against all the layers together. */
    static final long STEPS_PER_PLAN = 200_000_000;

    /** Which limit a match ran into. */
    enum Limit {
        /** {@link #STEPS_PER_NAME}: this pattern on this name. */
        NAME,
        /** {@link #STEPS_PER_PLAN}: all the plan's patterns together. */
        PLAN,
        /**
         * The thread's stack: {@code java.util.regex} recurses once per repetition of some groups (e.g.
         * {@code (?:a|b)*}), so a long enough name overflows the stack whatever the step count.
         */
        STACK
    }

    /** Thrown by {@link #matches} when a limit is reached. */
    static final class Exceeded extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final Limit limit;

        Exceeded(Limit limit) {
            super(null, null, false, false); // thrown from deep inside the matcher: no stack trace to fill
            this.limit = limit;
        }
    }

    private long left;

    RegexBudget() {
        this(STEPS_PER_PLAN);
    }

    RegexBudget(long stepsPerPlan) {
        this.left = stepsPerPlan;
    }

    /** Whether {@code pattern} matches the whole {@code name}; throws {@link Exceeded} past a limit. */
    boolean matches(Pattern pattern, String name) {
        long limit = Math.min(STEPS_PER_NAME, left);
        Counting text = new Counting(name, limit, limit < STEPS_PER_NAME ? Limit.PLAN : Limit.NAME);
        try {
            return pattern.matcher(text).matches();
        } catch (StackOverflowError e) {
            // Caught where it is thrown from: the matcher's frames are gone and no state of ours is half-done.
            throw new Exceeded(Limit.STACK);
        } finally {
            left -= text.steps;
        }
    }

    /** The name as the matcher sees it: every character read is a step. */
    private static final class Counting implements CharSequence {
        private final String s;
        private final long limit;
        private final Limit reached;
        long steps;

        Counting(String s, long limit, Limit reached) {
            this.s = s;
            this.limit = limit;
            this.reached = reached;
        }

        @Override
        public int length() {
            return s.length();
        }

        @Override
        public char charAt(int index) {
            if (++steps > limit) {
                throw new Exceeded(reached);
            }
            return s.charAt(index);
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            // Only for groups and messages, never while matching; linear, so not counted.
            return s.subSequence(start, end);
        }

        @Override
        public String toString() {
            return s;
        }
    }
}
