package io.messenger.cluster;

/** The role of a node in its current epoch. */
public enum Role {
    /** Replicates the leader's log; answers clients with the leader's address. */
    BACKUP,
    /** Has started or joined an election that has not finished. */
    ELECTING,
    /** Orders every change, replicates it and serves clients. */
    LEADER,
    /** Shut down; accepts nothing. */
    STOPPED
}
