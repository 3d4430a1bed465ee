package io.messenger.cluster.storage;

/** Stored election state exists but cannot be trusted; the node must not start on a guess. */
public final class CorruptStateException extends RuntimeException {

    public CorruptStateException(String message) {
        super(message);
    }
}
