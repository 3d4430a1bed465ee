package io.messenger.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The processes one test started: its local cluster and the CLI sessions it types into. Registered
 * with {@code @RegisterExtension}, it stops them all after each test, a failed one included (the
 * sessions first, then the cluster), and then fails the test if a server or a CLI logged a Netty
 * leak report.
 */
final class StartedProcesses implements AfterEachCallback {

    private final List<CliSession> sessions = new ArrayList<>();
    private LocalCluster cluster;

    /** Stops {@code created} after the test, whether or not its start succeeds; returns it. */
    LocalCluster adopt(LocalCluster created) {
        if (cluster != null) {
            throw new IllegalStateException("this test already started a cluster");
        }
        cluster = created;
        return created;
    }

    /** Closes {@code started} after the test and checks its log for leak reports; returns it. */
    CliSession adopt(CliSession started) {
        sessions.add(started);
        return started;
    }

    @Override
    public void afterEach(ExtensionContext context) {
        List<String> cliLeaks;
        List<String> serverLeaks = List.of();
        try {
            for (CliSession session : sessions) {
                session.close();
            }
            cliLeaks = sessions.stream().flatMap(s -> s.leakReports().stream()).toList();
        } finally {
            sessions.clear();
            if (cluster != null) {
                cluster.close();
                serverLeaks = cluster.leakReports();
                cluster = null;
            }
        }
        assertThat(serverLeaks).as("Netty leak reports in server logs").isEmpty();
        assertThat(cliLeaks).as("Netty leak reports in CLI logs").isEmpty();
    }
}
