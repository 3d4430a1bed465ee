package io.messenger.bench;

import io.messenger.bench.cluster.NodeControl;
import io.messenger.bench.cluster.NodeStatus;
import io.messenger.bench.connections.ConnectionFlood;
import io.messenger.bench.connections.ServerMemory;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Many idle sessions on the leader: how long they take to join, and what each costs the node in heap
 * and resident memory.
 */
@Command(name = "connections", mixinStandardHelpOptions = true,
        description = "Open many idle sessions to the leader and report its memory per connection.")
final class ConnectionsCommand implements Callable<Integer> {

    @Mixin
    SystemOptions systems;

    @Mixin
    ClusterOptions cluster;

    @Mixin
    Output output;

    @Option(names = "--count", defaultValue = "10000", description = "Sessions to open (default: ${DEFAULT-VALUE}).")
    int count;

    @Option(names = "--connection-rooms", defaultValue = "1000",
            description = "Rooms the sessions are spread over (default: ${DEFAULT-VALUE}).")
    int rooms;

    @Option(names = "--concurrency", defaultValue = "200",
            description = "Joins in progress at once (default: ${DEFAULT-VALUE}).")
    int concurrency;

    @Option(names = "--local-addresses", defaultValue = "1",
            description = "Source addresses 127.0.0.1..127.0.0.N used in turn; each gives ~28,000 ephemeral ports "
                    + "(default: ${DEFAULT-VALUE}).")
    int localAddresses;

    @Option(names = "--ping-interval", defaultValue = "5", description = "Seconds between an idle session's pings (default: ${DEFAULT-VALUE}).")
    int pingSeconds;

    @Option(names = "--hold", defaultValue = "5", description = "Seconds to hold the sessions before measuring (default: ${DEFAULT-VALUE}).")
    int holdSeconds;

    @Option(names = "--silent",
            description = "Open connections that never say Hello (a hostile flood) instead of sessions, while two"
                    + " real clients chat; report how long the node keeps them and what they cost.")
    boolean silent;

    @Option(names = "--skip-gc",
            description = "Read the node's heap without first running a full GC on it (jcmd GC.run).")
    boolean skipGc;

    @Override
    public Integer call() throws Exception {
        Map<String, Object> figures = run();
        if (silent) {
            figures.forEach((k, v) -> System.out.printf(Locale.ROOT, "  %-32s %s%n", k, v));
            return Boolean.TRUE.equals(figures.get("ok")) ? 0 : 3;
        }
        System.out.println(table(figures));
        return Boolean.TRUE.equals(figures.get("ok")) ? 0 : 3;
    }

    Map<String, Object> run() throws Exception {
        Map<String, Object> machineAtStart = Machine.describe();
        System.out.println("machine: " + machineAtStart.get("cores") + " cores, load average "
                + machineAtStart.get("loadAverage") + " (shared machines inflate every figure)");
        NodeControl nodes = cluster.control(systems);
        int leader = nodes.awaitLeader(Duration.ofSeconds(10));
        if (leader == 0) {
            throw new IllegalStateException("No messenger node at " + cluster.admins
                    + " calls itself leader; start the cluster with 'make run-bench' first");
        }
        String[] servers = systems.servers.split(",");
        if (leader > servers.length) {
            throw new IllegalStateException("Leader is node " + leader + " but --servers lists only " + servers.length
                    + " addresses (node N is the N-th)");
        }
        String[] hostPort = servers[leader - 1].trim().split(":");
        InetSocketAddress server = new InetSocketAddress(hostPort[0], Integer.parseInt(hostPort[1]));
        long pid = nodes.pid(leader).orElseThrow(() -> new IllegalStateException(
                "No PID for node " + leader + " (PID file under " + systems.pidDir + " or /status)"));
        checkFileLimits(pid);
        List<String> sources = new ArrayList<>();
        for (int i = 1; i <= localAddresses; i++) {
            sources.add("127.0.0." + i);
        }
        System.out.println("== connections: " + count + " idle sessions to node " + leader + " (" + server
                + ", pid " + pid + ") over " + rooms + " rooms");
        if (silent) {
            Map<String, Object> figures = SilentFloodRun.run(server, systems.servers, pid, count, concurrency, sources,
                    systems.ioThreads, !skipGc);
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("silentFlood", figures);
            output.write("silent-flood", machineAtStart, "Connections that never say Hello", json, List.of());
            return figures;
        }
        ServerMemory before = ServerMemory.of(pid, !skipGc);
        OptionalLong statusHeapBefore = statusHeap(nodes, leader);
        Map<String, Object> figures = new LinkedHashMap<>();
        try (ConnectionFlood flood = new ConnectionFlood(systems.ioThreads)) {
            long start = System.nanoTime();
            int joined = flood.open(server, count, rooms, concurrency, sources, Duration.ofSeconds(pingSeconds),
                    System.out::println);
            double connectSeconds = (System.nanoTime() - start) / 1e9;
            System.out.printf(Locale.ROOT, "  %d of %d joined in %.1f s; holding %d s%n", joined, count,
                    connectSeconds, holdSeconds);
            TimeUnit.SECONDS.sleep(holdSeconds);
            ServerMemory after = ServerMemory.of(pid, !skipGc);
            OptionalLong statusHeapAfter = statusHeap(nodes, leader);
            int stillOpen = flood.open();
            ServerMemory cost = after.minus(before);
            figures.put("node", leader);
            figures.put("pid", pid);
            figures.put("requested", count);
            figures.put("joined", joined);
            figures.put("openAfterHold", stillOpen);
            figures.put("secondsToJoinAll", connectSeconds);
            figures.put("joinsPerSecond", joined / connectSeconds);
            figures.put("heapBeforeBytes", before.heapUsedBytes());
            figures.put("heapAfterBytes", after.heapUsedBytes());
            figures.put("heapBytesPerConnection", perConnection(cost.heapUsedBytes(), stillOpen));
            figures.put("rssBeforeBytes", before.rssBytes());
            figures.put("rssAfterBytes", after.rssBytes());
            figures.put("rssBytesPerConnection", perConnection(cost.rssBytes(), stillOpen));
            figures.put("statusHeapBytes", statusHeapAfter.isPresent() ? statusHeapAfter.getAsLong() : -1);
            figures.put("statusHeapBytesPerConnection", statusHeapBefore.isPresent() && statusHeapAfter.isPresent()
                    ? perConnection(statusHeapAfter.getAsLong() - statusHeapBefore.getAsLong(), stillOpen) : -1);
            figures.put("gcBeforeReadings", !skipGc);
            figures.put("failures", flood.failures());
            figures.put("ok", stillOpen == count);
        }
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("connections", figures);
        output.write("connections", machineAtStart, "Idle connections", json, List.of());
        return figures;
    }

