package io.messenger.server.auth;

import io.messenger.proto.client.Hello;
import io.messenger.proto.client.Rejection;
import java.util.Optional;

/**
 * Decides, before a session is proposed to the log, whether a Hello may open it. An implementation must be immutable
 * and safe to share between threads: a cheap one ({@link #cheap()}) is called on the connection's event loop, a
 * costly one on the node's bounded hello-verification pool ({@code HelloVerifications}), never blocking an event loop.
 */
@FunctionalInterface
public interface ClientAuthenticator {

    /** No authentication: every client is whoever its Hello says (the dev default). */
    ClientAuthenticator OPEN = hello -> Optional.empty();

    /** Empty to let the Hello open its session, else the rejection to answer it with. */
    Optional<Rejection> check(Hello hello);

    /**
     * Whether {@link #check} is cheap enough (tens of microseconds) to run on an event loop; false sends it to the
     * hello-verification pool, so that one slow signature check does not stall every connection of that loop.
     */
    default boolean cheap() {
        return true;
    }
}
