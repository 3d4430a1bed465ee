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
}
