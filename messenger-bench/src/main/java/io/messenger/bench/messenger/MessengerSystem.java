package io.messenger.bench.messenger;

import io.messenger.bench.load.BenchClient;
import io.messenger.bench.load.ChatSystem;
import io.messenger.client.BufferFullException;
import io.messenger.client.ChatMessage;
import io.messenger.client.ConnectionEvent;
import io.messenger.client.ConnectionState;
import io.messenger.client.MessengerClient;
import io.messenger.client.MessengerListener;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * The messenger cluster driven through the real client library: one {@link MessengerClient} per bench
 * client, all sharing one small event loop group so the bench's own threads do not crowd the machine.
 */
public final class MessengerSystem implements ChatSystem {

    private final String servers;
    private final Supplier<List<Long>> serverPids;
    private final EventLoopGroup group;
    private final LongAdder reconnects = new LongAdder();
    private final io.netty.handler.ssl.SslContext tls;

    /**
     * @param servers seed list, host:port,...
     * @param ioThreads event loop threads shared by all clients
     * @param serverPids PIDs of the local nodes, asked anew each time (a restarted node has a new one)
     */
    public MessengerSystem(String servers, int ioThreads, Supplier<List<Long>> serverPids) {
        this(servers, ioThreads, serverPids, null);
    }

    /** @param tls client TLS context for the client link, or null for plaintext */
    public MessengerSystem(String servers, int ioThreads, Supplier<List<Long>> serverPids,
                           io.netty.handler.ssl.SslContext tls) {
        this.tls = tls;
        this.servers = servers;
        this.serverPids = serverPids;
        this.group = new MultiThreadIoEventLoopGroup(ioThreads, new DefaultThreadFactory("bench-messenger-io", true),
                NioIoHandler.newFactory());
    }

    @Override
    public String name() {
        return "messenger";
    }

    @Override
    public BenchClient connect(String username, String room, Inbox inbox) throws Exception {
        MessengerClient client = MessengerClient.builder()
                .servers(servers)
                .username(username)
                .room(room)
                .eventLoopGroup(group)
                .tls(tls)
                .listener(new MessengerListener() {
                    @Override
                    public void onMessage(ChatMessage message) {
                        inbox.onMessage(message.roomSeq(), message.text());
                    }

                    @Override
                    public void onConnectionState(ConnectionEvent event) {
                        if (event.state() == ConnectionState.RECONNECTING) {
                            reconnects.increment();
                        }
                    }
                })
                .build();
        try {
            client.connect().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            client.close();
            throw e;
        }
        return new BenchClient() {
            @Override
            public CompletableFuture<?> send(String text) {
                CompletableFuture<Long> acked = client.send(text);
                if (acked.isCompletedExceptionally()) {
                    // The library fails a full buffer at once; the generator retries it in order.
                    return acked.exceptionallyCompose(error -> CompletableFuture.failedFuture(
                            error instanceof BufferFullException ? new Backpressure(error.getMessage()) : error));
                }
                return acked;
            }

            @Override
            public void close() {
                client.close();
            }
        };
    }

    /** How many times a client lost its connection and started reconnecting. */
    public long reconnects() {
        return reconnects.sum();
    }

    @Override
    public List<Long> serverPids() {
        return serverPids.get();
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
