package io.messenger.bench.connections;

import io.messenger.client.ClientPipeline;
import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Rejection;
import io.messenger.proto.client.Welcome;
import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.protobuf.ProtobufDecoder;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class IdleSessionHandlerTest {

    private final IdleSessionHandler.Identity identity = new IdleSessionHandler.Identity("u1", "r1", "c1");

    @Test
    void sendsHelloOnConnectAndJoinsOnWelcome() {
        IdleSessionHandler handler = new IdleSessionHandler(identity, Duration.ofSeconds(5));
        EmbeddedChannel channel = new EmbeddedChannel(handler);

        ClientEnvelope hello = channel.readOutbound();
        assertThat(hello.getProtocolVersion()).isEqualTo(1);
        assertThat(hello.getHello().getUsername()).isEqualTo("u1");
        assertThat(hello.getHello().getRoom()).isEqualTo("r1");
        assertThat(hello.getHello().getClientId()).isEqualTo("c1");
        assertThat(handler.joined()).isNotDone();

        channel.writeInbound(ClientEnvelope.newBuilder().setWelcome(Welcome.newBuilder().setRoom("r1")).build());

        assertThat(handler.joined()).isCompleted();
        assertThat(channel.isActive()).isTrue();
        channel.finishAndReleaseAll();
    }

    @Test
    void rejectionFailsTheJoinAndCloses() {
        IdleSessionHandler handler = new IdleSessionHandler(identity, Duration.ofSeconds(5));
        EmbeddedChannel channel = new EmbeddedChannel(handler);

        channel.writeInbound(ClientEnvelope.newBuilder().setRejection(Rejection.newBuilder()
                .setReason(Rejection.Reason.SERVER_BUSY).setMessage("too many sessions")).build());

        assertThat(handler.joined()).isCompletedExceptionally();
        assertThat(handler.joined().handle((ok, e) -> e.getMessage()).join())
                .contains("SERVER_BUSY").contains("too many sessions");
        assertThat(channel.isActive()).isFalse();
        channel.finishAndReleaseAll();
    }

    @Test
    void pipelineFramesHelloOnTheWireAndNamesEveryHandler() {
        EmbeddedChannel channel = new EmbeddedChannel(new IdleSessionInitializer(identity, Duration.ofSeconds(5)));

        assertThat(channel.pipeline().names()).containsSubsequence(ClientPipeline.FRAME_DECODER,
                ClientPipeline.FRAME_ENCODER, ClientPipeline.PROTOBUF_DECODER,
                ClientPipeline.PROTOBUF_ENCODER, ClientPipeline.CLIENT_HANDLER);
        EmbeddedChannel reader = new EmbeddedChannel(new LengthFieldBasedFrameDecoder(65536, 0, 4, 0, 4),
                new ProtobufDecoder(ClientEnvelope.getDefaultInstance()));
        for (ByteBuf part; (part = channel.readOutbound()) != null; ) {
            reader.writeInbound(part);
        }
        ClientEnvelope hello = reader.readInbound();
        assertThat(hello.getHello().getUsername()).isEqualTo("u1");
        reader.finishAndReleaseAll();
        channel.finishAndReleaseAll();
    }
}
