package io.messenger.cluster.testing;

import io.messenger.cluster.ClusterConfig;
import io.messenger.cluster.ClusterNode;
import io.messenger.cluster.ClusterStatus;
import io.messenger.cluster.Member;
import io.messenger.cluster.NotLeaderException;
import io.messenger.cluster.Role;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * N real {@link ClusterNode}s in this JVM on loopback (after Ratis' {@code MiniRaftCluster}),
 * every node dialling every other through its own {@link FaultInjectingProxy}, so any link
 * can be dropped, delayed, frozen or severed. Each node incarnation gets a fresh
 * {@link RecordingStateMachine}; the fixture also records which node led each epoch.
 */
public final class MiniCluster implements AutoCloseable {

    private final Path baseDir;
    private final Duration heartbeat;
    private final Duration electionTimeout;
    private final List<Integer> ids;
    private final Map<Integer, Integer> peerPorts = new ConcurrentHashMap<>();
    /** Key {@code from * 1000 + to}: the proxy node {@code from} dials node {@code to} through. */
    private final Map<Integer, FaultInjectingProxy> proxies = new TreeMap<>();
    private final Map<Integer, ClusterNode> nodes = new ConcurrentHashMap<>();
    private final Map<Integer, RecordingStateMachine> machines = new ConcurrentHashMap<>();
    private final Map<Long, Set<Integer>> leadersByEpoch = new ConcurrentHashMap<>();
    private final EventLoopGroup proxyGroup;

    private MiniCluster(int size, Path baseDir, Duration heartbeat, Duration electionTimeout) {
        this.baseDir = baseDir;
        this.heartbeat = heartbeat;
        this.electionTimeout = electionTimeout;
        this.ids = IntStream.rangeClosed(1, size).boxed().toList();
        this.proxyGroup = new MultiThreadIoEventLoopGroup(2, new DefaultThreadFactory("mini-proxy", true),
                NioIoHandler.newFactory());
    }

    /** Starts {@code size} nodes with the default heartbeat (100 ms) and election timeout (500 ms). */
    public static MiniCluster start(int size, Path baseDir) {
        return start(size, baseDir, ClusterConfig.DEFAULT_HEARTBEAT, ClusterConfig.DEFAULT_ELECTION_TIMEOUT);
    }

    public static MiniCluster start(int size, Path baseDir, Duration heartbeat, Duration electionTimeout) {
        MiniCluster cluster = new MiniCluster(size, baseDir, heartbeat, electionTimeout);
        try {
            // Proxies first, nodes after: a node's port, chosen just before it binds, cannot
            // collide with a proxy's, and proxies look up their node's port per connection.
            for (int from : cluster.ids) {
                for (int to : cluster.ids) {
                    if (from != to) {
                        cluster.proxies.put(from * 1000 + to, FaultInjectingProxy.start(from + "-" + to,
                                () -> {
                                    Integer port = cluster.peerPorts.get(to);
                                    return port == null ? null : new InetSocketAddress("127.0.0.1", port);
                                },
                                cluster.proxyGroup));
                    }
                }
            }
            for (int id : cluster.ids) {
                cluster.startNode(id);
            }
        } catch (RuntimeException e) {
            cluster.close();
            throw e;
        }
        return cluster;
    }

    /** The config node {@code id} runs with: its own real peer port, and proxies for the others. */
    public ClusterConfig config(int id) {
        List<Member> members = new ArrayList<>();
        for (int other : ids) {
            int port = other == id ? peerPorts.get(id) : link(id, other).port();
            members.add(new Member(other, "127.0.0.1", port));
        }
        return new ClusterConfig(id, members, baseDir.resolve("node-" + id), "127.0.0.1",
                "127.0.0.1:" + (17000 + id), "mini", heartbeat, electionTimeout, ClusterConfig.DEFAULT_MAX_FRAME_BYTES,
                ClusterConfig.DEFAULT_MAX_APPEND_ENTRIES, ClusterConfig.DEFAULT_MAX_APPEND_BYTES);
    }

    private void startNode(int id) {
        RecordingStateMachine machine = new RecordingStateMachine();
        ClusterNode node = null;
        for (int attempt = 1; node == null; attempt++) {
            if (attempt > 1 || !peerPorts.containsKey(id)) {
                peerPorts.put(id, FreePorts.next());
            }
            try {
                node = ClusterNode.start(config(id), machine);
            } catch (IllegalStateException e) {
                // Another test (or an outgoing connection) took the port meanwhile: peers reach
                // this node only through proxies, so it may simply move.
                if (attempt == 5 || !String.valueOf(e.getMessage()).contains("cannot bind the peer port")) {
                    throw e;
                }
            }
        }
        node.addListener(status -> recordLeader(id, status));
        // It may have been elected before the listener was added.
        recordLeader(id, node.status());
        machines.put(id, machine);
        nodes.put(id, node);
    }

    private void recordLeader(int id, ClusterStatus status) {
        if (status.role() == Role.LEADER) {
            leadersByEpoch.computeIfAbsent(status.epoch(), e -> ConcurrentHashMap.newKeySet()).add(id);
        }
    }

    public List<Integer> ids() {
        return ids;
    }

    /** The running node {@code id}, or null if it is killed. */
    public ClusterNode node(int id) {
        return nodes.get(id);
    }

    public Collection<ClusterNode> liveNodes() {
        return nodes.values();
    }

    /** The state machine of node {@code id}'s current incarnation. */
    public RecordingStateMachine stateMachine(int id) {
        return machines.get(id);
    }

    /** The proxy node {@code from} sends to node {@code to} through. */
    public FaultInjectingProxy link(int from, int to) {
        return Objects.requireNonNull(proxies.get(from * 1000 + to), "no link " + from + "->" + to);
    }

    /** Stops node {@code id} (its log finishes its fsyncs); its data directory stays. */
    public void killNode(int id) {
        ClusterNode node = nodes.remove(id);
        if (node != null) {
            node.close();
        }
    }

    /** Starts node {@code id} again on the same data directory and peer port. */
    public void restartNode(int id) {
        if (nodes.containsKey(id)) {
            throw new IllegalStateException("node " + id + " is running");
        }
        startNode(id);
    }

    /** The running node that leads the highest epoch, or null. */
    public ClusterNode leader() {
        return nodes.values().stream().filter(n -> n.status().role() == Role.LEADER)
                .max(Comparator.comparingLong(n -> n.status().epoch())).orElse(null);
    }

    /** Every epoch in which some node became leader, with the nodes that did (at most one each, if safe). */
    public Map<Long, Set<Integer>> leadersByEpoch() {
        return Map.copyOf(leadersByEpoch);
    }

    private Set<FaultInjectingProxy> linksOf(Collection<Integer> group, Collection<Integer> others) {
        Set<FaultInjectingProxy> links = new HashSet<>();
        for (int a : group) {
            for (int b : others) {
                if (a != b) {
                    links.add(link(a, b));
                    links.add(link(b, a));
                }
            }
        }
        return links;
    }

    /** Severs every link to and from node {@code id}. */
    public void isolate(int id) {
        linksOf(List.of(id), ids).forEach(FaultInjectingProxy::sever);
    }

    /** Severs every link between {@code side} and the rest of the nodes. */
    public void partition(Collection<Integer> side) {
        List<Integer> rest = ids.stream().filter(i -> !side.contains(i)).toList();
        linksOf(side, rest).forEach(FaultInjectingProxy::sever);
    }

    /** Holds all traffic to and from node {@code id}: to its peers it looks paused. */
    public void freeze(int id) {
        linksOf(List.of(id), ids).forEach(FaultInjectingProxy::freeze);
    }

    /** Releases what {@link #freeze(int)} held. */
    public void unfreeze(int id) {
        linksOf(List.of(id), ids).forEach(FaultInjectingProxy::unfreeze);
    }

    /** Removes every fault on every link. */
    public void heal() {
        proxies.values().forEach(FaultInjectingProxy::heal);
    }

    /**
     * Proposes through whichever node leads, retrying through elections until the command is
     * acknowledged or the deadline passes.
     *
     * @return the command's log index
     * @throws TimeoutException if no leader acknowledged it in time (it may still commit later)
     */
    public long proposeUntilAcknowledged(String command, Duration timeout) throws TimeoutException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            ClusterNode leader = leader();
            if (leader == null) {
                Thread.sleep(5); // waiting out an election; nothing to poll but the nodes' status
                continue;
            }
            try {
                long remaining = Math.max(1, deadline - System.nanoTime());
                Object index = leader.propose(command.getBytes(java.nio.charset.StandardCharsets.UTF_8))
                        .get(Math.min(remaining, TimeUnit.SECONDS.toNanos(2)), TimeUnit.NANOSECONDS);
                return (Long) index;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof NotLeaderException)) {
                    throw new IllegalStateException("proposal failed", e.getCause());
                }
            } catch (TimeoutException e) {
                // The leader may be cut off: look for the current one and resend (the state
                // machine of a real application dedups; tests check for acknowledged commands only).
            }
        }
        throw new TimeoutException("'" + command + "' was not acknowledged within " + timeout);
    }

    /** The applied sequences of all running nodes, by node id. */
    public Map<Integer, List<String>> appliedByNode() {
        return nodes.keySet().stream().collect(Collectors.toMap(id -> id, id -> machines.get(id).applied(),
                (a, b) -> a, TreeMap::new));
    }

    @Override
    public void close() {
        for (int id : ids) {
            killNode(id);
        }
        proxies.values().forEach(FaultInjectingProxy::close);
        proxyGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
