package dev.squeeze.app.plan;

import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.compress.RtnSettings;
import dev.squeeze.engine.compress.gptq.GptqSettings;
import dev.squeeze.engine.compress.lowrank.LowRankSettings;
import dev.squeeze.engine.compress.lowrank.LowRankVariant;
import dev.squeeze.engine.compress.sparse.MagnitudeSettings;
import dev.squeeze.engine.compress.sparse.SparseGptSettings;
import dev.squeeze.engine.compress.sparse.Sparsity;
import dev.squeeze.engine.compress.spqr.SpqrSettings;
import dev.squeeze.engine.model.LayerInfo;
import dev.squeeze.engine.plan.PlanEstimate;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The editor's vocabulary over the engine's settings records: the method choices of the method column (low rank
 * once per variant), the common fields of the table's columns, and every other simple field of a record for the
 * side panel. Fields are read and replaced through the records' components, so a field added to a settings record
 * appears in the side panel without code here.
 */
public final class SettingsFields {
    /** The method column's choices; {@code dense} keeps the layer as stored. */
    public static final String DENSE = "dense";
    public static final List<String> METHODS = List.of(DENSE, "rtn", "gptq", "spqr", "sparsegpt", "magnitude",
            "lowrank-svd", "lowrank-activation", "lowrank-whitened", "lowrank-lord", "lowrank-fisher");

    /** The table's editable setting columns. */
    public static final String BITS = "bits";
    public static final String GROUP_SIZE = "groupSize";
    public static final String SYMMETRIC = "symmetric";
    public static final String SPARSITY = "sparsity";
    public static final String RANK = "rank";
    public static final List<String> COLUMNS = List.of(BITS, GROUP_SIZE, SYMMETRIC, SPARSITY, RANK);

    private SettingsFields() {
    }

    /** A record class's components, accessors and canonical constructor, looked up once (reflection is slow). */
    private record Shape(RecordComponent[] components, java.lang.reflect.Method[] accessors, Constructor<?> ctor,
                         Map<String, Integer> byName) {
        static Shape of(Class<?> type) {
            RecordComponent[] cs = type.getRecordComponents();
            java.lang.reflect.Method[] acc = new java.lang.reflect.Method[cs.length];
            Class<?>[] types = new Class<?>[cs.length];
            Map<String, Integer> names = new HashMap<>();
            for (int i = 0; i < cs.length; i++) {
                acc[i] = cs[i].getAccessor();
                types[i] = cs[i].getType();
                names.put(cs[i].getName(), i);
            }
            try {
                return new Shape(cs, acc, type.getDeclaredConstructor(types), names);
            } catch (NoSuchMethodException e) {
                throw new IllegalStateException("record " + type.getName() + " has no canonical constructor", e);
            }
        }
    }

    private static final ClassValue<Shape> SHAPES = new ClassValue<>() {
        @Override
        protected Shape computeValue(Class<?> type) {
            return Shape.of(type);
        }
    };

    /** The method choice of settings ({@code dense} for null). */
    public static String method(MethodSettings s) {
        if (s == null) {
            return DENSE;
        }
        if (s instanceof LowRankSettings l && l.variant() != null) {
            return "lowrank-" + l.variant().key();
        }
        return s.method();
    }

