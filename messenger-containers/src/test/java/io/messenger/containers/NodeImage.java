package io.messenger.containers;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.images.builder.ImageFromDockerfile;

import com.github.dockerjava.api.exception.NotFoundException;

/**
 * The node image the container tests run: deploy/Dockerfile built over the server's current app jar,
 * on whichever Java 17 base this Docker engine has (the normal one, or the local jlink one).
 * Skips the calling test, with the reason, when no Docker engine answers.
 */
final class NodeImage {

    static final String NORMAL_BASE = "eclipse-temurin:17-jre";
    static final String LOCAL_BASE = "messenger/jre-base:17";
    /** Rebuilt at every run from the current jar; one tag, so that runs do not pile up images. */
    static final String TEST_IMAGE = "messenger/server:containertest";

    private static final Logger log = LoggerFactory.getLogger(NodeImage.class);
    private static final Duration BASE_SCRIPT_TIMEOUT = Duration.ofMinutes(3);

    private static String built;

    private NodeImage() {
    }

    /** The image name to run; built once per JVM. Aborts the caller (skip) without a Docker engine. */
    static synchronized String resolve() {
        Assumptions.assumeTrue(DockerClientFactory.instance().isDockerAvailable(), DockerEngineCondition.NO_ENGINE);
        if (built != null) {
            return built;
        }
        String given = System.getProperty("containers.image", "");
        if (!given.isBlank()) {
            if (!present(given)) {
                throw new IllegalStateException("containers.image=" + given + " is not present in the Docker engine");
            }
            built = given;
            return built;
        }
        Path jar = requiredFile("containers.server.jar", "run the package phase first: mvn -o package");
        Path dockerfile = requiredFile("containers.dockerfile", "deploy/Dockerfile is part of the repository");
        String base = base(dockerfile);
        long started = System.nanoTime();
        Optional<String> previous = imageId(TEST_IMAGE);
        new ImageFromDockerfile(TEST_IMAGE, false)
                .withFileFromPath("Dockerfile", dockerfile)
                .withFileFromPath("messenger-server.jar", jar)
                .withBuildArg("JRE_IMAGE", base)
                .get();
        log.info("node image {} built on {} in {} ms", TEST_IMAGE, base,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        // Each build with a new jar leaves the previous image untagged; drop it rather than pile them up.
        previous.filter(id -> !id.equals(imageId(TEST_IMAGE).orElse(id))).ifPresent(NodeImage::removeQuietly);
        built = TEST_IMAGE;
        return built;
    }

    private static String base(Path dockerfile) {
        if (present(NORMAL_BASE)) {
            return NORMAL_BASE;
        }
        if (present(LOCAL_BASE)) {
            return LOCAL_BASE;
        }
        // Neither is here yet: the deploy script pulls the normal one or builds the local one.
        Path script = dockerfile.resolveSibling("jre-base.sh");
        try {
            Process process = new ProcessBuilder(script.toString())
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
            String name = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!process.waitFor(BASE_SCRIPT_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException(script + " did not finish within " + BASE_SCRIPT_TIMEOUT);
            }
            if (process.exitValue() != 0 || name.isEmpty()) {
                throw new IllegalStateException(script + " could not provide a Java base image (exit "
                        + process.exitValue() + ")");
            }
            return name;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + script, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + script, e);
        }
    }

    private static Optional<String> imageId(String image) {
        try {
            return Optional.ofNullable(DockerClientFactory.instance().client().inspectImageCmd(image).exec().getId());
        } catch (NotFoundException e) {
            return Optional.empty();
        }
    }

    private static void removeQuietly(String imageId) {
        try {
            DockerClientFactory.instance().client().removeImageCmd(imageId).exec();
        } catch (RuntimeException e) {
            // Still used by a container of another run, or already gone: it is only disk space.
            log.debug("previous node image {} not removed: {}", imageId, e.toString());
        }
    }

    private static boolean present(String image) {
        return !DockerClientFactory.instance().client().listImagesCmd()
                .withImageNameFilter(image).exec().isEmpty();
    }

    private static Path requiredFile(String property, String hint) {
        String value = System.getProperty(property, "");
        if (value.isBlank()) {
            throw new IllegalStateException("system property " + property + " is not set (the module's pom sets it)");
        }
        Path path = Paths.get(value).toAbsolutePath().normalize();
        if (!Files.isRegularFile(path)) {
            throw new IllegalStateException(path + " does not exist: " + hint);
        }
        return path;
    }
}
