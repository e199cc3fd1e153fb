package dev.squeeze.engine.search;

import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormats;
import dev.squeeze.engine.nn.ImageClassifier;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClassifierSearchTest {
    @Test
    void imageSplitCalibratesOnTheLastFifthAndEvaluatesOnTheRest() {
        ImageSet images = TinyModels.images(103, 1);
        ImageSet cal = ImageSplit.calibration(images);
        ImageSet eval = ImageSplit.evaluation(images);
        assertEquals(20, cal.count(), "103 / 5");
        assertEquals(83, eval.count());
        int size = images.imageSize();
        assertArrayEquals(java.util.Arrays.copyOfRange(images.pixels(), 83 * size, 103 * size), cal.pixels());
        assertArrayEquals(java.util.Arrays.copyOfRange(images.labels(), 0, 83), eval.labels());
        assertThrows(dev.squeeze.engine.SqueezeException.class, () -> ImageSplit.calibration(images.head(4)));
    }

    @Test
    void levelsFitnessAndSensitivityOfTheSampleMlp(@TempDir Path dir) throws Exception {
        Model model = ModelFormats.open(TinyModels.writeMlp(dir, 5));
        ImageSet images = TinyModels.images(200, 2);
        try (SearchSubject subject = SearchSubject.of(model, images); ResultsStore store = ResultsStore.inMemory()) {
            SearchSubject.Classifier c = (SearchSubject.Classifier) subject;
            assertEquals(40, c.calibration().count());
            LevelDatabase db = LevelDatabase.build(subject, dir.resolve("levels"), Candidates.FAMILIES, null, null);
            assertEquals(2, db.layers().size(), "64-32-4: two linears");
            for (LayerLevels l : db.layers()) {
                for (Level lv : l.levels()) {
                    assertTrue(lv.dense() || !lv.settings().needsCalibration(), "data-free only: " + lv.describe());
                }
            }
            ClassifierKlFitness fitness = new ClassifierKlFitness(db);
            int[] dense = new int[2];
            assertEquals(0.0, fitness.evaluate(dense, 1000, 0));
            int[] rough = {1, 1}; // RTN 2-bit per row on both layers
            double kl = fitness.evaluate(rough, 1000, 0);
            assertTrue(kl > 0);
            assertEquals(kl, fitness.evaluate(rough, 1000, 0));
            // Independently: the softmax KL of the two classifiers' logits on the calibration images.
            ImageClassifier d = c.dense();
            ImageClassifier q = c.network(db.tensors(rough));
            ImageSet cal = c.calibration();
            float[] ld = d.logits(cal.batch(0, cal.count()), cal.count());
            float[] lq = q.logits(cal.batch(0, cal.count()), cal.count());
            int k = ld.length / cal.count();
            double sum = 0;
            for (int i = 0; i < cal.count(); i++) {
                double[] p = softmax(ld, i * k, k);
                double[] r = softmax(lq, i * k, k);
                for (int j = 0; j < k; j++) {
                    sum += p[j] * (Math.log(p[j]) - Math.log(r[j]));
                }
            }
            assertEquals(sum / cal.count(), kl, 1e-6 * kl + 1e-9);
            // A sample of 10 of the 40 images, seeded.
            assertEquals(10, fitness.sample(10, 3).length);
            assertArrayEquals(fitness.sample(10, 3), fitness.sample(10, 3));

            Sensitivity.Table t = Sensitivity.measure(db, fitness,
                    new SensitivityCache(store, subject, SensitivityCache.KL, Sensitivity.DEFAULT_IMAGES, 0),
                    Sensitivity.DEFAULT_IMAGES, 0, null, null);
            assertEquals(t.cells().size(), t.measured());
            for (Sensitivity.Cell cell : t.cells()) {
                assertTrue(Double.isFinite(cell.top1Delta()) && cell.top1Delta() <= 1 && cell.top1Delta() >= -1);
                assertTrue(cell.kl() >= -1e-9);
            }
            Sensitivity.Table again = Sensitivity.measure(db, fitness,
                    new SensitivityCache(store, subject, SensitivityCache.KL, Sensitivity.DEFAULT_IMAGES, 0),
                    Sensitivity.DEFAULT_IMAGES, 0, null, null);
            assertEquals(0, again.measured());
            assertEquals(t.cells().get(3).top1Delta(), again.cells().get(3).top1Delta());
        }
    }

    private static double[] softmax(float[] x, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, x[off + i]);
        }
        double[] out = new double[n];
        double s = 0;
        for (int i = 0; i < n; i++) {
            out[i] = Math.exp(x[off + i] - max);
            s += out[i];
        }
        for (int i = 0; i < n; i++) {
            out[i] /= s;
        }
        return out;
    }
}
