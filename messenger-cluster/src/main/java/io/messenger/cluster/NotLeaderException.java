package io.messenger.cluster;

/**
 * Thrown or used to fail a proposal on a node that does not lead. Carries the leader this
 * node knows of, so a client's redirect is data rather than guesswork.
 */
public final class NotLeaderException extends Exception {

    private final int leaderId;
    private final String leaderClientAddress;

    public NotLeaderException(int leaderId, String leaderClientAddress) {
        super(leaderId == 0
                ? "no leader: an election is under way"
                : "not the leader; node " + leaderId + " leads at " + leaderClientAddress);
        this.leaderId = leaderId;
        this.leaderClientAddress = leaderClientAddress == null ? "" : leaderClientAddress;
    }

    /** The known leader's id, or 0 while an election is under way. */
    public int leaderId() {
        return leaderId;
    }

    /** The known leader's client address (host:port), or empty. */
    public String leaderClientAddress() {
        return leaderClientAddress;
    }
}
