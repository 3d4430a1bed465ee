package io.messenger.bench.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class NodeStatusTest {

    @Test
    void readsFlatStatus() {
        NodeStatus status = NodeStatus.parse("127.0.0.1:8001",
                "{\"nodeId\":2,\"role\":\"LEADER\",\"epoch\":7,\"leaderId\":2,\"leaderClientAddress\":\"127.0.0.1:7002\","
                        + "\"heapUsedBytes\":12345678,\"pid\":4242}");

        assertThat(status.nodeId()).isEqualTo(2);
        assertThat(status.leaderId()).isEqualTo(2);
        assertThat(status.heapUsedBytes()).hasValue(12345678);
        assertThat(status.pid()).hasValue(4242);
        assertThat(status.fields()).containsEntry("leaderClientAddress", "127.0.0.1:7002");
    }

    @Test
    void readsNestedStatusAndToleratesMissingFields() {
        NodeStatus status = NodeStatus.parse("a", "{\"cluster\": {\"nodeId\": 3, \"leaderId\": 0, \"note\": \"a \\\"q\\\"\"},"
                + " \"jvm\": {\"heapUsed\": 99}}");

        assertThat(status.nodeId()).isEqualTo(3);
        assertThat(status.leaderId()).isZero();
        assertThat(status.heapUsedBytes()).hasValue(99);
        assertThat(status.pid()).isEmpty();
    }
}
