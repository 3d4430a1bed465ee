package io.messenger.e2e;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The shaded launcher jars the process tests start, located through system properties the build sets.
 * Under failsafe ({@code mvn verify}) every jar must exist, so a missing one fails the test; a targeted
 * surefire run of a process test skips it with the reason instead.
 */
public final class AppJars {

    private AppJars() {
    }

    /** The server's runnable jar ({@code messenger-server-*-app.jar}). */
    public static Path server() {
        return locate("e2e.server.jar", "messenger-server");
    }

    /** The CLI client's runnable jar ({@code messenger-client-*-app.jar}). */
    public static Path client() {
        return locate("e2e.client.jar", "messenger-client");
    }

    /** Where process tests put their logs, data directories and transcripts. */
    public static Path workDir() {
        return Path.of(System.getProperty("e2e.work.dir", "target/e2e")).toAbsolutePath();
    }

    private static Path locate(String property, String module) {
        String value = System.getProperty(property);
        boolean required = Boolean.getBoolean("e2e.jars.required");
        if (value == null) {
            String reason = "system property " + property + " is not set; run through Maven (mvn verify)";
            if (required) {
                throw new IllegalStateException(reason);
            }
            assumeTrue(false, reason);
        }
        Path jar = Path.of(value).toAbsolutePath().normalize();
        if (!Files.isRegularFile(jar)) {
            String reason = jar + " does not exist: build it with `mvn -o -pl " + module + " -am package`"
                    + " or run the whole build with `mvn verify`";
            if (required) {
                throw new IllegalStateException(reason);
            }
            assumeTrue(false, reason);
        }
        return jar;
    }
}
