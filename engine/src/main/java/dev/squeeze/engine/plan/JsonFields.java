package dev.squeeze.engine.plan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Reads the fields of one JSON object, collecting every problem (wrong type, missing, unknown field) instead of
 * stopping at the first, so that a plan with several mistakes is reported in one go. Each message names where the
 * object sits in the plan ({@code defaults}, {@code overrides[2] (layer fc1)}) and the field.
 */
final class JsonFields {
    private final ObjectNode node;
    private final String where;
    private final Problems errors;
    private final Set<String> seen = new HashSet<>();

    JsonFields(ObjectNode node, String where, Problems errors) {
        this.node = node;
        this.where = where;
        this.errors = errors;
    }

    /** Wraps {@code value} if it is an object; otherwise records an error and returns null. */
    static JsonFields of(JsonNode value, String where, String field, Problems errors) {
        if (value instanceof ObjectNode o) {
            return new JsonFields(o, where, errors);
        }
        errors.add(where + ": field '" + field + "' must be a JSON object, not " + kind(value));
        return null;
    }

    ObjectNode node() {
        return node;
    }

    String where() {
        return where;
    }

    void error(String field, String what) {
        errors.add(where + ": field '" + field + "' " + what);
    }

    boolean has(String field) {
        return node.has(field) && !node.get(field).isNull();
    }

    /** The raw value of a field (marked as known), or null when absent. */
    JsonNode raw(String field) {
        seen.add(field);
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v;
    }

    int integer(String field, int fallback, boolean required) {
        JsonNode v = raw(field);
        if (v == null) {
            if (required) {
                error(field, "is missing");
            }
            return fallback;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            error(field, "must be an integer, not " + kind(v));
            return fallback;
        }
        return v.intValue();
    }

    double number(String field, double fallback) {
        JsonNode v = raw(field);
        if (v == null) {
            return fallback;
        }
        if (!v.isNumber()) {
            error(field, "must be a number, not " + kind(v));
            return fallback;
        }
        return v.doubleValue();
    }

    boolean bool(String field, boolean fallback) {
        JsonNode v = raw(field);
        if (v == null) {
            return fallback;
        }
        if (!v.isBoolean()) {
            error(field, "must be true or false, not " + kind(v));
            return fallback;
        }
        return v.booleanValue();
    }

    String text(String field, String fallback, boolean required) {
        JsonNode v = raw(field);
        if (v == null) {
            if (required) {
                error(field, "is missing");
            }
            return fallback;
        }
        if (!v.isTextual()) {
            error(field, "must be a string, not " + kind(v));
            return fallback;
        }
        return v.textValue();
    }

    /** An enum by its lower-case name (case-insensitive), or an error listing the choices. */
    <E extends Enum<E>> E choice(String field, Class<E> type, E fallback) {
        String s = text(field, null, false);
        if (s == null) {
            return fallback;
        }
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(s)) {
                return e;
            }
        }
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            names.add(e.name().toLowerCase(java.util.Locale.ROOT));
        }
        error(field, "is '" + s + "'; use one of " + String.join(", ", names));
        return fallback;
    }

    /** Records an error for every field that no reader asked for (typo protection). */
    void rejectUnknown() {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!seen.contains(f)) {
                errors.add(where + ": unknown field '" + f + "'");
            }
        }
    }

    /** A name or pattern as a message quotes it: whole up to 120 characters, else its start and its length. */
    static String shorten(String s) {
        return s.length() <= 120 ? s : s.substring(0, 100) + "…(" + s.length() + " characters)";
    }

    static String kind(JsonNode v) {
        if (v == null || v.isMissingNode()) {
            return "nothing";
        }
        if (v.isNull()) {
            return "null";
        }
        if (v.isTextual()) {
            return "the string \"" + shorten(v.textValue()) + "\""; // a message quotes a value, not a 10 MB string
        }
        if (v.isNumber() || v.isBoolean()) {
            return v.toString();
        }
        return v.isArray() ? "an array" : "an object";
    }
}
