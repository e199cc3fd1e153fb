package dev.squeeze.engine.store;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.util.Properties;

/** Where a result came from: the Squeeze version and commit, the host, the JVM and the kernel backend. */
public record Provenance(String squeezeVersion, String gitCommit, String host, String javaVersion,
                         String kernelBackend) {

    /** Build info and host name do not change while the process runs: read them once, not for every run. */
    private static final class Process {
        static final Provenance STATIC = read();

        private static Provenance read() {
            Properties build = new Properties();
            try (InputStream in = Provenance.class.getResourceAsStream("/squeeze-build.properties")) {
                if (in != null) {
                    build.load(in);
                }
            } catch (IOException ignored) {
                // Missing build info is recorded as "unknown" below rather than failing a run.
            }
            return new Provenance(value(build, "squeeze.version"), value(build, "git.commit"), hostName(),
                    Runtime.version().toString(), "");
        }
    }

    /** The provenance of this process, with the given kernel backend. */
    public static Provenance current(String kernelBackend) {
        Provenance p = Process.STATIC;
        return new Provenance(p.squeezeVersion, p.gitCommit, p.host, p.javaVersion, kernelBackend);
    }

    private static String value(Properties p, String key) {
        String v = p.getProperty(key, "").trim();
        return v.isEmpty() || v.startsWith("${") ? "unknown" : v;
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            String env = System.getenv("HOSTNAME");
            return env == null ? "unknown" : env;
        }
    }
}
