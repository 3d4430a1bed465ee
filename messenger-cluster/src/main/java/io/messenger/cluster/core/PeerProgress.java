package io.messenger.cluster.core;

import java.util.ArrayDeque;

/**
 * The leader's view of one backup: how far its log is known to match (durably), where the
 * next append starts, and the appends in flight (after etcd-raft's {@code Progress}).
 * While probing, only one append is in flight until the backup confirms a match.
 */
final class PeerProgress {

    final int peerId;
    /** Highest index the backup reported durable and matching this leader's log. */
    long matchIndex;
    /** First index of the next append. */
    long nextIndex;
    /** Whether the match point is unknown, so appends are sent one at a time. */
    boolean probing = true;
    /** Last index of each unanswered append, ascending. */
    final ArrayDeque<Long> inflight = new ArrayDeque<>();
    /** Ticks since any message from the backup: a leader without a majority steps down. */
    int ticksSinceHeard;
    /** Ticks since an append result, or since the pipeline became non-empty. */
    int ticksSinceProgress;
    /** The backup reported that it lost its state and is not restored yet: it counts for nothing. */
    boolean restoring;
    /** While restoring: the index of the barrier appended for it. */
    long restoreBarrier;
    /**
     * The entries this backup needs are compacted from the leader's log: a snapshot is being sent
     * to it (requested once through {@code takeSnapshotsToSend()}), and no appends go until it is
     * installed or the transfer ends.
     */
    boolean snapshotting;
    /** Ticks to wait after a transfer ended without an install before another is requested. */
    int snapshotRetryTicks;

    PeerProgress(int peerId, long nextIndex) {
        this.peerId = peerId;
        this.nextIndex = nextIndex;
    }

    /** Forgets what is in flight and probes again from just past the known match. */
    void resetToProbe() {
        inflight.clear();
        probing = true;
        nextIndex = matchIndex + 1;
        ticksSinceProgress = 0;
    }

    /** Marks appends ending at or below {@code match} as answered. */
    void acknowledge(long match) {
        while (!inflight.isEmpty() && inflight.peekFirst() <= match) {
            inflight.pollFirst();
        }
    }
}
