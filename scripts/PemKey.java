import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.Key;
import java.security.KeyStore;
import java.util.Base64;

/**
 * Writes the private key of a PKCS#12 keystore as an unencrypted PKCS#8 PEM file, the format
 * the messenger's --peer-tls-key and --tls-key read: keytool can create keys but not export
 * them. Run by scripts/make-certs.sh as a single-file program:
 * {@code java PemKey.java PASSWORD ALIAS STORE.p12 OUT.key [STORE.p12 OUT.key ...]}.
 */
public final class PemKey {
    public static void main(String[] args) throws Exception {
        char[] password = args[0].toCharArray();
        for (int i = 2; i + 1 < args.length; i += 2) {
            KeyStore store = KeyStore.getInstance("PKCS12");
            try (var in = Files.newInputStream(Path.of(args[i]))) {
                store.load(in, password);
            }
            Key key = store.getKey(args[1], password);
            String pem = "-----BEGIN PRIVATE KEY-----\n"
                    + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(key.getEncoded())
                    + "\n-----END PRIVATE KEY-----\n";
            Path out = Path.of(args[i + 1]);
            Files.deleteIfExists(out);
            Files.createFile(out, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(out, pem);
        }
    }
}
