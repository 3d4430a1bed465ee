package io.messenger.cluster.storage;

/**
 * The small piece of election state a node must never forget: the highest epoch it has
 * promised and the initiator of the token it promised it to (0 when the epoch was learned
 * from a leader rather than promised to a token). Written with fsync before the node acts
 * on it.
 */
public record DurableState(long epoch, int promisedTo) {

    public static final DurableState INITIAL = new DurableState(0, 0);

    public DurableState {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch must not be negative: " + epoch);
        }
    }
}
