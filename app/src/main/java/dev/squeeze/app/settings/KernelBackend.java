package dev.squeeze.app.settings;

import dev.squeeze.engine.kernels.Kernels;

import java.util.Locale;

/**
 * The compute-kernel backend the user asks for: the engine reads it from the system property
 * {@value Kernels#BACKEND_PROPERTY} once per JVM, and job workers inherit our {@code squeeze.*} properties.
 */
public enum KernelBackend {
    /** The fastest backend that passes its self-test (no property). */
    AUTO(null, "Automatic (fastest that passes its self-test)"),
    /** The JNI CPU kernels for the int4 op (other ops keep their routing); where they cannot load, work stops with a message. */
    NATIVE("native", "Native CPU kernels (JNI)"),
    /** The pure-Java reference implementation of every op (kernels and dense linear algebra). */
    JAVA("java", "Pure Java (reference)");

    private final String propertyValue;
    private final String title;

    KernelBackend(String propertyValue, String title) {
        this.propertyValue = propertyValue;
        this.title = title;
    }

    /** The value of {@value Kernels#BACKEND_PROPERTY}, or null for AUTO. */
    public String propertyValue() {
        return propertyValue;
    }

    @Override
    public String toString() {
        return title;
    }

    /** The backend named {@code value} ("native", "java"); AUTO for null, blank or an unknown name. */
    public static KernelBackend parse(String value) {
        if (value == null) {
            return AUTO;
        }
        String v = value.strip().toLowerCase(Locale.ROOT);
        for (KernelBackend b : values()) {
            if (v.equals(b.propertyValue)) {
                return b;
            }
        }
        return AUTO;
    }
}
