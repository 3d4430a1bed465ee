package io.messenger.bench.report;

import java.lang.reflect.RecordComponent;
import java.util.Collection;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;

/**
 * Writes maps, lists, records, strings, numbers and booleans as JSON, so results need no JSON library
 * and every record the bench reports is written field by field under its own names.
 */
public final class JsonText {

    private JsonText() {}

    public static String of(Object value) {
        StringBuilder out = new StringBuilder();
        write(out, value, "");
        return out.append('\n').toString();
    }

    private static void write(StringBuilder out, Object value, String indent) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof String s) {
            string(out, s);
        } else if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            out.append(Double.isFinite(d) ? String.format(Locale.ROOT, "%.3f", d) : "null");
        } else if (value instanceof Number || value instanceof Boolean) {
            out.append(value);
        } else if (value instanceof Enum<?> e) {
            string(out, e.name());
        } else if (value instanceof java.time.Duration d) {
            out.append(d.toMillis() / 1000.0);
        } else if (value instanceof Map<?, ?> map) {
            object(out, map.entrySet().iterator(), indent);
        } else if (value instanceof Collection<?> list) {
            array(out, list.iterator(), indent);
        } else if (value instanceof long[] longs) {
            array(out, java.util.Arrays.stream(longs).boxed().iterator(), indent);
        } else if (value.getClass().isRecord()) {
            Map<String, Object> fields = new java.util.LinkedHashMap<>();
            for (RecordComponent component : value.getClass().getRecordComponents()) {
                try {
                    fields.put(component.getName(), component.getAccessor().invoke(value));
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException("Cannot read " + component, e);
                }
            }
            object(out, fields.entrySet().iterator(), indent);
        } else {
            string(out, value.toString());
        }
    }

    private static void object(StringBuilder out, Iterator<? extends Map.Entry<?, ?>> entries, String indent) {
        String inner = indent + "  ";
        out.append('{');
        boolean first = true;
        while (entries.hasNext()) {
            Map.Entry<?, ?> entry = entries.next();
            out.append(first ? "\n" : ",\n").append(inner);
            string(out, String.valueOf(entry.getKey()));
            out.append(": ");
            write(out, entry.getValue(), inner);
            first = false;
        }
        out.append(first ? "}" : "\n" + indent + "}");
    }

    private static void array(StringBuilder out, Iterator<?> items, String indent) {
        String inner = indent + "  ";
        out.append('[');
        boolean first = true;
        while (items.hasNext()) {
            out.append(first ? "\n" : ",\n").append(inner);
            write(out, items.next(), inner);
            first = false;
        }
        out.append(first ? "]" : "\n" + indent + "]");
    }

    private static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
