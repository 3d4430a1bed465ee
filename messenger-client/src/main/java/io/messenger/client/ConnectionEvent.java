package io.messenger.client;

import java.net.InetSocketAddress;

/**
 * A change of the client's {@link ConnectionState}, with what a person needs to understand it.
 *
 * @param state the new state
 * @param nodeId the serving node for {@code CONNECTED}/{@code RECONNECTED}, else 0
 * @param address the serving node's address for {@code CONNECTED}/{@code RECONNECTED}, else null
 * @param reason one sentence saying why, for {@code RECONNECTING} and {@code FAILED}; else null
 * @param cause the error behind {@code FAILED} (for example a {@link RejectedException}), else null
 */
public record ConnectionEvent(ConnectionState state, int nodeId, InetSocketAddress address, String reason,
                              Throwable cause) {

    static ConnectionEvent of(ConnectionState state) {
        return new ConnectionEvent(state, 0, null, null, null);
    }

    static ConnectionEvent online(ConnectionState state, int nodeId, InetSocketAddress address) {
        return new ConnectionEvent(state, nodeId, address, null, null);
    }

    static ConnectionEvent reconnecting(String reason) {
        return new ConnectionEvent(ConnectionState.RECONNECTING, 0, null, reason, null);
    }

    static ConnectionEvent failed(Throwable cause) {
        return new ConnectionEvent(ConnectionState.FAILED, 0, null, cause.getMessage(), cause);
    }
}
