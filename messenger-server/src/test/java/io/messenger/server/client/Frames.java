package io.messenger.server.client;

import com.google.protobuf.InvalidProtocolBufferException;
import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.ClientProtocolVersion;
import io.messenger.proto.client.Hello;
import io.messenger.proto.client.Send;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** Builds and reads client frames (4-byte length + ClientEnvelope) by hand, for tests. */
public final class Frames {

    private Frames() {
    }

    public static ClientEnvelope.Builder envelope() {
        return ClientEnvelope.newBuilder().setProtocolVersion(ClientProtocolVersion.CLIENT_PROTOCOL_V1_VALUE);
    }

    public static ClientEnvelope hello(String user, String room, String clientId) {
        return envelope().setHello(Hello.newBuilder().setUsername(user).setRoom(room).setClientId(clientId)).build();
    }

    public static ClientEnvelope send(long seq, String text) {
        return envelope().setSend(Send.newBuilder().setSeq(seq).setText(text)).build();
    }

    static byte[] frame(ClientEnvelope envelope) {
        return frame(envelope.toByteArray());
    }

    static byte[] frame(byte[] body) {
        return ByteBuffer.allocate(4 + body.length).putInt(body.length).put(body).array();
    }

    static ByteBuf buf(byte[] bytes) {
        return Unpooled.wrappedBuffer(bytes);
    }

    /** Everything the channel wrote so far, decoded frame by frame; releases the buffers. */
    static List<ClientEnvelope> written(EmbeddedChannel channel) {
        if (channel.isOpen()) {
            channel.runPendingTasks(); // frames from the apply thread are written by event-loop tasks
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (Object o; (o = channel.readOutbound()) != null; ) {
            ByteBuf b = (ByteBuf) o;
            try {
                byte[] chunk = new byte[b.readableBytes()];
                b.readBytes(chunk);
                bytes.writeBytes(chunk);
            } finally {
                b.release();
            }
        }
        ByteBuffer in = ByteBuffer.wrap(bytes.toByteArray());
        List<ClientEnvelope> out = new ArrayList<>();
        while (in.remaining() >= 4) {
            int length = in.getInt();
            byte[] body = new byte[length];
            in.get(body);
            try {
                out.add(ClientEnvelope.parseFrom(body));
            } catch (InvalidProtocolBufferException e) {
                throw new AssertionError("server wrote an undecodable frame", e);
            }
        }
        if (in.hasRemaining()) {
            throw new AssertionError("server wrote a partial frame");
        }
        return out;
    }
}
