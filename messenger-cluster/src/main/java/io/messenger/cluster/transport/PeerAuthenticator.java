package io.messenger.cluster.transport;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Proves and checks membership of a cluster with a shared secret, as a challenge-response
 * in the peer handshake: each side sends a fresh random nonce and the other answers
 * HMAC-SHA256(secret, label, nonce, cluster, prover id, verifier id, prover's client address).
 * The ids in a fixed order keep an answer from being reflected back to its asker, the fresh
 * nonce keeps it from being replayed, and the client address is covered so that the address
 * a node redirects clients to is the one the authenticated member announced.
 */
public final class PeerAuthenticator {

    /** Fewest secret bytes accepted: a shorter secret could be guessed. */
    public static final int MIN_SECRET_BYTES = 16;
    /** Size of each nonce. */
    public static final int NONCE_BYTES = 32;

    private static final byte[] LABEL = "messenger-peer-proof-v1".getBytes(StandardCharsets.US_ASCII);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final SecretKeySpec key;

    public PeerAuthenticator(byte[] secret) {
        if (secret.length < MIN_SECRET_BYTES) {
            throw new IllegalArgumentException("the peer secret must have at least " + MIN_SECRET_BYTES
                    + " bytes, got " + secret.length);
        }
        this.key = new SecretKeySpec(secret.clone(), "HmacSHA256");
    }

    /**
     * Reads the secret from a file: its bytes with trailing line breaks and spaces removed.
     *
     * @throws IllegalArgumentException if it cannot be read or is too short
     */
    public static PeerAuthenticator fromFile(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the peer secret file " + file + ": " + e, e);
        }
        int end = bytes.length;
        while (end > 0 && (bytes[end - 1] == '\n' || bytes[end - 1] == '\r' || bytes[end - 1] == ' ')) {
            end--;
        }
        try {
            return new PeerAuthenticator(Arrays.copyOf(bytes, end));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("peer secret file " + file + ": " + e.getMessage(), e);
        }
    }

    /** A fresh random challenge. */
    public ByteString nonce() {
        byte[] nonce = new byte[NONCE_BYTES];
        RANDOM.nextBytes(nonce);
        return ByteString.copyFrom(nonce);
    }

    /**
     * The answer of {@code proverId} to {@code verifierId}'s {@code nonce}.
     *
     * @param proverDialled whether the prover opened the connection: an acceptor's answer
     *     can then never serve as a dialler's, so nobody can relay one node's answer to another
     */
    public ByteString proof(boolean proverDialled, ByteString nonce, String cluster, int proverId, int verifierId,
                            String proverClientAddress) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            mac.update(LABEL);
            mac.update((byte) (proverDialled ? 'D' : 'A'));
            mac.update(lengthPrefixed(nonce.toByteArray()));
            mac.update(lengthPrefixed(cluster.getBytes(StandardCharsets.UTF_8)));
            mac.update(ByteBuffer.allocate(8).putInt(proverId).putInt(verifierId).array());
            mac.update(lengthPrefixed(proverClientAddress.getBytes(StandardCharsets.UTF_8)));
            return ByteString.copyFrom(mac.doFinal());
        } catch (GeneralSecurityException e) {
            // HmacSHA256 is a provider every Java runtime must have.
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    /** Whether {@code proof} is the right answer, compared in constant time. */
    public boolean verify(ByteString proof, boolean proverDialled, ByteString nonce, String cluster, int proverId,
                          int verifierId, String proverClientAddress) {
        return MessageDigest.isEqual(proof.toByteArray(),
                proof(proverDialled, nonce, cluster, proverId, verifierId, proverClientAddress).toByteArray());
    }

    private static byte[] lengthPrefixed(byte[] bytes) {
        return ByteBuffer.allocate(4 + bytes.length).putInt(bytes.length).put(bytes).array();
    }

    /** Keeps the secret out of logs. */
    @Override
    public String toString() {
        return "PeerAuthenticator[secret hidden]";
    }
}
