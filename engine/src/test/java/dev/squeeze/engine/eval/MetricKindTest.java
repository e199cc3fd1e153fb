package dev.squeeze.engine.eval;

import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What a stored metric's name means: its direction, its axis label and how a chart shows its values. */
class MetricKindTest {
    @Test
    void directionsOfTheStoredNames() {
        assertEquals(Optional.of(true), MetricKind.higherIsBetter("top1"));
        assertEquals(Optional.of(true), MetricKind.higherIsBetter("top5"));
        assertEquals(Optional.of(true), MetricKind.higherIsBetter("accuracy"));
        assertEquals(Optional.of(true), MetricKind.higherIsBetter("accuracy.cat"));
        assertEquals(Optional.of(true), MetricKind.higherIsBetter("accuracy.3"));
        assertEquals(Optional.of(false), MetricKind.higherIsBetter("perplexity"));
        assertEquals(Optional.of(false), MetricKind.higherIsBetter("nll_per_token"));
        assertEquals(Optional.of(false), MetricKind.higherIsBetter("kl"));
        assertEquals(Optional.of(false), MetricKind.higherIsBetter("kl_to_dense"));
        assertEquals(Optional.of(false), MetricKind.higherIsBetter("loss"));
        assertEquals(Optional.empty(), MetricKind.higherIsBetter("tokens"));
        assertEquals(Optional.empty(), MetricKind.higherIsBetter("calibration_windows"));
        assertEquals(Optional.empty(), MetricKind.higherIsBetter("kleenex"), "'kl' is a prefix only with _ or .");
        assertEquals(Optional.empty(), MetricKind.higherIsBetter("accuracyish"));
    }

    @Test
    void theKindsAgreeWithTheirNames() {
        assertEquals(true, MetricKind.TOP1.higherIsBetter());
        assertEquals(false, MetricKind.PERPLEXITY.higherIsBetter());
        assertEquals("Top-1 accuracy (%)", MetricKind.TOP1.axisLabel());
        assertEquals("Perplexity", MetricKind.PERPLEXITY.axisLabel());
        assertEquals(90.5, MetricKind.TOP1.display(0.905), 1e-12);
        assertEquals(5.25, MetricKind.PERPLEXITY.display(5.25));
    }

    @Test
    void axisLabels() {
        assertEquals("Top-1 accuracy (%)", MetricKind.axisLabel("top1"));
        assertEquals("Top-5 accuracy (%)", MetricKind.axisLabel("top5"));
        assertEquals("Accuracy (%)", MetricKind.axisLabel("accuracy"));
        assertEquals("Accuracy of class 3 (%)", MetricKind.axisLabel("accuracy.3"));
        assertEquals("Accuracy of class Ankle boot (%)", MetricKind.axisLabel("accuracy.Ankle boot"));
        assertEquals("Perplexity", MetricKind.axisLabel("perplexity"));
        assertEquals("NLL per token (nats)", MetricKind.axisLabel("nll_per_token"));
        assertEquals("KL divergence to dense", MetricKind.axisLabel("kl"));
        assertEquals("tokens", MetricKind.axisLabel("tokens"), "an unknown name is shown as stored");
    }

    @Test
    void accuraciesAreShownAsPercentagesAndNothingElseIsScaled() {
        assertEquals(87.5, MetricKind.display("top1", 0.875));
        assertEquals(50.0, MetricKind.display("accuracy.cat", 0.5));
        assertEquals(12.0, MetricKind.display("perplexity", 12.0));
        assertEquals(0.03, MetricKind.display("kl", 0.03));
        assertEquals(2.5, MetricKind.display("nll_per_token", 2.5));
    }
}
