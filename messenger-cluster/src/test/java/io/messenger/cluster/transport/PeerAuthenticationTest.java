package io.messenger.cluster.transport;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.messenger.proto.peer.Heartbeat;
import io.messenger.proto.peer.PeerEnvelope;
import io.messenger.proto.peer.PeerHello;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The shared-secret challenge of the peer handshake, on real pipelines wired back to back. */
class PeerAuthenticationTest {

    private static final PeerAuthenticator SECRET = new PeerAuthenticator(bytes("the cluster's own secret"));
    private static final PeerAuthenticator OTHER = new PeerAuthenticator(bytes("somebody else's secret!"));

    private final List<String> links = new ArrayList<>();
    private final List<PeerEnvelope> received = new ArrayList<>();
    private final List<String> addresses = new ArrayList<>();
    private final List<EmbeddedChannel> channels = new ArrayList<>();

    @AfterEach
    void finish() {
        channels.forEach(EmbeddedChannel::finishAndReleaseAll);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static PeerIdentity identity(int id, PeerAuthenticator auth) {
        return new PeerIdentity(id, "test", Set.of(1, 2, 3), "127.0.0.1:700" + id, auth);
    }

    private EmbeddedChannel accepted(PeerIdentity identity) {
        EmbeddedChannel ch = new EmbeddedChannel(initializer(identity));
        channels.add(ch);
        return ch;
    }

    private EmbeddedChannel dialled(PeerIdentity identity, int expectedPeer) throws Exception {
        EmbeddedChannel ch = new EmbeddedChannel(false, false);
        ch.attr(PeerHandshakeHandler.EXPECTED_PEER).set(expectedPeer);
        ch.pipeline().addLast(initializer(identity));
        ch.register();
        channels.add(ch);
        return ch;
    }

    private PeerChannelInitializer initializer(PeerIdentity identity) {
        int self = identity.selfId();
        return new PeerChannelInitializer(identity, 64 * 1024, Duration.ofSeconds(10), Duration.ofSeconds(30),
                new PeerLinkEvents() {
                    @Override
                    public void linkEstablished(Channel ch, int peerId, boolean dialled) {
                        links.add(self + (dialled ? " dialled " : " accepted ") + peerId);
                    }

                    @Override
                    public void peerClientAddress(int peerId, String clientAddress) {
                        addresses.add(self + " learned " + peerId + " at " + clientAddress);
                    }

                    @Override
                    public void envelope(int peerId, PeerEnvelope envelope) {
                        received.add(envelope);
                    }
                });
    }

    /** Moves bytes between the two channels until neither has anything more to say. */
    private static void pump(EmbeddedChannel a, EmbeddedChannel b) {
        boolean moved = true;
        while (moved) {
            moved = move(a, b) | move(b, a);
        }
    }

    private static boolean move(EmbeddedChannel from, EmbeddedChannel to) {
        boolean moved = false;
        ByteBuf out;
        while ((out = from.readOutbound()) != null) {
            moved = true;
            if (to.isOpen()) {
                to.writeInbound(out);
            } else {
                out.release();
            }
        }
        return moved;
    }

    private static PeerEnvelope heartbeat(int from) {
        return PeerEnvelope.newBuilder().setProtocolVersion(1).setFrom(from).setEpoch(4)
                .setHeartbeat(Heartbeat.newBuilder().setCommitIndex(1)).build();
    }

    private static byte[] frame(PeerEnvelope envelope) {
        byte[] body = envelope.toByteArray();
        return java.nio.ByteBuffer.allocate(4 + body.length).putInt(body.length).put(body).array();
    }

    private static List<PeerEnvelope> written(EmbeddedChannel ch) throws Exception {
        ByteBuf all = Unpooled.buffer();
        ByteBuf out;
        while ((out = ch.readOutbound()) != null) {
            all.writeBytes(out);
            out.release();
        }
        List<PeerEnvelope> envelopes = new ArrayList<>();
        while (all.readableBytes() >= 4) {
            byte[] body = new byte[all.readInt()];
            all.readBytes(body);
            envelopes.add(PeerEnvelope.parseFrom(body));
        }
        return envelopes;
    }

    @Test
    void membersWithTheSameSecretProveThemselvesBothWaysAndThenTalk() throws Exception {
        EmbeddedChannel dialler = dialled(identity(1, SECRET), 2);
        EmbeddedChannel acceptor = accepted(identity(2, SECRET));
        pump(dialler, acceptor);
        assertThat(links).containsExactlyInAnyOrder("1 dialled 2", "2 accepted 1");
        assertThat(addresses).containsExactlyInAnyOrder("1 learned 2 at 127.0.0.1:7002",
                "2 learned 1 at 127.0.0.1:7001");
        dialler.writeOutbound(heartbeat(1));
        pump(dialler, acceptor);
        assertThat(received).containsExactly(heartbeat(1));
    }

    @Test
    void aStrangerWithoutASecretIsRefusedAndNothingItSendsIsPassedOn() throws Exception {
        EmbeddedChannel dialler = dialled(identity(1, null), 2);
        EmbeddedChannel acceptor = accepted(identity(2, SECRET));
        pump(dialler, acceptor);
        assertThat(acceptor.isOpen()).isFalse();
        assertThat(links).doesNotContain("2 accepted 1");
        assertThat(received).isEmpty();
    }

    @Test
    void aStrangerWithAWrongSecretIsRefusedBeforeAnythingIsRead() throws Exception {
        EmbeddedChannel dialler = dialled(identity(1, OTHER), 2);
        EmbeddedChannel acceptor = accepted(identity(2, SECRET));
        pump(dialler, acceptor);
        // The dialler sees the acceptor's answer fail first and refuses it; both ends close.
        assertThat(dialler.isOpen()).isFalse();
        assertThat(acceptor.isOpen()).isFalse();
        assertThat(links).isEmpty();
        assertThat(received).isEmpty();
    }

    @Test
    void aStrangerThatSkipsOrFakesTheProofIsRefusedEvenWhenItsFramesArriveByteByByte() throws Exception {
        for (ByteString fakeProof : List.of(ByteString.EMPTY, ByteString.copyFrom(new byte[32]))) {
            EmbeddedChannel acceptor = accepted(identity(2, SECRET));
            ByteString nonce = OTHER.nonce();
            acceptor.writeInbound(Unpooled.wrappedBuffer(frame(PeerEnvelope.newBuilder().setProtocolVersion(1)
                    .setFrom(1).setHello(PeerHello.newBuilder().setNodeId(1).setCluster("test")
                            .setClientAddress("attacker:6666").setNonce(nonce)).build())));
            PeerEnvelope answer = written(acceptor).get(0);
            assertThat(answer.getHello().getNonce().size()).isEqualTo(PeerAuthenticator.NONCE_BYTES);
            byte[] proofFrame = fakeProof.isEmpty() ? new byte[0] : frame(PeerEnvelope.newBuilder()
                    .setProtocolVersion(1).setFrom(1)
                    .setProof(io.messenger.proto.peer.PeerProof.newBuilder().setProof(fakeProof)).build());
            byte[] heartbeat = frame(heartbeat(1));
            ByteBuf stream = Unpooled.buffer().writeBytes(proofFrame).writeBytes(heartbeat);
            while (stream.isReadable() && acceptor.isOpen()) {
                acceptor.writeInbound(stream.readRetainedSlice(1));
            }
            stream.release();
            assertThat(acceptor.isOpen()).isFalse();
            assertThat(written(acceptor)).singleElement()
                    .satisfies(e -> assertThat(e.getRejection().getReason()).contains("node 1"));
        }
        assertThat(links).isEmpty();
        assertThat(addresses).isEmpty();
        assertThat(received).isEmpty();
    }

    @Test
    void aCorrectProofSplitAtEveryByteIsAccepted() throws Exception {
        for (int split = 1; split < 120; split += 7) {
            links.clear();
            received.clear();
            EmbeddedChannel acceptor = accepted(identity(2, SECRET));
            ByteString nonce = SECRET.nonce();
            acceptor.writeInbound(Unpooled.wrappedBuffer(frame(PeerEnvelope.newBuilder().setProtocolVersion(1)
                    .setFrom(1).setHello(PeerHello.newBuilder().setNodeId(1).setCluster("test")
                            .setClientAddress("127.0.0.1:7001").setNonce(nonce)).build())));
            PeerHello answer = written(acceptor).get(0).getHello();
            assertThat(SECRET.verify(answer.getProof(), false, nonce, "test", 2, 1, "127.0.0.1:7002")).isTrue();
            ByteString proof = SECRET.proof(true, answer.getNonce(), "test", 1, 2, "127.0.0.1:7001");
            ByteBuf stream = Unpooled.buffer()
                    .writeBytes(frame(identity(1, SECRET).proof(proof))).writeBytes(frame(heartbeat(1)));
            int cut = Math.min(split, stream.readableBytes());
            acceptor.writeInbound(stream.readRetainedSlice(cut));
            acceptor.writeInbound(stream.readRetainedSlice(stream.readableBytes()));
            stream.release();
            assertThat(links).containsExactly("2 accepted 1");
            assertThat(received).containsExactly(heartbeat(1));
        }
    }

    @Test
    void anAcceptorsAnswerCannotBeRelayedAsADiallersProof() {
        ByteString nonce = SECRET.nonce();
        ByteString acceptorAnswer = SECRET.proof(false, nonce, "test", 1, 2, "127.0.0.1:7001");
        assertThat(SECRET.verify(acceptorAnswer, true, nonce, "test", 1, 2, "127.0.0.1:7001")).isFalse();
        assertThat(SECRET.verify(acceptorAnswer, false, nonce, "test", 1, 2, "attacker:6666")).isFalse();
        assertThat(SECRET.verify(acceptorAnswer, false, nonce, "test", 1, 2, "127.0.0.1:7001")).isTrue();
    }
}
