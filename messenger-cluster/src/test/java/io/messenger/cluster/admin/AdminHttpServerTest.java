package io.messenger.cluster.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AdminHttpServerTest {

    private final AtomicBoolean healthy = new AtomicBoolean(true);
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private AdminHttpServer server;

    @BeforeEach
    void start() {
        server = AdminHttpServer.start("127.0.0.1", 0, () -> {
            Map<String, Object> status = new LinkedHashMap<>();
            status.put("nodeId", 2);
            status.put("role", "LEADER");
            status.put("leaderClientAddress", "127.0.0.1:7002");
            status.put("healthy", healthy.get());
            return status;
        }, healthy::get);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private HttpResponse<String> call(String method, String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .method(method, HttpRequest.BodyPublishers.noBody())
                .timeout(Duration.ofSeconds(5))
                .build();
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void statusIsTheSuppliedMapAsJson() throws Exception {
        HttpResponse<String> response = call("GET", "/status");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type")).hasValue("application/json; charset=utf-8");
        assertThat(response.body().trim()).isEqualTo(
                "{\"nodeId\":2,\"role\":\"LEADER\",\"leaderClientAddress\":\"127.0.0.1:7002\",\"healthy\":true}");
    }

    @Test
    void healthFollowsTheSupplier() throws Exception {
        HttpResponse<String> ok = call("GET", "/health?verbose=1");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.body().trim()).isEqualTo("{\"status\":\"ok\"}");
        healthy.set(false);
        HttpResponse<String> down = call("GET", "/health");
        assertThat(down.statusCode()).isEqualTo(503);
        assertThat(down.body().trim()).isEqualTo("{\"status\":\"unavailable\"}");
    }

    @Test
    void unknownPathIs404AndOtherMethodsAre405() throws Exception {
        assertThat(call("GET", "/nope").statusCode()).isEqualTo(404);
        HttpResponse<String> post = call("POST", "/status");
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("allow")).hasValue("GET, HEAD");
        assertThat(call("DELETE", "/health").statusCode()).isEqualTo(405);
    }

    @Test
    void manyRequestsOnOneKeptAliveConnection() throws Exception {
        for (int i = 0; i < 50; i++) {
            assertThat(call("GET", "/status").statusCode()).isEqualTo(200);
        }
    }
}
