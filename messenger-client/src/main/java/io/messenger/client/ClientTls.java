package io.messenger.client;

import io.netty.handler.ssl.NotSslRecordException;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import javax.net.ssl.SSLException;

/**
 * TLS for the client link: a client context that trusts a given CA and verifies the server's
 * host name (endpoint identification {@code HTTPS}: the address the client dials must be in the
 * server certificate's subject alternative names), TLS 1.3 and 1.2 only, on OpenSSL where
 * netty-tcnative loads, else on the JDK's provider.
 */
public final class ClientTls {

    private ClientTls() {
    }

    /**
     * A context trusting the CA certificate(s) in the PEM file {@code ca}.
     *
     * @throws IllegalArgumentException with a sentence if the file cannot be used
     */
    public static SslContext trusting(Path ca) {
        if (!Files.isReadable(ca) || Files.isDirectory(ca)) {
            throw new IllegalArgumentException("The CA file " + ca + " cannot be read.");
        }
        try {
            return SslContextBuilder.forClient()
                    .sslProvider(OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK)
                    .protocols("TLSv1.3", "TLSv1.2")
                    .trustManager(ca.toFile())
                    .endpointIdentificationAlgorithm("HTTPS")
                    .build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("The CA file " + ca + " holds no usable PEM certificate: "
                    + root(e).getMessage(), e);
        }
    }

    /**
     * The sentence for a failed TLS handshake with {@code server}; every such failure is
     * one that retrying does not fix.
     */
    /**
     * Whether a failed handshake says the client's TLS settings cannot work with that server (a certificate its
     * CA did not sign or that does not name the host, or a server without TLS), so that another attempt would
     * fail the same way. A connection closed or timed out mid-handshake is not: it is retried like any lost
     * connection.
     */
    static boolean isConfigurationFailure(Throwable cause) {
        Throwable root = root(cause);
        String detail = root.getMessage() == null ? "" : root.getMessage();
        return hasCause(cause, NotSslRecordException.class)
                || hasCause(cause, CertPathValidatorException.class)
                || hasCause(cause, CertificateException.class)
                || detail.contains("No subject alternative") || detail.contains("No name matching")
                || detail.contains("HOSTNAME") || detail.contains("certification path")
                || detail.contains("CERTIFICATE_VERIFY_FAILED");
    }

    /**
     * Whether a handshake failed because the server closed or reset the connection before it was done, without a
     * TLS alert: retryable, and what a node's connection arrival limit does on a TLS port.
     */
    static boolean isClosedDuringHandshake(Throwable cause) {
        if (isConfigurationFailure(cause)) {
            return false;
        }
        String detail = String.valueOf(root(cause).getMessage());
        return hasCause(cause, java.nio.channels.ClosedChannelException.class)
                || (hasCause(cause, java.io.IOException.class) && (detail.contains("Connection reset")
                        || detail.contains("closed while SSL/TLS handshake") || detail.contains("Broken pipe")));
    }

    static String describeFailure(String server, Throwable cause) {
        Throwable root = root(cause);
        String detail = root.getMessage() == null ? root.toString() : root.getMessage();
        if (hasCause(cause, NotSslRecordException.class)) {
            return "The server at " + server + " does not speak TLS on this port; connect without --tls-ca, "
                    + "or start the server with --tls-cert and --tls-key.";
        }
        if (detail.contains("No subject alternative") || detail.contains("No name matching")
                || detail.contains("HOSTNAME")) {
            return "The TLS certificate of " + server + " does not name that host (" + detail + "); connect with a "
                    + "host name or address the certificate lists.";
        }
        if (hasCause(cause, CertPathValidatorException.class) || detail.contains("certification path")
                || detail.contains("CERTIFICATE_VERIFY_FAILED") || hasCause(cause, CertificateException.class)) {
            return "The TLS certificate of " + server + " is not signed by the CA given with --tls-ca (" + detail
                    + ").";
        }
        return "The TLS handshake with " + server + " failed: " + detail + ".";
    }

    private static boolean hasCause(Throwable e, Class<? extends Throwable> type) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    private static Throwable root(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root;
    }
}
