package io.messenger.bench;

import io.messenger.bench.cluster.LeaderKiller;
import io.messenger.bench.cluster.NodeControl;
import io.messenger.bench.load.LoadGenerator;
import io.messenger.bench.load.LoadSpec;
import io.messenger.bench.load.RunResult;
import io.messenger.bench.load.Verifier;
import io.messenger.bench.messenger.MessengerSystem;
import io.messenger.bench.report.ComparisonTable;
import io.messenger.bench.report.Scenario;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * A fixed-rate load on the messenger while its leader is killed several times: per kill the pause clients
 * saw (longest stretch without an ack), the election time the survivors' /status showed, and the messages
 * lost or duplicated around it.
 */
@Command(name = "failover", mixinStandardHelpOptions = true,
        description = "Kill the messenger leader several times under a fixed load and report each failover.")
final class FailoverCommand implements Callable<Integer> {

    @Mixin
    LoadOptions load;

    @Mixin
    SystemOptions systems;

    @Mixin
    ClusterOptions cluster;

    @Mixin
    Output output;

    @Option(names = "--rate", defaultValue = "2000", description = "Offered messages/s (default: ${DEFAULT-VALUE}).")
    double rate;

    @Option(names = "--kills", defaultValue = "3", description = "Leader kills (default: ${DEFAULT-VALUE}).")
    int kills;

    @Option(names = "--kill-interval", defaultValue = "10",
            description = "Seconds between kills; the first comes half an interval into measurement, which "
                    + "lasts kills × interval (--duration does not apply) (default: ${DEFAULT-VALUE}).")
    int intervalSeconds;

    @Override
    public Integer call() throws Exception {
        FailoverReport report = run();
        System.out.println(report.table());
        return report.ok() ? 0 : 3;
    }

    /** Runs the failover scenario and writes its results; used by the all-in-one command too. */
    FailoverReport run() throws Exception {
        Map<String, Object> machineAtStart = Machine.describe();
        System.out.println("machine: " + machineAtStart.get("cores") + " cores, load average "
                + machineAtStart.get("loadAverage") + " (shared machines inflate every figure)");
        NodeControl nodes = cluster.control(systems);
        if (nodes.awaitLeader(Duration.ofSeconds(10)) == 0) {
            throw new IllegalStateException("No messenger node at " + cluster.admins
                    + " calls itself leader; start the cluster with 'make run' first");
        }
        Duration interval = Duration.ofSeconds(intervalSeconds);
        LoadSpec base = load.spec(rate);
        LoadSpec spec = new LoadSpec(base.clients(), base.rooms(), base.messageBytes(), base.rate(),
                base.maxInFlight(), base.warmup(), interval.multipliedBy(kills), base.drain().plusSeconds(15));
        System.out.println("== failover: " + kills + " leader kills every " + intervalSeconds + " s under "
                + load.describe(rate).replaceAll("\\d+ s measured", spec.duration().toSeconds() + " s measured"));
        RunResult result;
        LeaderKiller killer;
        try (MessengerSystem system = systems.messenger()) {
            LoadGenerator generator = new LoadGenerator(system, spec, System.out::println);
            killer = new LeaderKiller(nodes, kills, interval, generator::nextCounters, System.out::println);
            result = generator.run(killer);
            FailoverReport report = FailoverReport.of(result, killer.kills(), generator, system.reconnects());
            write(report, machineAtStart);
            return report;
        }
    }

    private void write(FailoverReport report, Map<String, Object> machineAtStart) throws java.io.IOException {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("kills", report.kills());
        json.put("reconnects", report.reconnects());
        json.put("run", report.result());
        output.write("failover", machineAtStart, "Messenger leader failover", json, List.of(report.scenario()));
    }

    /** Per-kill figures and the run they came from. */
    record FailoverReport(RunResult result, List<KillFigures> kills, long reconnects) {

