package io.messenger.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.proto.client.ClientEnvelope;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import java.nio.channels.ClosedChannelException;
import java.security.cert.CertificateException;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/**
 * A failed TLS handshake ends the client only when its settings cannot work with the server; a server that dies
 * or stalls mid-handshake (a leader killed during a failover) is an ordinary lost connection that is retried.
 */
class ClientHandlerTlsTest {

    private final List<String> tlsFailures = new ArrayList<>();
    private final List<String> closes = new ArrayList<>();

    private EmbeddedChannel channel() {
        return new EmbeddedChannel(new ClientHandler(new ClientHandler.Connection() {
            @Override
            public void received(ClientEnvelope envelope) {
            }

            @Override
            public void closed(String why) {
                closes.add(why);
            }

            @Override
            public void tlsFailed(String sentence) {
                tlsFailures.add(sentence);
            }
        }));
    }

    @Test
    void aConnectionClosedMidHandshakeIsRetriedNotFinal() {
        EmbeddedChannel channel = channel();
        channel.pipeline().fireUserEventTriggered(new SslHandshakeCompletionEvent(new ClosedChannelException()));

        assertThat(channel.isOpen()).isFalse();
        assertThat(tlsFailures).isEmpty();
        assertThat(closes).singleElement().asString()
                .isEqualTo("the server closed the connection during the TLS handshake (a node does so while new"
                        + " connections arrive faster than it allows)");
    }

    @Test
    void aConnectionResetMidHandshakeIsRetriedAsAClose() {
        EmbeddedChannel channel = channel();
        SSLHandshakeException failure = new SSLHandshakeException("handshake failed");
        failure.initCause(new java.io.IOException("Connection reset by peer"));
        channel.pipeline().fireUserEventTriggered(new SslHandshakeCompletionEvent(failure));

        assertThat(tlsFailures).isEmpty();
        assertThat(closes).singleElement().asString().startsWith("the server closed the connection during the TLS");
    }

    @Test
    void aHandshakeTimeoutIsRetriedNotFinal() {
        EmbeddedChannel channel = channel();
        channel.pipeline().fireUserEventTriggered(
                new SslHandshakeCompletionEvent(new SslHandshakeTimeoutException("handshake timed out after 10000ms")));

        assertThat(tlsFailures).isEmpty();
        assertThat(closes).hasSize(1);
    }

    @Test
    void aCertificateTheCaDidNotSignIsFinal() {
        EmbeddedChannel channel = channel();
        SSLHandshakeException failure = new SSLHandshakeException("PKIX path building failed");
        failure.initCause(new CertificateException("unable to find valid certification path to requested target"));
        channel.pipeline().fireUserEventTriggered(new SslHandshakeCompletionEvent(failure));

        assertThat(tlsFailures).singleElement().asString().contains("not signed by the CA");
        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void aServerWithoutTlsIsFinal() {
        EmbeddedChannel channel = channel();
        channel.pipeline().fireUserEventTriggered(new SslHandshakeCompletionEvent(new NotSslRecordException("not SSL")));

        assertThat(tlsFailures).singleElement().asString().contains("does not speak TLS");
    }
}
