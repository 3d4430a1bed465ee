package io.messenger.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.client.ChatMessage;
import io.messenger.client.MessengerClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Snapshots and InstallSnapshot with the real chat state machine, across real processes: with a
 * snapshot every 100 entries and only 20 kept behind it, a backup whose data directory is wiped
 * can only come back through the leader's snapshot (chat state plus the RocksDB history
 * checkpoint, streamed over the peer link). Once it is restored it is made the leader, and a
 * client paging back through the room's history from it reads every acknowledged message, in
 * order, with no gap: with an in-memory window of 50 messages per room, all but the newest 50
 * can only have come over in the snapshot's history checkpoint.
 */
class SnapshotCatchUpProcessTest {

    private static final Duration BOUND = Duration.ofSeconds(60);
    private static final int BEFORE_WIPE = 150;
    private static final int WHILE_AWAY = 250;

    private final List<MessengerClient> clients = new ArrayList<>();
    private LocalCluster cluster;

    @AfterEach
    void tearDown() {
        clients.forEach(MessengerClient::close);
        if (cluster != null) {
            cluster.close();
        }
    }

    private MessengerClient join(String user) throws Exception {
        MessengerClient client = MessengerClient.builder().servers(cluster.clientAddresses()).username(user)
                .room("lobby").build();
        clients.add(client);
        client.connect().get(BOUND.toSeconds(), TimeUnit.SECONDS);
        return client;
    }

    private static List<Long> sendAll(MessengerClient client, int from, int count) throws Exception {
        List<CompletableFuture<Long>> acks = new ArrayList<>();
        for (int i = from; i < from + count; i++) {
            acks.add(client.send("message " + i));
        }
        List<Long> seqs = new ArrayList<>();
        for (CompletableFuture<Long> ack : acks) {
            seqs.add(ack.get(BOUND.toSeconds(), TimeUnit.SECONDS));
        }
        return seqs;
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void aWipedBackupComesBackThroughTheLeadersSnapshotWithTheWholeHistory() throws Exception {
        cluster = LocalCluster.create("snapshots", 3,
                List.of("--snapshot-interval", "100", "--log-retain-entries", "20", "--log-segment-bytes", "4096",
                        "--retained-messages", "50")).start();
        MessengerClient writer = join("writer");
        sendAll(writer, 0, BEFORE_WIPE);

        ServerProcess leader = cluster.awaitLeader();
        // The backup with the highest id: between equally up-to-date logs the ring elects the higher id,
        // so once restored it is the one elected when the leader goes.
        ServerProcess wiped = cluster.nodes().stream().filter(n -> n != leader)
                .max(Comparator.comparingInt(ServerProcess::nodeId)).orElseThrow();
        cluster.kill(wiped);
        LocalCluster.deleteRecursively(cluster.dir().resolve("data-" + wiped.nodeId()));
        sendAll(writer, BEFORE_WIPE, WHILE_AWAY);
        await("the leader compacted its log").atMost(BOUND).pollInterval(Duration.ofMillis(200))
                .until(() -> Files.readString(cluster.awaitLeader().logFile()).contains("Compacted the log"));

        cluster.restart(wiped);
        await("the wiped node installed the leader's snapshot").atMost(BOUND).pollInterval(Duration.ofMillis(200))
                .until(() -> Files.readString(wiped.logFile()).contains("installed the snapshot at index"));
        await("the wiped node is restored").atMost(BOUND).pollInterval(Duration.ofMillis(200))
                .until(() -> Files.readString(wiped.logFile()).contains("restored from the leader"));
        sendAll(writer, BEFORE_WIPE + WHILE_AWAY, 10);
        int total = BEFORE_WIPE + WHILE_AWAY + 10;

        // Make the restored node the leader: kill whoever leads until it is elected, bringing each
        // killed node back and letting it catch up first, so that a majority stays live.
        for (int round = 0; cluster.awaitLeader() != wiped; round++) {
            assertThat(round).as("leader changes needed to elect node " + wiped.nodeId()).isLessThan(8);
            ServerProcess current = cluster.awaitLeader();
            long commit = current.status().orElseThrow().commitIndex();
            await("every node caught up").atMost(BOUND).pollInterval(Duration.ofMillis(100))
                    .until(() -> cluster.nodes().stream().allMatch(n -> n.status()
                            .map(s -> s.commitIndex() >= commit).orElse(false)));
            cluster.kill(current);
            cluster.awaitNewLeader(current);
            cluster.restart(current);
        }

        // Every message, read back from the restored leader: the newest window and, by paging, the rest.
        MessengerClient reader = join("reader");
        List<ChatMessage> read = new ArrayList<>();
        long before = 0;
        while (true) {
            List<ChatMessage> page = reader.history(before, 100).get(BOUND.toSeconds(), TimeUnit.SECONDS);
            if (page.isEmpty()) {
                break;
            }
            read.addAll(0, page);
            before = page.get(0).roomSeq();
        }
        List<String> texts = read.stream().filter(m -> m.sender().equals("writer")).map(ChatMessage::text).toList();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < total; i++) {
            expected.add("message " + i);
        }
        assertThat(texts).as("the history the restored leader serves").isEqualTo(expected);
        for (int i = 1; i < read.size(); i++) {
            assertThat(read.get(i).roomSeq()).as("room sequences without gaps").isEqualTo(read.get(i - 1).roomSeq() + 1);
        }
        assertThat(reader.firstAvailableSeq()).isLessThanOrEqualTo(1);
        assertThat(cluster.leakReports()).as("Netty leak reports in server logs").isEmpty();
    }
}
