package io.messenger.cluster.admin;

/** Names of the handlers of an admin HTTP connection's pipeline, in pipeline order. */
public final class AdminPipeline {

    public static final String HTTP_CODEC = "httpCodec";
    public static final String AGGREGATOR = "aggregator";
    public static final String REQUEST_DEADLINE = "requestDeadline";
    public static final String ADMIN_HANDLER = "adminHandler";

    private AdminPipeline() {
    }
}
