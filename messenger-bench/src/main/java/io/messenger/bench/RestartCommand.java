package io.messenger.bench;

import io.messenger.bench.cluster.NodeControl;
import io.messenger.bench.cluster.NodeStatus;
import io.messenger.bench.load.LoadGenerator;
import io.messenger.bench.load.LoadSpec;
import io.messenger.bench.load.RunResult;
import io.messenger.bench.messenger.MessengerSystem;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Restart time against total history: fills the rooms of a running cluster up to each of the given
 * totals and, at each, SIGKILLs a backup, starts it again and measures the time from its launch until it
 * serves again (it follows a leader as a voting member and has applied everything committed before the
 * kill). Also reports what the node keeps on disk at that point.
 */
@Command(name = "restart", mixinStandardHelpOptions = true,
        description = "Fill the rooms up to each total in --messages and measure how long a restarted backup "
                + "takes to serve again (make run-bench first).")
final class RestartCommand implements Callable<Integer> {

    private static final Duration SERVE_TIMEOUT = Duration.ofMinutes(10);
    private static final long FIRST_CHUNK_SECONDS = 10;
    private static final long MAX_CHUNK_SECONDS = 120;

    @Spec
    picocli.CommandLine.Model.CommandSpec commandSpec;

    @Mixin
    SystemOptions systems;

    @Mixin
    ClusterOptions cluster;

    @Mixin
    Output output;

    @Option(names = "--messages", split = ",", defaultValue = "1000000,3000000,10000000",
            description = "Totals of committed entries (about one per message) to measure at, ascending "
                    + "(default: ${DEFAULT-VALUE}).")
    List<Long> totals;

    @Option(names = "--restarts", defaultValue = "3",
            description = "Restarts measured at each total; the table shows each and the median (default: ${DEFAULT-VALUE}).")
    int restarts;

    @Option(names = "--fill-clients", defaultValue = "20", description = "Clients that fill the rooms (default: ${DEFAULT-VALUE}).")
    int fillClients;

    @Option(names = "--fill-rooms", defaultValue = "10", description = "Rooms filled (default: ${DEFAULT-VALUE}).")
    int fillRooms;

    @Option(names = "--fill-size", defaultValue = "32", description = "Bytes per filler message (default: ${DEFAULT-VALUE}).")
    int fillSize;

    @Option(names = "--fill-in-flight", defaultValue = "64",
            description = "Unacknowledged sends per filling client (default: ${DEFAULT-VALUE}).")
    int fillInFlight;

    @Option(names = "--data-dir", defaultValue = "run/node-{id}/data",
            description = "Data directory of node {id}, for the bytes on disk (default: ${DEFAULT-VALUE}).")
    String dataDirTemplate;

    @Override
    public Integer call() throws Exception {
        if (totals.isEmpty() || totals.stream().anyMatch(t -> t < 1) || restarts < 1) {
            throw new ParameterException(commandSpec.commandLine(), "--messages needs positive totals and --restarts at least 1");
        }
        Map<String, Object> machineAtStart = Machine.describe();
        System.out.println("machine: " + machineAtStart.get("cores") + " cores, load average "
                + machineAtStart.get("loadAverage") + " (shared machines inflate every figure)");
        NodeControl nodes = cluster.control(systems);
        if (nodes.awaitLeader(Duration.ofSeconds(10)) == 0) {
            throw new IllegalStateException("No messenger node at " + cluster.admins
                    + " calls itself leader; start the cluster with 'make run-bench' first");
        }
        List<Row> rows = new ArrayList<>();
        for (long total : totals.stream().sorted().toList()) {
            fill(nodes, total);
            for (int i = 1; i <= restarts; i++) {
                rows.add(measure(nodes, total, i));
                System.out.println(rows.get(rows.size() - 1).line());
            }
        }
        System.out.println(table(rows));
        Map<String, Object> results = new LinkedHashMap<>();
        results.put("restarts", rows.stream().map(Row::json).toList());
        output.write("restart", machineAtStart, "Restart time against total history", results, List.of());
        return 0;
    }

    /** Sends filler messages at full speed, in chunks, until the leader's commit index reaches {@code total}. */
    private void fill(NodeControl nodes, long total) throws Exception {
        long committed = leaderStatus(nodes).number("commitIndex").orElse(0);
        long chunkSeconds = FIRST_CHUNK_SECONDS;
        while (committed < total) {
            LoadSpec spec = new LoadSpec(fillClients, fillRooms, fillSize, 0, fillInFlight, Duration.ZERO,
                    Duration.ofSeconds(chunkSeconds), Duration.ofSeconds(5));
            long begin = System.nanoTime();
            RunResult result;
            try (MessengerSystem system = systems.messenger()) {
                result = new LoadGenerator(system, spec, line -> { }).run(null);
            }
            long now = leaderStatus(nodes).number("commitIndex").orElse(committed);
            System.out.printf(Locale.ROOT, "fill: commit index %,d of %,d (%,.0f acks/s over %.0f s)%n", now, total,
                    result.ackRate(), (System.nanoTime() - begin) / 1e9);
            if (now <= committed) {
                throw new IllegalStateException("The cluster committed nothing in " + chunkSeconds + " s");
            }
            // The next chunk aims at the total at the rate just seen (each chunk joins new rooms first).
            double perSecond = (now - committed) / ((System.nanoTime() - begin) / 1e9);
            chunkSeconds = Math.max(1, Math.min(MAX_CHUNK_SECONDS, (long) Math.ceil((total - now) / perSecond)));
            committed = now;
        }
    }

