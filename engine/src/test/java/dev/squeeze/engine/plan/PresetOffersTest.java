package dev.squeeze.engine.plan;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.jobs.JobExecution;
import dev.squeeze.engine.jobs.JobSpec;
import dev.squeeze.engine.jobs.ModelRefs;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.testing.SharedData;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The issue: three of the four presets failed on the built-in sample and {@code spqr-near-lossless} on stories260K
 * (172 rows, not divisible by SpQR's row groups of 16). Every built-in and shared model is opened; every preset
 * offered for it must pass a job's own validation, and every preset left out must fail it as it is.
 */
public class PresetOffersTest {
    static final String MOSTLY_4BIT = "mostly-4bit-first-last-8bit";
    static final String SPQR = "spqr-near-lossless";

    /**
     * Every offer passes the job's check; every preset not offered fails it unadapted. Returns the offers. (The
     * sample-models module runs this on every built-in sample.)
     */
    public static List<Presets.Offer> checkOffers(String ref) {
        Model model = ModelRefs.open(ref);
        List<Presets.Offer> offers = Presets.offeredFor(model);
        for (Presets.Offer o : offers) {
            JobSpec spec = JobSpec.of(ref, o.plan(), o.preset().name());
            Map<?, ?> settings = JobExecution.validate(spec, model);
            assertFalse(settings.isEmpty(), o.preset().name() + " compresses something on " + ref);
            assertEquals(o.preset(), o.plan().preset(), "the offered plan starts from its preset");
        }
        List<String> offered = names(offers);
        for (Presets.Preset p : Presets.all()) {
            if (!offered.contains(p.name())) {
                JobSpec spec = JobSpec.of(ref, CompressionPlan.preset(p.name()), p.name());
                assertThrows(SqueezeException.class, () -> JobExecution.validate(spec, model),
                        p.name() + " is not offered for " + ref + ", yet a job would take it");
            }
        }
        return offers;
    }

    static List<String> names(List<Presets.Offer> offers) {
        return offers.stream().map(o -> o.preset().name()).toList();
    }

    /**
     * A classifier (an MLP like the built-in sample; the sample itself is checked in the sample-models module,
     * which carries it): its runs are data-free, so GPTQ, SpQR and SparseGPT (which need the layers' Hessians) are
     * not offered; the RTN recipe is, unchanged.
     */
    @Test
    void aClassifierIsOfferedOnlyTheDataFreePreset(@TempDir Path dir) throws Exception {
        String ref = TinyModels.writeDeepMlp(dir, 3).toAbsolutePath().toString();
        List<Presets.Offer> offers = checkOffers(ref);
        assertEquals(List.of(MOSTLY_4BIT), names(offers));
        assertNull(offers.getFirst().note());
        assertEquals(CompressionPlan.preset(MOSTLY_4BIT), offers.getFirst().plan());
        assertFalse(Presets.calibrates(ModelRefs.open(ref)));
    }

    @Test
    void mnist7IsOfferedTheDataFreePreset() {
        String ref = SharedData.require("models/mnist-7/mnist-7.onnx").toAbsolutePath().toString();
        List<Presets.Offer> offers = checkOffers(ref);
        assertEquals(List.of(MOSTLY_4BIT), names(offers));
    }

    @Test
    void stories260KIsOfferedAllFourWithSpqrsRowGroupsAdaptedToItsMlpLayers() {
        String ref = SharedData.require("models/stories260K/stories260K.bin").toAbsolutePath().toString();
        Model model = ModelRefs.open(ref);
        assertTrue(Presets.calibrates(model));
        List<Presets.Offer> offers = checkOffers(ref);
        assertEquals(List.of("gptq-4bit-g128", MOSTLY_4BIT, SPQR, "2of4-plus-4bit"), names(offers));

        // As it is, the preset fails on the 172-row layers (the report) ...
        SqueezeException e = assertThrows(SqueezeException.class, () -> JobExecution.validate(
                JobSpec.of(ref, CompressionPlan.preset(SPQR), SPQR), model));
        assertTrue(e.getMessage().contains("qqGroupSize") && e.getMessage().contains("172"), e.getMessage());

        // ... offered, the gate and up projections of the 5 blocks (172 × 64) take row groups of 4 (172 = 4 × 43),
        // the largest divisor of 172 not above 16; every other layer keeps the preset's settings.
        Presets.Offer spqr = offers.get(2);
        assertNotNull(spqr.note());
        assertTrue(spqr.note().contains("groups of 4 rows instead of 16") && spqr.note().contains("10 layers"),
                spqr.note());
        Map<String, dev.squeeze.engine.compress.MethodSettings> resolved = PlanResolver.resolve(spqr.plan(), model);
        int adapted = 0;
        for (var l : model.layers()) {
            var s = (dev.squeeze.engine.compress.spqr.SpqrSettings) resolved.get(l.name());
            if (s == null) {
                continue;
            }
            assertEquals(16, s.groupSize(), l.name());
            if (l.shape()[0] == 172) {
                assertEquals(4, s.qqGroupSize(), l.name());
                adapted++;
            } else {
                assertEquals(16, s.qqGroupSize(), l.name() + " " + l.shapeText());
            }
        }
        assertEquals(10, adapted);
        assertEquals(10, spqr.plan().overrides().size(), "one exact-name override per adapted layer");
        for (Presets.Offer o : offers) {
            if (o != spqr) {
                assertNull(o.note(), o.preset().name());
                assertEquals(CompressionPlan.preset(o.preset().name()), o.plan(), o.preset().name());
            }
        }
    }

    @Test
    void rowGroupsFallToTheLargestDivisorNotAboveThePresets() {
        var spqr = dev.squeeze.engine.compress.spqr.SpqrSettings.recommended(4);
        assertEquals(12, ((dev.squeeze.engine.compress.spqr.SpqrSettings) Presets.adapt(spqr, 36).orElseThrow()
                .settings()).qqGroupSize(), "36 = 12 × 3: 16 and 13–15 do not divide it");
        assertEquals(1, ((dev.squeeze.engine.compress.spqr.SpqrSettings) Presets.adapt(spqr, 17).orElseThrow()
                .settings()).qqGroupSize(), "17 is prime");
        assertTrue(Presets.adapt(spqr, 32).isEmpty(), "16 divides 32: nothing to adapt");
        assertTrue(Presets.adapt(dev.squeeze.engine.compress.RtnSettings.perRow(4), 17).isEmpty());
    }
}
