package io.messenger.bench.nats;

import io.messenger.bench.load.BenchClient;
import io.messenger.bench.load.ChatSystem;
import io.nats.client.Connection;
import io.nats.client.Dispatcher;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.PublishOptions;
import io.nats.client.PushSubscribeOptions;
import io.nats.client.api.PublishAck;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.DeliverPolicy;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * NATS JetStream as a chat system: one stream (file storage, replicated on every node) with one subject
 * per room; a client publishes with acks and reads its room through an ordered push consumer, so it sees
 * only stored messages, in stream order, like a messenger member sees only committed ones. Like the
 * messenger client, a publisher resends what was not acknowledged, with the same {@code Nats-Msg-Id}, so
 * the stream's duplicate window keeps it exactly-once (see {@link ResendingPublisher}).
 */
public final class NatsSystem implements ChatSystem {

    private static final Logger log = LoggerFactory.getLogger(NatsSystem.class);
    private static final Duration STREAM_TIMEOUT = Duration.ofSeconds(30);
    /** Longer than any run, so every resend of a stored message is recognised as a duplicate. */
    static final Duration DUPLICATE_WINDOW = Duration.ofMinutes(30);
    private static final Duration MIN_BACKOFF = Duration.ofMillis(50);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(1);

    private final NatsCluster cluster;
    private final int replicas;
    private final List<Connection> connections = new ArrayList<>();
    private final List<ResendingPublisher> publishers = new ArrayList<>();
    private final LongAdder resends = new LongAdder();
    private final LongAdder duplicateAcks = new LongAdder();
    private final ScheduledExecutorService resendTimer = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "nats-resend");
        thread.setDaemon(true);
        return thread;
    });
    private volatile String stream;

    /** @param replicas stream replicas, at most the cluster's size */
    public NatsSystem(NatsCluster cluster, int replicas) {
        this.cluster = cluster;
        this.replicas = replicas;
    }

    @Override
    public String name() {
        return "nats";
    }

    static String subjectOf(String room) {
        return "room." + room;
    }

    @Override
    public void prepareRooms(List<String> rooms) throws Exception {
        stream = "BENCH_" + rooms.get(0).replaceAll("[^A-Za-z0-9]", "_");
        StreamConfiguration config = StreamConfiguration.builder()
                .name(stream)
                .subjects(rooms.stream().map(NatsSystem::subjectOf).toList())
                .storageType(StorageType.File)
                .replicas(replicas)
                .duplicateWindow(DUPLICATE_WINDOW)
                .build();
        Connection admin = Nats.connect(options("bench-admin"));
        try {
            JetStreamManagement jsm = admin.jetStreamManagement();
            long deadline = System.nanoTime() + STREAM_TIMEOUT.toNanos();
            while (true) {
                try {
                    jsm.addStream(config);
                    return;
                } catch (JetStreamApiException | IOException notReady) {
                    // A fresh cluster answers "temporarily unavailable" until it has a meta leader.
                    if (System.nanoTime() > deadline) {
                        throw new IOException("JetStream did not accept stream " + stream + " within "
                                + STREAM_TIMEOUT.toSeconds() + " s: " + notReady.getMessage(), notReady);
                    }
                    TimeUnit.MILLISECONDS.sleep(250);
                }
            }
        } finally {
            closeQuietly(admin);
        }
    }

    @Override
    public BenchClient connect(String username, String room, Inbox inbox) throws Exception {
        Connection connection = Nats.connect(options(username));
        synchronized (connections) {
            connections.add(connection);
        }
        JetStream js = connection.jetStream();
        Dispatcher dispatcher = connection.createDispatcher();
        String subject = subjectOf(room);
        PushSubscribeOptions ordered = PushSubscribeOptions.builder()
                .stream(stream)
                .ordered(true)
                .configuration(ConsumerConfiguration.builder().deliverPolicy(DeliverPolicy.New).build())
                .build();
        js.subscribe(subject, dispatcher,
                message -> inbox.onMessage(message.metaData().streamSequence(),
                        new String(message.getData(), StandardCharsets.UTF_8)),
                false, ordered);
        // A failed attempt's message may still be stored later (jnats keeps it in its reconnect buffer after
        // the ack future timed out), so the resend must carry the same id for the stream to drop one of them.
        ResendingPublisher publisher = new ResendingPublisher(username + "-" + UUID.randomUUID(),
                (messageId, body) -> js.publishAsync(subject, body,
                                PublishOptions.builder().messageId(messageId).build())
                        .thenApply(PublishAck::isDuplicate),
                resendTimer, MIN_BACKOFF, MAX_BACKOFF, resends, duplicateAcks);
        synchronized (connections) {
            publishers.add(publisher);
        }
        return new BenchClient() {
            @Override
            public CompletableFuture<?> send(String text) {
                return publisher.send(text.getBytes(StandardCharsets.UTF_8));
            }

            @Override
            public void close() {
                publisher.close();
                closeQuietly(connection);
            }
        };
    }

    /** The stream the rooms live in; null until {@link #prepareRooms} ran. */
    public String stream() {
        return stream;
    }

    /** How many times a client connection was lost and re-established. */
    public long reconnects() {
        synchronized (connections) {
            return connections.stream().mapToLong(c -> c.getStatistics().getReconnects()).sum();
        }
    }

    /** Publish attempts beyond each message's first, over all clients. */
    public long resends() {
        return resends.sum();
    }

    /** Acks JetStream flagged as duplicates: resends of messages an earlier attempt had already stored. */
    public long duplicateAcks() {
        return duplicateAcks.sum();
    }

    @Override
    public List<Long> serverPids() {
        return cluster.pids();
    }

    /** Closes client connections; the cluster itself belongs to whoever started it. */
    @Override
    public void close() {
        synchronized (connections) {
            publishers.forEach(ResendingPublisher::close);
            publishers.clear();
            connections.forEach(NatsSystem::closeQuietly);
            connections.clear();
        }
        resendTimer.shutdownNow();
    }

    private Options options(String name) {
        return Options.builder()
                .servers(cluster.clientUrls().toArray(String[]::new))
                .connectionName(name)
                .maxReconnects(-1)
                .connectionTimeout(Duration.ofSeconds(10))
                .build();
    }

    private static void closeQuietly(Connection connection) {
        try {
            connection.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.warn("Closing NATS connection failed: {}", e.toString());
        }
    }
}
