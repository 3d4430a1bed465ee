package io.messenger.cluster.admin;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Answers {@code GET /status}, {@code GET /health} and, if configured, {@code GET /metrics}; every other path is 404, any other method 405. */
final class AdminHttpHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private static final Logger log = LoggerFactory.getLogger(AdminHttpHandler.class);

    private final Supplier<Map<String, Object>> status;
    /** The Prometheus text exposition format's content type. */
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

    private final BooleanSupplier healthy;
    private final Supplier<String> metrics;

    AdminHttpHandler(Supplier<Map<String, Object>> status, BooleanSupplier healthy, Supplier<String> metrics) {
        this.status = status;
        this.healthy = healthy;
        this.metrics = metrics;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        if (!request.decoderResult().isSuccess()) {
            respond(ctx, request, HttpResponseStatus.BAD_REQUEST, Map.of("error", "malformed request"), false);
            return;
        }
        String path = new QueryStringDecoder(request.uri()).path();
        // Read-only, whatever the path: nothing here changes the node.
        if (!request.method().equals(HttpMethod.GET) && !request.method().equals(HttpMethod.HEAD)) {
            FullHttpResponse response = response(HttpResponseStatus.METHOD_NOT_ALLOWED,
                    Map.of("error", request.method() + " is not allowed; the admin endpoint is read-only, use GET"));
            response.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
            send(ctx, request, response, true);
            return;
        }
        boolean known = path.equals("/status") || path.equals("/health")
                || (metrics != null && path.equals("/metrics"));
        if (!known) {
            respond(ctx, request, HttpResponseStatus.NOT_FOUND, Map.of("error", "no such endpoint: " + path), true);
            return;
        }
        if (path.equals("/metrics")) {
            ByteBuf content = Unpooled.copiedBuffer(metrics.get(), StandardCharsets.UTF_8);
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    content);
            response.headers()
                    .set(HttpHeaderNames.CONTENT_TYPE, PROMETHEUS_TEXT)
                    .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
            HttpUtil.setContentLength(response, content.readableBytes());
            send(ctx, request, response, true);
        } else if (path.equals("/health")) {
            boolean ok = healthy.getAsBoolean();
            respond(ctx, request, ok ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                    Map.of("status", ok ? "ok" : "unavailable"), true);
        } else {
            respond(ctx, request, HttpResponseStatus.OK, status.get(), true);
        }
    }

    private static FullHttpResponse response(HttpResponseStatus code, Map<String, ?> body) {
        ByteBuf content = Unpooled.copiedBuffer(JsonWriter.write(body) + "\n", StandardCharsets.UTF_8);
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, code, content);
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, "application/json; charset=utf-8")
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        HttpUtil.setContentLength(response, content.readableBytes());
        return response;
    }

    private static void respond(ChannelHandlerContext ctx, FullHttpRequest request, HttpResponseStatus code,
                                Map<String, ?> body, boolean keepAliveAllowed) {
        send(ctx, request, response(code, body), keepAliveAllowed);
    }

    private static void send(ChannelHandlerContext ctx, FullHttpRequest request, FullHttpResponse response,
                             boolean keepAliveAllowed) {
        if (request.method().equals(HttpMethod.HEAD)) {
            // HEAD keeps the headers (Content-Length included) and sends no body.
            response.content().clear();
        }
        boolean keepAlive = keepAliveAllowed && HttpUtil.isKeepAlive(request);
        HttpUtil.setKeepAlive(response, keepAlive);
        var written = ctx.writeAndFlush(response);
        if (!keepAlive) {
            written.addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.warn("closing admin connection from {}: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }
}
