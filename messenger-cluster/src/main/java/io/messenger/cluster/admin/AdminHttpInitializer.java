package io.messenger.cluster.admin;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Builds an admin connection's pipeline: HTTP/1.1 codec, a small body limit, then the endpoints. */
public final class AdminHttpInitializer extends ChannelInitializer<Channel> {

    /** Admin requests carry no body worth having; anything larger is refused by the aggregator. */
    static final int MAX_REQUEST_BYTES = 8 * 1024;

    private final Supplier<Map<String, Object>> status;
    private final BooleanSupplier healthy;

    private final Supplier<String> metrics;

    public AdminHttpInitializer(Supplier<Map<String, Object>> status, BooleanSupplier healthy) {
        this(status, healthy, null);
    }

    /** @param metrics the Prometheus scrape for {@code /metrics}, or {@code null} to not serve it */
    public AdminHttpInitializer(Supplier<Map<String, Object>> status, BooleanSupplier healthy,
                                Supplier<String> metrics) {
        this.status = status;
        this.healthy = healthy;
        this.metrics = metrics;
    }

    @Override
    protected void initChannel(Channel channel) {
        channel.pipeline()
                .addLast(AdminPipeline.HTTP_CODEC, new HttpServerCodec())
                .addLast(AdminPipeline.AGGREGATOR, new HttpObjectAggregator(MAX_REQUEST_BYTES))
                .addLast(AdminPipeline.ADMIN_HANDLER, new AdminHttpHandler(status, healthy, metrics));
    }
}
