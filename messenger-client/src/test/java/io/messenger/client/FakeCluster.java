package io.messenger.client;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Fake nodes serving one {@link FakeRoom} from an event loop group of their own, for the client
 * tests: {@link #node(int)} starts one more, {@link #close()} stops them all and the group.
 */
public final class FakeCluster implements AutoCloseable {

    private final EventLoopGroup group;
    private final FakeRoom room;
    private final List<FakeServer> servers = new ArrayList<>();

    public FakeCluster(String roomName, int ioThreads) {
        this.group = new MultiThreadIoEventLoopGroup(ioThreads, NioIoHandler.newFactory());
        this.room = new FakeRoom(roomName);
    }

    /** Starts a node with this id on an ephemeral loopback port. */
    public FakeServer node(int id) throws InterruptedException {
        FakeServer server = FakeServer.start(id, room, group);
        servers.add(server);
        return server;
    }

    public FakeRoom room() {
        return room;
    }

    public EventLoopGroup group() {
        return group;
    }

    @Override
    public void close() throws InterruptedException {
        servers.forEach(FakeServer::close);
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }
}
