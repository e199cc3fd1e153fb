package dev.squeeze.engine.kernels;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CUDA backend's door: loads {@code libsqueeze_cuda_jni} (native-kernels/cuda/, built by CMake only
 * where {@code nvcc} exists) and holds its JNI surface. Matrices are made through {@link NativeCudaMatrix}.
 *
 * <p>The library is loaded only when an NVIDIA driver is present ({@code /proc/driver/nvidia/version} or
 * {@code /dev/nvidia0}), so machines without a GPU never map it. Order of the one probe:
 * <ol>
 *   <li>{@code -D}{@value #DISABLE_PROPERTY}{@code =off}: unavailable, nothing loaded;</li>
 *   <li>{@code -D}{@value #PATH_PROPERTY}{@code =/path/libsqueeze_cuda_jni.so}: that file (no driver check);</li>
 *   <li>else, if a driver is present, the jar resource {@code /native/<os>-<arch>/}, extracted to a folder
 *       named by the hash of its bytes (as {@link NativeLibrary} does for the CPU library);</li>
 *   <li>then the ABI version is checked and the devices are counted: no device (the CUDA runtime's reason,
 *       e.g. "driver version is insufficient") means unavailable.</li>
 * </ol>
 * Every outcome is a {@link Status}; nothing here throws, and a failure is logged once at INFO (no GPU is
 * the normal case, not a warning). The CUDA runtime is linked statically and cuBLAS is opened only when a
 * dense or prefill product needs it, so the library needs nothing but the driver.
 */
public final class NativeCuda {

    /** Must equal SQ_CUDA_ABI_VERSION in sq_cuda.h. */
    static final int ABI_VERSION = 1;

    /** A path to {@code libsqueeze_cuda_jni} to load instead of the jar's copy. */
    public static final String PATH_PROPERTY = "squeeze.cuda.lib";

    /** {@code off} turns the CUDA backend off. */
    public static final String DISABLE_PROPERTY = "squeeze.cuda";

    static final String LIBRARY = System.mapLibraryName("squeeze_cuda_jni");

    private static final Logger LOG = LoggerFactory.getLogger(NativeCuda.class);

    /**
     * Outcome of the probe.
     *
     * @param available whether matrices can be made and multiplied on device 0
     * @param devices CUDA devices seen (0 unless the library loaded)
     * @param device device 0's name, compute capability and peak bandwidth, or null
     * @param problem why it is unavailable and what to do, or null
     */
    public record Status(boolean available, int devices, String device, String problem) {
    }

    private NativeCuda() {
    }

    private static final class Holder {
        static final Status STATUS = logged(probe(true));
    }

    /** The probe's outcome; probes (and maybe loads the library) on first call. Never throws. */
    public static Status status() {
        return Holder.STATUS;
    }

    /** Whether the CUDA backend can be used. */
    public static boolean available() {
        return status().available();
    }

    /** CUDA devices visible to this process; 0 when the backend is unavailable. */
    public static int deviceCount() {
        return status().devices();
    }

    /** Throws {@link IllegalStateException} with the probe's problem unless the backend is available. */
    static void require() {
        Status s = status();
        if (!s.available()) {
            throw new IllegalStateException("CUDA backend unavailable: " + s.problem());
        }
    }

    private static Status logged(Status s) {
        if (s.available()) {
            LOG.info("CUDA backend: {} device(s), device 0: {}", s.devices(), s.device());
        } else {
            LOG.info("CUDA backend unavailable: {}", s.problem());
        }
        return s;
    }

    /** Whether an NVIDIA kernel driver is visible (Linux device nodes or its /proc entry). */
    static boolean driverPresent() {
        return Files.exists(Path.of("/proc/driver/nvidia/version")) || Files.exists(Path.of("/dev/nvidia0"))
                || Files.exists(Path.of("/dev/nvidiactl"));
    }

    /** Whether this build carries the CUDA library for this platform (it does where nvcc was found). */
    static boolean libraryInBuild() {
        return NativeCuda.class.getResource(NativeLibrary.resourceDir() + LIBRARY) != null;
    }

    /**
     * One probe, without caching: {@code requireDriver = false} loads the library even with no driver, which
     * the tests use to check that the JNI binding and ABI work on a machine without a GPU.
     */
    // System.load is "restricted" on JDK 22+; the test JVMs and the packaged app grant native access.
    @SuppressWarnings("restricted")
    static Status probe(boolean requireDriver) {
        if ("off".equalsIgnoreCase(System.getProperty(DISABLE_PROPERTY, ""))) {
            return new Status(false, 0, null, "turned off with -D" + DISABLE_PROPERTY + "=off");
        }
        String override = System.getProperty(PATH_PROPERTY, "");
        Path lib;
        try {
            if (!override.isBlank()) {
                lib = Path.of(override).toAbsolutePath();
            } else if (requireDriver && !driverPresent()) {
                return new Status(false, 0, null, "no NVIDIA driver on this machine (no /proc/driver/nvidia/version "
                        + "or /dev/nvidia0); the CPU kernels are used");
            } else if (!libraryInBuild()) {
                return new Status(false, 0, null, "this build has no CUDA library for " + NativeLibrary.platform()
                        + " (native-kernels was built where nvcc was not found); rebuild with the CUDA toolkit "
                        + "installed, or set -D" + PATH_PROPERTY + "=/path/to/" + LIBRARY);
            } else {
                lib = extract();
            }
            System.load(lib.toString());
        } catch (IOException e) {
            return new Status(false, 0, null, "could not extract " + LIBRARY + ": " + e.getMessage());
        } catch (LinkageError | RuntimeException e) {
            return new Status(false, 0, null, "could not load " + LIBRARY + " (" + e.getClass().getSimpleName()
                    + ": " + e.getMessage() + ")");
        }
        try {
            int abi = abiVersion();
            if (abi != ABI_VERSION) {
                return new Status(false, 0, null, "ABI version " + abi + " in " + lib + " but this engine needs "
                        + ABI_VERSION + "; rebuild native-kernels together with engine");
            }
            int n = nativeDeviceCount();
            if (n <= 0) {
                return new Status(false, 0, null, "no CUDA device: " + lastError());
            }
            return new Status(true, n, deviceName(0), null);
        } catch (LinkageError | RuntimeException e) {
            return new Status(false, 0, null, "the CUDA library at " + lib + " failed its first calls ("
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
        }
    }

    private static Path extract() throws IOException {
        return NativeLibrary.extractResource(NativeLibrary.resourceDir() + LIBRARY, "squeeze-cuda-", "");
    }

    // ---- JNI surface (native-kernels/cuda/jni_cuda.c, bound by RegisterNatives) ------------------------------
    // Callers validate first (NativeCudaMatrix); the C side checks lengths again and throws
    // IllegalArgumentException (bad or unsupported input) or IllegalStateException (CUDA / cuBLAS failure).

    static native int abiVersion();

    /** CUDA devices; 0 without a driver or device, with the reason in {@link #lastError()}. */
    static native int nativeDeviceCount();

    static native String lastError();

    static native String deviceName(int device);

    static native long contextCreate(int device);

    static native void contextFree(long ctx);

    /** zeros null = symmetric (zero point 2^(bits-1)). Returns a matrix handle. */
    static native long quantCreate(long ctx, int rows, int cols, int bits, int groupSize, byte[] codes,
            float[] scales, float[] zeros);

    static native long denseCreate(long ctx, int rows, int cols, float[] w);

    static native void matrixFree(long matrix);

    /** y[b * rows + r] = sum_k W[r][k] x[b * cols + k]. */
    static native void matmul(long ctx, long matrix, float[] x, int batch, float[] y);
}
