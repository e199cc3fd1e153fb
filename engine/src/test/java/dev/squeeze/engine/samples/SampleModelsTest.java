package dev.squeeze.engine.samples;

import dev.squeeze.engine.SqueezeException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sample's weights are tested in sample-models; here, what a user sees when a sample is missing or broken. */
class SampleModelsTest {
    @Test
    void aMissingSampleNamesTheResourceAndTheFix() {
        SqueezeException e = assertThrows(SqueezeException.class, () -> SampleModels.load("no-such-sample"));
        assertTrue(e.getMessage().contains("/dev/squeeze/samples/no-such-sample/model.safetensors")
                && e.getMessage().contains("Fix: rebuild"), e.getMessage());
    }

    /** The test resource "broken" holds the first 300 bytes of the real sample's weights. */
    @Test
    void aDamagedSampleSaysSoAndHowToRestoreIt() {
        SqueezeException e = assertThrows(SqueezeException.class, () -> SampleModels.load("broken"));
        assertTrue(e.getMessage().contains("'broken' is damaged") && e.getMessage().contains("builtin:broken")
                && e.getMessage().contains("git checkout sample-models"), e.getMessage());
        assertTrue(e.getMessage().lines().filter(l -> l.contains("Fix:")).count() == 1, e.getMessage());
    }
}
