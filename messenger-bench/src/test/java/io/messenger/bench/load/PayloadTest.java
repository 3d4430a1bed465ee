package io.messenger.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PayloadTest {

    @Test
    void roundTripsAndPadsToTheRequestedSize() {
        Payload payload = new Payload("k3x9", 42, 1234567, 987654321012345L);

        String text = payload.encode(128);

        assertThat(text).hasSize(128);
        assertThat(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)).hasSize(128);
        assertThat(Payload.parse(text)).isEqualTo(payload);
    }

    @Test
    void headerLongerThanTheSizeIsKeptWhole() {
        Payload payload = new Payload("run", 1, 2, 3);

        assertThat(Payload.parse(payload.encode(4))).isEqualTo(payload);
    }

    @Test
    void foreignOrMalformedTextIsNotABenchMessage() {
        assertThat(Payload.parse("hello everyone")).isNull();
        assertThat(Payload.parse("bench|run|1|2")).isNull();
        assertThat(Payload.parse("bench|run|x|2|3|")).isNull();
        assertThat(Payload.parse(null)).isNull();
    }
}
