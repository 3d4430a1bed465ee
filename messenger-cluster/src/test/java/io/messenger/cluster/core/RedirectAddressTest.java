package io.messenger.cluster.core;

import static io.messenger.cluster.core.CoreHarness.envelopeFrom;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.messenger.cluster.NotLeaderException;
import io.messenger.proto.peer.Append;
import io.messenger.proto.peer.Heartbeat;
import org.junit.jupiter.api.Test;

/** The address a backup names in a redirect is the leader's own announcement, never a message's. */
class RedirectAddressTest {

    @Test
    void aHeartbeatNamingAnotherAddressDoesNotChangeTheRedirect() {
        CoreHarness cluster = new CoreHarness(3, 5);
        CoreHarness.Node backup = cluster.node(1);
        backup.core.receive(envelopeFrom(2, 1).setHeartbeat(Heartbeat.newBuilder()
                .setLeaderClientAddress("attacker:6666")).build());
        backup.core.receive(envelopeFrom(2, 1).setAppend(Append.newBuilder()
                .setLeaderClientAddress("attacker:6666")).build());
        assertThat(backup.core.status().leaderId()).isEqualTo(2);
        assertThat(backup.core.status().leaderClientAddress()).isEqualTo("host:7002");
        assertThatThrownBy(() -> backup.core.propose(ByteString.copyFromUtf8("x")))
                .isInstanceOfSatisfying(NotLeaderException.class,
                        e -> assertThat(e.leaderClientAddress()).isEqualTo("host:7002"));
    }

    @Test
    void anAddressAnnouncedAfterTheLeaderWasAdoptedIsUsedAndOnlyForThatMember() {
        CoreHarness cluster = new CoreHarness(3, 6);
        CoreHarness.Node backup = cluster.node(1);
        backup.core.receive(envelopeFrom(2, 1).setHeartbeat(Heartbeat.newBuilder()).build());
        backup.core.drain();
        backup.core.memberClientAddress(3, "elsewhere:1");
        assertThat(backup.core.status().leaderClientAddress()).isEqualTo("host:7002");
        backup.core.memberClientAddress(2, "moved:9");
        assertThat(backup.core.status().leaderClientAddress()).isEqualTo("moved:9");
        assertThat(backup.core.drain().statusChanged()).isTrue();
    }
}
