package io.messenger.cluster.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonWriterTest {

    @Test
    void writesScalarsMapsAndLists() {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("id", 3);
        map.put("epoch", 12L);
        map.put("leader", true);
        map.put("role", java.time.DayOfWeek.MONDAY);
        map.put("ratio", 0.5);
        map.put("nothing", null);
        map.put("peers", List.of(1, 2));
        map.put("nested", Map.of("a", "b"));
        assertThat(JsonWriter.write(map)).isEqualTo(
                "{\"id\":3,\"epoch\":12,\"leader\":true,\"role\":\"MONDAY\",\"ratio\":0.5,\"nothing\":null,"
                        + "\"peers\":[1,2],\"nested\":{\"a\":\"b\"}}");
    }

    @Test
    void escapesStrings() {
        assertThat(JsonWriter.write("a\"b\\c\nd\te\u0001f\u2028é😀"))
                .isEqualTo("\"a\\\"b\\\\c\\nd\\te\\u0001f\\u2028é😀\"");
    }

    @Test
    void writesNonFiniteNumbersAsNull() {
        assertThat(JsonWriter.write(Arrays.asList(Double.NaN, Double.POSITIVE_INFINITY, 1.5f))).isEqualTo("[null,null,1.5]");
    }

    @Test
    void emptyContainers() {
        assertThat(JsonWriter.write(Map.of())).isEqualTo("{}");
        assertThat(JsonWriter.write(List.of())).isEqualTo("[]");
    }

    @Test
    void refusesWhatJsonCannotHold() {
        assertThatThrownBy(() -> JsonWriter.write(Map.of(1, "x"))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> JsonWriter.write(new Object())).isInstanceOf(IllegalArgumentException.class);
    }
}
