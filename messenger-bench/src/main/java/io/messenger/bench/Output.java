package io.messenger.bench;

import io.messenger.bench.report.ResultJson;
import io.messenger.bench.report.Scenario;
import io.messenger.bench.report.TimelineChart;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Where a command writes its JSON and HTML results: {@code <dir>/<name>.json} and {@code <dir>/<name>.html}.
 */
final class Output {

    @Option(names = "--out", defaultValue = "build/bench-results",
            description = "Directory for the JSON results and the HTML chart (default: ${DEFAULT-VALUE}).")
    Path dir;

    /**
     * Writes the JSON document (what ran, when, the machine's load at start and end, then {@code results})
     * and, when there are scenarios, the chart; prints where they went.
     */
    void write(String name, Map<String, Object> machineAtStart, String title, Map<String, Object> results,
            List<Scenario> scenarios) throws IOException {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("kind", name);
        json.put("finished", Instant.now().toString());
        json.put("machineAtStart", machineAtStart);
        json.put("machineAtEnd", Machine.describe());
        json.putAll(results);
        Files.createDirectories(dir);
        Path jsonFile = dir.resolve(name + ".json");
        Files.writeString(jsonFile, ResultJson.of(json));
        System.out.println("results: " + jsonFile);
        if (!scenarios.isEmpty()) {
            Path htmlFile = dir.resolve(name + ".html");
            Files.writeString(htmlFile, TimelineChart.html(title, scenarios));
            System.out.println("chart:   " + htmlFile);
        }
    }
}