    /**
     * Settings of method {@code choice} for {@code layer}, keeping what carries over from {@code previous} (bits,
     * group size, symmetry, sparsity, rank); null for {@code dense}. SpQR's second-level group is adapted to a
     * divisor of the layer's rows (the largest up to the recommended 16), as its docs table does.
     */
    public static MethodSettings switchTo(String choice, MethodSettings previous, LayerInfo layer) {
        long rows = PlanEstimate.rows(layer);
        long cols = PlanEstimate.cols(layer);
        Integer prevBits = intValue(previous, BITS);
        int bits = prevBits != null && prevBits >= 2 && prevBits <= 8 ? prevBits : 4;
        Integer prevGroup = intValue(previous, GROUP_SIZE);
        int group = prevGroup != null ? prevGroup : 128;
        Object prevSym = value(previous, SYMMETRIC);
        boolean symmetric = prevSym instanceof Boolean b && b;
        Object prevSparsity = value(previous, SPARSITY);
        Sparsity sparsity = prevSparsity instanceof Sparsity sp ? sp : Sparsity.nOfM(2, 4);
        Integer prevRank = intValue(previous, RANK);
        return switch (choice) {
            case DENSE -> null;
            case "rtn" -> new RtnSettings(bits, group, symmetric);
            case "gptq" -> GptqSettings.of(bits, group).withSymmetric(symmetric);
            case "spqr" -> {
                yield SpqrSettings.recommended(bits).fittedToRows(rows);
            }
            case "sparsegpt" -> {
                Sparsity sp = sparsity.pattern() == Sparsity.Pattern.ROWS || sparsity.pattern() == Sparsity.Pattern.CHANNELS
                        ? Sparsity.unstructured(sparsity.fraction()) : sparsity;
                yield SparseGptSettings.of(sp);
            }
            case "magnitude" -> MagnitudeSettings.of(sparsity);
            default -> {
                if (!choice.startsWith("lowrank-")) {
                    throw new IllegalArgumentException("unknown method choice " + choice);
                }
                LowRankVariant variant = null;
                for (LowRankVariant v : LowRankVariant.values()) {
                    if (choice.equals("lowrank-" + v.key())) {
                        variant = v;
                    }
                }
                if (variant == null) {
                    throw new IllegalArgumentException("unknown low-rank variant " + choice);
                }
                int useful = Math.max(1, LowRankSettings.maxUsefulRank((int) Math.min(rows, Integer.MAX_VALUE),
                        (int) Math.min(cols, Integer.MAX_VALUE)));
                int rank = prevRank != null ? prevRank : Math.max(1, useful / 4);
                LowRankSettings old = previous instanceof LowRankSettings l ? l : null;
                yield old == null ? LowRankSettings.of(variant, rank)
                        : new LowRankSettings(variant, rank, old.percdamp(), old.quantA(), old.quantB());
            }
        };
    }

    /** The record component a column edits for these settings, or null when the column does not apply. */
    static String component(MethodSettings s, String column) {
        if (s == null) {
            return null;
        }
        String name = column.equals(BITS) && s instanceof MagnitudeSettings ? "valueBits" : column;
        return SHAPES.get(s.getClass()).byName().containsKey(name) ? name : null;
    }

    /** The value of a column for these settings, or null when it does not apply. */
    public static Object value(MethodSettings s, String column) {
        String name = component(s, column);
        return name == null ? null : get(s, name);
    }

    private static Integer intValue(MethodSettings s, String column) {
        return value(s, column) instanceof Integer i ? i : null;
    }

    /** A column's value as the table shows it; empty when it does not apply. */
    public static String text(MethodSettings s, String column) {
        Object v = value(s, column);
        if (v == null) {
            return "";
        }
        if (v instanceof Sparsity sp) {
            return sparsityText(sp);
        }
        if (column.equals(GROUP_SIZE) && v instanceof Integer g && g == 0) {
            return "row";
        }
        return String.valueOf(v);
    }

    /** Sparsity as it is typed: {@code 0.5}, {@code 2:4}, {@code rows 0.25}, {@code channels 0.25}. */
    public static String sparsityText(Sparsity sp) {
        if (sp.pattern() == null) {
            return "";
        }
        return switch (sp.pattern()) {
            case N_OF_M -> sp.n() + ":" + sp.m();
            case UNSTRUCTURED -> number(sp.fraction());
            case ROWS -> "rows " + number(sp.fraction());
            case CHANNELS -> "channels " + number(sp.fraction());
        };
    }

    private static String number(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? String.valueOf((long) d) : String.valueOf(d);
    }

