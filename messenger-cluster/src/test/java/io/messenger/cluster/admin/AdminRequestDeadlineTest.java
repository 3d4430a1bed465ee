package io.messenger.cluster.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The admin endpoint bounds how long a connection may take to deliver a request, and stays read-only. */
class AdminRequestDeadlineTest {

    private EmbeddedChannel channel;

    @AfterEach
    void finish() {
        if (channel != null) {
            channel.finishAndReleaseAll();
        }
    }

    private EmbeddedChannel newChannel() {
        channel = new EmbeddedChannel(new AdminHttpInitializer(() -> Map.of("role", "LEADER"), () -> true));
        return channel;
    }

    private static ByteBuf ascii(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    private String response() {
        StringBuilder out = new StringBuilder();
        ByteBuf b;
        while ((b = channel.readOutbound()) != null) {
            out.append(b.toString(StandardCharsets.UTF_8));
            b.release();
        }
        return out.toString();
    }

    @Test
    void halfSentHeadersAreClosedAtTheDeadline() {
        EmbeddedChannel ch = newChannel();
        ch.writeInbound(ascii("GET /status HTTP/1.1\r\nHost: node1\r\nX-Slow: "));
        long deadline = AdminHttpInitializer.DEFAULT_REQUEST_TIMEOUT.toMillis();
        ch.advanceTimeBy(deadline - 100, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertThat(ch.isOpen()).isTrue();
        // Trickling bytes does not buy time: the deadline is per request, not per read.
        ch.writeInbound(ascii("a"));
        ch.advanceTimeBy(200, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertThat(ch.isOpen()).as("closed %d ms after opening without a whole request", deadline).isFalse();
        assertThat(response()).isEmpty();
    }

    @Test
    void eachRequestOnAKeptAliveConnectionGetsItsOwnDeadline() {
        EmbeddedChannel ch = newChannel();
        ch.advanceTimeBy(4, TimeUnit.SECONDS);
        ch.writeInbound(ascii("GET /status HTTP/1.1\r\nHost: node1\r\n\r\n"));
        assertThat(response()).startsWith("HTTP/1.1 200 OK").contains("LEADER");
        ch.advanceTimeBy(4, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        assertThat(ch.isOpen()).as("8 s after opening, 4 s after its request").isTrue();
        ch.advanceTimeBy(1_100, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertThat(ch.isOpen()).as("an idle kept-alive connection is bounded too").isFalse();
    }

    @Test
    void everyMethodButGetAndHeadIs405WhateverThePath() {
        EmbeddedChannel ch = newChannel();
        for (String request : new String[] {"POST /status", "PUT /anything", "DELETE /health", "PATCH /"}) {
            ch.writeInbound(ascii(request + " HTTP/1.1\r\nHost: node1\r\nContent-Length: 0\r\n\r\n"));
            assertThat(response()).as(request).startsWith("HTTP/1.1 405").contains("allow: GET, HEAD")
                    .contains("read-only");
        }
    }

    @Test
    void aRealSocketWithHalfSentHeadersIsClosedByTheServer() throws Exception {
        Duration timeout = Duration.ofMillis(300);
        try (AdminHttpServer server = AdminHttpServer.start("127.0.0.1", 0, Map::of, () -> true, null, timeout);
             Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
            socket.setSoTimeout(20_000);
            OutputStream out = socket.getOutputStream();
            out.write("GET /health HTTP/1.1\r\nHost: node1\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            long start = System.nanoTime();
            InputStream in = socket.getInputStream();
            int read;
            try {
                read = in.read();
            } catch (SocketTimeoutException e) {
                throw new AssertionError("the server kept a half-sent request open for 20 s", e);
            }
            assertThat(read).as("closed without an answer").isEqualTo(-1);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
        }
    }
}
