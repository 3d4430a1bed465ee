package io.messenger.bench;

import io.messenger.bench.cluster.LeaderKiller;
import io.messenger.bench.cluster.NodeControl;
import io.messenger.bench.load.LoadGenerator;
import io.messenger.bench.load.LoadSpec;
import io.messenger.bench.load.RunResult;
import io.messenger.bench.load.Verifier;
import io.messenger.bench.messenger.MessengerSystem;
import io.messenger.bench.nats.NatsCluster;
import io.messenger.bench.nats.NatsSystem;
import io.messenger.bench.nats.StreamLeaderControl;
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
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * A fixed-rate load on each system in turn (the messenger, NATS JetStream) while its leader is killed
 * several times: per kill the pause clients saw (longest stretch without an ack), the time until the
 * survivors named a new leader (the messenger's /status, the stream's leader in JetStream's stream info),
 * and the messages lost or duplicated around it.
 */
@Command(name = "failover", mixinStandardHelpOptions = true,
        description = "Kill the leader (messenger node, JetStream stream leader) several times under a fixed "
                + "load and report each failover.")
final class FailoverCommand implements Callable<Integer> {

    @Spec
    picocli.CommandLine.Model.CommandSpec commandSpec;

    @Mixin
    LoadOptions load;

    @Mixin
    SystemOptions systems;

    @Mixin
    ClusterOptions cluster;

    @Mixin
    NatsOptions natsOptions;

    @Mixin
    Output output;

    @Mixin
    SystemChoice systemChoice;

    @Option(names = "--rate", defaultValue = "2000", description = "Offered messages/s (default: ${DEFAULT-VALUE}).")
    double rate;

    @Option(names = "--kills", defaultValue = "3", description = "Leader kills (default: ${DEFAULT-VALUE}).")
    int kills;

    @Option(names = "--kill-interval", defaultValue = "10",
            description = "Seconds between kills; the first comes half an interval into measurement, which "
                    + "lasts kills × interval (--duration does not apply) (default: ${DEFAULT-VALUE}).")
    int intervalSeconds;

    @Option(names = "--restart-timeout", defaultValue = "120",
            description = "Seconds a killed node may take to come back (its restart command, then /status "
                    + "answering) before the run stops; a loaded machine needs more than a quiet one "
                    + "(default: ${DEFAULT-VALUE}).")
    int restartTimeoutSeconds;

    @Override
    public Integer call() throws Exception {
        systemChoice.validate(commandSpec);
        if (systemChoice.names.contains("nats") && natsOptions.binary() == null) {
            throw new ParameterException(commandSpec.commandLine(),
                    "nats-server is not installed: run 'make bench-deps' or pass --nats-server PATH");
        }
        List<FailoverReport> reports = run();
        System.out.println(table(reports));
        return reports.stream().allMatch(FailoverReport::ok) ? 0 : 3;
    }

    /** Runs the failover scenario on each system in turn and writes the results. */
    List<FailoverReport> run() throws Exception {
        Map<String, Object> machineAtStart = Machine.describe();
        System.out.println("machine: " + machineAtStart.get("cores") + " cores, load average "
                + machineAtStart.get("loadAverage") + " (shared machines inflate every figure)");
        NodeControl nodes = null;
        if (systemChoice.names.contains("messenger")) {
            nodes = cluster.control(systems);
            if (nodes.awaitLeader(Duration.ofSeconds(10)) == 0) {
                throw new IllegalStateException("No messenger node at " + cluster.admins
                        + " calls itself leader; start the cluster with 'make run-bench' first");
            }
        }
        Duration interval = Duration.ofSeconds(intervalSeconds);
        LoadSpec base = load.spec(rate);
        LoadSpec spec = new LoadSpec(base.clients(), base.rooms(), base.messageBytes(), base.rate(),
                base.maxInFlight(), base.warmup(), interval.multipliedBy(kills), base.drain().plusSeconds(15));
        List<FailoverReport> reports = new ArrayList<>();
        for (String name : systemChoice.names) {
            System.out.println("== failover, " + name + ": " + kills + " leader kills every " + intervalSeconds
                    + " s under " + load.describe(rate).replaceAll("\\d+ s measured",
                            spec.duration().toSeconds() + " s measured"));
            reports.add(name.equals("nats") ? runNats(spec, interval) : runMessenger(nodes, spec, interval));
        }
        write(reports, machineAtStart);
        return reports;
    }

    private FailoverReport runMessenger(NodeControl nodes, LoadSpec spec, Duration interval) throws Exception {
        try (MessengerSystem system = systems.messenger()) {
            LoadGenerator generator = new LoadGenerator(system, spec, System.out::println);
            LeaderKiller killer = new LeaderKiller(nodes, kills, interval, generator::nextCounters, System.out::println,
                    Duration.ofSeconds(restartTimeoutSeconds));
            RunResult result = generator.run(killer);
            // The client library resends inside itself and does not count it: shown as unknown (-1).
            return FailoverReport.of(result, killer.kills(), killer.finalEpoch(), generator, system.reconnects(), -1,
                    -1);
        }
    }

    /** NATS runs on its own cluster, started for this run and stopped (by PID) after it. */
    private FailoverReport runNats(LoadSpec spec, Duration interval) throws Exception {
        try (NatsCluster nats = natsOptions.start();
                NatsSystem system = new NatsSystem(nats, natsOptions.nodes);
                StreamLeaderControl leaders = new StreamLeaderControl(nats, system::stream)) {
            LoadGenerator generator = new LoadGenerator(system, spec, System.out::println);
            LeaderKiller killer = new LeaderKiller(leaders, kills, interval, generator::nextCounters,
                    System.out::println, Duration.ofSeconds(restartTimeoutSeconds));
            RunResult result = generator.run(killer);
            return FailoverReport.of(result, killer.kills(), killer.finalEpoch(), generator, system.reconnects(),
                    system.resends(), system.duplicateAcks());
        }
    }

    private void write(List<FailoverReport> reports, Map<String, Object> machineAtStart) throws java.io.IOException {
        Map<String, Object> json = new LinkedHashMap<>();
        for (FailoverReport report : reports) {
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("kills", report.kills());
            one.put("reconnects", report.reconnects());
            if (report.resends() >= 0) {
                one.put("resends", report.resends());
                one.put("resendsAlreadyStored", report.duplicateAcks());
            }
            one.put("run", report.result());
            if (report.result().system().equals("nats")) {
                one.put("version", NatsCluster.version(natsOptions.binary()));
                one.put("note", CompareCommand.NATS_NOTE);
            }
            json.put(report.result().system(), one);
        }
        output.write("failover", machineAtStart, "Leader failover", json, List.of(scenario(reports)));
    }

    /** All systems' runs in one scenario, so the table and chart show them side by side. */
    static Scenario scenario(List<FailoverReport> reports) {
        RunResult first = reports.get(0).result();
        List<Scenario.Marker> markers = reports.stream().flatMap(r -> r.markers().stream()).toList();
        return new Scenario("failover: " + first.spec().rateLabel() + ", " + reports.get(0).kills().size()
                + " leader kills", reports.stream().map(FailoverReport::result).toList(), markers);
    }

    /** The side-by-side figures, then one row per kill and system, then the verdict of each system. */
    static String table(List<FailoverReport> reports) {
        StringBuilder out = new StringBuilder(ComparisonTable.render(scenario(reports))).append('\n');
        out.append(String.format(Locale.ROOT, "%-10s %-4s %-5s %7s %6s %11s %9s %7s %13s %12s %10s %6s %10s%n",
                "system", "kill", "node", "at s", "epoch", "new leader", "new epoch", "epochs", "election ms",
                "ack pause ms", "back in s", "lost", "duplicate"));
        for (FailoverReport report : reports) {
            out.append(report.rows());
        }
        for (FailoverReport report : reports) {
            out.append(report.verdict());
        }
        return out.toString();
    }

    /**
     * Per-kill figures and the run they came from.
     *
     * @param resends publish attempts beyond each message's first, -1 when the system does not count them
     * @param duplicateAcks resends the system acknowledged as already stored, -1 when unknown
     */
    record FailoverReport(RunResult result, List<KillFigures> kills, long reconnects, long resends,
            long duplicateAcks) {

        /**
         * @param finalEpoch the leader's epoch after the last kill's recovery, -1 if unknown: with each
         *     next kill's epoch it tells how many epochs each kill took
         */
        static FailoverReport of(RunResult result, List<LeaderKiller.Kill> kills, long finalEpoch,
                LoadGenerator generator, long reconnects, long resends, long duplicateAcks) {
            List<Verifier.MessageRef> lost = generator.verifier().lostMessages(100_000);
            List<Verifier.MessageRef> duplicates = generator.verifier().duplicateMessages();
            List<KillFigures> figures = new ArrayList<>();
            for (int i = 0; i < kills.size(); i++) {
                LeaderKiller.Kill kill = kills.get(i);
                long[] from = kill.counterCut();
                long[] to = i + 1 < kills.size() ? kills.get(i + 1).counterCut() : null;
                long windowEnd = i + 1 < kills.size() ? kills.get(i + 1).killedNanos() : Long.MAX_VALUE;
                long pause = generator.metrics().longestGapEndingIn(kill.killedNanos(), windowEnd);
                long settledEpoch = i + 1 < kills.size() ? kills.get(i + 1).killedEpoch() : finalEpoch;
                long epochsTaken = kill.killedEpoch() < 0 || settledEpoch < 0 ? -1 : settledEpoch - kill.killedEpoch();
                figures.add(new KillFigures(kill.number(), kill.node(),
                        (kill.killedNanos() - result.startNanos()) / 1e9, kill.killedEpoch(), kill.newLeader(),
                        kill.newEpoch(), epochsTaken, kill.electionMillis(),
                        pause / 1e6, kill.restartedNanos() == 0 ? -1 : (kill.restartedNanos() - kill.killedNanos()) / 1e9,
                        count(lost, from, to), count(duplicates, from, to), kill.problem()));
            }
            return new FailoverReport(result, figures, reconnects, resends, duplicateAcks);
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

        List<Scenario.Marker> markers() {
            return kills.stream()
                    .map(k -> new Scenario.Marker(result.system(), k.atSeconds(), "kill node " + k.node())).toList();
        }

        String rows() {
            StringBuilder out = new StringBuilder();
            for (KillFigures k : kills) {
                out.append(String.format(Locale.ROOT,
                        "%-10s %-4d %-5d %7.1f %6s %11s %9s %7s %13s %12.0f %10s %6d %10d%n",
                        result.system(), k.number(), k.node(), k.atSeconds(), known(k.epoch()),
                        k.newLeader() == 0 ? "none" : Integer.toString(k.newLeader()), known(k.newEpoch()),
                        k.epochsTaken() < 0 ? "—" : "+" + k.epochsTaken(),
                        k.electionMillis() < 0 ? "—" : String.format(Locale.ROOT, "%.0f", k.electionMillis()),
                        k.ackPauseMillis(), k.backAfterSeconds() < 0 ? "—" : String.format(Locale.ROOT, "%.1f",
                                k.backAfterSeconds()), k.lost(), k.duplicates()));
                if (k.problem() != null) {
                    out.append("     ").append(k.problem()).append('\n');
                }
            }
            return out.toString();
        }

        private static String known(long value) {
            return value < 0 ? "—" : Long.toString(value);
        }

        String verdict() {
            String prefix = result.system() + ": client reconnects " + reconnects
                    + (resends >= 0 ? ", resends " + resends + " (" + duplicateAcks + " already stored)" : "")
                    + "; failover: ";
            if (ok()) {
                return prefix + "ok\n";
            } else if (!result.ok()) {
                return prefix + result.verdictSummary() + '\n';
            }
            return prefix + "FAILURE: a kill, election or restart did not complete (see above)\n";
        }
    }

    /**
     * One kill as the report shows it.
     *
     * @param epoch the killed leader's epoch, -1 if unknown
     * @param newEpoch the epoch in which the new leader was first seen, -1 if unknown
     * @param epochsTaken epochs from the killed leader's to the one the next kill (or the end) found:
     *     1 when a single election replaced it and the new leader kept its place; -1 if unknown
     * @param ackPauseMillis longest stretch with no ack at all between this kill and the next
     * @param lost acknowledged messages, sent between this kill and the next, some member never got
     */
    record KillFigures(int number, int node, double atSeconds, long epoch, int newLeader, long newEpoch,
            long epochsTaken, double electionMillis,
            double ackPauseMillis, double backAfterSeconds, long lost, long duplicates, String problem) {}
}