    /**
     * These settings with a column set from typed text.
     *
     * @throws IllegalArgumentException with a message for people when the text is not a value of the column, or
     *                                  the column does not apply to the method
     */
    public static MethodSettings withText(MethodSettings s, String column, String text) {
        String name = component(s, column);
        if (name == null) {
            throw new IllegalArgumentException("'" + column + "' does not apply to " + method(s));
        }
        String t = text == null ? "" : text.trim();
        Object value = switch (column) {
            case SPARSITY -> parseSparsity(t);
            case SYMMETRIC -> parseBoolean(t);
            case GROUP_SIZE -> t.equalsIgnoreCase("row") || t.equalsIgnoreCase("per-row") ? 0 : parseInt(column, t);
            default -> parseInt(column, t);
        };
        return with(s, name, value);
    }

    private static int parseInt(String column, String t) {
        try {
            return Integer.parseInt(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(column + " '" + t + "' is not a whole number");
        }
    }

    private static boolean parseBoolean(String t) {
        return switch (t.toLowerCase(Locale.ROOT)) {
            case "true", "yes", "sym", "symmetric", "on" -> true;
            case "false", "no", "asym", "asymmetric", "off" -> false;
            default -> throw new IllegalArgumentException("symmetric '" + t + "' is not true or false");
        };
    }

    /** {@code 0.5} or {@code 50%} (unstructured), {@code 2:4} (N:M), {@code rows 0.25}, {@code channels 0.25}. */
    public static Sparsity parseSparsity(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.matches("\\d+\\s*:\\s*\\d+")) {
                String[] nm = t.split(":");
                return Sparsity.nOfM(Integer.parseInt(nm[0].trim()), Integer.parseInt(nm[1].trim()));
            }
            if (t.startsWith("rows")) {
                return Sparsity.rows(fraction(t.substring(4)));
            }
            if (t.startsWith("channels")) {
                return Sparsity.channels(fraction(t.substring(8)));
            }
            return Sparsity.unstructured(fraction(t));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("sparsity '" + text.trim() + "' is not a fraction (0.5 or 50%), an"
                    + " N:M pattern (2:4), 'rows 0.25' or 'channels 0.25'");
        }
    }

    private static double fraction(String t) {
        String s = t.trim();
        if (s.endsWith("%")) {
            return Double.parseDouble(s.substring(0, s.length() - 1).trim()) / 100;
        }
        return Double.parseDouble(s);
    }

    /** The simple fields of a settings record (numbers, booleans, enums): the side panel's properties. */
    public static List<RecordComponent> simpleFields(MethodSettings s) {
        List<RecordComponent> out = new ArrayList<>();
        if (s == null) {
            return out;
        }
        for (RecordComponent c : SHAPES.get(s.getClass()).components()) {
            Class<?> t = c.getType();
            if (t == int.class || t == double.class || t == boolean.class || t.isEnum()) {
                out.add(c);
            }
        }
        return out;
    }

    /** The value of a record component by name. */
    public static Object get(MethodSettings s, String component) {
        Shape shape = SHAPES.get(s.getClass());
        Integer i = shape.byName().get(component);
        if (i == null) {
            throw new IllegalArgumentException(s.method() + " has no field " + component);
        }
        return read(shape, s, i);
    }

    private static Object read(Shape shape, MethodSettings s, int i) {
        try {
            return shape.accessors()[i].invoke(s);
        } catch (IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException("cannot read " + shape.components()[i].getName() + " of " + s, e);
        }
    }

    /** The settings with one record component replaced (through the canonical constructor). */
    public static MethodSettings with(MethodSettings s, String component, Object value) {
        Shape shape = SHAPES.get(s.getClass());
        Integer at = shape.byName().get(component);
        if (at == null) {
            throw new IllegalArgumentException(s.method() + " has no field " + component);
        }
        Object[] args = new Object[shape.components().length];
        for (int i = 0; i < args.length; i++) {
            args[i] = i == at ? value : read(shape, s, i);
        }
        try {
            return (MethodSettings) shape.ctor().newInstance(args);
        } catch (InvocationTargetException e) {
            throw new IllegalArgumentException(component + ": " + e.getCause().getMessage(), e.getCause());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(component + " cannot be " + value);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot build " + s.getClass().getSimpleName(), e);
        }
    }
}
