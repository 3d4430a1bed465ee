package io.messenger.cluster.core;

import io.messenger.proto.peer.ElectionToken;
import java.util.List;
import java.util.Set;

/**
 * The ring vote: which node a token goes to next, how a node joins it, and when it has
 * won. The nodes, ordered by id, form a ring (after Chang and Roberts, "An improved
 * algorithm for decentralized extrema-finding in circular configurations of processes",
 * CACM 1979), and the token collects the promises that Raft collects with RequestVote
 * (Ongaro and Ousterhout, "In Search of an Understandable Consensus Algorithm", 2014).
 *
 * <p>The initiator picks an epoch above every epoch it has seen, promises it to itself
 * durably and sends the token to its successor. Each node that has not promised that epoch
 * (or a higher one) to another token promises it durably, adds itself to the participants,
 * names itself the candidate if its durable log is more up to date (last epoch, then last
 * index, then node id) and forwards the token. Back at its initiator, a token carried by a
 * majority elects its candidate. Safety is Raft's: a node promises an epoch to one token
 * only, so two tokens of one epoch cannot both collect a majority; a committed entry is
 * durable on a majority, which meets the participants, so the most up-to-date participant,
 * who wins, holds it; and a participant never again accepts appends of an older epoch, so
 * the old leader cannot commit behind the new one's back. Only durable log positions go
 * into a token: an entry that is not yet durable may vanish in a crash.
 *
 * <p>Above epoch 1 a probe token (a pre-vote, Raft thesis section 9.6) goes round first: it
 * changes no state, is dropped by any node that hears a live leader, and only once it comes
 * home carried by a majority does the initiator raise its epoch and send the real token.
 *
 * <p>Tokens skip successors reported down, and every hop is acknowledged with a
 * {@code TokenReceipt} (whatever the receiver decided): a successor that stays silent for two
 * heartbeats is passed over for two election timeouts, so a dead peer that nobody reported
 * does not swallow every token.
 */
final class RingElection {

    private final int self;
    private final List<Integer> ring;
    private final int majority;
    private final int heartbeatTicks;

    RingElection(CoreConfig config) {
        this.self = config.selfId();
        this.heartbeatTicks = config.heartbeatTicks();
        this.ring = config.memberIds().stream().sorted().toList();
        this.majority = config.majority();
    }

    /** A fresh token for an election this node starts, with itself as first participant. */
    ElectionToken open(long epoch, long durableLastEpoch, long durableLastIndex) {
        return ElectionToken.newBuilder()
                .setEpoch(epoch)
                .setInitiator(self)
                .addParticipants(self)
                .setCandidate(self)
                .setCandidateLastEpoch(durableLastEpoch)
                .setCandidateLastIndex(durableLastIndex)
                .build();
    }

    /**
     * The token with this node added as participant (once) and as candidate if its durable
     * log is more up to date than the token's candidate.
     */
    ElectionToken join(ElectionToken token, long durableLastEpoch, long durableLastIndex) {
        ElectionToken.Builder b = token.toBuilder();
        if (!token.getParticipantsList().contains(self)) {
            b.addParticipants(self);
        }
        if (moreUpToDate(durableLastEpoch, durableLastIndex, self,
                token.getCandidateLastEpoch(), token.getCandidateLastIndex(), token.getCandidate())) {
            b.setCandidate(self).setCandidateLastEpoch(durableLastEpoch).setCandidateLastIndex(durableLastIndex);
        }
        return b.build();
    }

    /** Raft's up-to-date order, with the node id as the final tie-break (higher wins). */
    static boolean moreUpToDate(long epochA, long indexA, int idA, long epochB, long indexB, int idB) {
        if (epochA != epochB) {
            return epochA > epochB;
        }
        if (indexA != indexB) {
            return indexA > indexB;
        }
        return idA > idB;
    }

    /**
     * Where this node sends {@code token} next: the first node after it in ring order that
     * is not known to be unreachable and has not joined yet, or the initiator. Returns this
     * node's own id when it is the initiator and nobody else can be reached (the token is
     * back home), and 0 when the token cannot go anywhere useful.
     */
    int nextHop(ElectionToken token, Set<Integer> unreachable) {
        int start = ring.indexOf(self);
        for (int step = 1; step < ring.size(); step++) {
            int node = ring.get((start + step) % ring.size());
            if (unreachable.contains(node)) {
                continue;
            }
            if (node == token.getInitiator() || !token.getParticipantsList().contains(node)) {
                return node;
            }
        }
        return token.getInitiator() == self ? self : 0;
    }

    /**
     * Ticks this node waits, after its link to leader {@code lost} closed, before it starts an
     * election: half a heartbeat (time for the other survivors to see their links close too),
     * plus two heartbeats (a token hop's receipt timeout) per reachable node that comes before it
     * in ring order after {@code lost}. The first survivor after the lost leader thus always
     * initiates, and the others hear its probe before their own turn comes.
     */
    int lossDelayTicks(int lost, Set<Integer> unreachable) {
        int base = Math.max(1, heartbeatTicks / 2);
        return base + 2 * heartbeatTicks * rankAfter(lost, unreachable);
    }

    /**
     * How many nodes other than {@code lost} and this one, not in {@code unreachable}, come
     * between {@code lost} and this node in ring order: 0 for the first reachable successor.
     */
    int rankAfter(int lost, Set<Integer> unreachable) {
        int start = ring.indexOf(lost);
        if (start < 0) {
            start = ring.indexOf(self);
        }
        int rank = 0;
        for (int step = 1; step < ring.size(); step++) {
            int node = ring.get((start + step) % ring.size());
            if (node == self) {
                return rank;
            }
            if (node != lost && !unreachable.contains(node)) {
                rank++;
            }
        }
        return rank;
    }

    /** Whether the token carries the promises of a majority of the configured nodes. */
    boolean hasMajority(ElectionToken token) {
        return token.getParticipantsList().stream().distinct().count() >= majority;
    }
}
