package io.messenger.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ServerAddressesTest {

    @Test
    void parsesASeedList() {
        assertThat(ServerAddresses.parse(" 127.0.0.1:7001, node2:7002,[::1]:7003 "))
                .extracting(ServerAddresses::format)
                .containsExactly("127.0.0.1:7001", "node2:7002", "::1:7003");
    }

    @Test
    void refusesBadEntriesWithASentence() {
        assertThatThrownBy(() -> ServerAddresses.parse("")).hasMessageContaining("empty");
        assertThatThrownBy(() -> ServerAddresses.parse("host")).hasMessageContaining("'host' is not host:port");
        assertThatThrownBy(() -> ServerAddresses.parse("host:x")).hasMessageContaining("no numeric port");
        assertThatThrownBy(() -> ServerAddresses.parse("host:70000")).hasMessageContaining("1-65535");
    }

    @Test
    void backoffGrowsJitteredAndCapped() {
        ReconnectBackoff backoff = new ReconnectBackoff(Duration.ofMillis(50), Duration.ofSeconds(1));
        for (int i = 0; i < 100; i++) {
            assertThat(backoff.delayNanos(1)).isBetween(25_000_000L, 50_000_000L);
            assertThat(backoff.delayNanos(3)).isBetween(100_000_000L, 200_000_000L);
            assertThat(backoff.delayNanos(40)).isBetween(500_000_000L, 1_000_000_000L);
        }
    }

    @Test
    void configRejectsBadNamesWithASentence() {
        assertThatThrownBy(() -> MessengerClient.builder().servers("h:1").username("-bad").room("lobby").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("Username '-bad' is invalid");
        assertThatThrownBy(() -> MessengerClient.builder().servers("h:1").username("ok").room("a b").build())
                .hasMessageStartingWith("Room 'a b' is invalid");
        assertThatThrownBy(() -> MessengerClient.builder().servers("h:1").username("ok").room("r")
                .clientId("x".repeat(65)).build()).hasMessageContaining("Client id");
        assertThatThrownBy(() -> MessengerClient.builder().servers("h:1").username("ok").room("r")
                .maxPendingSends(0).build()).hasMessageContaining("at least 1");
        assertThatThrownBy(() -> MessengerClient.builder().servers("h:1").username("ok").room("r")
                .maxPendingSends(1025).build())
                .hasMessageStartingWith("The outgoing buffer may hold at most 1024 messages, not 1025");
        assertThat(MessengerClient.builder().servers("h:1").username("ok").room("r").maxPendingSends(1024).config()
                .maxPendingSends()).isEqualTo(1024);
    }
}
