package io.messenger.bench.cluster;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One answer of a node's {@code GET /status}, read leniently: every {@code "key": scalar} pair anywhere in
 * the JSON, first occurrence wins, so the bench keeps working whether the fields are flat or nested.
 */
public record NodeStatus(String admin, Map<String, String> fields) {

    private static final Pattern PAIR = Pattern.compile("\"([A-Za-z0-9_]+)\"\\s*:\\s*(\"((?:[^\"\\\\]|\\\\.)*)\"|-?[0-9.eE+-]+|true|false)");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();

    /** Asks {@code host:port} for its status; throws when the node does not answer within a second. */
    public static NodeStatus fetch(String admin) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + admin + "/status"))
                .timeout(Duration.ofSeconds(1)).GET().build();
        HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException(admin + "/status answered " + response.statusCode());
        }
        return parse(admin, response.body());
    }

    static NodeStatus parse(String admin, String json) {
        Map<String, String> fields = new LinkedHashMap<>();
        Matcher m = PAIR.matcher(json);
        while (m.find()) {
            fields.putIfAbsent(m.group(1), m.group(3) != null ? m.group(3) : m.group(2));
        }
        return new NodeStatus(admin, Map.copyOf(fields));
    }

    /** The first of the given fields that is a whole number. */
    public OptionalLong number(String... names) {
        for (String name : names) {
            String value = fields.get(name);
            if (value != null) {
                try {
                    return OptionalLong.of(Long.parseLong(value));
                } catch (NumberFormatException notWhole) {
                    // try the next name
                }
            }
        }
        return OptionalLong.empty();
    }

    /** This node's id. */
    public int nodeId() {
        return (int) number("nodeId", "node_id", "id").orElse(0);
    }

    /** The leader this node knows of, 0 during an election. */
    public int leaderId() {
        return (int) number("leaderId", "leader_id", "leader").orElse(0);
    }

    /** The epoch this node is in, -1 when it does not say. */
    public long epoch() {
        return number("epoch", "term").orElse(-1);
    }

    /** Heap in use as the node reports it, when it does. */
    public OptionalLong heapUsedBytes() {
        return number("heapUsedBytes", "heapUsed", "heap_used_bytes", "heapBytes");
    }

    /** The node's PID as it reports it, when it does. */
    public OptionalLong pid() {
        return number("pid");
    }
}
