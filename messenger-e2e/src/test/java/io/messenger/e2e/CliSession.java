package io.messenger.e2e;

import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.awaitility.core.ConditionTimeoutException;

/**
 * The CLI chat client run as a real process from its launcher jar in scripted mode: lines written to its
 * stdin are sent, its stdout (the transcript) and stderr are captured line by line and copied to files.
 */
public final class CliSession implements AutoCloseable {

    private final String name;
    private final Process process;
    private final Writer stdin;
    private final List<String> stdout = new CopyOnWriteArrayList<>();
    private final List<String> stderr = new CopyOnWriteArrayList<>();
    private final List<Thread> pumps = new ArrayList<>();

    private final Path logFile;

    private CliSession(String name, Process process, Path dir) {
        this.name = name;
        this.logFile = dir.resolve(name + ".log");
        this.process = process;
        this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        pumps.add(pump(process.getInputStream(), stdout, dir.resolve(name + ".out")));
        pumps.add(pump(process.getErrorStream(), stderr, dir.resolve(name + ".err")));
    }

    /**
     * Starts {@code java -jar <client app jar> <args>} with stdin piped.
     *
     * @param name names the transcript files under {@code dir}
     */
    public static CliSession start(String name, Path dir, List<String> args) {
        List<String> command = new ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElse("java"),
                "-Dio.netty.leakDetectionLevel=paranoid", "-Xmx128m", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-jar", AppJars.client().toString(),
                // The CLI logs nowhere by default; a file lets the test see Netty's leak reports.
                "--log-file", dir.resolve(name + ".log").toString()));
        command.addAll(args);
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(name + ".cmd"), String.join(" ", command) + System.lineSeparator(),
                    StandardCharsets.UTF_8);
            return new CliSession(name, ProcessReaper.watch(new ProcessBuilder(command).start()), dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start CLI " + name, e);
        }
    }

    private Thread pump(InputStream from, List<String> into, Path copy) {
        Thread thread = new Thread(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(from, StandardCharsets.UTF_8));
                    Writer file = Files.newBufferedWriter(copy, StandardCharsets.UTF_8)) {
                String line;
                while ((line = reader.readLine()) != null) {
                    into.add(line);
                    file.write(line);
                    file.write(System.lineSeparator());
                    file.flush();
                }
            } catch (IOException e) {
                into.add("(e2e: reading " + name + " failed: " + e + ")");
            }
        }, "cli-" + name + "-" + copy.getFileName());
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    public String name() {
        return name;
    }

    /** Types one line into the client (a message, or a command such as {@code /quit}). */
    public void type(String line) {
        try {
            stdin.write(line);
            stdin.write('\n');
            stdin.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("CLI " + name + " no longer reads its input" + describe(), e);
        }
    }

    /** Closes stdin: in scripted mode, end of input means leave. */
    public void endInput() {
        try {
            stdin.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close the input of CLI " + name, e);
        }
    }

    /** Every stdout line so far. */
    public List<String> transcript() {
        return List.copyOf(stdout);
    }

    /** Every stderr line so far. */
    public List<String> errors() {
        return List.copyOf(stderr);
    }

    /** Waits until a stdout line matches; fails with both streams in the message. */
    public String awaitLine(String what, Predicate<String> matching, Duration bound) {
        try {
            await(name + ": " + what).atMost(bound).pollInterval(Duration.ofMillis(50))
                    .until(() -> stdout.stream().anyMatch(matching));
        } catch (ConditionTimeoutException e) {
            throw new AssertionError(name + " never printed " + what + describe(), e);
        }
        return stdout.stream().filter(matching).findFirst().orElseThrow();
    }

    /** Waits for the process to exit and returns its exit code, killing it if it does not within the bound. */
    public int awaitExit(Duration bound) {
        try {
            if (!process.waitFor(bound.toMillis(), TimeUnit.MILLISECONDS)) {
                close();
                throw new AssertionError(name + " did not exit within " + bound.toSeconds() + " s" + describe());
            }
            for (Thread pump : pumps) {
                // The streams end with the process; let the pumps copy the last lines.
                pump.join(2_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted waiting for " + name, e);
        }
        ProcessReaper.release(process);
        return process.exitValue();
    }

    public boolean alive() {
        return process.isAlive();
    }

    /** Lines of the client's log where Netty's leak detector reported a leaked buffer. */
    public List<String> leakReports() {
        if (!Files.exists(logFile)) {
            return List.of();
        }
        try (java.util.stream.Stream<String> lines = Files.lines(logFile, StandardCharsets.UTF_8)) {
            return lines.filter(line -> line.contains("LEAK: ")).map(line -> name + ": " + line).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + logFile, e);
        }
    }

    /** Both streams, for failure messages. */
    public String describe() {
        return System.lineSeparator() + "--- " + name + " stdout:" + System.lineSeparator() + String.join(
                System.lineSeparator(), stdout) + System.lineSeparator() + "--- " + name + " stderr:"
                + System.lineSeparator() + String.join(System.lineSeparator(), stderr);
    }

    /** SIGKILLs the client if it still runs. */
    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        ProcessReaper.release(process);
    }
}
