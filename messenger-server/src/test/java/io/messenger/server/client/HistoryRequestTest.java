package io.messenger.server.client;

import static io.messenger.proto.client.ClientEnvelope.BodyCase.HISTORY_REPLY;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.WELCOME;
import static io.messenger.server.client.Frames.buf;
import static io.messenger.server.client.Frames.envelope;
import static io.messenger.server.client.Frames.frame;
import static io.messenger.server.client.Frames.hello;
import static io.messenger.server.client.Frames.send;
import static io.messenger.server.client.Frames.written;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Deliver;
import io.messenger.proto.client.HistoryReply;
import io.messenger.proto.client.HistoryRequest;
import io.messenger.server.InProcessReplicator;
import io.messenger.server.chat.ChatLimits;
import io.messenger.server.chat.ChatStateMachine;
import io.messenger.server.chat.HistoryRetention;
import io.messenger.server.chat.HistoryStore;
import io.messenger.server.chat.LocalConnections;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** HistoryRequest → HistoryReply over an EmbeddedChannel, with a real store behind the state machine. */
class HistoryRequestTest {

    @TempDir
    Path dir;

    private final LocalConnections connections = new LocalConnections();
    private final ChannelGroup group = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private HistoryStore store;
    private EmbeddedChannel ch;

    @BeforeEach
    void start() throws Exception {
        store = HistoryStore.open(dir);
        // A small in-memory window (20), retention 500 per room.
        ChatStateMachine chat = new ChatStateMachine(1, new ChatLimits(10, 20, 2, 4096, 4096), connections, store,
                new HistoryRetention(500, 0));
        ClientServerContext context = new ClientServerContext(1, InProcessReplicator.direct(chat), chat, connections,
                4096, 64 * 1024, Duration.ofSeconds(10), 100_000, () -> 5_000L, new ClientTraffic());
        ch = new EmbeddedChannel(new ClientServerInitializer(context, group));
        assertThat(exchange(hello("alice", "lobby", "phone"))).extracting(ClientEnvelope::getBodyCase)
                .startsWith(WELCOME);
    }

    @AfterEach
    void stop() {
        ch.finishAndReleaseAll();
        store.close();
    }

    private List<ClientEnvelope> exchange(ClientEnvelope... frames) {
        for (ClientEnvelope f : frames) {
            ch.writeInbound(buf(frame(f)));
        }
        ch.runPendingTasks();
        return written(ch);
    }

    private HistoryReply ask(long before, int limit, String room) {
        List<HistoryReply> replies = new ArrayList<>();
        exchange(envelope().setHistoryRequest(HistoryRequest.newBuilder().setRequestId(42)
                .setBeforeRoomSeq(before).setLimit(limit).setRoom(room)).build()).stream()
                .filter(e -> e.getBodyCase() == HISTORY_REPLY).forEach(e -> replies.add(e.getHistoryReply()));
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            ch.runPendingTasks();
            written(ch).stream().filter(e -> e.getBodyCase() == HISTORY_REPLY)
                    .forEach(e -> replies.add(e.getHistoryReply()));
            return !replies.isEmpty();
        });
        assertThat(replies).hasSize(1);
        assertThat(replies.get(0).getRequestId()).isEqualTo(42);
        return replies.get(0);
    }

    private void post(int n, String text) {
        for (int i = 1; i <= n; i++) {
            exchange(send(i, text + i));
        }
    }

    private static List<Long> seqs(List<Deliver> ds) {
        return ds.stream().map(Deliver::getRoomSeq).toList();
    }

    @Test
    void pagesGoBackwardsOlderThanTheInMemoryWindow() {
        post(300, "m");
        HistoryReply newest = ask(0, 50, "");
        assertThat(newest.getError()).isEqualTo(HistoryReply.Error.NONE);
        assertThat(seqs(newest.getMessagesList())).isEqualTo(LongStream.rangeClosed(251, 300).boxed().toList());
        assertThat(newest.getMore()).isTrue();
        assertThat(newest.getFirstAvailableSeq()).isEqualTo(1);

        HistoryReply oldest = ask(11, 50, "lobby");
        assertThat(seqs(oldest.getMessagesList())).isEqualTo(LongStream.rangeClosed(1, 10).boxed().toList());
        assertThat(oldest.getMessages(0).getText()).isEqualTo("m1");
        assertThat(oldest.getMessages(0).getSender()).isEqualTo("alice");
        assertThat(oldest.getMore()).isFalse();
    }

    @Test
    void aPageIsCutToFitOneClientFrame() {
        post(100, "x".repeat(4000) + " ");
        HistoryReply page = ask(0, 500, "");
        assertThat(page.getMessagesCount()).isBetween(1, 15);
        assertThat(page.getSerializedSize()).isLessThan(64 * 1024 - 1024);
        assertThat(page.getMore()).isTrue();
        assertThat(page.getMessages(page.getMessagesCount() - 1).getRoomSeq()).isEqualTo(100);
    }

    @Test
    void invalidRequestsGetATypedErrorAndTheSessionStaysOpen() {
        post(3, "m");
        HistoryReply zero = ask(0, 0, "");
        assertThat(zero.getError()).isEqualTo(HistoryReply.Error.INVALID_LIMIT);
        assertThat(zero.getErrorMessage()).contains("1 to 500").endsWith(".");
        assertThat(ask(0, 501, "").getError()).isEqualTo(HistoryReply.Error.INVALID_LIMIT);
        assertThat(ask(0, -1, "").getErrorMessage()).contains("4294967295");
        HistoryReply other = ask(0, 10, "kitchen");
        assertThat(other.getError()).isEqualTo(HistoryReply.Error.INVALID_ROOM);
        assertThat(other.getErrorMessage()).contains("lobby").contains("kitchen");
        assertThat(ch.isOpen()).isTrue();
        assertThat(ask(0, 10, "").getMessagesCount()).isEqualTo(3);
    }

    @Test
    void pastRetentionTheReplyNamesTheFirstAvailableSequence() {
        post(800, "m"); // within the default send burst
        HistoryReply page = ask(400, 100, "");
        assertThat(page.getFirstAvailableSeq()).isEqualTo(301);
        assertThat(seqs(page.getMessagesList())).isEqualTo(LongStream.rangeClosed(301, 399).boxed().toList());
        assertThat(page.getMore()).isFalse();
    }
}
