package io.messenger.server.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.ECKey;
import java.security.interfaces.RSAKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and creates the key files of user tokens: a shared HMAC key (raw bytes, at least 32) for HS256, or a PEM
 * key pair for ES256 (EC on P-256) or RS256 (RSA, at least 2048 bits), public key as {@code PUBLIC KEY}
 * (X.509 SubjectPublicKeyInfo), private key as {@code PRIVATE KEY} (PKCS#8), which is what
 * {@code openssl genpkey} and {@code openssl pkey -pubout} write. Every failure is an
 * {@link IllegalArgumentException} with one sentence naming the file.
 */
public final class TokenKeys {

    /** HS256 needs a key at least as long as its 256-bit hash (RFC 7518, section 3.2). */
    public static final int MIN_HMAC_KEY_BYTES = 32;
    public static final int MIN_RSA_BITS = 2048;
    private static final int GENERATED_HMAC_KEY_BYTES = 32;
    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z ]+)-----\\s*([A-Za-z0-9+/=\\s]+?)\\s*-----END \\1-----");

    private TokenKeys() {
    }

    /** The HMAC key: the file's bytes exactly as they are. */
    public static byte[] readHmacKey(Path file) {
        byte[] key = read(file);
        if (key.length < MIN_HMAC_KEY_BYTES) {
            throw new IllegalArgumentException("The HMAC key file " + file + " holds " + key.length
                    + " bytes; HS256 needs at least " + MIN_HMAC_KEY_BYTES
                    + " (create one with: head -c 32 /dev/urandom > " + file + ").");
        }
        return key;
    }

    /** An EC (P-256) or RSA public key from a PEM {@code PUBLIC KEY} block. */
    public static PublicKey readPublicKey(Path file) {
        byte[] der = pem(file, "PUBLIC KEY");
        for (String type : new String[] {"EC", "RSA"}) {
            try {
                return checked(KeyFactory.getInstance(type).generatePublic(new X509EncodedKeySpec(der)), file);
            } catch (GeneralSecurityException e) {
                // try the next type
            }
        }
        throw new IllegalArgumentException("The public key file " + file + " holds neither an EC nor an RSA key.");
    }

    /** An EC (P-256) or RSA private key from a PEM {@code PRIVATE KEY} (PKCS#8) block. */
    public static PrivateKey readPrivateKey(Path file) {
        byte[] der = pem(file, "PRIVATE KEY");
        for (String type : new String[] {"EC", "RSA"}) {
            try {
                return checked(KeyFactory.getInstance(type).generatePrivate(new PKCS8EncodedKeySpec(der)), file);
            } catch (GeneralSecurityException e) {
                // try the next type
            }
        }
        throw new IllegalArgumentException("The private key file " + file
                + " holds neither an EC nor an RSA key in PKCS#8 form.");
    }

    /** Writes a fresh random HMAC key, readable by its owner only; refuses to overwrite a file. */
    public static void generateHmacKey(Path file) {
        byte[] key = new byte[GENERATED_HMAC_KEY_BYTES];
        new SecureRandom().nextBytes(key);
        writeSecret(file, key);
    }

    /** Writes a fresh P-256 key pair for ES256: the private key owner-only; refuses to overwrite either file. */
    public static void generateEcKeyPair(Path privateFile, Path publicFile) {
        KeyPair pair;
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            pair = generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("This Java runtime cannot create P-256 keys: " + e.getMessage(), e);
        }
        writeSecret(privateFile, pemText("PRIVATE KEY", pair.getPrivate().getEncoded()));
        try {
            Files.write(publicFile, pemText("PUBLIC KEY", pair.getPublic().getEncoded()), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new IllegalArgumentException("Cannot write the public key file " + publicFile + " ("
                    + describe(e) + ").", e);
        }
    }

    private static <K extends java.security.Key> K checked(K key, Path file) {
        if (key instanceof ECKey ec && ec.getParams().getCurve().getField().getFieldSize() != 256) {
            throw new IllegalArgumentException("The key in " + file + " is an EC key on a "
                    + ec.getParams().getCurve().getField().getFieldSize() + "-bit curve; ES256 needs P-256.");
        }
        if (key instanceof RSAKey rsa && rsa.getModulus().bitLength() < MIN_RSA_BITS) {
            throw new IllegalArgumentException("The RSA key in " + file + " has " + rsa.getModulus().bitLength()
                    + " bits; RS256 needs at least " + MIN_RSA_BITS + ".");
        }
        return key;
    }

    private static byte[] pem(Path file, String label) {
        String text = new String(read(file), StandardCharsets.US_ASCII);
        Matcher m = PEM.matcher(text);
        while (m.find()) {
            if (m.group(1).equals(label)) {
                try {
                    return Base64.getMimeDecoder().decode(m.group(2));
                } catch (IllegalArgumentException e) {
                    break;
                }
            }
        }
        throw new IllegalArgumentException("The file " + file + " holds no PEM '-----BEGIN " + label
                + "-----' block" + ("PRIVATE KEY".equals(label) ? " (convert with: openssl pkcs8 -topk8 -nocrypt)" : "")
                + ".");
    }

    private static byte[] pemText(String label, byte[] der) {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        return ("-----BEGIN " + label + "-----\n" + body + "\n-----END " + label + "-----\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("Cannot read the key file " + file + " (" + describe(e) + ").", e);
        }
    }

    private static void writeSecret(Path file, byte[] content) {
        try {
            try {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException e) {
                Files.createFile(file);
            }
            Files.write(file, content, StandardOpenOption.TRUNCATE_EXISTING);
        } catch (IOException e) {
            throw new IllegalArgumentException("Cannot create the key file " + file + " (" + describe(e)
                    + "); an existing key is never overwritten.", e);
        }
    }

    private static String describe(IOException e) {
        return e instanceof java.nio.file.FileAlreadyExistsException ? "it already exists"
                : e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.toString();
    }
}
