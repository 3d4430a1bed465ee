package io.messenger.bench.report;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.bench.load.LatencySummary;
import io.messenger.bench.load.LoadMetrics.TimelinePoint;
import io.messenger.bench.load.LoadSpec;
import io.messenger.bench.load.RunResult;
import io.messenger.bench.load.Verifier;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;

class ReportTest {

    private static final LoadSpec SPEC = new LoadSpec(4, 2, 128, 0, 8, Duration.ofSeconds(1),
            Duration.ofSeconds(10), Duration.ofSeconds(5));
    private static final Verifier.Verdict OK = new Verifier.Verdict(1000, 0, 0, 0, 0, 0, List.of());
    private static final Verifier.Verdict LOST = new Verifier.Verdict(1000, 3, 0, 0, 0, 0,
            List.of("client 1 never got 3 acknowledged message(s) of client 0, first 7"));

    private static RunResult run(String system, long acks, Verifier.Verdict verdict) {
        LatencySummary latency = new LatencySummary(acks, 1_500, 2_000, 4_000, 9_000, 12_000);
        List<TimelinePoint> timeline = List.of(
                new TimelinePoint(1, false, acks / 10.0, acks / 5.0, 3.0, 4.0),
                new TimelinePoint(2, true, acks / 10.0, acks / 5.0, 2500.0, 4.0));
        return new RunResult(system, SPEC, 10.0, acks, acks * 2, latency, latency, 0.5, 12.5, -1, 0, 0,
                verdict, timeline, 0);
    }

    @Test
    void tableShowsBothSystemsAndTheRatio() {
        Scenario scenario = new Scenario("4 clients", List.of(run("messenger", 20_000, OK), run("nats", 40_000, OK)),
                List.of());

        String table = ComparisonTable.render(scenario);

        assertThat(table).startsWith("4 clients\n");
        assertThat(table).containsPattern("acked sends/s +2,000 +4,000 +0\\.50");
        assertThat(table).containsPattern("send→ack p99 ms +4\\.00 +4\\.00 +1\\.00");
        assertThat(table).containsPattern("server CPU \\(cores\\) +n/a +n/a +—");
        assertThat(table).containsPattern("verification +ok +ok");
    }

    @Test
    void failedRunShowsFailureInsteadOfFigures() {
        Scenario scenario = new Scenario("s", List.of(run("messenger", 20_000, LOST), run("nats", 40_000, OK)),
                List.of());

        String table = ComparisonTable.render(scenario);

        assertThat(table).containsPattern("acked sends/s +FAILURE +4,000 +—");
        assertThat(table).containsPattern("send→delivery p50 ms +FAILURE +1\\.50 +—");
        assertThat(table).contains("FAILURE: 3 lost");
    }

    @Test
    void jsonCarriesRecordsFieldByFieldAndEscapes() {
        String json = ResultJson.of(Map.of("scenario", new Scenario("a \"quoted\"\nname",
                List.of(run("nats", 10, OK)), List.of(new Scenario.Marker("messenger", 3.5, "kill node 2")))));

        assertThat(json).contains("\"title\":\"a \\\"quoted\\\"\\nname\"");
        assertThat(json).contains("\"system\":\"nats\"");
        assertThat(json).contains("\"p999\":9000");
        assertThat(json).contains("\"label\":\"kill node 2\"");
        assertThat(json).contains("\"warmup\":1.0");
        assertThat(json).contains("\"seconds\":3.5");
        assertThat(ResultJson.of(Map.of("cut", new long[] {1, 2}, "wait", Duration.ofMillis(1500))))
                .contains("\"cut\":[1,2]").contains("\"wait\":1.5");
    }

    @Test
    void chartIsWellFormedSvgWithOneLinePerSeriesAndMarkers() throws Exception {
        Scenario scenario = new Scenario("<kills>", List.of(run("messenger", 20_000, OK), run("nats", 40_000, OK)),
                List.of(new Scenario.Marker("messenger", 1.5, "kill node <1>")));

        String svg = TimelineChart.svg(scenario);
        Document document = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));

        assertThat(document.getElementsByTagName("polyline").getLength()).isEqualTo(6);
        assertThat(svg).contains("kill node &lt;1&gt;");
        assertThat(TimelineChart.html("t", List.of(scenario))).contains("<pre>").contains("&lt;kills&gt;");
    }

    @Test
    void niceCeilingRoundsUpToOneTwoOrFive() {
        assertThat(TimelineChart.niceCeiling(730)).isEqualTo(1000);
        assertThat(TimelineChart.niceCeiling(1_300)).isEqualTo(2000);
        assertThat(TimelineChart.niceCeiling(4_100)).isEqualTo(5000);
        assertThat(TimelineChart.niceCeiling(5_000)).isEqualTo(5000);
    }
}
