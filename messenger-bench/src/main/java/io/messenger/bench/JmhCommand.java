package io.messenger.bench;

import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

/**
 * Runs the JMH microbenchmarks packaged in this jar; every argument goes to JMH unchanged
 * (e.g. {@code jmh ClientFrameCodec -f 1 -wi 3 -i 5}).
 */
@Command(name = "jmh", description = "Run the JMH microbenchmarks (arguments go to JMH; try 'jmh -h').")
final class JmhCommand implements java.util.concurrent.Callable<Integer> {

    /** Everything after "jmh", options included, in order: JMH parses it. */
    @Unmatched
    List<String> args = new java.util.ArrayList<>();

    @Override
    public Integer call() throws Exception {
        org.openjdk.jmh.Main.main(args.toArray(String[]::new));
        return 0;
    }
}
