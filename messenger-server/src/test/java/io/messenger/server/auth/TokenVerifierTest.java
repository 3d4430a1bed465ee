package io.messenger.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import io.messenger.proto.client.Rejection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each way a Hello's token can be right or wrong, against HS256, ES256 and RS256 keys. */
class TokenVerifierTest {

    private static final Instant NOW = Instant.parse("2026-12-06T23:00:00Z");
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] OTHER_KEY = "fedcba9876543210fedcba9876543210".getBytes(StandardCharsets.US_ASCII);

    private final TokenVerifier hs256 = TokenVerifier.hmac(KEY, CLOCK);
    private final TokenMinter minter = TokenMinter.hmac(KEY);

    private String token(String user, List<String> rooms, Duration ttl) {
        return minter.mint(user, rooms, ttl, NOW);
    }

    private static void assertRefused(Optional<Rejection> verdict, Rejection.Reason reason, String says) {
        assertThat(verdict).hasValueSatisfying(r -> {
            assertThat(r.getReason()).isEqualTo(reason);
            assertThat(r.getMessage()).containsIgnoringCase(says).endsWith(".");
        });
    }

    @Test
    void aValidHs256TokenForTheUserIsAccepted() {
        assertThat(hs256.check(token("alice", null, Duration.ofHours(1)), "alice", "lobby")).isEmpty();
        assertThat(hs256.algorithm()).isEqualTo("HS256");
    }

    @Test
    void validEs256AndRs256TokensAreAcceptedWithTheirPublicKeys(@TempDir Path dir) throws Exception {
        Path privatePem = dir.resolve("private.pem");
        Path publicPem = dir.resolve("public.pem");
        TokenKeys.generateEcKeyPair(privatePem, publicPem);
        TokenVerifier es256 = TokenVerifier.publicKey(TokenKeys.readPublicKey(publicPem), CLOCK);
        TokenMinter esMinter = TokenMinter.privateKey(TokenKeys.readPrivateKey(privatePem));
        assertThat(es256.algorithm()).isEqualTo("ES256");
        assertThat(esMinter.algorithm()).isEqualTo("ES256");
        assertThat(es256.check(esMinter.mint("alice", List.of("lobby"), Duration.ofMinutes(5), NOW), "alice", "lobby"))
                .isEmpty();

        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        KeyPair pair = rsa.generateKeyPair();
        TokenVerifier rs256 = TokenVerifier.publicKey(pair.getPublic(), CLOCK);
        assertThat(rs256.algorithm()).isEqualTo("RS256");
        String rsToken = TokenMinter.privateKey(pair.getPrivate()).mint("alice", null, Duration.ofMinutes(5), NOW);
        assertThat(rs256.check(rsToken, "alice", "lobby")).isEmpty();

        assertRefused(es256.check(rsToken, "alice", "lobby"), Rejection.Reason.UNAUTHENTICATED,
                "signed with RS256; this server accepts only ES256");
        assertRefused(es256.check(token("alice", null, Duration.ofHours(1)), "alice", "lobby"),
                Rejection.Reason.UNAUTHENTICATED, "signed with HS256");
    }

    @Test
    void anExpiredTokenIsRefusedOutsideTheClockSkew() {
        String expiredLongAgo = minter.mint("alice", null, Duration.ofMinutes(1), NOW.minus(Duration.ofMinutes(2)));
        assertRefused(hs256.check(expiredLongAgo, "alice", "lobby"), Rejection.Reason.UNAUTHENTICATED, "expired at");
        String expiredJustNow = minter.mint("alice", null, Duration.ofMinutes(1),
                NOW.minus(Duration.ofMinutes(1)).minus(TokenVerifier.CLOCK_SKEW).plusSeconds(1));
        assertThat(hs256.check(expiredJustNow, "alice", "lobby")).as("within the clock skew").isEmpty();
    }

    @Test
    void aTokenWithoutExpiryIsRefused() throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256),
                new JWTClaimsSet.Builder().subject("alice").issueTime(Date.from(NOW)).build());
        jwt.sign(new MACSigner(KEY));
        assertRefused(hs256.check(jwt.serialize(), "alice", "lobby"), Rejection.Reason.UNAUTHENTICATED, "no expiry");
    }

    @Test
    void aTokenNotYetValidIsRefused() throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), new JWTClaimsSet.Builder().subject("alice")
                .notBeforeTime(Date.from(NOW.plus(Duration.ofMinutes(5))))
                .expirationTime(Date.from(NOW.plus(Duration.ofHours(1)))).build());
        jwt.sign(new MACSigner(KEY));
        assertRefused(hs256.check(jwt.serialize(), "alice", "lobby"), Rejection.Reason.UNAUTHENTICATED,
                "not valid before");
    }

    @Test
    void aTokenSignedWithAnotherKeyIsRefused() {
        String forged = TokenMinter.hmac(OTHER_KEY).mint("alice", null, Duration.ofHours(1), NOW);
        assertRefused(hs256.check(forged, "alice", "lobby"), Rejection.Reason.UNAUTHENTICATED,
                "signature does not match");
    }

    @Test
    void aTokenWhoseClaimsWereEditedIsRefused() {
        String[] parts = token("bob", null, Duration.ofHours(1)).split("\\.");
        String claims = Base64URL.encode("{\"sub\":\"admin\",\"exp\":" + NOW.plusSeconds(3600).getEpochSecond() + "}")
                .toString();
        assertRefused(hs256.check(parts[0] + "." + claims + "." + parts[2], "admin", "lobby"),
                Rejection.Reason.UNAUTHENTICATED, "signature does not match");
    }

    @Test
    void aTokenForAnotherUserIsRefusedWithoutEchoingTheToken() {
        String bobs = token("bob", null, Duration.ofHours(1));
        Optional<Rejection> verdict = hs256.check(bobs, "alice", "lobby");
        assertRefused(verdict, Rejection.Reason.UNAUTHENTICATED, "issued for another user than alice");
        assertThat(verdict.get().getMessage()).doesNotContain(bobs).doesNotContain(bobs.split("\\.")[1]);
    }

    @Test
    void aMissingTokenIsRefused() {
        assertRefused(hs256.check("", "alice", "lobby"), Rejection.Reason.UNAUTHENTICATED, "sent none");
        assertRefused(hs256.check(null, "alice", "lobby"), Rejection.Reason.UNAUTHENTICATED, "--token");
    }

    @Test
    void aTokenNamingOtherRoomsIsRefusedWithItsOwnReason() {
        String lobbyOnly = token("alice", List.of("lobby", "dev"), Duration.ofHours(1));
        assertThat(hs256.check(lobbyOnly, "alice", "dev")).isEmpty();
        assertRefused(hs256.check(lobbyOnly, "alice", "admins"), Rejection.Reason.ROOM_NOT_ALLOWED,
                "does not allow joining room admins");
        assertRefused(hs256.check(token("alice", List.of(), Duration.ofHours(1)), "alice", "lobby"),
                Rejection.Reason.ROOM_NOT_ALLOWED, "room lobby");
    }

    @Test
    void aRoomsClaimThatIsNotAListIsRefused() throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), new JWTClaimsSet.Builder().subject("alice")
                .claim("rooms", "lobby").expirationTime(Date.from(NOW.plus(Duration.ofHours(1)))).build());
        jwt.sign(new MACSigner(KEY));
        assertRefused(hs256.check(jwt.serialize(), "alice", "lobby"), Rejection.Reason.UNAUTHENTICATED,
                "rooms claim is not a list");
    }

    @Test
    void malformedTokensAreRefused() {
        for (String junk : List.of("hello", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9", "x".repeat(5000))) {
            assertRefused(hs256.check(junk, "alice", "lobby"), Rejection.Reason.UNAUTHENTICATED, "token");
        }
        assertRefused(hs256.check("a.b.c", "alice", "lobby"), Rejection.Reason.UNAUTHENTICATED, "not a well-formed");
    }

    @Test
    void anUnsignedAlgNoneTokenIsRefused() {
        PlainJWT plain = new PlainJWT(new JWTClaimsSet.Builder().subject("admin")
                .expirationTime(Date.from(NOW.plus(Duration.ofHours(1)))).build());
        assertRefused(hs256.check(plain.serialize(), "admin", "lobby"), Rejection.Reason.UNAUTHENTICATED,
                "unsigned (alg none)");
        // The same with a signature part glued on, and with "alg":"none" spelt by hand.
        String header = Base64URL.encode("{\"alg\":\"none\",\"typ\":\"JWT\"}").toString();
        String claims = Base64URL.encode("{\"sub\":\"admin\",\"exp\":" + NOW.plusSeconds(3600).getEpochSecond() + "}")
                .toString();
        assertThat(hs256.check(header + "." + claims + ".", "admin", "lobby")).isPresent();
        assertThat(hs256.check(header + "." + claims + ".c2ln", "admin", "lobby")).isPresent();
    }

    @Test
    void anHs256TokenSignedWithThePublicKeyTextIsRefusedByAnEs256Server(@TempDir Path dir) throws Exception {
        // The classic algorithm confusion: an attacker HMACs with the (public) PEM text as the key.
        Path privatePem = dir.resolve("private.pem");
        Path publicPem = dir.resolve("public.pem");
        TokenKeys.generateEcKeyPair(privatePem, publicPem);
        TokenVerifier es256 = TokenVerifier.publicKey(TokenKeys.readPublicKey(publicPem), CLOCK);
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).type(JOSEObjectType.JWT).build(),
                new JWTClaimsSet.Builder().subject("admin").expirationTime(Date.from(NOW.plusSeconds(60))).build());
        jwt.sign(new MACSigner(Files.readAllBytes(publicPem)));
        assertRefused(es256.check(jwt.serialize(), "admin", "lobby"), Rejection.Reason.UNAUTHENTICATED,
                "accepts only ES256");
    }

    @Test
    void keyFilesAreCheckedWithASentence(@TempDir Path dir) throws Exception {
        Path shortKey = Files.write(dir.resolve("short"), new byte[31]);
        assertThatThrownBy(() -> TokenKeys.readHmacKey(shortKey)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("holds 31 bytes").hasMessageContaining("at least 32");
        Path notPem = Files.writeString(dir.resolve("not.pem"), "hello");
        assertThatThrownBy(() -> TokenKeys.readPublicKey(notPem)).hasMessageContaining("no PEM");
        assertThatThrownBy(() -> TokenKeys.readHmacKey(dir.resolve("absent"))).hasMessageContaining("Cannot read");
        Path generated = dir.resolve("generated");
        TokenKeys.generateHmacKey(generated);
        assertThat(TokenKeys.readHmacKey(generated)).hasSize(32);
        assertThatThrownBy(() -> TokenKeys.generateHmacKey(generated)).hasMessageContaining("never overwritten");
    }
}
