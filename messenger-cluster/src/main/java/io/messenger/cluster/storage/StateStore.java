package io.messenger.cluster.storage;

/** Durable home of a node's {@link DurableState}. */
public interface StateStore {

    /** The last saved state, or {@link DurableState#INITIAL} for a new node. */
    DurableState load();

    /** Saves the state durably (fsync'd) before returning; atomic against crashes. */
    void save(DurableState state);
}
