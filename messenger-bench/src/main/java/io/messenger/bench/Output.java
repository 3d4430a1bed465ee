package io.messenger.bench;

import io.messenger.bench.report.ResultJson;
import io.messenger.bench.report.Scenario;
import io.messenger.bench.report.TimelineChart;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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

    /** Writes the JSON document and, when there are scenarios, the chart; prints where they went. */
    void write(String name, String title, Map<String, Object> json, List<Scenario> scenarios) throws IOException {
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
