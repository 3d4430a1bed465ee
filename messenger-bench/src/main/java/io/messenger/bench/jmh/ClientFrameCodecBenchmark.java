package io.messenger.bench.jmh;

import io.messenger.client.ClientConfig;
import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Deliver;
import io.messenger.proto.client.Send;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.protobuf.ProtobufDecoder;
import io.netty.handler.codec.protobuf.ProtobufEncoder;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Cost of the client link's framing per message: a {@code ClientEnvelope} through
 * {@code ProtobufEncoder} + {@code LengthFieldPrepender(4)}, and a frame back through
 * {@code LengthFieldBasedFrameDecoder(64 KiB, 0, 4, 0, 4)} + {@code ProtobufDecoder}, the pipeline
 * TEAM.md fixes for both ends.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
// The leak detector samples and tracks buffers; it is a test aid, not part of the production cost.
@Fork(value = 1, jvmArgsAppend = "-Dio.netty.leakDetection.level=disabled")
public class ClientFrameCodecBenchmark {

    @Param({"128", "4096"})
    int textBytes;

    private EmbeddedChannel encoder;
    private EmbeddedChannel decoder;
    private ClientEnvelope send;
    private ByteBuf deliverFrame;

    @Setup(Level.Trial)
    public void setUp() {
        String text = "x".repeat(textBytes);
        send = ClientEnvelope.newBuilder().setProtocolVersion(1)
                .setSend(Send.newBuilder().setSeq(123_456).setText(text)).build();
        ClientEnvelope deliver = ClientEnvelope.newBuilder().setProtocolVersion(1)
                .setDeliver(Deliver.newBuilder().setRoom("lobby").setRoomSeq(987_654).setSender("alice")
                        .setText(text).setServerTimeMs(1_764_000_000_000L)).build();
        encoder = new EmbeddedChannel(new LengthFieldPrepender(4), new ProtobufEncoder());
        encoder.config().setAllocator(PooledByteBufAllocator.DEFAULT);
        decoder = new EmbeddedChannel(new LengthFieldBasedFrameDecoder(ClientConfig.MAX_FRAME_BYTES, 0, 4, 0, 4),
                new ProtobufDecoder(ClientEnvelope.getDefaultInstance()));
        decoder.config().setAllocator(PooledByteBufAllocator.DEFAULT);
        EmbeddedChannel frameMaker = new EmbeddedChannel(new LengthFieldPrepender(4), new ProtobufEncoder());
        frameMaker.writeOutbound(deliver);
        deliverFrame = PooledByteBufAllocator.DEFAULT.directBuffer();
        for (ByteBuf part; (part = frameMaker.readOutbound()) != null; ) {
            deliverFrame.writeBytes(part);
            part.release();
        }
        frameMaker.finishAndReleaseAll();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        encoder.finishAndReleaseAll();
        decoder.finishAndReleaseAll();
        deliverFrame.release();
    }

    /** Envelope to the bytes that go on the wire (length prefix and body); returns the frame size. */
    @Benchmark
    public int encodeSend() {
        encoder.writeOneOutbound(send);
        encoder.flushOutbound();
        int bytes = 0;
        for (ByteBuf part; (part = encoder.readOutbound()) != null; ) {
            bytes += part.readableBytes();
            part.release();
        }
        return bytes;
    }

    /**
     * Baseline for {@link #encodeSend}: the same bytes (length prefix and body) written straight into one
     * pooled buffer, without the channel pipeline; the difference is what the handlers cost.
     */
    @Benchmark
    public int encodeSendDirect() throws java.io.IOException {
        int size = send.getSerializedSize();
        ByteBuf frame = PooledByteBufAllocator.DEFAULT.directBuffer(4 + size);
        try {
            frame.writeInt(size);
            send.writeTo(new io.netty.buffer.ByteBufOutputStream(frame));
            return frame.readableBytes();
        } finally {
            frame.release();
        }
    }

    /** One complete frame off the wire to a parsed envelope. */
    @Benchmark
    public ClientEnvelope decodeDeliver() {
        decoder.writeInbound(deliverFrame.retainedDuplicate());
        return decoder.readInbound();
    }

    /** The same frame arriving in two TCP reads, split in the middle, as happens under load. */
    @Benchmark
    public ClientEnvelope decodeDeliverSplit() {
        int half = deliverFrame.readableBytes() / 2;
        decoder.writeInbound(deliverFrame.retainedSlice(0, half));
        decoder.writeInbound(deliverFrame.retainedSlice(half, deliverFrame.readableBytes() - half));
        return decoder.readInbound();
    }
}