    /** Kills a backup, starts it again and times it from launch until it serves. */
    private Row measure(NodeControl nodes, long total, int attempt) throws Exception {
        NodeStatus leader = leaderStatus(nodes);
        int victim = nodes.statuses().values().stream().mapToInt(NodeStatus::nodeId)
                .filter(id -> id != leader.nodeId()).findFirst()
                .orElseThrow(() -> new IllegalStateException("No backup answers /status"));
        long target = leader.number("commitIndex").orElse(0);
        NodeStatus before = nodes.statuses().get(victim);
        nodes.kill(victim);
        long launched = System.nanoTime();
        nodes.restart(victim, SERVE_TIMEOUT);
        long answered = System.nanoTime();
        long deadline = launched + SERVE_TIMEOUT.toNanos();
        NodeStatus serving;
        while (true) {
            serving = nodes.statuses().get(victim);
            if (serving != null && serves(serving, target)) {
                break;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("Node " + victim + " did not serve within " + SERVE_TIMEOUT.toMinutes()
                        + " min of its restart");
            }
            TimeUnit.MILLISECONDS.sleep(10);
        }
        long served = System.nanoTime();
        return new Row(total, attempt, victim, target, (answered - launched) / 1e6, (served - launched) / 1e6,
                dataBytes(victim), before.number("logBytes"), before.number("historyBytes"),
                before.number("snapshotIndex"), before.number("firstLogIndex"));
    }

    /** Follows a leader as a voting member and has applied every entry committed before the kill. */
    private static boolean serves(NodeStatus status, long target) {
        return status.leaderId() != 0 && !"true".equals(status.fields().get("restoring"))
                && status.number("appliedIndex").orElse(0) >= target;
    }

    private static NodeStatus leaderStatus(NodeControl nodes) throws InterruptedException {
        for (int attempt = 0; attempt < 100; attempt++) {
            for (NodeStatus status : nodes.statuses().values()) {
                if (status.leaderId() == status.nodeId()) {
                    return status;
                }
            }
            TimeUnit.MILLISECONDS.sleep(100);
        }
        throw new IllegalStateException("No node calls itself leader");
    }

    /**
     * Bytes under the node's data directory, each file once however many hard links it has (a
     * snapshot's history checkpoint links the live store's files), -1 when it is not on this machine.
     */
    private long dataBytes(int node) {
        return bytesUnder(Path.of(dataDirTemplate.replace("{id}", Integer.toString(node))));
    }

    /** Bytes of the regular files under {@code dir}, each counted once; -1 if it is no directory. */
    static long bytesUnder(Path dir) {
        if (!Files.isDirectory(dir)) {
            return -1;
        }
        Set<Object> seen = new HashSet<>();
        try (Stream<Path> files = Files.walk(dir)) {
            return files.mapToLong(f -> {
                try {
                    BasicFileAttributes attributes = Files.readAttributes(f, BasicFileAttributes.class);
                    Object key = attributes.fileKey() == null ? f : attributes.fileKey();
                    return attributes.isRegularFile() && seen.add(key) ? attributes.size() : 0;
                } catch (IOException gone) {
                    return 0; // deleted while walking (a compacted segment)
                }
            }).sum();
        } catch (IOException | UncheckedIOException e) {
            return -1;
        }
    }

    static String table(List<Row> rows) {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "%14s %4s %5s %12s %12s %10s %12s%n",
                "entries", "run", "node", "admin up ms", "serving ms", "disk MiB", "snapshot at"));
        out.append(String.format(Locale.ROOT, "%14s%n", "(committed)"));
        for (Row row : rows) {
            out.append(row.line()).append('\n');
        }
        for (long total : rows.stream().map(Row::total).distinct().toList()) {
            long[] serving = rows.stream().filter(r -> r.total() == total)
                    .mapToLong(r -> Math.round(r.servingMillis())).sorted().toArray();
            out.append(String.format(Locale.ROOT, "at %,d entries or more: median serving %,d ms (of %s)%n", total,
                    serving[serving.length / 2], Arrays.toString(serving)));
        }
        return out.toString();
    }

    /** One measured restart. */
    record Row(long total, int attempt, int node, long committedBeforeKill, double adminMillis, double servingMillis,
            long dataBytes, OptionalLong logBytes, OptionalLong historyBytes, OptionalLong snapshotIndex,
            OptionalLong firstLogIndex) {

        String line() {
            return String.format(Locale.ROOT, "%,14d %4d %5d %12.0f %12.0f %10s %12s", committedBeforeKill, attempt, node,
                    adminMillis, servingMillis, dataBytes < 0 ? "—" : String.format(Locale.ROOT, "%.1f",
                            dataBytes / 1048576.0), snapshotIndex.isPresent() ? Long.toString(snapshotIndex.getAsLong()) : "—");
        }

        Map<String, Object> json() {
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("entries", total);
            json.put("attempt", attempt);
            json.put("node", node);
            json.put("committedBeforeKill", committedBeforeKill);
            json.put("adminUpMillis", adminMillis);
            json.put("servingMillis", servingMillis);
            json.put("dataBytes", dataBytes);
            logBytes.ifPresent(v -> json.put("logBytes", v));
            historyBytes.ifPresent(v -> json.put("historyBytes", v));
            snapshotIndex.ifPresent(v -> json.put("snapshotIndex", v));
            firstLogIndex.ifPresent(v -> json.put("firstLogIndex", v));
            return json;
        }
    }
}
