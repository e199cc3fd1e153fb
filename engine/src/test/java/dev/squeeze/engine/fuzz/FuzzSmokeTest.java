package dev.squeeze.engine.fuzz;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The fuzz campaign as tests, for every target of {@link FuzzTargets}:
 * <ul>
 *   <li>its seeds and every saved finding ({@code src/test/resources/fuzz/<target>/}, one file per input that
 *   once failed) replayed in this JVM: each must now be read or refused with a {@code SqueezeException};</li>
 *   <li>a short coverage-guided run under Jazzer ({@code -Dsqueeze.fuzz.seconds}, default 10; or a number of
 *   executions with {@code -Dsqueeze.fuzz.runs}) that must end without a finding. {@code bench/fuzz.sh} runs the
 *   same with a long budget. Results are appended to {@code target/fuzz/summary.txt}.</li>
 * </ul>
 */
class FuzzSmokeTest {
    static Stream<String> targets() {
        String only = System.getProperty("squeeze.fuzz.targets", "");
        return FuzzTargets.all().stream().map(FuzzTargets.Target::name)
                .filter(n -> only.isBlank() || List.of(only.split(",")).contains(n));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void seedsAndSavedFindingsAreHandled(String name) throws Exception {
        FuzzTargets.Target target = FuzzTargets.byName(name).orElseThrow();
        Method entry = target.target().getMethod("fuzzerTestOneInput", byte[].class);
        // Without a warm-up, class loading on a busy machine is charged to the first input as a timeout.
        target.target().getMethod("fuzzerInitialize");
        Map<String, byte[]> seeds = target.seeds().seeds();
        assertFalse(seeds.isEmpty(), name + " has no seeds");
        List<String> failures = new ArrayList<>();
        // Seeds are valid files: each must go the whole way (read, inventory, network built and run).
        for (Map.Entry<String, byte[]> in : seeds.entrySet()) {
            FuzzFiles.acceptingOnly(() -> replay(entry, "seed " + in.getKey(), in.getValue(), failures));
        }
        for (Map.Entry<String, byte[]> in : savedFindings(name).entrySet()) {
            replay(entry, in.getKey(), in.getValue(), failures);
        }
        assertTrue(failures.isEmpty(), name + ": inputs that escape as something other than a SqueezeException:\n"
                + String.join("\n", failures));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("targets")
    void fuzzingFindsNothing(String name) throws Exception {
        FuzzTargets.Target target = FuzzTargets.byName(name).orElseThrow();
        long runs = Long.getLong("squeeze.fuzz.runs", 0);
        FuzzCampaign.Budget budget = runs > 0 ? FuzzCampaign.Budget.runs(runs)
                : FuzzCampaign.Budget.seconds(Long.getLong("squeeze.fuzz.seconds", 10));
        Path work = Path.of("target", "fuzz").toAbsolutePath();
        FuzzCampaign.Result r = FuzzCampaign.run(target, work, budget, System.getProperty("java.class.path"));
        String line = FuzzCampaign.table(List.of(r));
        System.out.print(line);
        Files.writeString(work.resolve("summary.txt"), line.lines().skip(1).findFirst().orElse("") + "\n",
                StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        assertNull(r.finding(), () -> "fuzz target " + name + " found a problem (" + r.artifacts()
                + "; full log " + r.log() + "):\n" + r.finding()
                + "\nAdd the crashing input to src/test/resources/fuzz/" + name + "/ as a regression and fix the reader.");
        assertTrue(r.executions() > 0, () -> "no executions recorded for " + name + "; see " + r.log());
    }

    private static void replay(Method entry, String what, byte[] input, List<String> failures) throws Exception {
        try {
            entry.invoke(null, (Object) input);
        } catch (InvocationTargetException e) {
            failures.add(what + ": " + e.getCause());
        }
    }

    /** Files under {@code engine/src/test/resources/fuzz/<target>/}: inputs that once were findings. */
    private static Map<String, byte[]> savedFindings(String name) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        Path dir = regressionsRoot().resolve(name);
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                if (Files.isRegularFile(p)) {
                    out.put("saved finding " + p.getFileName(), Files.readAllBytes(p));
                }
            }
        }
        return out;
    }

    static Path regressionsRoot() {
        String root = System.getProperty("squeeze.root");
        Path engine = root == null ? Path.of("").toAbsolutePath() : Path.of(root, "engine");
        Path dir = engine.resolve("src/test/resources/fuzz");
        if (root != null && !Files.isDirectory(engine)) {
            fail("cannot find the engine module under " + root);
        }
        return dir;
    }
}
