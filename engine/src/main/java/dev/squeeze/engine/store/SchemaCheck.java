package dev.squeeze.engine.store;

import dev.squeeze.engine.SqueezeException;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationInfoService;
import org.h2.jdbcx.JdbcDataSource;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A read-only look at a database file for {@link SchemaUpgrade}: where its schema stands and how many rows each
 * table has. Opening read-only writes nothing (H2 writes a chunk even for a read when it opens a file read-write)
 * and takes H2's shared file lock, which a process holding the file for writing refuses: "in use".
 */
final class SchemaCheck {
    private SchemaCheck() {
    }

    /**
     * What Flyway and the tables say about a database.
     *
     * @param version the newest applied migration ("0" for none)
     * @param latest  the newest migration this Squeeze has
     * @param rows    rows per table (Flyway's history table left out)
     */
    record Schema(String version, String latest, int pending, String failedVersion, Map<String, Long> rows) {
        /** Nothing to migrate: no migration pending, and none that failed (Flyway counts those apart). */
        boolean current() {
            return pending == 0 && failedVersion == null;
        }

        boolean failed() {
            return failedVersion != null;
        }
    }

    /** A read-only connection to a database file, with its {@link Schema}; holds H2's shared lock until closed. */
    static final class ReadOnly implements AutoCloseable {
        private final Connection anchor;
        final Schema schema;

        private ReadOnly(Connection anchor, Schema schema) {
            this.anchor = anchor;
            this.schema = schema;
        }

        static ReadOnly open(String where, String url) {
            JdbcDataSource ds = SchemaUpgrade.dataSource(url);
            Connection anchor = null;
            try {
                anchor = ds.getConnection();
                MigrationInfoService info = SchemaUpgrade.flyway(ds).load().info();
                // The newest migration that succeeded (Flyway's current() may be one that failed).
                String version = Arrays.stream(info.applied())
                        .filter(i -> i.getVersion() != null && !i.getState().isFailed())
                        .max(Comparator.comparing(MigrationInfo::getVersion))
                        .map(i -> i.getVersion().getVersion()).orElse("0");
                MigrationInfo[] pending = info.pending();
                String latest = Arrays.stream(info.all()).filter(i -> i.getVersion() != null)
                        .max(Comparator.comparing(MigrationInfo::getVersion))
                        .map(i -> i.getVersion().getVersion()).orElse("0");
                String failed = Arrays.stream(info.all()).filter(i -> i.getState().isFailed())
                        .map(i -> String.valueOf(i.getVersion())).findFirst().orElse(null);
                Schema s = new Schema(version, latest, pending.length, failed, rows(anchor));
                return new ReadOnly(anchor, s);
            } catch (SQLException | RuntimeException e) {
                closeQuietly(anchor);
                if (e instanceof SqueezeException se) {
                    throw se;
                }
                throw ResultsStore.openFailure(where, e);
            }
        }

        private static Map<String, Long> rows(Connection c) throws SQLException {
            Map<String, Long> out = new LinkedHashMap<>();
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                    SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES
                    WHERE TABLE_SCHEMA = 'PUBLIC' AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME""")) {
                while (rs.next()) {
                    out.put(rs.getString(1), null);
                }
            }
            out.remove("flyway_schema_history");
            for (String table : out.keySet()) {
                try (Statement st = c.createStatement();
                     ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM \"" + table + "\"")) {
                    rs.next();
                    out.put(table, rs.getLong(1));
                }
            }
            return out;
        }

        @Override
        public void close() {
            closeQuietly(anchor);
        }

        private static void closeQuietly(Connection c) {
            if (c != null) {
                try {
                    c.close();
                } catch (SQLException ignored) {
                    // A read-only connection has nothing to lose on close.
                }
            }
        }
    }
}
