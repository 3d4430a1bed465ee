package io.messenger.proto;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The name rules of the client protocol, kept here so that the client library and the server
 * check exactly the same thing: usernames and rooms are 1–32 characters from
 * {@code A-Z a-z 0-9 _ . -} starting with a letter or digit; a client id is 1–64 characters
 * from {@code A-Z a-z 0-9 _ -}. Each check answers with a sentence a user can act on.
 */
public final class NameRules {

    public static final Pattern USERNAME_OR_ROOM = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,31}");
    public static final Pattern CLIENT_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    private NameRules() {
    }

    /** Empty if the username is allowed, else why not. */
    public static Optional<String> checkUsername(String username) {
        return USERNAME_OR_ROOM.matcher(username).matches() ? Optional.empty()
                : Optional.of("The username " + quote(username) + " is not allowed: use 1 to 32 letters, digits,"
                        + " '_', '.' or '-', starting with a letter or digit.");
    }

    /** Empty if the room name is allowed, else why not. */
    public static Optional<String> checkRoom(String room) {
        return USERNAME_OR_ROOM.matcher(room).matches() ? Optional.empty()
                : Optional.of("The room name " + quote(room) + " is not allowed: use 1 to 32 letters, digits,"
                        + " '_', '.' or '-', starting with a letter or digit.");
    }

    /** Empty if the client id is allowed, else why not. */
    public static Optional<String> checkClientId(String clientId) {
        return CLIENT_ID.matcher(clientId).matches() ? Optional.empty()
                : Optional.of("The client id " + quote(clientId) + " is not allowed: use 1 to 64 letters, digits,"
                        + " '_' or '-'.");
    }

    private static String quote(String name) {
        if (name.isEmpty()) {
            return "(empty)";
        }
        String shown = name.length() > 40 ? name.substring(0, 40) + "…" : name;
        StringBuilder out = new StringBuilder("'");
        shown.codePoints().forEach(cp -> {
            if (Character.isISOControl(cp)) {
                out.append(String.format("\\u%04x", cp));
            } else {
                out.appendCodePoint(cp);
            }
        });
        return out.append('\'').toString();
    }
}
