package io.messenger.cluster.admin;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.time.Duration;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Builds an admin connection's pipeline: HTTP/1.1 codec, a small body limit, a deadline for
 * each whole request, then the endpoints.
 */
public final class AdminHttpInitializer extends ChannelInitializer<Channel> {

    /** Admin requests carry no body worth having; anything larger is refused by the aggregator. */
    static final int MAX_REQUEST_BYTES = 8 * 1024;

    private final Supplier<Map<String, Object>> status;
    private final BooleanSupplier healthy;

    /** How long a connection may take to deliver a whole request, by default. */
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(5);

    private final Supplier<String> metrics;
    private final Duration requestTimeout;

    public AdminHttpInitializer(Supplier<Map<String, Object>> status, BooleanSupplier healthy) {
        this(status, healthy, null);
    }

    public AdminHttpInitializer(Supplier<Map<String, Object>> status, BooleanSupplier healthy,
                                Supplier<String> metrics) {
        this(status, healthy, metrics, DEFAULT_REQUEST_TIMEOUT);
    }

    /**
     * @param metrics the Prometheus scrape for {@code /metrics}, or {@code null} to not serve it
     * @param requestTimeout a connection that has not delivered a whole request this long after
     *     opening, or after its previous request, is closed
     */
    public AdminHttpInitializer(Supplier<Map<String, Object>> status, BooleanSupplier healthy,
                                Supplier<String> metrics, Duration requestTimeout) {
        if (requestTimeout.toMillis() < 1) {
            throw new IllegalArgumentException("admin request timeout must be at least 1 ms");
        }
        this.status = status;
        this.healthy = healthy;
        this.metrics = metrics;
        this.requestTimeout = requestTimeout;
    }

    @Override
    protected void initChannel(Channel channel) {
        channel.pipeline()
                .addLast(AdminPipeline.HTTP_CODEC, new HttpServerCodec())
                .addLast(AdminPipeline.AGGREGATOR, new HttpObjectAggregator(MAX_REQUEST_BYTES))
                .addLast(AdminPipeline.REQUEST_DEADLINE, new AdminRequestDeadline(requestTimeout))
                .addLast(AdminPipeline.ADMIN_HANDLER, new AdminHttpHandler(status, healthy, metrics));
    }
}
