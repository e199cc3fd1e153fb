package dev.squeeze.engine.store;

import dev.squeeze.engine.backend.Backends;
import dev.squeeze.engine.backend.CpuInfo;
import dev.squeeze.engine.kernels.Kernels;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.util.Properties;

/**
 * Where a result came from: the Squeeze version and commit, the host, the JVM, the kernel backend, the backend
 * of every heavy op and the CPU.
 *
 * @param kernelBackend the packed kernels' backend ({@code native} or {@code java}, {@link Kernels#backendName()})
 * @param backends      every op's implementation in the process that made the result, e.g.
 *                      {@code "gemm=java-vector-512 ×2 threads, cholesky=java, trinv=java, eigen=nd4j-openblas,
 *                      packed=native-avx512, sparse=native-avx512"}
 *                      ({@link Backends#describe()}; {@code op=unused} when the process never used it); empty for
 *                      runs stored before it was recorded
 * @param cpu           the CPU model, logical CPUs and SIMD features ({@link CpuInfo#describe()}); empty for runs
 *                      stored before it was recorded
 * @param search        for a run whose plan a search found: the search's settings and seed
 *                      ({@code search.SearchSpec#describe()} and what it chose); empty otherwise
 */
public record Provenance(String squeezeVersion, String gitCommit, String host, String javaVersion,
                         String kernelBackend, String backends, String cpu, String search) {

    public Provenance {
        backends = backends == null ? "" : backends;
        cpu = cpu == null ? "" : cpu;
        search = search == null ? "" : search;
    }

    /** A provenance of a run that no search made. */
    public Provenance(String squeezeVersion, String gitCommit, String host, String javaVersion, String kernelBackend,
                      String backends, String cpu) {
        this(squeezeVersion, gitCommit, host, javaVersion, kernelBackend, backends, cpu, "");
    }

    /** This provenance for a run that a search made. */
    public Provenance withSearch(String description) {
        return new Provenance(squeezeVersion, gitCommit, host, javaVersion, kernelBackend, backends, cpu, description);
    }

    /** A provenance without op backends or CPU (runs recorded before they were). */
    public Provenance(String squeezeVersion, String gitCommit, String host, String javaVersion, String kernelBackend) {
        this(squeezeVersion, gitCommit, host, javaVersion, kernelBackend, "", "");
    }

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

    /** The provenance of this process, with the given kernel backend, the ops' backends so far and the CPU. */
    public static Provenance current(String kernelBackend) {
        Provenance p = Process.STATIC;
        return new Provenance(p.squeezeVersion, p.gitCommit, p.host, p.javaVersion, kernelBackend, Backends.describe(),
                CpuInfo.describe());
    }

    /**
     * The provenance of a run that has just finished in this process: the packed kernels' backend and every op's
     * backend as chosen here, and the CPU.
     */
    public static Provenance current() {
        return current(Kernels.backendName());
    }

    private static String value(Properties p, String key) {
        String v = p.getProperty(key, "").trim();
        return v.isEmpty() || v.startsWith("${") ? "unknown" : v;
    }

    /** This machine's host name (a cluster node's, in a worker there); "unknown" when it has none. */
    public static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            String env = System.getenv("HOSTNAME");
            return env == null ? "unknown" : env;
        }
    }
}
