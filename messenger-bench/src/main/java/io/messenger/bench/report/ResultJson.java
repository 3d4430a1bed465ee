package io.messenger.bench.report;

import io.messenger.cluster.admin.JsonWriter;
import java.lang.reflect.RecordComponent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Bench results as JSON: records become objects field by field under their own names, durations become
 * seconds, and the cluster's {@link JsonWriter} writes the result.
 */
public final class ResultJson {

    private ResultJson() {}

    public static String of(Object value) {
        return JsonWriter.write(plain(value)) + "\n";
    }

    /** The value as maps, lists, strings, numbers, booleans and nulls only. */
    private static Object plain(Object value) {
        if (value instanceof Duration d) {
            return d.toMillis() / 1000.0;
        } else if (value instanceof long[] longs) {
            return Arrays.stream(longs).boxed().toList();
        } else if (value instanceof Map<?, ?> map) {
            Map<String, Object> out = new LinkedHashMap<>();
            map.forEach((k, v) -> out.put(String.valueOf(k), plain(v)));
            return out;
        } else if (value instanceof Iterable<?> items) {
            List<Object> out = new ArrayList<>();
            items.forEach(item -> out.add(plain(item)));
            return out;
        } else if (value != null && value.getClass().isRecord()) {
            Map<String, Object> fields = new LinkedHashMap<>();
            for (RecordComponent component : value.getClass().getRecordComponents()) {
                try {
                    // Result records may be package-private (nested in a command); their fields are still public data.
                    java.lang.reflect.Method accessor = component.getAccessor();
                    accessor.setAccessible(true);
                    fields.put(component.getName(), plain(accessor.invoke(value)));
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException("Cannot read " + component, e);
                }
            }
            return fields;
        }
        return value;
    }
}
