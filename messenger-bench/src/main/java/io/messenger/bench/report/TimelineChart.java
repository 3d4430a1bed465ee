package io.messenger.bench.report;

import io.messenger.bench.load.LoadMetrics.TimelinePoint;
import io.messenger.bench.load.RunResult;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/**
 * A self-contained HTML page with, per scenario, an SVG of acked sends per second (linear) and p99
 * latency (log scale, solid send→ack, dashed send→delivery) over time for each system, with marked events
 * such as leader kills. No scripts, no external assets: it opens anywhere.
 */
public final class TimelineChart {

    private static final String[] COLOURS = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"};
    private static final int WIDTH = 900;
    private static final int PANEL = 220;
    private static final int LEFT = 70;
    private static final int RIGHT = 20;
    private static final int TOP = 30;
    private static final int GAP = 50;

    private TimelineChart() {}

    public static String html(String title, List<Scenario> scenarios) {
        StringBuilder out = new StringBuilder()
                .append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>").append(escape(title))
                .append("</title><style>body{font-family:sans-serif;margin:20px}pre{font-size:12px}</style>")
                .append("</head><body>\n<h1>").append(escape(title)).append("</h1>\n");
        for (Scenario scenario : scenarios) {
            out.append("<h2>").append(escape(scenario.title())).append("</h2>\n").append(svg(scenario))
                    .append("\n<pre>").append(escape(ComparisonTable.render(scenario))).append("</pre>\n");
        }
        return out.append("</body></html>\n").toString();
    }

    static String svg(Scenario scenario) {
        int height = TOP + PANEL + GAP + PANEL + 40;
        double maxSeconds = 1;
        double maxRate = 1;
        double maxLatency = 1;
        for (RunResult run : scenario.runs()) {
            for (TimelinePoint p : run.timeline()) {
                maxSeconds = Math.max(maxSeconds, p.seconds());
                maxRate = Math.max(maxRate, p.acksPerSecond());
                maxLatency = Math.max(maxLatency, Math.max(p.ackP99Millis(), p.deliveryP99Millis()));
            }
        }
        double rateTop = niceCeiling(maxRate);
        double logBottom = -1; // 0.1 ms
        double logTop = Math.ceil(Math.log10(maxLatency));
        StringBuilder svg = new StringBuilder().append(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-size=\"11\">",
                WIDTH, height));
        int plotWidth = WIDTH - LEFT - RIGHT;
        int rateTopY = TOP;
        int latencyTopY = TOP + PANEL + GAP;
        axes(svg, rateTopY, "acked sends/s");
        axes(svg, latencyTopY, "p99 latency ms (log)");
        for (int i = 0; i <= 4; i++) {
            double v = rateTop * i / 4;
            double y = rateTopY + PANEL - PANEL * i / 4.0;
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%,.0f</text>",
                    LEFT - 5, y + 4, v));
            gridLine(svg, y);
        }
        for (double e = logBottom; e <= logTop; e++) {
            double y = latencyTopY + PANEL - PANEL * (e - logBottom) / (logTop - logBottom);
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
                    LEFT - 5, y + 4, e < 0 ? "0.1" : String.format(Locale.ROOT, "%,.0f", Math.pow(10, e))));
            gridLine(svg, y);
        }
        for (int i = 0; i <= 10; i++) {
            double x = LEFT + plotWidth * i / 10.0;
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f s</text>",
                    x, latencyTopY + PANEL + 15, maxSeconds * i / 10));
        }
        double warmupEnd = 0;
        for (RunResult run : scenario.runs()) {
            for (TimelinePoint p : run.timeline()) {
                if (!p.measuring()) {
                    warmupEnd = Math.max(warmupEnd, p.seconds());
                }
            }
        }
        if (warmupEnd > 0) {
            double width = plotWidth * warmupEnd / maxSeconds;
            for (int top : new int[] {rateTopY, latencyTopY}) {
                svg.append(String.format(Locale.ROOT,
                        "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#eee\"/>",
                        LEFT, top, width, PANEL));
            }
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"#888\">warm-up</text>",
                    LEFT + 4, rateTopY + PANEL - 4));
        }
        final double seconds = maxSeconds;
        for (int r = 0; r < scenario.runs().size(); r++) {
            RunResult run = scenario.runs().get(r);
            String colour = COLOURS[r % COLOURS.length];
            line(svg, run.timeline(), colour, "", p -> p.acksPerSecond(),
                    v -> rateTopY + PANEL - PANEL * Math.min(v / rateTop, 1), seconds);
            ToDoubleFunction<Double> logY = v -> latencyTopY + PANEL - PANEL
                    * (Math.log10(Math.max(v, 0.1)) - logBottom) / (logTop - logBottom);
            line(svg, run.timeline(), colour, "", p -> p.ackP99Millis(), logY, seconds);
            line(svg, run.timeline(), colour, " stroke-dasharray=\"4 3\"", p -> p.deliveryP99Millis(), logY, seconds);
            svg.append(String.format(Locale.ROOT,
                    "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"3\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>",
                    LEFT + 10 + 130 * r, 12, colour, LEFT + 26 + 130 * r, 16, escape(run.system())));
        }
        for (Scenario.Marker marker : scenario.markers()) {
            double x = LEFT + plotWidth * marker.seconds() / maxSeconds;
            svg.append(String.format(Locale.ROOT,
                    "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#d62728\" stroke-dasharray=\"2 2\"/>"
                            + "<text x=\"%.1f\" y=\"%d\" fill=\"#d62728\" transform=\"rotate(-90 %.1f %d)\">%s</text>",
                    x, TOP, x, latencyTopY + PANEL, x + 3, TOP + 5, x + 3, TOP + 5, escape(marker.label())));
        }
        return svg.append("</svg>").toString();
    }

    private static void axes(StringBuilder svg, int top, String label) {
        svg.append(String.format(Locale.ROOT,
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>"
                        + "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s</text>",
                LEFT, top, WIDTH - LEFT - RIGHT, PANEL, LEFT, top - 4, escape(label)));
    }

    private static void gridLine(StringBuilder svg, double y) {
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>",
                LEFT, y, WIDTH - RIGHT, y));
    }

    private static void line(StringBuilder svg, List<TimelinePoint> points, String colour, String style,
            ToDoubleFunction<TimelinePoint> value, ToDoubleFunction<Double> toY, double maxSeconds) {
        if (points.isEmpty()) {
            return;
        }
        StringBuilder path = new StringBuilder();
        int plotWidth = WIDTH - LEFT - RIGHT;
        for (TimelinePoint p : points) {
            double x = LEFT + plotWidth * p.seconds() / maxSeconds;
            path.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, toY.applyAsDouble(value.applyAsDouble(p))));
        }
        svg.append("<polyline fill=\"none\" stroke=\"").append(colour).append("\" stroke-width=\"1.5\"")
                .append(style).append(" points=\"").append(path.toString().strip()).append("\"/>");
    }

    /** 1, 2 or 5 times a power of ten, at or above {@code v}. */
    static double niceCeiling(double v) {
        double power = Math.pow(10, Math.floor(Math.log10(v)));
        for (double step : new double[] {1, 2, 5, 10}) {
            if (step * power >= v) {
                return step * power;
            }
        }
        return 10 * power;
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
