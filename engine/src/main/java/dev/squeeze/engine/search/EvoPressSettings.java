package dev.squeeze.engine.search;

import java.time.Duration;
import java.util.List;

/**
 * Settings of an {@link EvoPress} search (defaults as the reference's quantization search, with a shorter last stage).
 *
 * @param generations        how many generations at most
 * @param offspring          unique children of the parent per generation
 * @param maxFlips           a child makes {@code min(randint(1, maxFlips), randint(1, maxFlips))} flips
 * @param stages             selection stages: calibration samples (tokens or images) and survivors of each; the last
 *                           keeps one, and the parent joins only the last (elitism)
 * @param seed               the search seed: children, sample seeds and the random start derive from it
 * @param timeLimit          stop and keep the best after this long, or null for none
 * @param flipRetries        draws of a layer and a new level per flip before the flip is given up
 * @param initialCandidates  random start: candidates generated (each decremented until under the budget)
 * @param initialSamples     random start: calibration samples the candidates are compared on
 */
public record EvoPressSettings(int generations, int offspring, int maxFlips, List<Stage> stages, long seed,
                               Duration timeLimit, int flipRetries, int initialCandidates, long initialSamples) {
    /** One selection stage. */
    public record Stage(long samples, int survivors) {
        public Stage {
            if (samples < 1) {
                throw new IllegalArgumentException("a stage needs at least one sample, not " + samples);
            }
            if (survivors < 1) {
                throw new IllegalArgumentException("a stage keeps at least one survivor, not " + survivors);
            }
        }
    }

    /** 2048 → 16384 → 65536 tokens keeping 16 → 4 → 1. */
    public static final List<Stage> DEFAULT_STAGES =
            List.of(new Stage(2048, 16), new Stage(16384, 4), new Stage(65536, 1));

    public EvoPressSettings {
        stages = List.copyOf(stages);
        if (generations < 0) {
            throw new IllegalArgumentException("generations must not be negative: " + generations);
        }
        if (offspring < 1) {
            throw new IllegalArgumentException("offspring must be at least 1: " + offspring);
        }
        if (maxFlips < 1) {
            throw new IllegalArgumentException("maxFlips must be at least 1: " + maxFlips);
        }
        if (stages.isEmpty()) {
            throw new IllegalArgumentException("at least one selection stage");
        }
        if (stages.getLast().survivors() != 1) {
            throw new IllegalArgumentException("the last stage keeps exactly one survivor, not "
                    + stages.getLast().survivors());
        }
        if (timeLimit != null && (timeLimit.isNegative() || timeLimit.isZero())) {
            throw new IllegalArgumentException("time limit must be positive: " + timeLimit);
        }
        if (flipRetries < 1) {
            throw new IllegalArgumentException("flipRetries must be at least 1: " + flipRetries);
        }
        if (initialCandidates < 1) {
            throw new IllegalArgumentException("initialCandidates must be at least 1: " + initialCandidates);
        }
        if (initialSamples < 1) {
            throw new IllegalArgumentException("initialSamples must be at least 1: " + initialSamples);
        }
    }

    /** Defaults: 128 offspring, up to 3 flips, the default stages, no time limit, 32 random start candidates. */
    public static EvoPressSettings defaults(int generations, long seed) {
        return new EvoPressSettings(generations, 128, 3, DEFAULT_STAGES, seed, null, 100, 32, 2048);
    }

    public EvoPressSettings withSeed(long s) {
        return new EvoPressSettings(generations, offspring, maxFlips, stages, s, timeLimit, flipRetries,
                initialCandidates, initialSamples);
    }

    public EvoPressSettings withGenerations(int g) {
        return new EvoPressSettings(g, offspring, maxFlips, stages, seed, timeLimit, flipRetries,
                initialCandidates, initialSamples);
    }

    public EvoPressSettings withOffspring(int o) {
        return new EvoPressSettings(generations, o, maxFlips, stages, seed, timeLimit, flipRetries,
                initialCandidates, initialSamples);
    }

    public EvoPressSettings withStages(List<Stage> s) {
        return new EvoPressSettings(generations, offspring, maxFlips, s, seed, timeLimit, flipRetries,
                initialCandidates, initialSamples);
    }

    public EvoPressSettings withTimeLimit(Duration t) {
        return new EvoPressSettings(generations, offspring, maxFlips, stages, seed, t, flipRetries,
                initialCandidates, initialSamples);
    }

    public EvoPressSettings withInitial(int candidates, long samples) {
        return new EvoPressSettings(generations, offspring, maxFlips, stages, seed, timeLimit, flipRetries,
                candidates, samples);
    }
}
