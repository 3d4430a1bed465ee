package io.messenger.containers;

import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One node's answer to {@code GET /status} on its admin port, as the container tests read it.
 *
 * @param leaderId 0 when the node knows no leader
 */
record NodeStatus(int nodeId, String role, int leaderId, long epoch, long lastIndex, long commitIndex) {

    // A flat JSON object of strings and numbers; a JSON library is not worth a dependency here.
    private static final Pattern FIELD = Pattern.compile("\"(\\w+)\"\\s*:\\s*(\"([^\"]*)\"|[-+\\w.]+)");

    /** Whether this node says it leads. */
    boolean leading() {
        return "LEADER".equalsIgnoreCase(role);
    }

    /** Parses the admin endpoint's document; unknown fields are ignored. */
    static NodeStatus parse(String json) {
        Map<String, String> fields = new HashMap<>();
        Matcher matcher = FIELD.matcher(json);
        while (matcher.find()) {
            fields.put(matcher.group(1), matcher.group(3) != null ? matcher.group(3) : matcher.group(2));
        }
        if (!fields.containsKey("nodeId") || !fields.containsKey("role")) {
            throw new IllegalArgumentException("not a node status (needs nodeId and role): " + json);
        }
        return new NodeStatus(
                (int) number(fields, "nodeId"),
                fields.get("role"),
                (int) number(fields, "leaderId"),
                number(fields, "epoch"),
                number(fields, "lastIndex"),
                number(fields, "commitIndex"));
    }

    private static long number(Map<String, String> fields, String name) {
        String value = fields.get(name);
        if (value == null || value.equals("null")) {
            return 0;
        }
        return Long.parseLong(value);
    }
}
