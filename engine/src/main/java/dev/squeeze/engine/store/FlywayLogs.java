package dev.squeeze.engine.store;

import org.flywaydb.core.api.logging.Log;
import org.flywaydb.core.api.logging.LogCreator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where Flyway's own log goes: to the debug level of the SLF4J logger {@code dev.squeeze.engine.store.Flyway}.
 * Left to itself Flyway prints its progress at INFO on every new database and, when a migration fails, ERROR
 * lines with whole stack traces; the store reports every failure as one {@link dev.squeeze.engine.SqueezeException}
 * instead, so the user never sees Flyway's internals. ({@code -Dorg.slf4j.simpleLogger.log.dev.squeeze.engine.store.Flyway=debug}
 * shows them.) Flyway instantiates this class by name ({@code loggers(...)}): it must stay public with a public
 * no-argument constructor.
 */
public final class FlywayLogs implements LogCreator {
    private static final Logger LOG = LoggerFactory.getLogger("dev.squeeze.engine.store.Flyway");

    public FlywayLogs() {
    }

    @Override
    public Log createLogger(Class<?> clazz) {
        return new Log() {
            @Override
            public boolean isDebugEnabled() {
                return LOG.isTraceEnabled();
            }

            @Override
            public void debug(String message) {
                LOG.trace("{}: {}", clazz.getSimpleName(), message);
            }

            @Override
            public void info(String message) {
                LOG.debug("{}: {}", clazz.getSimpleName(), message);
            }

            @Override
            public void warn(String message) {
                LOG.debug("{}: warning: {}", clazz.getSimpleName(), message);
            }

            @Override
            public void error(String message) {
                LOG.debug("{}: error: {}", clazz.getSimpleName(), message);
            }

            @Override
            public void error(String message, Exception e) {
                LOG.debug("{}: error: {}", clazz.getSimpleName(), message, e);
            }

            @Override
            public void notice(String message) {
                LOG.debug("{}: {}", clazz.getSimpleName(), message);
            }
        };
    }
}
