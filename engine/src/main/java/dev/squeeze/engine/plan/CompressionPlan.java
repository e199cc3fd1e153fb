package dev.squeeze.engine.plan;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.util.Hashing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A compression plan: which method, with which settings, each layer of a model gets. The JSON form:
 *
 * <pre>{@code
 * {"schema": 1,
 *  "preset": "mostly-4bit-first-last-8bit",                      // optional, see Presets
 *  "defaults": {"method": "gptq", "bits": 4, "groupSize": 128},   // optional, replaces the preset's
 *  "overrides": [                                                 // optional, in order
 *    {"match": "regex:^model\\.layers\\.0\\..*", "method": "gptq", "bits": 8},
 *    {"layer": "lm_head", "method": "none"}]}
 * }</pre>
 *
 * <p>Precedence for a layer, lowest first: the defaults (the plan's, else the preset's); the preset's per-layer
 * settings; the plan's regex overrides; the plan's exact-name overrides. Within one kind a later entry wins.
 * {@code "method": "none"} keeps a layer dense. A regex must match the whole layer name and applies only to
 * compressible layers (not embeddings, norms or the head); an exact name may pick any layer. Settings fields are
 * those of {@link SettingsJson}.
 *
 * <p>A plan is parsed completely when it is read: every unknown field, wrong type or unknown method or preset is
 * reported in one {@link SqueezeException}. Checks that need the model (ranges against the layer shape, names and
 * regexes that match nothing) are {@link PlanResolver}'s.
 *
 * <p>Identity: {@link #canonicalJson()} is the plan's JSON with object keys sorted and no whitespace; equal plans
 * (whatever their key order or layout) have equal canonical JSON and so equal {@link #hash()}. The array order of
 * {@code overrides} is meaningful and kept.
 */
public final class CompressionPlan {
    /** The schema version this code reads and writes. */
    public static final int SCHEMA = 1;

    /**
     * The largest plan, in characters of JSON (and bytes of a plan file). A per-layer plan of a model with 50,000
     * linear layers is about 5 MB. The limit keeps a plan well inside what the JSON reader accepts as one string
     * (20 million characters): a job stores and sends its plan as a string, so a larger plan would pass validation
     * and then fail as a job that cannot be read back.
     */
    public static final int MAX_CHARS = 16 * 1024 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** What a plan may look like, for messages about an empty or malformed one. */
    private static final String EXAMPLE = "{\"schema\": 1, \"preset\": \"gptq-4bit-g128\"}";

    /**
     * One override entry.
     *
     * @param layer    the exact layer name, or null for a regex entry
     * @param regex    the pattern (whole-name match), or null for an exact entry
     * @param settings the settings, or null for {@code "method": "none"}
     * @param where    where the entry sits, for messages ({@code overrides[1] (layer fc1)})
     */
    public record LayerOverride(String layer, Pattern regex, MethodSettings settings, String where) {
        // No matches(name) here: a regex must be matched under a step budget (PlanResolver's RegexBudget), or a
        // catastrophically backtracking pattern hangs whoever calls it.
    }

    private final String canonical;
    private final Presets.Preset preset;
    private final boolean hasDefaults;
    private final MethodSettings defaults;
    private final List<LayerOverride> overrides;

    private CompressionPlan(String canonical, Presets.Preset preset, boolean hasDefaults, MethodSettings defaults,
                            List<LayerOverride> overrides) {
        this.canonical = canonical;
        this.preset = preset;
        this.hasDefaults = hasDefaults;
        this.defaults = defaults;
        this.overrides = List.copyOf(overrides);
    }

    /** Reads a plan file (UTF-8 JSON); errors name the file. */
    public static CompressionPlan read(Path file) {
        String text = PlanText.read(file, MAX_CHARS);
        try {
            return parse(text);
        } catch (SqueezeException e) {
            throw new SqueezeException("Plan file " + file + ": " + e.getMessage(), null, e);
        }
    }

    /** Parses a plan from JSON text. */
    public static CompressionPlan parse(String text) {
        if (text.length() > MAX_CHARS) {
            throw new SqueezeException(String.format(java.util.Locale.ROOT,
                    "The plan is %,d characters long; a plan may have at most %,d", text.length(), MAX_CHARS),
                    "split it, or give many layers one setting with a \"match\": \"regex:...\" entry");
        }
        if (text.isBlank()) {
            throw new SqueezeException("The plan is empty", "write a plan, e.g. " + EXAMPLE);
        }
        JsonNode root;
        try (JsonParser parser = JSON.createParser(text)) {
            try {
                root = JSON.readTree(parser);
            } catch (JsonProcessingException e) {
                throw notJson(e, parser);
            }
        } catch (IOException e) {
            throw new IllegalStateException("reading JSON from a string cannot fail with I/O", e);
        }
        return of(root);
    }

    /**
     * A JSON syntax error or a limit of the JSON reader (a number of more than 1,000 digits, nesting deeper than
     * 1,000), with where it was. The reader's limit errors carry no location, so the parser's position is used.
     */
    private static SqueezeException notJson(JsonProcessingException e, JsonParser parser) {
        JsonLocation at = e.getLocation() != null ? e.getLocation() : parser.currentLocation();
        String what = e.getOriginalMessage() == null ? e.getClass().getSimpleName() : e.getOriginalMessage();
        // "Number value length (1001) exceeds the maximum allowed (1000, from `StreamReadConstraints...`)": the
        // class name says nothing to a person who wrote a plan.
        what = what.replaceAll(", from `StreamReadConstraints\\.[A-Za-z]+\\(\\)`", "");
        if (what.length() > 300) {
            what = what.substring(0, 297) + "…";
        }
        boolean limit = e instanceof StreamConstraintsException;
        return new SqueezeException("The plan is not valid JSON: " + what
                + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")"),
                limit ? "a plan needs no number longer than 1,000 digits nor nesting deeper than 1,000 levels;"
                        + " correct the value there" : "fix the JSON syntax there");
    }

    /** Builds a plan from a JSON tree. */
    public static CompressionPlan of(JsonNode root) {
        if (root == null || root.isMissingNode()) {
            throw new SqueezeException("The plan is empty", "write a plan, e.g. " + EXAMPLE);
        }
        if (!(root instanceof ObjectNode)) {
            throw new SqueezeException("The plan must be a JSON object ({...}), not " + JsonFields.kind(root),
                    "write a plan, e.g. " + EXAMPLE);
        }
        Problems errors = new Problems();
        JsonFields top = JsonFields.of(root, "plan", "plan", errors);
        JsonNode schema = top.raw("schema");
        if (schema == null) {
            top.error("schema", "is missing; write \"schema\": " + SCHEMA);
        } else if (!schema.isIntegralNumber() || schema.intValue() != SCHEMA) {
            top.error("schema", "is " + JsonFields.kind(schema) + "; this version reads schema " + SCHEMA);
        }
        top.text("description", null, false);
        Presets.Preset preset = null;
        String presetName = top.text("preset", null, false);
        if (presetName != null) {
            preset = Presets.byName(presetName);
            if (preset == null) {
                top.error("preset", "is '" + JsonFields.shorten(presetName) + "', which is not a known preset; use one of "
                        + String.join(", ", Presets.all().stream().map(Presets.Preset::name).toList()));
            }
        }
        JsonNode d = top.raw("defaults");
        MethodSettings defaults = null;
        if (d != null) {
            JsonFields df = JsonFields.of(d, "defaults", "defaults", errors);
            defaults = df == null ? null : SettingsJson.read(df);
        }
        List<LayerOverride> overrides = new ArrayList<>();
        JsonNode o = top.raw("overrides");
        if (o != null && !(o instanceof ArrayNode)) {
            top.error("overrides", "must be an array, not " + JsonFields.kind(o));
        } else if (o != null) {
            for (int i = 0; i < o.size(); i++) {
                LayerOverride lo = override(o.get(i), i, errors);
                if (lo != null) {
                    overrides.add(lo);
                }
            }
        }
        top.rejectUnknown();
        if (!errors.isEmpty()) {
            throw invalid(errors);
        }
        String canonical = canonicalJson(root);
        if (canonical.length() > MAX_CHARS) {
            // Numbers written out (1e9 is 1.0E9) or a plan built in code: the canonical form is what jobs carry.
            throw new SqueezeException(String.format(java.util.Locale.ROOT, "The plan is %,d characters long as"
                    + " canonical JSON; a plan may have at most %,d", canonical.length(), MAX_CHARS),
                    "split it, or give many layers one setting with a \"match\": \"regex:...\" entry");
        }
        return new CompressionPlan(canonical, preset, d != null, defaults, overrides);
    }

    private static LayerOverride override(JsonNode node, int i, Problems errors) {
        String at = "overrides[" + i + "]";
        if (!(node instanceof ObjectNode obj)) {
            errors.add(at + " must be a JSON object, not " + JsonFields.kind(node));
            return null;
        }
        String layer = obj.path("layer").isTextual() ? obj.get("layer").textValue() : null;
        String match = obj.path("match").isTextual() ? obj.get("match").textValue() : null;
        String where = at + (layer != null ? " (layer " + JsonFields.shorten(layer) + ")"
                : match != null ? " (match " + JsonFields.shorten(match) + ")" : "");
        JsonFields f = new JsonFields(obj, where, errors);
        f.text("layer", null, false);
        f.text("match", null, false);
        Pattern regex = null;
        if (f.has("layer") == f.has("match")) {
            f.error("layer", "or 'match': give exactly one (an exact layer name, or \"match\": \"regex:...\")");
        } else if (match != null) {
            if (!match.startsWith("regex:")) {
                f.error("match", "is '" + JsonFields.shorten(match) + "'; write \"regex:<pattern>\", or use \"layer\" for an exact name");
            } else {
                try {
                    regex = Pattern.compile(match.substring("regex:".length()));
                } catch (PatternSyntaxException e) {
                    f.error("match", "is not a valid regular expression: " + e.getDescription() + " at index "
                            + e.getIndex());
                }
            }
        }
        int before = errors.count();
        MethodSettings s = SettingsJson.read(f);
        if (errors.count() > before || (layer == null && regex == null)) {
            return null;
        }
        return new LayerOverride(layer, regex, s, where);
    }

    private static SqueezeException invalid(Problems errors) {
        return errors.exception("The plan is invalid", "correct the fields named above");
    }

    /** A plan that gives every compressible layer {@code defaults} (null keeps everything dense). */
    public static CompressionPlan of(MethodSettings defaults) {
        ObjectNode root = JsonNodeFactory.instance.objectNode().put("schema", SCHEMA);
        root.set("defaults", SettingsJson.write(defaults));
        return of(root);
    }

    /** A plan that is just the named preset. */
    public static CompressionPlan preset(String name) {
        return of(JsonNodeFactory.instance.objectNode().put("schema", SCHEMA).put("preset", name));
    }

    /** This plan with one more exact-name override (it wins over earlier ones); null settings keep it dense. */
    public CompressionPlan withLayer(String layer, MethodSettings settings) {
        return withEntry("layer", layer, settings);
    }

    /** This plan with one more regex override ({@code regex} without the {@code regex:} prefix). */
    public CompressionPlan withMatch(String regex, MethodSettings settings) {
        return withEntry("match", "regex:" + regex, settings);
    }

    private CompressionPlan withEntry(String key, String value, MethodSettings settings) {
        ObjectNode root = (ObjectNode) tree();
        ObjectNode entry = JsonNodeFactory.instance.objectNode().put(key, value);
        entry.setAll(SettingsJson.write(settings));
        root.withArray("overrides").add(entry);
        return of(root);
    }

    /** The preset this plan starts from, or null. */
    public Presets.Preset preset() {
        return preset;
    }

    /** Whether the plan states its own defaults (which then replace the preset's). */
    public boolean hasDefaults() {
        return hasDefaults;
    }

    /** The plan's own defaults (null: none given, or {@code "method": "none"}; see {@link #hasDefaults()}). */
    public MethodSettings defaults() {
        return defaults;
    }

    /** The defaults in force: the plan's own, else the preset's, else none (everything dense). */
    public MethodSettings effectiveDefaults() {
        return hasDefaults ? defaults : preset != null ? preset.defaults() : null;
    }

    public List<LayerOverride> overrides() {
        return overrides;
    }

    /** Sorted keys, no whitespace: the form the results database stores and hashes. */
    public String canonicalJson() {
        return canonical;
    }

    /** SHA-256 (hex) of the UTF-8 canonical JSON. */
    public String hash() {
        return Hashing.sha256(canonical.getBytes(StandardCharsets.UTF_8));
    }

    /** The plan as a fresh JSON tree (keys sorted). */
    public JsonNode tree() {
        try {
            return JSON.readTree(canonical);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("canonical plan JSON does not parse", e);
        }
    }

    /** Canonical JSON of any tree: object keys sorted (recursively), arrays in order, no whitespace. */
    public static String canonicalJson(JsonNode node) {
        try {
            return JSON.writeValueAsString(sorted(node));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write JSON", e);
        }
    }

    private static JsonNode sorted(JsonNode node) {
        if (node instanceof ObjectNode o) {
            TreeMap<String, JsonNode> keys = new TreeMap<>();
            for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                keys.put(k, sorted(o.get(k)));
            }
            ObjectNode out = JsonNodeFactory.instance.objectNode();
            keys.forEach(out::set);
            return out;
        }
        if (node instanceof ArrayNode a) {
            ArrayNode out = JsonNodeFactory.instance.arrayNode();
            a.forEach(x -> out.add(sorted(x)));
            return out;
        }
        return node;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CompressionPlan p && p.canonical.equals(canonical);
    }

    @Override
    public int hashCode() {
        return canonical.hashCode();
    }

    @Override
    public String toString() {
        return canonical;
    }
}
