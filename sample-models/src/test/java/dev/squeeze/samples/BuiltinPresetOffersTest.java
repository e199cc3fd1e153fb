package dev.squeeze.samples;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.JobExecution;
import dev.squeeze.engine.jobs.JobSpec;
import dev.squeeze.engine.jobs.ModelRefs;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.plan.CompressionPlan;
import dev.squeeze.engine.plan.Presets;
import dev.squeeze.engine.samples.SampleModels;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Issue #10: three of the four presets failed on the sample the workbench opens first. Every built-in sample is
 * opened (this module carries them); every preset offered for it passes a job's own validation, and every preset
 * left out fails it. (The engine's PresetOffersTest does the same for the shared models.)
 */
class BuiltinPresetOffersTest {
    @Test
    void everyBuiltInSampleIsOfferedExactlyThePresetsItsJobsTake() {
        assertFalse(SampleModels.names().isEmpty());
        for (String name : SampleModels.names()) {
            String ref = "builtin:" + name;
            Model model = ModelRefs.open(ref);
            List<Presets.Offer> offers = Presets.offeredFor(model);
            assertFalse(offers.isEmpty(), "no preset offered for the sample " + name);
            for (Presets.Offer o : offers) {
                assertFalse(JobExecution.validate(JobSpec.of(ref, o.plan(), o.preset().name()), model).isEmpty());
            }
            List<String> offered = offers.stream().map(o -> o.preset().name()).toList();
            for (Presets.Preset p : Presets.all()) {
                if (!offered.contains(p.name())) {
                    JobSpec spec = JobSpec.of(ref, CompressionPlan.preset(p.name()), p.name());
                    assertThrows(SqueezeException.class, () -> JobExecution.validate(spec, model),
                            p.name() + " is not offered for " + name + ", yet a job would take it");
                }
            }
        }
    }

    /**
     * The Fashion-MNIST MLP is a classifier, and classifier runs are data-free: GPTQ, SpQR and SparseGPT need the
     * layers' Hessians, so only the RTN recipe is offered, as it is.
     */
    @Test
    void theFashionMlpIsOfferedTheDataFreeRecipeUnchanged() {
        List<Presets.Offer> offers = Presets.offeredFor(SampleModels.fashionMlp().model());
        assertEquals(List.of("mostly-4bit-first-last-8bit"), offers.stream().map(o -> o.preset().name()).toList());
        assertNull(offers.getFirst().note());
        assertEquals(CompressionPlan.preset("mostly-4bit-first-last-8bit"), offers.getFirst().plan());
    }
}
