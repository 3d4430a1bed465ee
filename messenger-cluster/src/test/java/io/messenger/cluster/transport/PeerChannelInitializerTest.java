package io.messenger.cluster.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.proto.peer.Append;
import io.messenger.proto.peer.Entry;
import io.messenger.proto.peer.Heartbeat;
import io.messenger.proto.peer.PeerEnvelope;
import io.messenger.proto.peer.PeerHello;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import com.google.protobuf.ByteString;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PeerChannelInitializerTest {

    private static final int MAX_FRAME = 64 * 1024;
    private final PeerIdentity identity = new PeerIdentity(1, "test", Set.of(1, 2, 3));
    private final List<String> links = new ArrayList<>();
    private final List<PeerEnvelope> received = new ArrayList<>();
    private EmbeddedChannel channel;

    @AfterEach
    void finish() {
        if (channel != null) {
            channel.finishAndReleaseAll();
        }
    }

    private EmbeddedChannel accepted() {
        channel = new EmbeddedChannel(initializer());
        return channel;
    }

    private EmbeddedChannel dialled(int expectedPeer) throws Exception {
        channel = new EmbeddedChannel(false, false);
        channel.attr(PeerHandshakeHandler.EXPECTED_PEER).set(expectedPeer);
        channel.pipeline().addLast(initializer());
        channel.register();
        return channel;
    }

    private PeerChannelInitializer initializer() {
        return new PeerChannelInitializer(identity, MAX_FRAME, Duration.ofSeconds(10), Duration.ofSeconds(30),
                new PeerLinkEvents() {
                    @Override
                    public void linkEstablished(Channel ch, int peerId, boolean dialled) {
                        links.add(peerId + (dialled ? " dialled" : " accepted"));
                    }

                    @Override
                    public void envelope(int peerId, PeerEnvelope envelope) {
                        received.add(envelope);
                    }
                });
    }

    private static PeerEnvelope hello(int version, int id, String cluster) {
        return PeerEnvelope.newBuilder().setProtocolVersion(version).setFrom(id)
                .setHello(PeerHello.newBuilder().setNodeId(id).setCluster(cluster)).build();
    }

    private static PeerEnvelope append(int from, int entries) {
        Append.Builder append = Append.newBuilder().setPrevIndex(7).setPrevEpoch(2).setCommitIndex(5);
        for (int i = 0; i < entries; i++) {
            append.addEntries(Entry.newBuilder().setEpoch(3).setIndex(8 + i)
                    .setCommand(ByteString.copyFromUtf8("command " + i)));
        }
        return PeerEnvelope.newBuilder().setProtocolVersion(1).setFrom(from).setEpoch(3).setAppend(append).build();
    }

    private static byte[] frame(PeerEnvelope envelope) {
        byte[] body = envelope.toByteArray();
        byte[] framed = new byte[body.length + 4];
        framed[0] = (byte) (body.length >>> 24);
        framed[1] = (byte) (body.length >>> 16);
        framed[2] = (byte) (body.length >>> 8);
        framed[3] = (byte) body.length;
        System.arraycopy(body, 0, framed, 4, body.length);
        return framed;
    }

    private static byte[] concat(byte[]... parts) {
        int length = 0;
        for (byte[] p : parts) {
            length += p.length;
        }
        byte[] all = new byte[length];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }

    /** Everything the channel wrote, parsed back into envelopes; every buffer is released. */
    private static List<PeerEnvelope> written(EmbeddedChannel ch) throws Exception {
        ByteBuf all = Unpooled.buffer();
        try {
            ByteBuf out;
            while ((out = ch.readOutbound()) != null) {
                all.writeBytes(out);
                out.release();
            }
            List<PeerEnvelope> envelopes = new ArrayList<>();
            while (all.readableBytes() >= 4) {
                int length = all.readInt();
                byte[] body = new byte[length];
                all.readBytes(body);
                envelopes.add(PeerEnvelope.parseFrom(body));
            }
            assertThat(all.readableBytes()).isZero();
            return envelopes;
        } finally {
            all.release();
        }
    }

    @Test
    void acceptsHelloAndDispatchesFramesSplitAtEveryByteBoundary() throws Exception {
        byte[] stream = concat(frame(hello(1, 2, "test")), frame(append(2, 3)), frame(identity(2).keepalive()),
                frame(append(2, 1)));
        for (int split = 0; split <= stream.length; split++) {
            links.clear();
            received.clear();
            EmbeddedChannel ch = accepted();
            ch.writeInbound(Unpooled.wrappedBuffer(stream, 0, split));
            ch.writeInbound(Unpooled.wrappedBuffer(stream, split, stream.length - split));
            assertThat(links).as("split at %d", split).containsExactly("2 accepted");
            assertThat(received).as("split at %d", split).containsExactly(append(2, 3), append(2, 1));
            assertThat(written(ch)).containsExactly(identity.hello());
            assertThat(ch.isOpen()).isTrue();
            ch.finishAndReleaseAll();
        }
        channel = null;
    }

    @Test
    void acceptsFramesFedOneByteAtATime() throws Exception {
        byte[] stream = concat(frame(hello(1, 3, "test")), frame(append(3, 2)));
        EmbeddedChannel ch = accepted();
        for (byte b : stream) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        assertThat(links).containsExactly("3 accepted");
        assertThat(received).containsExactly(append(3, 2));
        written(ch);
    }

    private static PeerIdentity identity(int id) {
        return new PeerIdentity(id, "test", Set.of(1, 2, 3));
    }

    @Test
    void oversizedFrameClosesTheConnectionWithoutAllocatingIt() throws Exception {
        EmbeddedChannel ch = accepted();
        ch.writeInbound(Unpooled.wrappedBuffer(frame(hello(1, 2, "test"))));
        ByteBuf huge = Unpooled.buffer().writeInt(MAX_FRAME + 1).writeBytes(new byte[100]);
        ch.writeInbound(huge);
        assertThat(ch.isOpen()).isFalse();
        assertThat(received).isEmpty();
        written(ch);
    }

    @Test
    void absurdLengthPrefixClosesTheConnection() {
        EmbeddedChannel ch = accepted();
        ch.writeInbound(Unpooled.buffer().writeInt(Integer.MAX_VALUE).writeByte(1));
        assertThat(ch.isOpen()).isFalse();
        assertThat(links).isEmpty();
    }

    @Test
    void malformedProtobufClosesTheConnection() {
        EmbeddedChannel ch = accepted();
        byte[] garbage = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x07, 0x01};
        ch.writeInbound(Unpooled.buffer().writeInt(garbage.length).writeBytes(garbage));
        assertThat(ch.isOpen()).isFalse();
        assertThat(links).isEmpty();
        assertThat(received).isEmpty();
    }

    @Test
    void malformedFrameAfterHandshakeClosesTheConnection() throws Exception {
        EmbeddedChannel ch = accepted();
        ch.writeInbound(Unpooled.wrappedBuffer(frame(hello(1, 2, "test"))));
        byte[] garbage = {0x0a, (byte) 0x80};
        ch.writeInbound(Unpooled.buffer().writeInt(garbage.length).writeBytes(garbage));
        assertThat(ch.isOpen()).isFalse();
        assertThat(received).isEmpty();
        written(ch);
    }

    @Test
    void wrongProtocolVersionIsRejected() throws Exception {
        EmbeddedChannel ch = accepted();
        ch.writeInbound(Unpooled.wrappedBuffer(frame(hello(2, 2, "test"))));
        List<PeerEnvelope> out = written(ch);
        assertThat(out).hasSize(1);
        assertThat(out.get(0).getRejection().getReason()).contains("version 2");
        assertThat(ch.isOpen()).isFalse();
        assertThat(links).isEmpty();
    }

    @Test
    void wrongVersionAfterHandshakeIsRejected() throws Exception {
        EmbeddedChannel ch = accepted();
        ch.writeInbound(Unpooled.wrappedBuffer(frame(hello(1, 2, "test"))));
        ch.writeInbound(Unpooled.wrappedBuffer(frame(append(2, 1).toBuilder().setProtocolVersion(9).build())));
        List<PeerEnvelope> out = written(ch);
        assertThat(out.get(out.size() - 1).getRejection().getReason()).contains("version 9");
        assertThat(ch.isOpen()).isFalse();
        assertThat(received).isEmpty();
    }

    @Test
    void wrongClusterIsRejected() throws Exception {
        EmbeddedChannel ch = accepted();
        ch.writeInbound(Unpooled.wrappedBuffer(frame(hello(1, 2, "other"))));
        List<PeerEnvelope> out = written(ch);
        assertThat(out).hasSize(1);
        assertThat(out.get(0).getRejection().getReason()).contains("cluster 'other'");
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void unknownNodeIdIsRejected() throws Exception {
        EmbeddedChannel ch = accepted();
        ch.writeInbound(Unpooled.wrappedBuffer(frame(hello(1, 9, "test"))));
        assertThat(written(ch).get(0).getRejection().getReason()).contains("node id 9");
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void envelopeBeforeHelloIsRejected() throws Exception {
        EmbeddedChannel ch = accepted();
        ch.writeInbound(Unpooled.wrappedBuffer(frame(append(2, 1))));
        assertThat(written(ch).get(0).getRejection().getReason()).contains("expected a hello");
        assertThat(ch.isOpen()).isFalse();
        assertThat(received).isEmpty();
    }

    @Test
    void envelopeClaimingAnotherSenderIsRejected() throws Exception {
        EmbeddedChannel ch = accepted();
        ch.writeInbound(Unpooled.wrappedBuffer(frame(hello(1, 2, "test"))));
        ch.writeInbound(Unpooled.wrappedBuffer(frame(append(3, 1))));
        assertThat(ch.isOpen()).isFalse();
        assertThat(received).isEmpty();
        written(ch);
    }

    @Test
    void diallerSendsHelloAndAcceptsTheExpectedPeer() throws Exception {
        EmbeddedChannel ch = dialled(2);
        assertThat(written(ch)).containsExactly(identity.hello());
        ch.writeInbound(Unpooled.wrappedBuffer(concat(frame(hello(1, 2, "test")),
                frame(PeerEnvelope.newBuilder().setProtocolVersion(1).setFrom(2).setEpoch(4)
                        .setHeartbeat(Heartbeat.newBuilder().setCommitIndex(3)).build()))));
        assertThat(links).containsExactly("2 dialled");
        assertThat(received).hasSize(1);
        assertThat(received.get(0).getHeartbeat().getCommitIndex()).isEqualTo(3);
        assertThat(written(ch)).isEmpty();
    }

    @Test
    void diallerRefusesAnUnexpectedPeer() throws Exception {
        EmbeddedChannel ch = dialled(2);
        written(ch);
        ch.writeInbound(Unpooled.wrappedBuffer(frame(hello(1, 3, "test"))));
        assertThat(written(ch).get(0).getRejection().getReason()).contains("dialled node 2 but node 3 answered");
        assertThat(ch.isOpen()).isFalse();
        assertThat(links).isEmpty();
    }

    @Test
    void diallerClosesOnRejection() throws Exception {
        EmbeddedChannel ch = dialled(2);
        written(ch);
        ch.writeInbound(Unpooled.wrappedBuffer(frame(PeerEnvelope.newBuilder().setProtocolVersion(1).setFrom(2)
                .setRejection(io.messenger.proto.peer.PeerRejection.newBuilder().setReason("nope")).build())));
        assertThat(ch.isOpen()).isFalse();
        assertThat(links).isEmpty();
    }

    @Test
    void pipelineHandlersAreNamed() {
        EmbeddedChannel ch = accepted();
        assertThat(ch.pipeline().names()).containsSubsequence(PeerPipeline.FRAME_DECODER,
                PeerPipeline.FRAME_PREPENDER, PeerPipeline.PROTOBUF_DECODER, PeerPipeline.PROTOBUF_ENCODER,
                PeerPipeline.KEEPALIVE, PeerPipeline.HANDSHAKE, PeerPipeline.DISPATCH);
    }
}
