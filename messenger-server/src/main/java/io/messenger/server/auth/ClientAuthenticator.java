package io.messenger.server.auth;

import io.messenger.proto.client.Hello;
import io.messenger.proto.client.Rejection;
import java.util.Optional;

/**
 * Decides, before a session is proposed to the log, whether a Hello may open it. Called on a connection's event
 * loop for every Hello, so an implementation must be fast, immutable and safe to share between threads.
 */
@FunctionalInterface
public interface ClientAuthenticator {

    /** No authentication: every client is whoever its Hello says (the dev default). */
    ClientAuthenticator OPEN = hello -> Optional.empty();

    /** Empty to let the Hello open its session, else the rejection to answer it with. */
    Optional<Rejection> check(Hello hello);
}
