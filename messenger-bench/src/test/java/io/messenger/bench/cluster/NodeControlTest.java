package io.messenger.bench.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class NodeControlTest {

    @Test
    void aLiveProcessRunsAndAKilledChildStopsRunningEvenBeforeItIsReaped() throws Exception {
        assertThat(NodeControl.running(ProcessHandle.current().pid())).isTrue();
        Process child = new ProcessBuilder("sleep", "60").start();
        try {
            assertThat(NodeControl.running(child.pid())).isTrue();
            child.toHandle().destroyForcibly();
            // Until waitFor() reaps it, the child is a zombie: killed, but still in /proc.
            await().atMost(Duration.ofSeconds(30)).until(() -> !NodeControl.running(child.pid()));
        } finally {
            child.destroyForcibly().waitFor();
        }
        assertThat(NodeControl.running(Long.MAX_VALUE)).isFalse();
    }
}
