package io.messenger.bench.report;

import io.messenger.bench.load.LatencySummary;
import io.messenger.bench.load.RunResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * The terminal table of a scenario: one row per figure, one column per system, and the ratio of the
 * first system to the second. A run that failed verification shows FAILURE instead of its figures.
 */
public final class ComparisonTable {

    private ComparisonTable() {}

    public static String render(Scenario scenario) {
        List<RunResult> runs = scenario.runs();
        List<String[]> rows = new ArrayList<>();
        String[] header = new String[runs.size() + 1 + (runs.size() == 2 ? 1 : 0)];
        header[0] = "figure";
        for (int i = 0; i < runs.size(); i++) {
            header[i + 1] = runs.get(i).system();
        }
        if (runs.size() == 2) {
            header[3] = "ratio " + runs.get(0).system() + "/" + runs.get(1).system();
        }
        fill(header);
        rows.add(header);
        figure(rows, runs, "acked sends/s", RunResult::ackRate, "%,.0f", true);
        figure(rows, runs, "deliveries/s", RunResult::deliveryRate, "%,.0f", true);
        latency(rows, runs, "send→ack", RunResult::ackLatency);
        latency(rows, runs, "send→delivery", RunResult::deliveryLatency);
        figure(rows, runs, "client CPU (cores)", RunResult::clientCpuCores, "%.2f", false);
        figure(rows, runs, "client CPU µs/ack", RunResult::clientCpuMicrosPerAck, "%.1f", false);
        figure(rows, runs, "server CPU (cores)", RunResult::serverCpuCores, "%.2f", false);
        figure(rows, runs, "due but not sent", r -> r.notSent(), "%,.0f", false);
        figure(rows, runs, "acked, all verified", r -> r.verdict().acked(), "%,.0f", false);
        String[] verdict = new String[header.length];
        verdict[0] = "verification";
        for (int i = 0; i < runs.size(); i++) {
            verdict[i + 1] = runs.get(i).ok() ? "ok" : runs.get(i).verdictSummary();
        }
        fill(verdict);
        rows.add(verdict);
        return scenario.title() + "\n" + layout(rows);
    }

    private static void latency(List<String[]> rows, List<RunResult> runs, String name,
            java.util.function.Function<RunResult, LatencySummary> of) {
        figure(rows, runs, name + " p50 ms", r -> of.apply(r).p50() / 1000.0, "%.2f", true);
        figure(rows, runs, name + " p90 ms", r -> of.apply(r).p90() / 1000.0, "%.2f", true);
        figure(rows, runs, name + " p99 ms", r -> of.apply(r).p99() / 1000.0, "%.2f", true);
        figure(rows, runs, name + " p99.9 ms", r -> of.apply(r).p999() / 1000.0, "%.2f", true);
        figure(rows, runs, name + " max ms", r -> of.apply(r).max() / 1000.0, "%.2f", true);
    }

    /**
     * Adds a row.
     *
     * @param verified whether the figure is meaningless for a run that failed verification
     */
    private static void figure(List<String[]> rows, List<RunResult> runs, String name,
            ToDoubleFunction<RunResult> value, String format, boolean verified) {
        String[] row = new String[rows.get(0).length];
        row[0] = name;
        boolean allUsable = true;
        for (int i = 0; i < runs.size(); i++) {
            RunResult run = runs.get(i);
            double v = value.applyAsDouble(run);
            if (verified && !run.ok()) {
                row[i + 1] = "FAILURE";
                allUsable = false;
            } else if (v < 0) {
                row[i + 1] = "n/a";
                allUsable = false;
            } else {
                row[i + 1] = String.format(Locale.ROOT, format, v);
            }
        }
        if (runs.size() == 2) {
            double a = value.applyAsDouble(runs.get(0));
            double b = value.applyAsDouble(runs.get(1));
            row[3] = allUsable && b > 0 ? String.format(Locale.ROOT, "%.2f", a / b) : "—";
        }
        fill(row);
        rows.add(row);
    }

    private static void fill(String[] row) {
        for (int i = 0; i < row.length; i++) {
            if (row[i] == null) {
                row[i] = "";
            }
        }
    }

    private static String layout(List<String[]> rows) {
        int columns = rows.get(0).length;
        int[] width = new int[columns];
        for (String[] row : rows) {
            for (int c = 0; c < columns; c++) {
                width[c] = Math.max(width[c], row[c].length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (int r = 0; r < rows.size(); r++) {
            String[] row = rows.get(r);
            for (int c = 0; c < columns; c++) {
                String cell = row[c];
                String pad = " ".repeat(width[c] - cell.length());
                out.append(c == 0 ? cell + pad : pad + cell).append(c + 1 < columns ? "  " : "");
            }
            out.append('\n');
            if (r == 0) {
                int total = 0;
                for (int w : width) {
                    total += w + 2;
                }
                out.append("-".repeat(total - 2)).append('\n');
            }
        }
        return out.toString();
    }
}
