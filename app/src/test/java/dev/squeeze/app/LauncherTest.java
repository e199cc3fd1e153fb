package dev.squeeze.app;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The root launcher script's answers when it cannot start anything. */
class LauncherTest {
    @TempDir
    Path dir;

    private record Result(int code, String output) {
    }

    private Result launch(String jvmDirs, String... args) throws Exception {
        return launch(jvmDirs, java.util.Map.of(), args);
    }

    private Result launch(String jvmDirs, java.util.Map<String, String> env, String... args) throws Exception {
        Path root = Path.of(System.getProperty("squeeze.root", Path.of("").toAbsolutePath().getParent().toString()));
        var command = new java.util.ArrayList<String>();
        command.add("bash");
        command.add(root.resolve("squeeze").toString());
        command.addAll(java.util.List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().remove("JAVA_HOME");
        pb.environment().put("SQUEEZE_JVM_DIRS", jvmDirs);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new Result(p.exitValue(), out);
    }

    @Test
    void noJdkAtAllSaysWhatToInstall() throws Exception {
        Result r = launch(dir.resolve("empty").toString(), "inspect");
        assertEquals(3, r.code(), r.output());
        assertTrue(r.output().contains("no JDK 25 or newer found") && r.output().contains("no JDK there")
                && r.output().contains("Fix: install a JDK 25+"), r.output());
        assertFalse(r.output().contains("Exception"), r.output());
    }

    @Test
    void aHeapSizeThatIsNoSizeIsRefusedBeforeJavaStarts() throws Exception {
        // The JDK running this test is 25+: the launcher finds it through SQUEEZE_JVM_DIRS.
        Path jdk = Path.of(System.getProperty("java.home"));
        Path dirs = Files.createDirectories(dir.resolve("jvms"));
        Files.createSymbolicLink(dirs.resolve("jdk"), jdk);
        Result r = launch(dirs.toString(), java.util.Map.of("SQUEEZE_HEAP", "lots"), "--version");
        assertEquals(3, r.code(), r.output());
        assertTrue(r.output().contains("SQUEEZE_HEAP is 'lots', which is not a heap size")
                && r.output().contains("SQUEEZE_HEAP=8g"), r.output());
    }

    @Test
    void anOlderJdkIsNamedAndRefused() throws Exception {
        Path old = Path.of("/usr/lib/jvm/java-17-openjdk-amd64");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(old), "no JDK 17 on this machine");
        Path dirs = Files.createDirectories(dir.resolve("jvms"));
        Files.createSymbolicLink(dirs.resolve("jdk17"), old);
        Result r = launch(dirs.toString());
        assertEquals(3, r.code(), r.output());
        assertTrue(r.output().contains("jdk17 (17)"), r.output());
    }
}
