package dev.squeeze.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The JNI library as a whole. It is built by this same Maven build, so wherever it is built (linux-x86_64 at
 * least) failing to load it is a test failure, not a skip: a JNI name or signature mismatch, a missing resource or
 * a bad ABI version must not quietly turn into "Java fallback".
 */
class NativeLibraryTest {

    /** Whether this build makes a native library for this platform (then it must load). */
    static boolean nativeExpected() {
        return NativeLibrary.platform().equals("linux-x86_64")
                || NativeLibraryTest.class.getResource(NativeLibrary.resourceDir() + NativeLibrary.LIBRARY) != null;
    }

    @Test
    void libraryLoadsWithTheAbiThisEngineExpects() {
        Assumptions.assumeTrue(nativeExpected(), () -> "no native library is built for " + NativeLibrary.platform());
        NativeLibrary.Status status = NativeLibrary.status();
        assertTrue(status.available(), () -> "the native library is built by this Maven build and must load on "
                + NativeLibrary.platform() + ": " + status.problem());
        assertEquals(NativeBridge.ABI_VERSION, NativeBridge.abiVersion());
    }

    /** Not a CPU test: guards against a build that silently compiled the SIMD paths out. */
    @Test
    void thePackedAndSparseKernelsUseSimdWhereTheCpuHasIt() throws IOException {
        Assumptions.assumeTrue(NativeLibrary.platform().equals("linux-x86_64"));
        String cpu = Files.readString(Path.of("/proc/cpuinfo"));
        Assumptions.assumeTrue(cpu.contains(" avx2") && cpu.contains(" fma") && cpu.contains(" f16c"));
        assertNotEquals("native-scalar", NativePacked.load().name());
        assertNotEquals("native-scalar", SparseKernels.name(SparseKernels.Backend.NATIVE));
        if (cpu.contains(" avx512f") && cpu.contains(" avx512bw") && cpu.contains(" avx512vl")
                && cpu.contains(" avx512dq")) {
            assertEquals("native-avx512", NativePacked.load().name());
        }
    }
}
