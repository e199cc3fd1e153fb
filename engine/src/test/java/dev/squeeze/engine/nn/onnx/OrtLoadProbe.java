package dev.squeeze.engine.nn.onnx;

import dev.squeeze.engine.SqueezeException;

/**
 * Run in a child JVM by OnnxClassifierTest: asks for ONNX Runtime twice and prints, on one line each, what it
 * got. The message's own line breaks are flattened so that the test can read one line per attempt.
 */
public final class OrtLoadProbe {
    private OrtLoadProbe() {
    }

    public static void main(String[] args) {
        for (int i = 0; i < 2; i++) {
            try {
                System.out.println("loaded " + OrtRuntime.environment().getVersion());
            } catch (SqueezeException e) {
                System.out.println("SqueezeException: " + e.getMessage().replace('\n', ' '));
            } catch (Throwable t) {
                System.out.println("other: " + t);
            }
        }
    }
}
