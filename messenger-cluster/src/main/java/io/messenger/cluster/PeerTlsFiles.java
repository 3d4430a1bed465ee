package io.messenger.cluster;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where a node's peer TLS credentials live, all PEM: its own certificate (subject
 * {@code CN=node-<id>}, issued by the cluster's CA), its PKCS#8 private key, and the CA
 * certificate that every member's certificate must chain to.
 */
public record PeerTlsFiles(Path certificate, Path privateKey, Path trustedCa) {

    public PeerTlsFiles {
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(privateKey, "privateKey");
        Objects.requireNonNull(trustedCa, "trustedCa");
    }
}
