package io.messenger.cluster.transport;

import io.messenger.cluster.PeerTlsFiles;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Mutual TLS on the peer link, as etcd and NATS do between members: both ends present a
 * certificate issued by the cluster's own CA and require one from the other side. A node's
 * certificate names it by its subject common name, {@code CN=node-<id>}; the handshake
 * handler then checks that this id is the one the peer announces in its hello. Host names
 * are not verified: members are identified by node id, not by address.
 */
public final class PeerTls {

    /** The only protocol versions offered and accepted, on both links. */
    public static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");

    /**
     * The type of the key store Netty builds in memory to hand a PEM key and certificate chain to
     * the TLS engine. It never reaches a disk, so its key protection is of no use; PKCS#12 (the
     * JDK's default) encrypts the key with 10,000 rounds of PBKDF2 per context, about 100 ms of
     * CPU each in a fresh JVM, while JKS's protection costs nothing. The key material the engine
     * uses is the same either way.
     */
    public static final String IN_MEMORY_KEY_STORE_TYPE = "JKS";

    private static final Pattern NODE_CN = Pattern.compile("node-([1-9][0-9]{0,2})");

    private final SslContext server;
    private final SslContext client;
    private final Duration handshakeTimeout;

    private PeerTls(SslContext server, SslContext client, Duration handshakeTimeout) {
        this.server = server;
        this.client = client;
        this.handshakeTimeout = handshakeTimeout;
    }

    /**
     * Loads the node's credentials.
     *
     * @throws IllegalArgumentException with a sentence naming the file if one cannot be used
     */
    public static PeerTls load(PeerTlsFiles files, Duration handshakeTimeout) {
        try {
            SslContext server = SslContextBuilder.forServer(files.certificate().toFile(), files.privateKey().toFile())
                    .sslProvider(provider())
                    .keyStoreType(IN_MEMORY_KEY_STORE_TYPE)
                    .protocols(PROTOCOLS)
                    .trustManager(files.trustedCa().toFile())
                    .clientAuth(ClientAuth.REQUIRE)
                    .build();
            SslContext client = SslContextBuilder.forClient()
                    .sslProvider(provider())
                    .keyStoreType(IN_MEMORY_KEY_STORE_TYPE)
                    .protocols(PROTOCOLS)
                    .keyManager(files.certificate().toFile(), files.privateKey().toFile())
                    .trustManager(files.trustedCa().toFile())
                    // Peers are verified by the node id in their certificate, not by host name.
                    .endpointIdentificationAlgorithm(null)
                    .build();
            return new PeerTls(server, client, handshakeTimeout);
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot use the peer TLS files (certificate " + files.certificate()
                    + ", key " + files.privateKey() + ", CA " + files.trustedCa() + "): " + rootMessage(e), e);
        }
    }

    /** OpenSSL (BoringSSL, from netty-tcnative) where its native library loads, else the JDK's provider. */
    public static SslProvider provider() {
        return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    /** One line for the start-up log: which TLS implementation is in use and why. */
    public static String providerDescription() {
        if (OpenSsl.isAvailable()) {
            return "OpenSSL (" + OpenSsl.versionString() + ", netty-tcnative)";
        }
        Throwable cause = OpenSsl.unavailabilityCause();
        return "the JDK's provider (OpenSSL unavailable: " + (cause == null ? "unknown" : rootMessage(cause)) + ")";
    }

    /** A handler for one connection: client mode on a connection this node dials. */
    public SslHandler newHandler(ByteBufAllocator alloc, boolean dialled) {
        SslHandler handler = (dialled ? client : server).newHandler(alloc);
        handler.setHandshakeTimeoutMillis(handshakeTimeout.toMillis());
        return handler;
    }

    /** The node id a member certificate names ({@code CN=node-<id>}), or -1 if it names none. */
    public static int nodeIdOf(X509Certificate certificate) {
        try {
            LdapName name = new LdapName(certificate.getSubjectX500Principal().getName());
            int id = -1;
            for (Rdn rdn : name.getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    Matcher m = NODE_CN.matcher(String.valueOf(rdn.getValue()));
                    if (id != -1 || !m.matches()) {
                        return -1;
                    }
                    id = Integer.parseInt(m.group(1));
                }
            }
            return id;
        } catch (InvalidNameException e) {
            return -1;
        }
    }

    /**
     * Checks that the TLS session's peer certificate names {@code announcedId}. Returns
     * {@code null} when it does, otherwise the reason to refuse the connection.
     */
    public static String problemWith(SSLSession session, int announcedId) {
        Certificate[] chain;
        try {
            chain = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return "node " + announcedId + " presented no TLS certificate";
        }
        if (chain.length == 0 || !(chain[0] instanceof X509Certificate cert)) {
            return "node " + announcedId + " presented no X.509 certificate";
        }
        int certified = nodeIdOf(cert);
        if (certified != announcedId) {
            return "the peer announces node " + announcedId + " but its certificate (" + cert.getSubjectX500Principal()
                    .getName() + ") is " + (certified == -1 ? "not a member certificate (CN=node-<id>)"
                    : "node " + certified + "'s");
        }
        return null;
    }

    static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() == null ? root.toString() : root.getMessage();
    }
}
