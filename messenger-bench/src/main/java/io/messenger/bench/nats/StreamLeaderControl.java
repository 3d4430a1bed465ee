package io.messenger.bench.nats;

import io.messenger.bench.cluster.KillableCluster;
import io.messenger.bench.cluster.NodeControl;
import io.nats.client.Connection;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamOptions;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.api.ClusterInfo;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bench's own nats-servers as a {@link KillableCluster}: the leader is the stream's leader as the
 * JetStream API reports it ({@code StreamInfo} cluster info, a server name mapped to the node the bench
 * started under that name); a kill is SIGKILL to that process, a restart runs it again with the same
 * config and store.
 */
public final class StreamLeaderControl implements KillableCluster, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(StreamLeaderControl.class);
    private static final long POLL_MILLIS = 10;
    /** Short, so a request that went to a dead server or found no leader is retried soon. */
    private static final Duration REQUEST_TIMEOUT = Duration.ofMillis(500);

    private final NatsCluster cluster;
    private final Supplier<String> stream;
    private Connection admin;

    /** @param stream the stream's name, asked when a leader is first needed (the load creates the stream) */
    public StreamLeaderControl(NatsCluster cluster, Supplier<String> stream) {
        this.cluster = cluster;
        this.stream = stream;
    }

    /** The stream leader's node, or 0 when no server answers or the stream has no leader now. */
    private int leader() throws InterruptedException {
        try {
            ClusterInfo info = management().getStreamInfo(stream.get()).getClusterInfo();
            return info == null ? 0 : NatsCluster.nodeOf(info.getLeader());
        } catch (IOException | JetStreamApiException | IllegalStateException noAnswer) {
            log.debug("no stream leader known now: {}", noAnswer.toString());
            return 0;
        }
    }

    private synchronized JetStreamManagement management() throws IOException, InterruptedException {
        if (admin == null) {
            admin = Nats.connect(Options.builder()
                    .servers(cluster.clientUrls().toArray(String[]::new))
                    .connectionName("bench-failover")
                    .maxReconnects(-1)
                    .reconnectWait(Duration.ofMillis(20)) // the default 2 s would hide a fast election
                    .connectionTimeout(REQUEST_TIMEOUT)
                    .build());
        }
        return admin.jetStreamManagement(JetStreamOptions.builder().requestTimeout(REQUEST_TIMEOUT).build());
    }

    @Override
    public int awaitLeader(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        do {
            int leader = leader();
            if (leader != 0) {
                return leader;
            }
            TimeUnit.MILLISECONDS.sleep(50);
        } while (System.nanoTime() < deadline);
        return 0;
    }

    @Override
    public void kill(int node) throws IOException, InterruptedException {
        cluster.kill(node);
    }

    @Override
    public NodeControl.Election awaitNewLeader(int killed, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            int leader = leader();
            if (leader != 0 && leader != killed) {
                return new NodeControl.Election(leader, System.nanoTime());
            }
            TimeUnit.MILLISECONDS.sleep(POLL_MILLIS);
        }
        return new NodeControl.Election(0, System.nanoTime());
    }

    @Override
    public void restart(int node, Duration timeout) throws IOException, InterruptedException {
        cluster.restart(node, timeout);
    }

    @Override
    public synchronized void close() throws InterruptedException {
        if (admin != null) {
            admin.close();
        }
    }
}