    static String table(Map<String, Object> f) {
        StringBuilder out = new StringBuilder("idle sessions on the leader (node " + f.get("node") + ")\n");
        row(out, "sessions joined / requested", f.get("joined") + " / " + f.get("requested"));
        row(out, "still open after hold", String.valueOf(f.get("openAfterHold")));
        row(out, "time to join all", String.format(Locale.ROOT, "%.1f s (%.0f joins/s)", f.get("secondsToJoinAll"),
                f.get("joinsPerSecond")));
        row(out, "heap before → after", mib(f.get("heapBeforeBytes")) + " → " + mib(f.get("heapAfterBytes"))
                + (Boolean.TRUE.equals(f.get("gcBeforeReadings")) ? " (after full GC, jcmd)" : " (jcmd, no GC)"));
        row(out, "heap per connection", bytes(f.get("heapBytesPerConnection")));
        row(out, "RSS before → after", mib(f.get("rssBeforeBytes")) + " → " + mib(f.get("rssAfterBytes")));
        row(out, "RSS per connection", bytes(f.get("rssBytesPerConnection")));
        row(out, "heap per connection (/status)", bytes(f.get("statusHeapBytesPerConnection")));
        @SuppressWarnings("unchecked")
        Map<String, Integer> failures = (Map<String, Integer>) f.get("failures");
        failures.forEach((reason, n) -> row(out, "failed: " + reason, String.valueOf(n)));
        return out.toString();
    }

    private static void row(StringBuilder out, String name, String value) {
        out.append(String.format(Locale.ROOT, "  %-32s %s%n", name, value));
    }

    private static String mib(Object bytes) {
        long b = ((Number) bytes).longValue();
        return b < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f MiB", b / 1048576.0);
    }

    private static String bytes(Object bytes) {
        long b = ((Number) bytes).longValue();
        return b < 0 ? "n/a" : String.format(Locale.ROOT, "%,d B", b);
    }

    private static long perConnection(long bytes, int connections) {
        return bytes < 0 || connections == 0 ? -1 : bytes / connections;
    }

    private static OptionalLong statusHeap(NodeControl nodes, int node) throws InterruptedException {
        NodeStatus status = nodes.statuses().get(node);
        return status == null ? OptionalLong.empty() : status.heapUsedBytes();
    }

    private void checkFileLimits(long serverPid) {
        long own = ServerMemory.openFileLimit(ProcessHandle.current().pid());
        if (own >= 0 && own < count + 500L) {
            throw new IllegalStateException("This process may open only " + own + " files, too few for " + count
                    + " sessions: raise it with 'ulimit -n " + (count + 1000) + "' before running");
        }
        long server = ServerMemory.openFileLimit(serverPid);
        if (server >= 0 && server < count + 500L) {
            System.out.println("WARNING: the node may open only " + server + " files; expect it to refuse sessions"
                    + " past that (restart it with a higher 'ulimit -n')");
        }
        if (count > 25_000 * localAddresses) {
            System.out.println("WARNING: " + count + " sessions from " + localAddresses
                    + " source address(es) may run out of ephemeral ports; add --local-addresses");
        }
    }
}
