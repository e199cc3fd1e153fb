package dev.squeeze.engine.backend;

import java.lang.reflect.InvocationTargetException;

/**
 * Opens the {@code nd4j} backend ({@code backend.nd4j.Nd4jLinearAlgebra}) by name, so that no ND4J class is loaded,
 * linked or verified until an op actually tries the backend (ND4J's start-up costs 0.5–3 s and unpacks ~400 MB into
 * {@code ~/.javacpp/cache} the first time).
 */
final class Nd4jLoader {
    static final String CLASS = "dev.squeeze.engine.backend.nd4j.Nd4jLinearAlgebra";

    private Nd4jLoader() {
    }

    /** The ND4J backend as {@code type} (it implements every dense op); throws if ND4J cannot start here. */
    static <T> T open(Class<T> type) {
        try {
            Object instance = Class.forName(CLASS).getMethod("instance").invoke(null);
            return type.cast(instance);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause() instanceof ExceptionInInitializerError init && init.getCause() != null
                    ? init.getCause() : e.getCause();
            throw new IllegalStateException("ND4J did not start: " + cause, cause);
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalStateException("ND4J is not on the class path or did not load: " + e, e);
        }
    }
}
