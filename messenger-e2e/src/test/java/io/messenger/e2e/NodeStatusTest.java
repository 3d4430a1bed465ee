package io.messenger.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class NodeStatusTest {

    @Test
    void parsesTheAdminStatusDocument() {
        NodeStatus status = NodeStatus.parse("{\"nodeId\": 2, \"role\": \"LEADER\", \"leaderId\": 2, \"epoch\": 7,"
                + " \"leaderClientAddress\": \"127.0.0.1:7002\", \"lastIndex\": 41, \"commitIndex\": 40,"
                + " \"appliedIndex\": 40, \"connectedPeers\": 2}");

        assertThat(status).isEqualTo(new NodeStatus(2, "LEADER", 2, 7, 41, 40));
        assertThat(status.leading()).isTrue();
    }

    @Test
    void aNodeWithoutLeaderReportsZero() {
        NodeStatus status = NodeStatus.parse("{\"nodeId\":3,\"role\":\"ELECTING\",\"leaderId\":null,\"epoch\":8}");

        assertThat(status.leaderId()).isZero();
        assertThat(status.leading()).isFalse();
    }

    @Test
    void somethingElseIsRefused() {
        assertThatThrownBy(() -> NodeStatus.parse("<html>not found</html>"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
