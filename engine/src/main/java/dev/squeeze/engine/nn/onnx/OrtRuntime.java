package dev.squeeze.engine.nn.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtLoggingLevel;
import dev.squeeze.engine.SqueezeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one door to ONNX Runtime's process-wide environment. ONNX Runtime extracts and loads its native library the
 * first time its environment class initialises; on a platform it has no build for, or with a broken library, that
 * fails with a linkage error on the first call and a bare NoClassDefFoundError on every later one. This class
 * turns the first failure into a {@link SqueezeException} that says what happened and repeats it afterwards.
 */
public final class OrtRuntime {
    private static final Logger LOG = LoggerFactory.getLogger(OrtRuntime.class);

    private static OrtEnvironment environment;
    private static SqueezeException failure;

    private OrtRuntime() {
    }

    /** ONNX Runtime's environment, loading the native library on first use. */
    public static synchronized OrtEnvironment environment() {
        if (environment != null) {
            return environment;
        }
        if (failure != null) {
            throw failure;
        }
        try {
            // Fatal only: ONNX Runtime's errors come back in its exceptions, which become SqueezeExceptions; its
            // own logger would print them a second time on stderr.
            environment = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL, "squeeze");
            LOG.info("ONNX Runtime {} loaded", environment.getVersion());
            return environment;
        } catch (LinkageError | RuntimeException e) {
            failure = loadFailure(e);
            LOG.warn("ONNX Runtime unavailable: {}", failure.getMessage());
            throw failure;
        }
    }

    /** The error a person sees when the native library cannot be loaded; package-private for the tests. */
    static SqueezeException loadFailure(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String platform = System.getProperty("os.name") + " " + System.getProperty("os.arch");
        return new SqueezeException("ONNX Runtime's native library cannot be loaded on this machine (" + platform
                + "), so ONNX models cannot be evaluated: " + root,
                "ONNX Runtime ships libraries for Linux x64/aarch64, macOS aarch64 and Windows x64; on those, check"
                        + " that the temporary directory (java.io.tmpdir) is writable and not mounted noexec, or set"
                        + " -Donnxruntime.native.path to a folder holding libonnxruntime and libonnxruntime4j_jni",
                e);
    }
}
