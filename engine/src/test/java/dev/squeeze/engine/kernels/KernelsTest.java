package dev.squeeze.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.backend.Backends;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelsTest {

    private static Backends.Choice<PackedMatMul> choose(String property, String value) {
        return Backends.choose(Kernels.PACKED, key -> key.equals(property) ? value : null);
    }

    private static Backends.Choice<SparseKernels.Backend> chooseSparse(String property, String value) {
        return Backends.choose(Kernels.SPARSE, key -> key.equals(property) ? value : null);
    }

    @Test
    void javaOverrideIsHonouredEvenWhenNativeWorks() {
        Backends.Choice<PackedMatMul> choice = choose(Kernels.BACKEND_PROPERTY, "java");
        assertEquals("java", choice.backend());
        assertInstanceOf(JavaPackedMatMul.class, choice.instance());
        assertTrue(choice.forced());
        assertEquals("java", choose(Kernels.BACKEND_PROPERTY, " JAVA ").backend(), "case and blanks are forgiven");
        assertEquals("java", choose("squeeze.backend.packed", "java").backend(), "the op's own property");
        assertEquals("java", choose(Backends.LEGACY_PROPERTY, "java").backend(), "the old property name");
        assertEquals(SparseKernels.Backend.JAVA, chooseSparse(Kernels.BACKEND_PROPERTY, "java").instance());
        assertEquals(SparseKernels.Backend.JAVA, chooseSparse("squeeze.backend.sparse", "java").instance());
        assertEquals(SparseKernels.Backend.JAVA, chooseSparse(Backends.LEGACY_PROPERTY, "java").instance());
        assertEquals("java", chooseSparse("squeeze.backend.sparse", "java").implementation());
    }

    @Test
    void rankPrefersNativeWhereItIsBuilt() {
        Assumptions.assumeTrue(NativeLibraryTest.nativeExpected());
        assertEquals("native", choose(Kernels.BACKEND_PROPERTY, null).backend());
        assertEquals("native", choose(Kernels.BACKEND_PROPERTY, "").backend());
        assertEquals("native", choose(Kernels.BACKEND_PROPERTY, "native").backend());
        assertInstanceOf(NativePacked.class, choose(Kernels.BACKEND_PROPERTY, null).instance());
        assertEquals("native", choose(Kernels.BACKEND_PROPERTY, "nd4j").backend(),
                "a backend that packed does not offer but other ops do leaves packed to its routing");
        assertEquals(SparseKernels.Backend.NATIVE, chooseSparse(Kernels.BACKEND_PROPERTY, null).instance());
        assertEquals(SparseKernels.Backend.NATIVE, chooseSparse("squeeze.backend.packed", "java").instance(),
                "forcing one op leaves the others to their routing");
        assertTrue(chooseSparse(Kernels.BACKEND_PROPERTY, null).implementation().startsWith("native-"));
    }

    @Test
    void anUnknownNameIsAnErrorNamingTheValidOnes() {
        SqueezeException global = assertThrows(SqueezeException.class, () -> choose(Kernels.BACKEND_PROPERTY, "cuda-please"));
        assertTrue(global.getMessage().contains("-Dsqueeze.backend=cuda-please names no backend"), global.getMessage());
        assertTrue(global.getMessage().contains("[java, native, nd4j]"), global.getMessage());
        SqueezeException op = assertThrows(SqueezeException.class, () -> choose("squeeze.backend.packed", "nd4j"));
        assertTrue(op.getMessage().contains("give one of [native, java]"), op.getMessage());
        SqueezeException sparse = assertThrows(SqueezeException.class, () -> chooseSparse("squeeze.backend.sparse", "gpu"));
        assertTrue(sparse.getMessage().contains("-Dsqueeze.backend.sparse=gpu names no backend"), sparse.getMessage());
    }

    @Test
    void facadeReturnsAWorkingOp() {
        PackedMatMul op = Kernels.packed();
        assertNotNull(op);
        assertNull(PackedMatMul.selfTest(op));
        assertTrue(List.of("native", "java").contains(Kernels.backendName()));
        assertEquals(op.name(), Backends.choice(Kernels.PACKED).implementation());
        assertEquals(SparseKernels.name(SparseKernels.preferred()), Backends.choice(Kernels.SPARSE).implementation());
    }

    @Test
    void selfTestCatchesAWrongKernel() {
        JavaPackedMatMul reference = new JavaPackedMatMul();
        PackedMatMul broken = new PackedMatMul() {
            @Override
            public String name() {
                return "broken";
            }

            @Override
            public PackedMatrix.Layout layout() {
                return reference.layout();
            }

            @Override
            public PackedMatrix prepare(PackedMatrix w) {
                return reference.prepare(w);
            }

            @Override
            public void multiply(PackedMatrix w, float[] x, float[] y, int batch, int rowBegin, int rowEnd) {
                reference.multiply(w, x, y, batch, rowBegin, rowEnd);
                y[batch * w.rows() - 2] *= 1.01f; // one output off by 1%: far beyond the 1e-5 tolerance
            }
        };
        String problem = PackedMatMul.selfTest(broken);
        assertNotNull(problem);
        assertTrue(problem.contains("broken self-test failed"), problem);
    }

    /** The real wiring: a fresh JVM with -Dsqueeze.backend=java (or the old -Dsqueeze.kernels) must report java. */
    @Test
    void systemPropertyIsReadAtStartUp(@TempDir Path tmp) throws Exception {
        assertEquals("java java-reference java", probe(tmp, "-D" + Kernels.BACKEND_PROPERTY + "=java"));
        assertEquals("java java-reference java", probe(tmp, "-D" + Backends.LEGACY_PROPERTY + "=java"));
        assertTrue(probe(tmp, "-D" + Kernels.BACKEND_PROPERTY + "=fast").startsWith(
                "error: -Dsqueeze.backend=fast names no backend of Squeeze"));
        if (NativeLibraryTest.nativeExpected()) {
            String auto = probe(tmp);
            assertTrue(auto.matches("native native-\\S+ native-\\S+"), auto);
            assertTrue(probe(tmp, "-Dsqueeze.backend.sparse=java").matches("native native-\\S+ java"));
            assertTrue(probe(tmp, "-Dsqueeze.backend.packed=java").matches("java java-reference native-\\S+"));
        }
    }

    /**
     * -Dsqueeze.native.lib: a library path is used as given; a broken one degrades to Java when nothing forces
     * native, and is an error (never a crash, never a silent fallback) when -Dsqueeze.backend=native does.
     */
    @Test
    void libraryPathOverride(@TempDir Path tmp) throws Exception {
        Path missing = tmp.resolve("no-such-" + NativeLibrary.LIBRARY);
        assertEquals("java java-reference java", probe(tmp, "-D" + NativeLibrary.PATH_PROPERTY + "=" + missing));
        String forced = probe(tmp, "-D" + NativeLibrary.PATH_PROPERTY + "=" + missing,
                "-D" + Kernels.BACKEND_PROPERTY + "=native");
        assertTrue(forced.startsWith("error: -Dsqueeze.backend=native asks for the native backend for the packed"
                + " 2-8-bit kernels of quantized layers (packed), but it cannot be used on this machine"), forced);
        assertTrue(forced.contains("give one of [native, java]"), forced);
        String sparse = probe(tmp, "-D" + NativeLibrary.PATH_PROPERTY + "=" + missing, "-Dsqueeze.backend.sparse=native");
        assertTrue(sparse.startsWith("error: -Dsqueeze.backend.sparse=native asks for the native backend for the"
                + " sparse"), sparse);
        Path notALibrary = Files.writeString(tmp.resolve("garbage-" + NativeLibrary.LIBRARY), "not an ELF file");
        assertEquals("java java-reference java", probe(tmp, "-D" + NativeLibrary.PATH_PROPERTY + "=" + notALibrary));
        if (NativeLibraryTest.nativeExpected()) {
            NativeLibrary.require();
            String extracted = NativeLibrary.status().source(); // the path this JVM loaded
            assertTrue(probe(tmp, "-D" + NativeLibrary.PATH_PROPERTY + "=" + extracted).startsWith("native native-"));
        }
    }

    private static String probe(Path tmp, String... properties) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED"));
        for (String property : properties) {
            if (property != null) {
                command.add(property);
            }
        }
        // Surefire's classpath (possibly a manifest-only jar, whose Class-Path the child honours too).
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), KernelsProbe.class.getName()));
        Path err = Files.createTempFile(tmp, "probe", ".err");
        Process process = new ProcessBuilder(command).redirectError(err.toFile()).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "probe JVM did not finish");
        assertEquals(0, process.exitValue(), () -> "probe JVM failed: " + readQuietly(err));
        return out;
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
