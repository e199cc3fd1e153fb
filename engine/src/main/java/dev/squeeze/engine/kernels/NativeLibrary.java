package dev.squeeze.engine.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads {@code libsqueeze_kernels} once per JVM, the only place that does. Order:
 * <ol>
 *   <li>system property {@value #PATH_PROPERTY}: a path to the library (a development build, or a
 *       distribution that installs it elsewhere);</li>
 *   <li>else the jar resource {@code /native/<os>-<arch>/}, extracted to
 *       {@code ${java.io.tmpdir}/squeeze-native-<version>-<sha>/}. The folder name carries a hash of the
 *       library bytes, so a new build never reuses a stale copy and two versions never share a file. The
 *       file is written to a temp name and moved atomically, so a concurrent JVM sees a whole library or
 *       none.</li>
 * </ol>
 * Then the ABI version is checked. Any failure is logged once, at WARN, and reported by {@link #status()}:
 * callers fall back to pure Java.
 */
final class NativeLibrary {

    static final String PATH_PROPERTY = "squeeze.native.lib";
    static final String LIBRARY = System.mapLibraryName("squeeze_kernels");

    private static final Logger LOG = LoggerFactory.getLogger(NativeLibrary.class);

    /** Outcome of the one load attempt; {@code problem} says what went wrong and what to do. */
    record Status(boolean available, String source, String problem) {
    }

    private NativeLibrary() {
    }

    // Holder idiom: the load runs on first use, once, thread-safely, and never if nobody asks.
    private static final class Holder {
        static final Status STATUS = load();
    }

    static Status status() {
        return Holder.STATUS;
    }

    /** Throws {@link IllegalStateException} with the load problem unless the library is usable. */
    static void require() {
        Status s = status();
        if (!s.available()) {
            throw new IllegalStateException("native kernels unavailable: " + s.problem());
        }
    }

    /** {@code <os>-<arch>} as the CMake build names its resource folder, e.g. {@code linux-x86_64}. */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String osName = os.startsWith("linux") ? "linux"
                : os.startsWith("mac") || os.startsWith("darwin") ? "macos"
                : os.startsWith("windows") ? "windows" : os.replace(' ', '_');
        String archName = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
        return osName + "-" + archName;
    }

    static String resourceDir() {
        return "/native/" + platform() + "/";
    }

    // System.load is "restricted" on JDK 22+: the launcher must grant --enable-native-access (the test JVMs
    // and the packaged app do); this class is the one deliberate caller.
    @SuppressWarnings("restricted")
    private static Status load() {
        String override = System.getProperty(PATH_PROPERTY);
        String source = override != null && !override.isBlank()
                ? "-D" + PATH_PROPERTY + "=" + override
                : "classpath " + resourceDir() + LIBRARY;
        try {
            Path lib = override != null && !override.isBlank()
                    ? Path.of(override).toAbsolutePath()
                    : extract();
            System.load(lib.toString());
            int abi = NativeBridge.abiVersion();
            if (abi != NativeBridge.ABI_VERSION) {
                return unavailable(source, "ABI version " + abi + " in " + lib + " but this engine needs "
                        + NativeBridge.ABI_VERSION + "; rebuild native-kernels together with engine", null);
            }
            LOG.debug("Loaded native kernels from {} ({})", lib, source);
            return new Status(true, lib.toString(), null);
        } catch (IOException | UncheckedIOException e) {
            return unavailable(source, "could not extract the library: " + e.getMessage(), e);
        } catch (LinkageError | RuntimeException e) {
            // LinkageError covers UnsatisfiedLinkError (missing file, wrong platform, missing libc symbol)
            // and NoSuchMethodError / NoClassDefFoundError thrown by JNI_OnLoad's RegisterNatives.
            return unavailable(source, e.getClass().getSimpleName() + ": " + e.getMessage(), e);
        }
    }

    private static Status unavailable(String source, String problem, Throwable cause) {
        LOG.warn("Native kernels unavailable ({}): {}. Using pure-Java kernels instead.", source, problem);
        if (cause != null) {
            LOG.debug("Native load failure detail", cause);
        }
        return new Status(false, source, problem);
    }

    private static Path extract() throws IOException {
        return extractResource(resourceDir() + LIBRARY, "squeeze-native-" + version() + "-",
                ": this build of squeeze-native-kernels has no library for " + platform() + "; set -D"
                        + PATH_PROPERTY + "=/path/to/" + LIBRARY + " if you built one yourself");
    }

    /**
     * Copies a library resource (shared by {@link NativeCuda}) to {@code <java.io.tmpdir>/<folderPrefix><sha>/},
     * {@code sha} being the first 16 hex digits of the SHA-256 of its bytes, and returns the copy's path. The
     * folder is used only if this user owns it ({@link #ownedDirectory}); an existing copy is re-verified against
     * the hash, else the bytes are written under a temporary name and moved into place.
     *
     * @param resource     the classpath resource (absolute name)
     * @param folderPrefix the cache folder's name before the hash
     * @param missingHint  appended to "no <resource> on the classpath" when the resource is absent
     */
    static Path extractResource(String resource, String folderPrefix, String missingHint) throws IOException {
        String library = resource.substring(resource.lastIndexOf('/') + 1);
        byte[] bytes;
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("no " + resource + " on the classpath" + missingHint);
            }
            bytes = in.readAllBytes();
        }
        String sha = sha256(bytes).substring(0, 16);
        Path shared = Path.of(System.getProperty("java.io.tmpdir"), folderPrefix + sha);
        Path dir = ownedDirectory(shared);
        Path target = dir.resolve(library);
        if (!dir.equals(shared)) {
            target.toFile().deleteOnExit(); // registered after its folder, so deleted before it
        }
        // Re-verify an existing copy: the name promises these exact bytes, and System.load would trust it.
        if (Files.isRegularFile(target) && sha256(Files.readAllBytes(target)).startsWith(sha)) {
            return target;
        }
        Path tmp = Files.createTempFile(dir, library, ".tmp");
        try {
            Files.write(tmp, bytes);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return target;
    }

    /**
     * The shared cache folder if it is ours; otherwise (another user created it first in a shared
     * /tmp) a private temp folder, because loading a library from a folder someone else can write would
     * let them run code in this JVM.
     */
    private static Path ownedDirectory(Path dir) throws IOException {
        try {
            if (Files.getFileStore(dir.getParent()).supportsFileAttributeView("posix")) {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")));
            } else {
                Files.createDirectory(dir);
            }
            return dir;
        } catch (FileAlreadyExistsException e) {
            String me = System.getProperty("user.name");
            if (Files.isDirectory(dir) && me != null && me.equals(Files.getOwner(dir).getName())) {
                return dir;
            }
            Path own = Files.createTempDirectory(dir.getFileName().toString() + "-");
            own.toFile().deleteOnExit();
            return own;
        }
    }

    /** The version CMake wrote next to the library, for the cache folder name; "dev" if absent. */
    private static String version() {
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resourceDir() + "squeeze-native.properties")) {
            if (in == null) {
                return "dev";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "dev").replaceAll("[^A-Za-z0-9._-]", "_");
        } catch (IOException e) {
            return "dev";
        }
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
