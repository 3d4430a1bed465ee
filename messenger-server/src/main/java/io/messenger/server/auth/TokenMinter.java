package io.messenger.server.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;

/**
 * Signs user tokens the way {@link TokenVerifier} checks them: {@code sub}, {@code iat}, {@code exp} and, when
 * rooms are given, the {@code rooms} claim. For development and tests; production tokens come from whatever
 * service logs users in, holding the same key.
 */
public final class TokenMinter {

    private final JWSAlgorithm algorithm;
    private final JWSSigner signer;

    private TokenMinter(JWSAlgorithm algorithm, JWSSigner signer) {
        this.algorithm = algorithm;
        this.signer = signer;
    }

    /** HS256 with the shared key. */
    public static TokenMinter hmac(byte[] key) {
        try {
            return new TokenMinter(JWSAlgorithm.HS256, new MACSigner(key));
        } catch (JOSEException e) {
            throw new IllegalArgumentException("The HMAC key is unusable for HS256: " + e.getMessage(), e);
        }
    }

    /** ES256 for an EC (P-256) private key, RS256 for an RSA one. */
    public static TokenMinter privateKey(PrivateKey key) {
        try {
            if (key instanceof ECPrivateKey ec) {
                return new TokenMinter(JWSAlgorithm.ES256, new ECDSASigner(ec));
            }
        } catch (JOSEException e) {
            throw new IllegalArgumentException("The EC private key is unusable for ES256: " + e.getMessage(), e);
        }
        if ("RSA".equals(key.getAlgorithm())) {
            return new TokenMinter(JWSAlgorithm.RS256, new RSASSASigner(key));
        }
        throw new IllegalArgumentException("Only EC (ES256) and RSA (RS256) private keys sign tokens, not "
                + key.getAlgorithm() + ".");
    }

    public String algorithm() {
        return algorithm.getName();
    }

    /**
     * A compact signed token for {@code user}, valid from {@code now} for {@code ttl}.
     *
     * @param rooms the rooms it may join, or {@code null} for every room
     */
    public String mint(String user, List<String> rooms, Duration ttl, Instant now) {
        JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder()
                .subject(user)
                .issueTime(Date.from(now))
                .expirationTime(Date.from(now.plus(ttl)));
        if (rooms != null) {
            claims.claim(TokenVerifier.ROOMS_CLAIM, List.copyOf(rooms));
        }
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(algorithm).type(JOSEObjectType.JWT).build(),
                claims.build());
        try {
            jwt.sign(signer);
        } catch (JOSEException e) {
            throw new IllegalStateException("Signing the token failed: " + e.getMessage(), e);
        }
        return jwt.serialize();
    }
}
