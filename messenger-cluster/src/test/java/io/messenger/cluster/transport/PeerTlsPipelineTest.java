package io.messenger.cluster.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.cluster.PeerTlsFiles;
import io.messenger.cluster.testing.TestPki;
import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslHandler;
import io.messenger.proto.peer.PeerEnvelope;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The peer pipeline with TLS: the SslHandler first, in the right mode, and the node id read from certificates. */
class PeerTlsPipelineTest {

    private static final TestPki CA = TestPki.create("pipeline CA");

    @TempDir
    Path dir;

    private PeerChannelInitializer initializer(PeerTls tls) {
        PeerIdentity identity = new PeerIdentity(1, "test", Set.of(1, 2), "127.0.0.1:7001", null, tls);
        return new PeerChannelInitializer(identity, 64 * 1024, Duration.ofSeconds(10), Duration.ofSeconds(30),
                new PeerLinkEvents() {
                    @Override
                    public void linkEstablished(Channel ch, int peerId, boolean dialled) {
                    }

                    @Override
                    public void peerClientAddress(int peerId, String clientAddress) {
                    }

                    @Override
                    public void envelope(int peerId, PeerEnvelope envelope) {
                    }
                });
    }

    @Test
    void theSslHandlerComesFirstOnBothSidesAcceptingInServerModeAndDiallingInClientMode() throws Exception {
        PeerTlsFiles files = CA.write(dir, "node-1", CA.member(1));
        PeerTls tls = PeerTls.load(files, Duration.ofSeconds(5));
        EmbeddedChannel accepted = new EmbeddedChannel(initializer(tls));
        EmbeddedChannel dialled = new EmbeddedChannel(false, false);
        dialled.attr(PeerHandshakeHandler.EXPECTED_PEER).set(2);
        dialled.pipeline().addLast(initializer(tls));
        dialled.register();
        try {
            for (EmbeddedChannel ch : new EmbeddedChannel[] {accepted, dialled}) {
                assertThat(ch.pipeline().names().get(0)).isEqualTo(PeerPipeline.TLS);
                assertThat(ch.pipeline().names()).containsSubsequence(PeerPipeline.TLS, PeerPipeline.FRAME_DECODER,
                        PeerPipeline.HANDSHAKE, PeerPipeline.DISPATCH);
            }
            assertThat(accepted.pipeline().get(SslHandler.class).engine().getUseClientMode()).isFalse();
            assertThat(accepted.pipeline().get(SslHandler.class).engine().getNeedClientAuth()).isTrue();
            assertThat(dialled.pipeline().get(SslHandler.class).engine().getUseClientMode()).isTrue();
            // (OpenSSL's engine lists the SSLv2Hello pseudo-protocol, a hello format, not a version.)
            assertThat(accepted.pipeline().get(SslHandler.class).engine().getEnabledProtocols())
                    .contains("TLSv1.3", "TLSv1.2").doesNotContain("SSLv3", "TLSv1", "TLSv1.1");
        } finally {
            accepted.finishAndReleaseAll();
            dialled.finishAndReleaseAll();
        }
    }

    @Test
    void withoutTlsThePipelineHasNoSslHandler() {
        EmbeddedChannel ch = new EmbeddedChannel(initializer(null));
        try {
            assertThat(ch.pipeline().names()).doesNotContain(PeerPipeline.TLS);
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void theNodeIdIsTheCommonNameNodeDashIdAndNothingElse() {
        assertThat(PeerTls.nodeIdOf(CA.member(2).certificate())).isEqualTo(2);
        assertThat(PeerTls.nodeIdOf(CA.member(255).certificate())).isEqualTo(255);
        assertThat(PeerTls.nodeIdOf(CA.server("localhost", "localhost").certificate())).isEqualTo(-1);
        assertThat(PeerTls.nodeIdOf(CA.server("node-02").certificate())).isEqualTo(-1);
        assertThat(PeerTls.nodeIdOf(CA.server("node-2x").certificate())).isEqualTo(-1);
        assertThat(PeerTls.nodeIdOf(CA.caCertificate())).isEqualTo(-1);
    }

    @Test
    void unusableFilesAreRefusedWithASentenceNamingThem() {
        PeerTlsFiles files = CA.write(dir, "node-1", CA.member(1));
        PeerTlsFiles swapped = new PeerTlsFiles(files.privateKey(), files.certificate(), files.trustedCa());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> PeerTls.load(swapped, Duration.ofSeconds(5)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot use the peer TLS files")
                .hasMessageContaining(files.privateKey().toString());
    }
}
