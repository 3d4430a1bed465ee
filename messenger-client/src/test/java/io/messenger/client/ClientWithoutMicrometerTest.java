package io.messenger.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The library runs without Micrometer when no registry is given: a client joins, sends and is acknowledged in a
 * separate JVM whose class path is this test's minus every Micrometer (and metrics-only) jar.
 */
class ClientWithoutMicrometerTest {

    /** Micrometer and what only it pulls in (its histograms, and the Prometheus registry of the tests). */
    private static final Pattern METRICS_JAR = Pattern.compile(
            "micrometer|HdrHistogram|LatencyUtils|prometheus", Pattern.CASE_INSENSITIVE);

    @Test
    void aClientWithoutARegistryJoinsSendsAndIsAcknowledgedWithoutMicrometer(@TempDir Path dir) throws Exception {
        String full = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> entries = Arrays.stream(full.split(Pattern.quote(File.pathSeparator))).filter(e -> !e.isBlank())
                .toList();
        List<String> kept = entries.stream().filter(e -> !METRICS_JAR.matcher(Paths.get(e).getFileName().toString())
                .find()).toList();
        assertThat(entries).as("the test class path names Micrometer, so removing it proves something")
                .anyMatch(e -> e.contains("micrometer-core"));
        assertThat(kept).noneMatch(e -> e.contains("micrometer"));

        Path output = dir.resolve("child.out");
        Path java = Paths.get(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(java.toString(), "-Dio.netty.leakDetectionLevel=paranoid",
                "-cp", String.join(File.pathSeparator, kept), NoMicrometerClient.class.getName())
                .redirectErrorStream(true).redirectOutput(output.toFile()).start();
        try {
            boolean exited = child.waitFor(90, TimeUnit.SECONDS);
            String text = Files.readString(output, StandardCharsets.UTF_8);
            assertThat(exited).as("the child JVM exited; its output:%n%s", text).isTrue();
            assertThat(child.exitValue()).as("exit code; output:%n%s", text).isZero();
            assertThat(text).contains("no Micrometer on the class path", "acknowledged as room sequence 1")
                    .doesNotContain("NoClassDefFoundError").doesNotContain("LEAK:");
        } finally {
            if (child.isAlive()) {
                child.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
