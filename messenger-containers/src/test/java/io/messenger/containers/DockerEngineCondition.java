package io.messenger.containers;

import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.testcontainers.DockerClientFactory;

/**
 * Disables a container test class, with the reason, when no Docker engine answers. A disabled class is reported
 * as skipped together with that sentence (an assumption failing in {@code @BeforeAll} would be reported as no
 * test run at all, without it).
 */
final class DockerEngineCondition implements ExecutionCondition {

    static final String NO_ENGINE = "no Docker engine answers, so the container tests are skipped"
            + " (to run them: a running dockerd; as root on Debian: .ci/docker-engine.sh start)";

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        return DockerClientFactory.instance().isDockerAvailable()
                ? ConditionEvaluationResult.enabled("a Docker engine answers")
                : ConditionEvaluationResult.disabled(NO_ENGINE);
    }
}
