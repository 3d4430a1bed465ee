package io.messenger.server.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.cluster.Role;
import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Rejection;
import io.messenger.server.InProcessReplicator;
import io.messenger.server.chat.ChatLimits;
import io.messenger.server.chat.ChatStateMachine;
import io.messenger.server.chat.LocalConnections;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import io.messenger.proto.client.Hello;
import io.messenger.server.auth.ClientAuthenticator;
import org.junit.jupiter.api.Test;

/** The client server over real sockets with an in-process log whose leadership the test controls. */
class ClientServerTest {

    private static ClientEnvelope read(DataInputStream in) throws Exception {
        byte[] body = new byte[in.readInt()];
        in.readFully(body);
        return ClientEnvelope.parseFrom(body);
    }

    @Test
    void whenThisNodeStopsLeadingItsClientsAreSentToTheNewLeader() throws Exception {
        LocalConnections connections = new LocalConnections();
        ChatStateMachine chat = new ChatStateMachine(1, ChatLimits.DEFAULTS, connections);
        try (InProcessReplicator log = InProcessReplicator.threaded(chat);
             ClientServer server = ClientServer.start(new ClientServerContext(1, log, chat, connections, 4096,
                     64 * 1024, Duration.ofSeconds(10), 256, System::currentTimeMillis), "127.0.0.1", 0);
             Socket socket = new Socket("127.0.0.1", server.port())) {
            socket.setSoTimeout(5_000);
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            DataInputStream in = new DataInputStream(socket.getInputStream());
            byte[] hello = Frames.hello("alice", "lobby", "phone").toByteArray();
            out.writeInt(hello.length);
            out.write(hello);
            out.flush();
            assertThat(read(in).getBodyCase()).isEqualTo(ClientEnvelope.BodyCase.WELCOME);
            assertThat(server.connectedClients()).isEqualTo(1);

            log.become(Role.BACKUP, 2, 3, "127.0.0.1:7003");

            Rejection r = read(in).getRejection();
            assertThat(r.getReason()).isEqualTo(Rejection.Reason.NOT_LEADER);
            assertThat(r.getLeaderAddress()).isEqualTo("127.0.0.1:7003");
            assertThat(in.read()).as("then the connection is closed").isEqualTo(-1);
        }
    }

    @Test
    void closingTheServerTellsItsClientsItIsShuttingDown() throws Exception {
        LocalConnections connections = new LocalConnections();
        ChatStateMachine chat = new ChatStateMachine(1, ChatLimits.DEFAULTS, connections);
        try (InProcessReplicator log = InProcessReplicator.threaded(chat)) {
            // Its connection never says Hello: a long hello deadline keeps it until the close.
            ClientServer server = ClientServer.start(new ClientServerContext(1, log, chat, connections, 4096,
                    64 * 1024, Duration.ofSeconds(10), 256, System::currentTimeMillis, new ClientTraffic(),
                    new ClientLimits(Duration.ofHours(1))), "127.0.0.1", 0);
            try (Socket socket = new Socket("127.0.0.1", server.port())) {
                socket.setSoTimeout(5_000);
                DataInputStream in = new DataInputStream(socket.getInputStream());
                org.awaitility.Awaitility.await().until(() -> server.connectedClients() == 1);
                server.close();
                assertThat(read(in).getRejection().getReason()).isEqualTo(Rejection.Reason.SHUTTING_DOWN);
                assertThat(in.read()).isEqualTo(-1);
            }
        }
    }

    @Test
    void aTokenCheckHeldBackOnThePoolDoesNotStopTheEventLoopServingAnotherConnection() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        ClientAuthenticator costly = new ClientAuthenticator() {
            @Override
            public Optional<Rejection> check(Hello hello) {
                if (hello.getUsername().equals("slow")) {
                    try {
                        release.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return Optional.empty();
            }

            @Override
            public boolean cheap() {
                return false; // an ES256-like check: it must not run on the event loop
            }
        };
        LocalConnections connections = new LocalConnections();
        ChatStateMachine chat = new ChatStateMachine(1, ChatLimits.DEFAULTS, connections);
        try (InProcessReplicator log = InProcessReplicator.threaded(chat);
             // One event loop: both connections are served by the same thread.
             ClientServer server = ClientServer.start(new ClientServerContext(1, log, chat, connections, 4096,
                     64 * 1024, Duration.ofSeconds(10), 256, System::currentTimeMillis, new ClientTraffic(), costly),
                     "127.0.0.1", 0, null, 1);
             Socket slow = new Socket("127.0.0.1", server.port());
             Socket other = new Socket("127.0.0.1", server.port())) {
            slow.setSoTimeout(30_000);
            other.setSoTimeout(30_000);
            DataOutputStream slowOut = new DataOutputStream(slow.getOutputStream());
            byte[] slowHello = Frames.hello("slow", "lobby", "slow-phone").toByteArray();
            byte[] ping = Frames.envelope().setPing(io.messenger.proto.client.Ping.newBuilder().setNonce(9)).build()
                    .toByteArray();
            slowOut.writeInt(slowHello.length);
            slowOut.write(slowHello);
            slowOut.writeInt(ping.length);
            slowOut.write(ping);
            slowOut.flush();
            DataOutputStream otherOut = new DataOutputStream(other.getOutputStream());
            byte[] otherHello = Frames.hello("bob", "lobby", "bob-phone").toByteArray();
            otherOut.writeInt(otherHello.length);
            otherOut.write(otherHello);
            otherOut.flush();

            ClientEnvelope answer = read(new DataInputStream(other.getInputStream()));
            assertThat(answer.getBodyCase())
                    .as("served while the other connection's check is held back")
                    .isEqualTo(ClientEnvelope.BodyCase.WELCOME);

            release.countDown();
            DataInputStream slowIn = new DataInputStream(slow.getInputStream());
            // The Welcome comes from the apply thread, the Pong from the event loop: either may be written first.
            java.util.Set<ClientEnvelope.BodyCase> seen = java.util.EnumSet.noneOf(ClientEnvelope.BodyCase.class);
            while (!seen.contains(ClientEnvelope.BodyCase.WELCOME) || !seen.contains(ClientEnvelope.BodyCase.PONG)) {
                ClientEnvelope e = read(slowIn);
                seen.add(e.getBodyCase());
                if (e.hasPong()) {
                    assertThat(e.getPong().getNonce()).as("the Ping sent after the Hello").isEqualTo(9);
                }
                assertThat(e.hasRejection()).as("%s", e).isFalse();
            }
        } finally {
            release.countDown();
        }
    }
}
