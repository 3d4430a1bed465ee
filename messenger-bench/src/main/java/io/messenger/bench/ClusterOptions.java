package io.messenger.bench;

import io.messenger.bench.cluster.NodeControl;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * How to reach the messenger nodes' admin endpoints and how to kill and restart them.
 */
final class ClusterOptions {

    @Option(names = "--admin", split = ",", defaultValue = "127.0.0.1:8001,127.0.0.1:8002,127.0.0.1:8003",
            description = "Admin endpoints (host:port) of every node (default: ${DEFAULT-VALUE}).")
    List<String> admins;

    @Option(names = "--kill-with", defaultValue = "PID",
            description = "PID: SIGKILL the local node's process (PID file); DOCKER: docker kill its container "
                    + "(default: ${DEFAULT-VALUE}).")
    NodeControl.Method method;

    @Option(names = "--restart-command", defaultValue = "scripts/local-cluster.sh start",
            description = "Shell command that starts the killed local node again; {id} is its id "
                    + "(default: ${DEFAULT-VALUE}).")
    String restartCommand;

    @Option(names = "--container", defaultValue = "messenger-node{id}-1",
            description = "Container name of node {id} for --kill-with DOCKER (default: ${DEFAULT-VALUE}).")
    String container;

    NodeControl control(SystemOptions systems) {
        return new NodeControl(admins, systems.pidDir, method, restartCommand, container);
    }
}
