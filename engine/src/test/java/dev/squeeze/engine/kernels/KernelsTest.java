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

    private static Backends.Choice<Int4MatVec> choose(String property, String value) {
        return Backends.choose(Kernels.INT4, key -> key.equals(property) ? value : null);
    }

    @Test
    void javaOverrideIsHonouredEvenWhenNativeWorks() {
        Backends.Choice<Int4MatVec> choice = choose(Kernels.BACKEND_PROPERTY, "java");
        assertEquals("java", choice.backend());
        assertInstanceOf(JavaInt4MatVec.class, choice.instance());
        assertTrue(choice.forced());
        assertEquals("java", choose(Kernels.BACKEND_PROPERTY, " JAVA ").backend(), "case and blanks are forgiven");
        assertEquals("java", choose("squeeze.backend.int4", "java").backend(), "the op's own property");
        assertEquals("java", choose(Backends.LEGACY_PROPERTY, "java").backend(), "the old property name");
    }

    @Test
    void rankPrefersNativeWhereItIsBuilt() {
        Assumptions.assumeTrue(NativeInt4MatVecTest.nativeExpected());
        assertEquals("native", choose(Kernels.BACKEND_PROPERTY, null).backend());
        assertEquals("native", choose(Kernels.BACKEND_PROPERTY, "").backend());
        assertEquals("native", choose(Kernels.BACKEND_PROPERTY, "native").backend());
        assertEquals("native", choose(Kernels.BACKEND_PROPERTY, "nd4j").backend(),
                "a backend that int4 does not offer but other ops do leaves int4 to its routing");
    }

    @Test
    void anUnknownNameIsAnErrorNamingTheValidOnes() {
        SqueezeException global = assertThrows(SqueezeException.class, () -> choose(Kernels.BACKEND_PROPERTY, "cuda-please"));
        assertTrue(global.getMessage().contains("-Dsqueeze.backend=cuda-please names no backend"), global.getMessage());
        assertTrue(global.getMessage().contains("[java, native, nd4j]"), global.getMessage());
        SqueezeException op = assertThrows(SqueezeException.class, () -> choose("squeeze.backend.int4", "nd4j"));
        assertTrue(op.getMessage().contains("give one of [native, java]"), op.getMessage());
    }

    @Test
    void facadeReturnsAWorkingOp() {
        Int4MatVec op = Kernels.int4MatVec();
        assertNotNull(op);
        assertNull(Kernels.selfTest(op));
        assertTrue(List.of("native", "java").contains(Kernels.backendName()));
        assertEquals(op.name(), Backends.choice(Kernels.INT4).implementation());
    }

    @Test
    void selfTestCatchesAWrongKernel() {
        Int4MatVec broken = new Int4MatVec() {
            @Override
            public String name() {
                return "broken";
            }

            @Override
            public void multiply(Int4Matrix w, float[] x, float[] y, int batch) {
                new JavaInt4MatVec().multiply(w, x, y, batch);
                y[y.length - 1] += 0.1f; // one output off by about 4e-4 of its magnitude: 40x the tolerance
            }
        };
        String problem = Kernels.selfTest(broken);
        assertNotNull(problem);
        assertTrue(problem.contains("broken self-test failed"), problem);
    }

    /** The real wiring: a fresh JVM with -Dsqueeze.backend=java (or the old -Dsqueeze.kernels) must report java. */
    @Test
    void systemPropertyIsReadAtStartUp(@TempDir Path tmp) throws Exception {
        assertEquals("java java", probe(tmp, "-D" + Kernels.BACKEND_PROPERTY + "=java"));
        assertEquals("java java", probe(tmp, "-D" + Backends.LEGACY_PROPERTY + "=java"));
        assertTrue(probe(tmp, "-D" + Kernels.BACKEND_PROPERTY + "=fast").startsWith(
                "error: -Dsqueeze.backend=fast names no backend of Squeeze"));
        if (NativeInt4MatVecTest.nativeExpected()) {
            assertTrue(probe(tmp).startsWith("native native-"));
        }
    }

    /**
     * -Dsqueeze.native.lib: a library path is used as given; a broken one degrades to Java when nothing forces
     * native, and is an error (never a crash, never a silent fallback) when -Dsqueeze.backend=native does.
     */
    @Test
    void libraryPathOverride(@TempDir Path tmp) throws Exception {
        Path missing = tmp.resolve("no-such-" + NativeLibrary.LIBRARY);
        assertEquals("java java", probe(tmp, "-D" + NativeLibrary.PATH_PROPERTY + "=" + missing));
        String forced = probe(tmp, "-D" + NativeLibrary.PATH_PROPERTY + "=" + missing,
                "-D" + Kernels.BACKEND_PROPERTY + "=native");
        assertTrue(forced.startsWith("error: -Dsqueeze.backend=native asks for the native backend for the int4 mat-vec"
                + " kernels (int4), but it cannot be used on this machine"), forced);
        assertTrue(forced.contains("give one of [native, java]"), forced);
        Path notALibrary = Files.writeString(tmp.resolve("garbage-" + NativeLibrary.LIBRARY), "not an ELF file");
        assertEquals("java java", probe(tmp, "-D" + NativeLibrary.PATH_PROPERTY + "=" + notALibrary));
        if (NativeInt4MatVecTest.nativeExpected()) {
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
