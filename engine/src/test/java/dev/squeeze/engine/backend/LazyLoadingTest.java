package dev.squeeze.engine.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ND4J must not slow a process that does not use it: a fresh JVM that runs every op routed to Java loads no ND4J or
 * JavaCPP class at all (the JVM's class-loading log says so); the same probe using the eigen op does load them,
 * which shows the log would have caught it.
 */
class LazyLoadingTest {
    @Test
    void nd4jIsLoadedOnlyByAnOpThatUsesIt(@TempDir Path tmp) throws Exception {
        Path log = tmp.resolve("classes.log");
        String out = probe(tmp, log);
        assertTrue(out.matches("gemm=java-[^,]+, cholesky=java, trinv=java, eigen=unused, int4=\\S+"), out);
        List<String> nd4j = Files.readAllLines(log).stream()
                .filter(l -> l.contains(" org.nd4j.") || l.contains(" org.bytedeco.")).toList();
        assertEquals(List.of(), nd4j);
        assertFalse(Files.readString(log).contains("dev.squeeze.engine.backend.nd4j"), "our ND4J class stays unloaded");

        Path eigenLog = tmp.resolve("eigen.log");
        String withEigen = probe(tmp, eigenLog, "eigen");
        if (withEigen.contains("eigen=nd4j")) { // where ND4J runs, its classes are now in the log
            assertTrue(Files.readString(eigenLog).contains(" org.nd4j.linalg.factory.Nd4j "), "the log records ND4J");
        } else {
            assertTrue(withEigen.contains("eigen=java"), withEigen);
        }
    }

    private static String probe(Path tmp, Path classLog, String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "--add-modules", "jdk.incubator.vector", "-Xlog:class+load=info:file=" + classLog,
                "-cp", System.getProperty("java.class.path"), LazinessProbe.class.getName()));
        command.addAll(List.of(args));
        Path err = Files.createTempFile(tmp, "probe", ".err");
        Process process = new ProcessBuilder(command).redirectError(err.toFile()).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), "probe JVM did not finish");
        assertEquals(0, process.exitValue(), () -> "probe failed: " + readQuietly(err));
        return out;
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }
}