        static FailoverReport of(RunResult result, List<LeaderKiller.Kill> kills, LoadGenerator generator,
                long reconnects) {
            List<Verifier.MessageRef> lost = generator.verifier().lostMessages(100_000);
            List<Verifier.MessageRef> duplicates = generator.verifier().duplicateMessages();
            List<KillFigures> figures = new ArrayList<>();
            for (int i = 0; i < kills.size(); i++) {
                LeaderKiller.Kill kill = kills.get(i);
                long[] from = kill.counterCut();
                long[] to = i + 1 < kills.size() ? kills.get(i + 1).counterCut() : null;
                long windowEnd = i + 1 < kills.size() ? kills.get(i + 1).killedNanos() : Long.MAX_VALUE;
                long pause = generator.metrics().longestGap(kill.killedNanos(), windowEnd);
                figures.add(new KillFigures(kill.number(), kill.node(),
                        (kill.killedNanos() - result.startNanos()) / 1e9, kill.newLeader(), kill.electionMillis(),
                        pause / 1e6, kill.restartedNanos() == 0 ? -1 : (kill.restartedNanos() - kill.killedNanos()) / 1e9,
                        count(lost, from, to), count(duplicates, from, to), kill.problem()));
            }
            return new FailoverReport(result, figures, reconnects);
        }

        /** Messages sent between two counter cuts (the second null: until the end). */
        static long count(List<Verifier.MessageRef> messages, long[] from, long[] to) {
            if (from == null) {
                return 0;
            }
            return messages.stream().filter(m -> m.counter() >= from[m.sender()]
                    && (to == null || m.counter() < to[m.sender()])).count();
        }

        boolean ok() {
            return result.ok() && kills.stream().allMatch(k -> k.problem() == null && k.newLeader() != 0);
        }

        Scenario scenario() {
            List<Scenario.Marker> markers = kills.stream()
                    .map(k -> new Scenario.Marker("messenger", k.atSeconds(), "kill node " + k.node())).toList();
            return new Scenario("failover: " + result.spec().rateLabel() + ", " + kills.size() + " leader kills",
                    List.of(result), markers);
        }

        String table() {
            StringBuilder out = new StringBuilder(ComparisonTable.render(scenario())).append('\n');
            out.append(String.format(Locale.ROOT, "%-4s %-5s %7s %11s %13s %11s %10s %6s %10s%n", "kill", "node",
                    "at s", "new leader", "election ms", "ack pause ms", "back in s", "lost", "duplicate"));
            for (KillFigures k : kills) {
                out.append(String.format(Locale.ROOT, "%-4d %-5d %7.1f %11s %13s %11.0f %10s %6d %10d%n",
                        k.number(), k.node(), k.atSeconds(), k.newLeader() == 0 ? "none" : Integer.toString(k.newLeader()),
                        k.electionMillis() < 0 ? "—" : String.format(Locale.ROOT, "%.0f", k.electionMillis()),
                        k.ackPauseMillis(), k.backAfterSeconds() < 0 ? "—" : String.format(Locale.ROOT, "%.1f",
                                k.backAfterSeconds()), k.lost(), k.duplicates()));
                if (k.problem() != null) {
                    out.append("     ").append(k.problem()).append('\n');
                }
            }
            out.append("client reconnects: ").append(reconnects).append('\n');
            if (ok()) {
                out.append("failover: ok\n");
            } else if (!result.ok()) {
                out.append("failover: ").append(result.verdictSummary()).append('\n');
            } else {
                out.append("failover: FAILURE: a kill, election or restart did not complete (see above)\n");
            }
            return out.toString();
        }
    }

    /**
     * One kill as the report shows it.
     *
     * @param ackPauseMillis longest stretch with no ack at all between this kill and the next
     * @param lost acknowledged messages, sent between this kill and the next, some member never got
     */
    record KillFigures(int number, int node, double atSeconds, int newLeader, double electionMillis,
            double ackPauseMillis, double backAfterSeconds, long lost, long duplicates, String problem) {}
}
