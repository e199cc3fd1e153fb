package dev.squeeze.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    @Test
    void javaOverrideIsHonouredEvenWhenNativeWorks() {
        Kernels.Choice choice = Kernels.choose("java");
        assertEquals("java", choice.backend());
        assertInstanceOf(JavaInt4MatVec.class, choice.int4MatVec());
        assertEquals("java", Kernels.choose(" JAVA ").backend(), "case and blanks are forgiven");
    }

    @Test
    void rankPrefersNativeWhereItIsBuilt() {
        Assumptions.assumeTrue(NativeInt4MatVecTest.nativeExpected());
        assertEquals("native", Kernels.choose(null).backend());
        assertEquals("native", Kernels.choose("").backend());
        assertEquals("native", Kernels.choose("native").backend());
        assertEquals("native", Kernels.choose("cuda-please").backend(), "an unknown value falls back to rank");
    }

    @Test
    void facadeReturnsAWorkingOp() {
        Int4MatVec op = Kernels.int4MatVec();
        assertNotNull(op);
        assertNull(Kernels.selfTest(op));
        assertTrue(List.of("native", "java").contains(Kernels.backendName()));
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

    /** The real wiring: a fresh JVM with -Dsqueeze.kernels=java must report java, and without it native. */
    @Test
    void systemPropertyIsReadAtStartUp(@TempDir Path tmp) throws Exception {
        assertEquals("java java", probe(tmp, "-D" + Kernels.BACKEND_PROPERTY + "=java"));
        if (NativeInt4MatVecTest.nativeExpected()) {
            assertTrue(probe(tmp).startsWith("native native-"));
        }
    }

    /** -Dsqueeze.native.lib: a library path is used as given; a broken one degrades to Java, never a crash. */
    @Test
    void libraryPathOverride(@TempDir Path tmp) throws Exception {
        Path missing = tmp.resolve("no-such-" + NativeLibrary.LIBRARY);
        assertEquals("java java", probe(tmp, "-D" + NativeLibrary.PATH_PROPERTY + "=" + missing));
        assertEquals("java java", probe(tmp, "-D" + NativeLibrary.PATH_PROPERTY + "=" + missing,
                "-D" + Kernels.BACKEND_PROPERTY + "=native"), "forced but unloadable: logged, then Java");
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
