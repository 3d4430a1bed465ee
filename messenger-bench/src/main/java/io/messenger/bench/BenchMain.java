package io.messenger.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Entry point of {@code build/bench.app}: load comparison against NATS JetStream, leader failover,
 * idle-connection capacity, and the JMH microbenchmarks.
 */
@Command(name = "bench.app", mixinStandardHelpOptions = true,
        description = "Measures the messenger cluster through its real client library.",
        subcommands = {CompareCommand.class, FailoverCommand.class, RestartCommand.class, ConnectionsCommand.class,
                JmhCommand.class})
public final class BenchMain implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        CommandLine commandLine = new CommandLine(new BenchMain());
        commandLine.setExecutionExceptionHandler((e, cmd, parsed) -> {
            // A failure a user can act on gets one sentence; the stack trace is for --verbose-minded logs.
            cmd.getErr().println("bench: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            return 1;
        });
        System.exit(commandLine.execute(args));
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
