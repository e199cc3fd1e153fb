package dev.squeeze.engine.plan;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.model.LayerRole;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Plans that are wrong in large or odd ways: each gives a bounded, readable error, never a hang or a crash. */
class PlanRobustnessTest {
    /** Llama-like layer names, long enough for a backtracking pattern to explode on. */
    private static List<LayerInfo> layers(int n) {
        List<LayerInfo> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new LayerInfo("model.layers." + i / 7 + ".mlp.proj_" + i % 7, LayerRole.LINEAR,
                    new long[]{64, 64}, 64 * 64, 4 * 64 * 64));
        }
        return out;
    }

    private static String regexPlan(String... patterns) {
        StringBuilder b = new StringBuilder("{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4},\"overrides\":[");
        for (int i = 0; i < patterns.length; i++) {
            b.append(i == 0 ? "" : ",").append("{\"match\":\"regex:").append(patterns[i].replace("\\", "\\\\"))
                    .append("\",\"method\":\"rtn\",\"bits\":8}");
        }
        return b.append("]}").toString();
    }

    private static String resolveError(String planJson, List<LayerInfo> layers) {
        CompressionPlan plan = CompressionPlan.parse(planJson);
        return assertThrows(SqueezeException.class, () -> PlanResolver.resolve(plan, layers)).getMessage();
    }

    @Test
    void aCatastrophicallyBacktrackingRegexIsReportedNotRun() {
        String m = assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> resolveError(regexPlan("model.*", "(.*){20}X"), layers(35)));
        assertTrue(m.contains("(1 problem)"), m);
        assertTrue(m.contains("overrides[1] (match regex:(.*){20}X): field 'match': the pattern takes too long to"
                + " match layer names (more than 1,000,000 steps on 'model.layers.0.mlp.proj_0'); simplify it"), m);
    }

    @Test
    void lookaheadsStillWorkUnderTheBudget() {
        List<LayerInfo> ls = new ArrayList<>(layers(14));
        ls.add(new LayerInfo("lm_head", LayerRole.LINEAR, new long[]{64, 64}, 64 * 64, 4 * 64 * 64));
        Map<String, MethodSettings> r = PlanResolver.resolve(CompressionPlan.parse(
                regexPlan("^(?!.*(lm_head|proj_6)).*")), ls);
        assertEquals(new RtnSettings(8, 0, false), r.get("model.layers.0.mlp.proj_0"));
        assertEquals(new RtnSettings(4, 0, false), r.get("model.layers.1.mlp.proj_6"));
        assertEquals(new RtnSettings(4, 0, false), r.get("lm_head"));
    }

    @Test
    void manyCostlyEntriesOnManyLayersStayBounded() {
        // Each pattern alone stays under the per-name limit on these names but reads a lot; 300 of them on 2,000
        // layers would be ~10^11 steps. The plan's budget stops the lot and names the entry where it ran out.
        String costly = "(.*)(.*)(.*)(.*)Z";
        String[] patterns = new String[300];
        java.util.Arrays.fill(patterns, costly);
        String m = assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> resolveError(regexPlan(patterns), layers(2_000)));
        assertTrue(m.contains("take too long to match the 2,000 compressible layer names together (more than"
                + " 200,000,000 steps)"), m);
        assertTrue(m.lines().count() < 30, m);
    }

    @Test
    void theStepBudgetIsExact() {
        RegexBudget tight = new RegexBudget(10);
        Pattern any = Pattern.compile(".*");
        assertTrue(tight.matches(any, "abcde")); // 5 steps
        assertTrue(tight.matches(any, "abcde")); // 10
        RegexBudget.Exceeded e = assertThrows(RegexBudget.Exceeded.class, () -> tight.matches(any, "a"));
        assertEquals(RegexBudget.Limit.PLAN, e.limit);
    }

    @Test
    void aPatternThatRecursesPerCharacterOnALongNameIsReportedNotAStackOverflow() {
        // java.util.regex recurses once per repetition of (?:a|b|_)*: 20,000 characters overflow any usual stack.
        String name = "ab_".repeat(7_000);
        List<LayerInfo> ls = List.of(new LayerInfo(name, LayerRole.LINEAR, new long[]{64, 64}, 64 * 64, 4 * 64 * 64));
        String m = resolveError(regexPlan("(?:a|b|_)*"), ls);
        assertTrue(m.contains("overrides[0] (match regex:(?:a|b|_)*): field 'match': the pattern recurses too deeply on"
                + " the 21,000-character layer name 'ab_ab_"), m);
    }

    @Test
    void problemsAreCappedAndCountedAndManyOverridesAreLinear() {
        // 300,000 overrides naming no layer, on a 2,000-layer model: once 98 MB of messages and a scan of every
        // layer per override.
        int n = 300_000;
        StringBuilder b = new StringBuilder("{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4},\"overrides\":[");
        for (int i = 0; i < n; i++) {
            b.append(i == 0 ? "" : ",").append("{\"layer\":\"nolayer").append(i).append("\",\"method\":\"none\"}");
        }
        String json = b.append("]}").toString();
        List<LayerInfo> ls = layers(2_000);
        String m = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> resolveError(json, ls));
        assertTrue(m.startsWith("The plan does not fit the model (300,000 problems; the first 20 follow):"), m);
        assertTrue(m.contains("overrides[19] (layer nolayer19): field 'layer' names no layer of the model"), m);
        assertFalse(m.contains("overrides[20] "), m);
        assertTrue(m.contains("… and 299,980 more"), m);
        assertTrue(m.length() < 5_000, "message of " + m.length() + " characters");
    }

    @Test
    void readingErrorsAreCappedToo() {
        StringBuilder b = new StringBuilder("{\"schema\":1,\"overrides\":[");
        for (int i = 0; i < 50; i++) {
            b.append(i == 0 ? "" : ",").append("{\"layer\":\"fc").append(i).append("\",\"method\":\"rtn\",\"bitz\":4}");
        }
        String m = assertThrows(SqueezeException.class, () -> CompressionPlan.parse(b + "]}")).getMessage();
        assertTrue(m.startsWith("The plan is invalid (100 problems; the first 20 follow):"), m);
        assertTrue(m.contains("… and 80 more"), m);
    }

    @Test
    void jsonReaderLimitsAreBadInputWithAPlace() {
        String digits = "1".repeat(1001);
        String m = assertThrows(SqueezeException.class, () -> CompressionPlan.parse(
                "{\"schema\":1,\n\"defaults\":{\"method\":\"rtn\",\"bits\":" + digits + "}}")).getMessage();
        assertTrue(m.startsWith("The plan is not valid JSON: Number value length (1001) exceeds the maximum allowed"
                + " (1000) (line 2"), m);
        assertTrue(m.contains("no number longer than 1,000 digits"), m);
        assertFalse(m.contains("StreamReadConstraints"), m);

        String deep = "[".repeat(2_000) + "]".repeat(2_000);
        m = assertThrows(SqueezeException.class, () -> CompressionPlan.parse(
                "{\"schema\":1,\"description\":" + deep + "}")).getMessage();
        assertTrue(m.startsWith("The plan is not valid JSON: Document nesting depth") && m.contains("(line 1, column"), m);
    }

    @Test
    void aPlanLargerThanTheLimitIsRejectedBeforeItIsParsed(@TempDir Path dir) throws Exception {
        // A 17 MB string: once it passed as a plan and failed the job as "a stored job specification is not valid".
        String big = "{\"schema\":1,\"description\":\"" + "x".repeat(CompressionPlan.MAX_CHARS) + "\"}";
        String m = assertThrows(SqueezeException.class, () -> CompressionPlan.parse(big)).getMessage();
        assertTrue(m.startsWith("The plan is 16,777,245 characters long; a plan may have at most 16,777,216"), m);
        Path file = Files.writeString(dir.resolve("big.json"), big);
        m = assertThrows(SqueezeException.class, () -> CompressionPlan.read(file)).getMessage();
        assertTrue(m.startsWith("Plan file " + file + " is larger than 16,777,216 bytes"), m);
    }

    @Test
    void emptyNonObjectAndNonUtf8PlansSayWhatIsWrong(@TempDir Path dir) throws Exception {
        Path empty = Files.writeString(dir.resolve("empty.json"), "");
        String m = assertThrows(SqueezeException.class, () -> CompressionPlan.read(empty)).getMessage();
        assertTrue(m.startsWith("Plan file " + empty + ": The plan is empty") && m.contains("\"schema\": 1"), m);
        m = assertThrows(SqueezeException.class, () -> CompressionPlan.parse("  \n ")).getMessage();
        assertTrue(m.startsWith("The plan is empty"), m);
        m = assertThrows(SqueezeException.class, () -> CompressionPlan.parse("[1, 2]")).getMessage();
        assertTrue(m.startsWith("The plan must be a JSON object ({...}), not an array"), m);

        byte[] latin1 = "{\"schema\": 1,\n \"description\": \"café\"}".getBytes(StandardCharsets.ISO_8859_1);
        Path bad = Files.write(dir.resolve("latin1.json"), latin1);
        m = assertThrows(SqueezeException.class, () -> CompressionPlan.read(bad)).getMessage();
        assertTrue(m.startsWith("Plan file " + bad + " is not UTF-8 text: the byte 0xE9 at offset 34 (line 2) is not"
                + " valid UTF-8"), m);
        assertTrue(m.contains("Fix: save the plan as UTF-8"), m);

        // A UTF-8 byte-order mark (some Windows editors write one) is not an error.
        byte[] bom = ("\uFEFF{\"schema\": 1, \"preset\": \"gptq-4bit-g128\"}").getBytes(StandardCharsets.UTF_8);
        assertEquals("gptq-4bit-g128", CompressionPlan.read(Files.write(dir.resolve("bom.json"), bom)).preset().name());

        Path folder = Files.createDirectory(dir.resolve("plans.json"));
        m = assertThrows(SqueezeException.class, () -> CompressionPlan.read(folder)).getMessage();
        assertTrue(m.startsWith("Plan file " + folder + " is a folder"), m);
        m = assertThrows(SqueezeException.class, () -> CompressionPlan.read(dir.resolve("none.json"))).getMessage();
        assertTrue(m.startsWith("Plan file " + dir.resolve("none.json") + " does not exist"), m);
    }

    @Test
    void aDeviceThatNeverEndsIsReadOnlyUpToTheLimit() {
        Path zero = Path.of("/dev/zero");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isReadable(zero), "no /dev/zero here");
        String m = assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> assertThrows(SqueezeException.class, () -> CompressionPlan.read(zero)).getMessage());
        assertTrue(m.startsWith("Plan file /dev/zero is larger than 16,777,216 bytes"), m);
    }

    @Test
    void aHugeNameIsQuotedShort() {
        String name = "x".repeat(100_000);
        String m = resolveError("{\"schema\":1,\"overrides\":[{\"layer\":\"" + name + "\",\"method\":\"none\"}]}",
                layers(1));
        assertTrue(m.contains("overrides[0] (layer " + "x".repeat(100) + "…(100000 characters)): field 'layer'"), m);
        assertTrue(m.length() < 1_000, m);
    }
}
