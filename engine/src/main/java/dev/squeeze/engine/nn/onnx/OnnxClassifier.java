package dev.squeeze.engine.nn.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.onnx.OnnxModel;
import dev.squeeze.engine.nn.ImageClassifier;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An ONNX image classifier run by ONNX Runtime on the CPU, optionally with some initializers replaced (e.g. by
 * compressed weights). The model must have one float input whose dimensions after the first (the batch) hold one
 * image, and a float output of {@code batch × classes}. A fixed batch dimension (mnist-7's is 1) is filled up
 * with zero images; a symbolic one takes up to {@value #MAX_BATCH} images per run.
 * <p>
 * Not thread-safe: one instance per thread. Close it to free the native session.
 */
public final class OnnxClassifier implements ImageClassifier, AutoCloseable {
    static final int MAX_BATCH = 64;
    /** The most floats one run's input buffer holds (4 bytes each: the largest direct buffer). */
    /**
     * The input values one run may take (64 MB of floats, allocated once per classifier). A graph's input shape is a
     * claim of the file like any other: a symbolic batch shrinks to fit (an ImageNet-sized 3×224×224 input still
     * runs 64 images at once), and a fixed batch or an image larger than this is refused.
     */
    private static final int MAX_VALUES = 1 << 24;

    private final String source;
    private final OrtEnvironment env;
    private final OrtSession session;
    private final String inputName;
    private final String outputName;
    private final long[] inputShape;
    private final int inputSize;
    private final int batch;
    private final List<String> classNames;
    private final float inputScale;
    private final FloatBuffer buffer;

    private OnnxClassifier(String source, OrtEnvironment env, OrtSession session, float inputScale) {
        this.source = source;
        this.env = env;
        this.session = session;
        this.inputScale = inputScale;
        try {
            Map<String, NodeInfo> inputs = session.getInputInfo();
            Map<String, NodeInfo> outputs = session.getOutputInfo();
            if (inputs.size() != 1 || outputs.isEmpty()) {
                throw unusable("it has " + inputs.size() + " inputs " + inputs.keySet() + " and " + outputs.size()
                        + " outputs; an image classifier has one input and its logits as first output");
            }
            NodeInfo in = inputs.values().iterator().next();
            NodeInfo out = outputs.values().iterator().next();
            TensorInfo inInfo = floatTensor(in);
            TensorInfo outInfo = floatTensor(out);
            long[] shape = inInfo.getShape();
            if (shape.length < 2) {
                throw unusable("input '" + in.getName() + "' has shape " + Arrays.toString(shape)
                        + "; expected a batch dimension followed by the image dimensions");
            }
            this.inputName = in.getName();
            this.outputName = out.getName();
            this.inputSize = (int) product(shape, in.getName());
            // A fixed batch is filled up with zero images on every run, so it must fit one direct buffer of floats.
            if (shape[0] > MAX_VALUES / inputSize) {
                throw unusable("input '" + in.getName() + "' has shape " + Arrays.toString(shape) + ": a fixed batch"
                        + " of " + shape[0] + " images of " + inputSize + " values is more than one run can take ("
                        + MAX_VALUES + " values)");
            }
            this.batch = shape[0] > 0 ? (int) shape[0] : Math.max(1, Math.min(MAX_BATCH, MAX_VALUES / inputSize));
            this.inputShape = shape.clone();
            this.inputShape[0] = batch;
            long[] outShape = outInfo.getShape();
            int classes = (int) product(outShape, out.getName());
            if (outShape.length < 1 || classes < 1) {
                throw unusable("output '" + out.getName() + "' has shape " + Arrays.toString(outShape));
            }
            List<String> names = new ArrayList<>();
            for (int c = 0; c < classes; c++) {
                names.add(Integer.toString(c));
            }
            this.classNames = List.copyOf(names);
            this.buffer = ByteBuffer.allocateDirect(4 * batch * inputSize).order(ByteOrder.nativeOrder())
                    .asFloatBuffer();
        } catch (OrtException e) {
            throw unusable("ONNX Runtime cannot describe its inputs and outputs (" + e.getMessage() + ")");
        }
    }

    /** Runs the model as read, raw inputs as they come, on one thread. */
    public static OnnxClassifier open(OnnxModel model) {
        return open(model, Map.of(), 1f, 1);
    }

    /** Runs the model with some initializers replaced, raw inputs as they come, on one thread. */
    public static OnnxClassifier open(OnnxModel model, Map<String, float[]> replacements) {
        return open(model, replacements, 1f, 1);
    }

    /**
     * Runs the model with some initializers replaced.
     *
     * @param replacements initializer name → values (see {@link OnnxModel#serializedWith(Map)})
     * @param inputScale   factor applied to each raw input value (1 for models that take 0–255 pixels)
     * @param threads      ONNX Runtime's intra-op threads; 1 suits small models run one image at a time
     */
    public static OnnxClassifier open(OnnxModel model, Map<String, float[]> replacements, float inputScale,
                                      int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, was " + threads);
        }
        // Replacements are checked against the read model before ONNX Runtime sees any byte.
        byte[] bytes = model.serializedWith(replacements);
        OrtEnvironment env = OrtRuntime.environment();
        String source = model.model().source();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            OrtSession session = env.createSession(bytes, options);
            try {
                return new OnnxClassifier(source, env, session, inputScale);
            } catch (RuntimeException e) {
                closeQuietly(session);
                throw e;
            }
        } catch (OrtException e) {
            throw new SqueezeException("ONNX Runtime cannot load the model " + source + ": " + e.getMessage(),
                    "check that the model runs in ONNX Runtime " + env.getVersion()
                            + " (supported opsets, valid graph); export it again if it is damaged", e);
        }
    }

    /** Images per ONNX Runtime run (fixed by the graph, or chosen to fit {@link #MAX_VALUES}). */
    int batchSize() {
        return batch;
    }

    @Override
    public int inputSize() {
        return inputSize;
    }

    @Override
    public List<String> classNames() {
        return classNames;
    }

    /** Images per run: the model's fixed batch size, or {@value #MAX_BATCH} for a symbolic one. */
    public int runBatch() {
        return batch;
    }

    @Override
    public float[] logits(float[] rawInputs, int count) {
        if (rawInputs.length != (long) count * inputSize) {
            throw new IllegalArgumentException(rawInputs.length + " input values for " + count + " images of "
                    + inputSize);
        }
        int classes = classNames.size();
        float[] out = new float[Math.multiplyExact(count, classes)];
        for (int from = 0; from < count; from += batch) {
            int n = Math.min(batch, count - from);
            buffer.clear();
            for (int i = from * inputSize, end = (from + n) * inputSize; i < end; i++) {
                buffer.put(rawInputs[i] * inputScale);
            }
            // A fixed batch larger than what is left is padded with zero images, whose logits are dropped.
            while (buffer.hasRemaining()) {
                buffer.put(0f);
            }
            buffer.flip();
            run(out, from * classes, n * classes);
        }
        return out;
    }

    private void run(float[] out, int offset, int values) {
        try (OnnxTensor input = OnnxTensor.createTensor(env, buffer, inputShape);
             OrtSession.Result result = session.run(Map.of(inputName, input), Set.of(outputName))) {
            OnnxValue v = result.get(0);
            if (!(v instanceof OnnxTensor t) || t.getInfo().type != OnnxJavaType.FLOAT) {
                throw unusable("output '" + outputName + "' is not a float tensor");
            }
            FloatBuffer logits = t.getFloatBuffer();
            if (logits.remaining() < values) {
                throw unusable("output '" + outputName + "' holds " + logits.remaining() + " values for a batch"
                        + " that needs " + values);
            }
            logits.get(out, offset, values);
        } catch (OrtException e) {
            throw new SqueezeException("ONNX Runtime failed to run " + source + ": " + e.getMessage(),
                    "check that the inputs match the model", e);
        }
    }

    /** Closes the session once; closing again is a no-op (a classifier may be closed by its user and its subject). */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            closeQuietly(session);
        }
    }

    private boolean closed;

    private TensorInfo floatTensor(NodeInfo info) {
        if (!(info.getInfo() instanceof TensorInfo t) || t.type != OnnxJavaType.FLOAT) {
            throw unusable("'" + info.getName() + "' is " + info.getInfo() + ", not a float tensor");
        }
        return t;
    }

    /** The number of values after the batch dimension; all of those dimensions must be known. */
    private long product(long[] shape, String name) {
        long n = 1;
        for (int i = 1; i < shape.length; i++) {
            if (shape[i] < 1) {
                throw unusable("'" + name + "' has shape " + Arrays.toString(shape)
                        + " with a symbolic dimension after the batch; Squeeze needs fixed image and class sizes");
            }
            // Checked before multiplying, so that no product of file-given dimensions can overflow.
            if (shape[i] > MAX_VALUES / n) {
                throw unusable("'" + name + "' has shape " + Arrays.toString(shape) + ": too many values per image"
                        + " (at most " + MAX_VALUES + ")");
            }
            n *= shape[i];
        }
        return n;
    }

    private SqueezeException unusable(String what) {
        return new SqueezeException("ONNX model " + source + " cannot be evaluated as an image classifier: " + what,
                "use a classifier with one float image input and a batch × classes float output");
    }

    private static void closeQuietly(OrtSession session) {
        try {
            session.close();
        } catch (OrtException e) {
            // Nothing useful to do: the session is gone either way.
        }
    }
}
