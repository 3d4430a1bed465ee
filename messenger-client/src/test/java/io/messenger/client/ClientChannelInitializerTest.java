package io.messenger.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Deliver;
import io.messenger.proto.client.Hello;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClientChannelInitializerTest {

    private final List<ClientEnvelope> received = new ArrayList<>();
    private final List<String> closed = new ArrayList<>();

    private EmbeddedChannel channel() {
        ClientHandler handler = new ClientHandler(new ClientHandler.Connection() {
            @Override
            public void received(ClientEnvelope envelope) {
                received.add(envelope);
            }

            @Override
            public void closed(String why) {
                closed.add(String.valueOf(why));
            }
        });
        return new EmbeddedChannel(new ClientChannelInitializer(ClientConfig.MAX_FRAME_BYTES, handler));
    }

    private static ClientEnvelope deliver() {
        return ClientEnvelope.newBuilder().setProtocolVersion(1).setDeliver(Deliver.newBuilder().setRoom("lobby")
                .setRoomSeq(42).setSender("bob").setText("héllo wörld").setServerTimeMs(1234)).build();
    }

    private static byte[] framed(ClientEnvelope e) {
        byte[] body = e.toByteArray();
        byte[] out = new byte[body.length + 4];
        out[0] = (byte) (body.length >>> 24);
        out[1] = (byte) (body.length >>> 16);
        out[2] = (byte) (body.length >>> 8);
        out[3] = (byte) body.length;
        System.arraycopy(body, 0, out, 4, body.length);
        return out;
    }

    @Test
    void pipelineHandlersAreNamedInOrder() {
        EmbeddedChannel ch = channel();
        assertThat(ch.pipeline().names()).startsWith(ClientPipeline.FRAME_DECODER, ClientPipeline.FRAME_ENCODER,
                ClientPipeline.PROTOBUF_DECODER, ClientPipeline.PROTOBUF_ENCODER, ClientPipeline.CLIENT_HANDLER);
        ch.finishAndReleaseAll();
    }

    @Test
    void decodesAFrameSplitAtEveryByteBoundary() {
        byte[] bytes = framed(deliver());
        for (int split = 0; split <= bytes.length; split++) {
            received.clear();
            EmbeddedChannel ch = channel();
            ch.writeInbound(Unpooled.wrappedBuffer(bytes, 0, split));
            assertThat(received).as("nothing before the whole frame, split at %d", split)
                    .hasSize(split == bytes.length ? 1 : 0);
            ch.writeInbound(Unpooled.wrappedBuffer(bytes, split, bytes.length - split));
            assertThat(received).as("split at %d", split).containsExactly(deliver());
            assertThat(ch.finishAndReleaseAll()).isFalse();
        }
    }

    @Test
    void decodesSeveralFramesInOneBufferAndOneByteAtATime() {
        ClientEnvelope second = ClientEnvelope.newBuilder().setProtocolVersion(1)
                .setHello(Hello.newBuilder().setUsername("alice").setRoom("lobby").setClientId("c1")).build();
        byte[] a = framed(deliver());
        byte[] b = framed(second);
        byte[] both = new byte[a.length + b.length];
        System.arraycopy(a, 0, both, 0, a.length);
        System.arraycopy(b, 0, both, a.length, b.length);

        EmbeddedChannel ch = channel();
        ch.writeInbound(Unpooled.wrappedBuffer(both));
        for (byte x : both) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {x}));
        }
        assertThat(received).containsExactly(deliver(), second, deliver(), second);
        ch.finishAndReleaseAll();
    }

    @Test
    void encodesWithAFourByteLengthPrefix() {
        EmbeddedChannel ch = channel();
        ch.writeOutbound(deliver());
        ByteBuf out = readAll(ch);
        try {
            byte[] bytes = new byte[out.readableBytes()];
            out.readBytes(bytes);
            assertThat(bytes).isEqualTo(framed(deliver()));
        } finally {
            out.release();
        }
        ch.finishAndReleaseAll();
    }

    private static ByteBuf readAll(EmbeddedChannel ch) {
        ByteBuf all = Unpooled.buffer();
        ByteBuf part;
        while ((part = ch.readOutbound()) != null) {
            all.writeBytes(part);
            part.release();
        }
        return all;
    }

    @Test
    void oversizedFrameClosesTheConnectionWithoutAllocatingIt() {
        EmbeddedChannel ch = channel();
        ByteBuf header = Unpooled.buffer(8).writeInt(ClientConfig.MAX_FRAME_BYTES + 1).writeInt(0);
        ch.writeInbound(header);
        assertThat(ch.isOpen()).isFalse();
        assertThat(received).isEmpty();
        assertThat(closed).singleElement().asString().contains("bad data");
        ch.finishAndReleaseAll();
    }

    @Test
    void malformedFrameClosesTheConnection() {
        EmbeddedChannel ch = channel();
        byte[] junk = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f};
        ch.writeInbound(Unpooled.buffer().writeInt(junk.length).writeBytes(junk));
        assertThat(ch.isOpen()).isFalse();
        assertThat(received).isEmpty();
        assertThat(closed).hasSize(1);
        ch.finishAndReleaseAll();
    }
}
