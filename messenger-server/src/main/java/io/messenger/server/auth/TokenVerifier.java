package io.messenger.server.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.MACVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import io.messenger.proto.client.Hello;
import io.messenger.proto.client.Rejection;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Optional;

/**
 * Checks the signed JWT of a Hello, as Centrifugo and NATS check theirs: the signature with this node's one key and
 * its one algorithm (HS256 with a shared key, ES256 or RS256 with a public key; {@code alg} values other than that
 * one, {@code none} included, are refused before any signature check), then {@code exp} (required), {@code nbf}
 * (if present), {@code sub} (must be the Hello's username) and, if present, {@code rooms} (the rooms the token
 * may join). Immutable and thread-safe. HS256 runs inline on the event loop; ES256 and RS256 ({@link #cheap()}
 * false) run on the node's bounded hello-verification pool (see the README's Security: users for the measured
 * costs). Sentences never repeat the token.
 */
public final class TokenVerifier implements ClientAuthenticator {

    /** How far the token issuer's clock may be off from ours in either direction. */
    public static final Duration CLOCK_SKEW = Duration.ofSeconds(30);
    /** The claim listing the rooms a token may join; absent means every room. */
    public static final String ROOMS_CLAIM = "rooms";

    private final JWSAlgorithm algorithm;
    private final JWSVerifier verifier;
    private final Clock clock;

    private TokenVerifier(JWSAlgorithm algorithm, JWSVerifier verifier, Clock clock) {
        this.algorithm = algorithm;
        this.verifier = verifier;
        this.clock = clock;
    }

    /** HS256 with a shared key of at least 32 bytes. */
    public static TokenVerifier hmac(byte[] key, Clock clock) {
        try {
            return new TokenVerifier(JWSAlgorithm.HS256, new MACVerifier(key), clock);
        } catch (JOSEException e) {
            throw new IllegalArgumentException("The HMAC key is unusable for HS256: " + e.getMessage(), e);
        }
    }

    /** ES256 for an EC (P-256) key, RS256 for an RSA key. */
    public static TokenVerifier publicKey(PublicKey key, Clock clock) {
        try {
            if (key instanceof ECPublicKey ec) {
                return new TokenVerifier(JWSAlgorithm.ES256, new ECDSAVerifier(ec), clock);
            }
            if (key instanceof RSAPublicKey rsa) {
                return new TokenVerifier(JWSAlgorithm.RS256, new RSASSAVerifier(rsa), clock);
            }
        } catch (JOSEException e) {
            throw new IllegalArgumentException("The public key is unusable: " + e.getMessage(), e);
        }
        throw new IllegalArgumentException("Only EC (ES256) and RSA (RS256) public keys verify tokens, not "
                + key.getAlgorithm() + ".");
    }

    /** From a key file: exactly one of the two is non-null. */
    public static TokenVerifier fromFiles(Path hmacKeyFile, Path publicKeyFile, Clock clock) {
        return hmacKeyFile != null ? hmac(TokenKeys.readHmacKey(hmacKeyFile), clock)
                : publicKey(TokenKeys.readPublicKey(publicKeyFile), clock);
    }

    /**
     * HS256 (one HMAC over the token) is cheap and runs on the event loop; ES256 and RS256 (a public-key signature
     * check, about 2 ms for ES256 with the JDK's P-256) run on the hello-verification pool.
     */
    @Override
    public boolean cheap() {
        return JWSAlgorithm.HS256.equals(algorithm);
    }

    /** The one algorithm this verifier accepts. */
    public String algorithm() {
        return algorithm.getName();
    }

    @Override
    public Optional<Rejection> check(Hello hello) {
        return check(hello.getToken(), hello.getUsername(), hello.getRoom());
    }

    /** Empty if {@code token} lets {@code username} join {@code room}, else the typed rejection with a sentence. */
    public Optional<Rejection> check(String token, String username, String room) {
        if (token == null || token.isEmpty()) {
            return unauthenticated("This server requires a token and the client sent none; give one with --token, "
                    + "--token-file or MESSENGER_TOKEN (an operator mints it with 'server.app token').");
        }
        JWT jwt;
        try {
            jwt = JWTParser.parse(token);
        } catch (ParseException e) {
            return unauthenticated("The token is not a well-formed JWT.");
        }
        if (jwt instanceof PlainJWT) {
            return unauthenticated("The token is unsigned (alg none); this server accepts only " + algorithm()
                    + "-signed tokens.");
        }
        if (!(jwt instanceof SignedJWT signed)) {
            return unauthenticated("The token is encrypted (JWE); this server accepts only " + algorithm()
                    + "-signed tokens.");
        }
        if (!algorithm.equals(signed.getHeader().getAlgorithm())) {
            return unauthenticated("The token is signed with " + safeName(signed.getHeader().getAlgorithm())
                    + "; this server accepts only " + algorithm() + ".");
        }
        try {
            if (!signed.verify(verifier)) {
                return unauthenticated("The token's signature does not match this server's key.");
            }
        } catch (JOSEException | IllegalStateException e) {
            return unauthenticated("The token's signature could not be checked (it is malformed or uses an "
                    + "unsupported header).");
        }
        JWTClaimsSet claims;
        try {
            claims = signed.getJWTClaimsSet();
        } catch (ParseException e) {
            return unauthenticated("The token's claims are not a valid JSON object.");
        }
        Instant now = clock.instant();
        Date exp = claims.getExpirationTime();
        if (exp == null) {
            return unauthenticated("The token has no expiry (exp claim); this server accepts only tokens that expire.");
        }
        if (now.isAfter(exp.toInstant().plus(CLOCK_SKEW))) {
            return unauthenticated("The token expired at " + exp.toInstant() + "; get a fresh one.");
        }
        Date nbf = claims.getNotBeforeTime();
        if (nbf != null && now.plus(CLOCK_SKEW).isBefore(nbf.toInstant())) {
            return unauthenticated("The token is not valid before " + nbf.toInstant() + ".");
        }
        String subject = claims.getSubject();
        if (subject == null || subject.isEmpty()) {
            return unauthenticated("The token names no user (sub claim).");
        }
        if (!subject.equals(username)) {
            return unauthenticated("The token was issued for another user than " + username + ".");
        }
        if (claims.getClaim(ROOMS_CLAIM) != null) {
            List<String> rooms;
            try {
                rooms = claims.getStringListClaim(ROOMS_CLAIM);
            } catch (ParseException e) {
                return unauthenticated("The token's rooms claim is not a list of room names.");
            }
            if (!rooms.contains(room)) {
                return Optional.of(Rejection.newBuilder().setReason(Rejection.Reason.ROOM_NOT_ALLOWED)
                        .setMessage("The token does not allow joining room " + room + ".").build());
            }
        }
        return Optional.empty();
    }

    /** An algorithm name from an untrusted header, shown only if it is one of the registered ones. */
    private static String safeName(JWSAlgorithm alg) {
        String name = alg == null ? "" : alg.getName();
        return name.matches("[A-Z]{2}[0-9]{3}|EdDSA|Ed25519|Ed448|ES256K") ? name : "an unsupported algorithm";
    }

    private static Optional<Rejection> unauthenticated(String sentence) {
        return Optional.of(Rejection.newBuilder().setReason(Rejection.Reason.UNAUTHENTICATED)
                .setMessage(sentence).build());
    }
}
