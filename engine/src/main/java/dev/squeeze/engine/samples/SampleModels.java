package dev.squeeze.engine.samples;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.data.IdxReader;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.safetensors.SafetensorsFormat;
import dev.squeeze.engine.runs.ClassifierRuns;
import dev.squeeze.engine.store.ResultsStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * The built-in sample models, shipped as classpath resources by the {@code sample-models} module (the engine
 * does not depend on it at compile time: any jar that carries the resources provides them).
 */
public final class SampleModels {
    /** The Fashion-MNIST MLP, the workbench's default model. */
    public static final String FASHION_MLP = "fashion-mlp";
    private static final String ROOT = "/dev/squeeze/samples/";
    private static final Logger LOG = LoggerFactory.getLogger(SampleModels.class);

    private SampleModels() {
    }

    /** The names of the built-in samples. */
    public static java.util.List<String> names() {
        return java.util.List.of(FASHION_MLP);
    }

    /** A sample model with its committed evaluation subset. */
    public record Sample(Model model, ImageSet evaluation) {
    }

    /** Samples are class-path resources: they cannot change while the process runs, so each is read once. */
    private static final java.util.Map<String, Sample> LOADED = new java.util.concurrent.ConcurrentHashMap<>();

    public static Sample load(String name) {
        Sample cached = LOADED.get(name);
        if (cached != null) {
            return cached;
        }
        Sample sample = read(name);
        LOADED.putIfAbsent(name, sample);
        return sample;
    }

    private static Sample read(String name) {
        String base = ROOT + name + "/";
        byte[] weights = resource(base + "model.safetensors", name);
        byte[] images = resource(base + "eval-images-idx3-ubyte.gz", name);
        byte[] labels = resource(base + "eval-labels-idx1-ubyte.gz", name);
        try {
            Model model = new SafetensorsFormat().read(ByteBuffer.wrap(weights), "builtin:" + name, name);
            ImageSet eval = IdxReader.readImages(name + " eval subset", images, labels);
            return new Sample(model, eval);
        } catch (SqueezeException e) {
            String what = e.getMessage().lines().findFirst().orElse("");
            throw new SqueezeException("The built-in sample model '" + name + "' is damaged: " + what,
                    "restore it (git checkout sample-models) and rebuild with ./squeeze build, or retrain it with"
                            + " ./squeeze train-sample", e);
        }
    }

    public static Sample fashionMlp() {
        return load(FASHION_MLP);
    }

    /**
     * Makes sure the store holds the sample's default runs (dense, RTN 8-bit, RTN 4-bit per row), computing the
     * missing ones. Returns how many runs were added.
     */
    public static int ensureDefaultRuns(Sample sample, ResultsStore store) {
        if (!store.runs(sample.model().contentHash()).isEmpty()) {
            return 0;
        }
        LOG.info("First start with {}: computing its dense, RTN 8-bit and RTN 4-bit runs", sample.model().name());
        ClassifierRuns runs = new ClassifierRuns(store);
        runs.runDense(sample.model(), sample.evaluation());
        runs.runRtn(sample.model(), sample.evaluation(), RtnSettings.perRow(8));
        runs.runRtn(sample.model(), sample.evaluation(), RtnSettings.perRow(4));
        return 3;
    }

    private static byte[] resource(String path, String sample) {
        try (InputStream in = SampleModels.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new SqueezeException("The built-in sample model '" + sample + "' is missing: resource " + path
                        + " is not on the class path",
                        "rebuild with ./squeeze build (the sample-models module provides it), or open a model file");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new SqueezeException("Cannot read resource " + path + " of sample '" + sample + "': " + e.getMessage(),
                    "rebuild with ./squeeze build", e);
        }
    }
}
