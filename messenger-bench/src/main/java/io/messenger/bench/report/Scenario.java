package io.messenger.bench.report;

import io.messenger.bench.load.RunResult;
import java.util.List;

/**
 * One load shape run against one or more systems, with the events (leader kills) to mark on its chart.
 */
public record Scenario(String title, List<RunResult> runs, List<Marker> markers) {

    public Scenario {
        runs = List.copyOf(runs);
        markers = List.copyOf(markers);
    }

    /** An instant on a run's timeline worth a vertical line, e.g. "kill node 2". */
    public record Marker(String system, double seconds, String label) {}
}
