package io.messenger.cluster;

import io.messenger.proto.peer.Append;
import io.messenger.proto.peer.Elected;
import io.messenger.proto.peer.ElectionToken;
import io.messenger.proto.peer.Entry;
import io.messenger.proto.peer.InstallSnapshot;
import io.messenger.proto.peer.PeerEnvelope;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Refuses peer messages whose values no correct member can send, before the consensus core
 * sees them: epochs that are negative (a uint64 above 2^63) or jump more than 2^32 past the
 * highest epoch this node knows, node ids outside the configured members, appends whose
 * entries are not consecutive, go back in epoch or exceed the configured batch maxima, and
 * indexes beyond 2^62. Even an authenticated member that is buggy or compromised then cannot
 * stop a node or write a log it could not start from.
 */
public final class PeerMessageValidator {

    /** Largest epoch jump over this node's known epoch that a message may announce. */
    public static final long MAX_EPOCH_JUMP = 1L << 32;

    /** No real log reaches this index; anything above it is refused (and sums cannot overflow). */
    public static final long MAX_INDEX = 1L << 62;

    private final int selfId;
    private final Set<Integer> memberIds;
    private final int maxAppendEntries;
    private final long maxAppendBytes;

    /**
     * @param maxAppendEntries most entries a leader puts in one append (every member is
     *     configured alike)
     * @param maxAppendBytes most serialized entry bytes in one append of more than one entry
     */
    public PeerMessageValidator(int selfId, Set<Integer> memberIds, int maxAppendEntries, long maxAppendBytes) {
        this.selfId = selfId;
        this.memberIds = Set.copyOf(memberIds);
        this.maxAppendEntries = maxAppendEntries;
        this.maxAppendBytes = maxAppendBytes;
    }

    /** A validator for a node of {@code config}. */
    public static PeerMessageValidator of(ClusterConfig config) {
        Set<Integer> ids = new HashSet<>();
        config.members().forEach(m -> ids.add(m.id()));
        return new PeerMessageValidator(config.nodeId(), ids, config.maxAppendEntries(), config.maxAppendBytes());
    }

    /**
     * Checks one envelope from an identified peer.
     *
     * @param knownEpoch the highest epoch this node knows (its durable epoch)
     * @return {@code null} when the envelope is acceptable, otherwise why it is refused
     */
    public String problemWith(PeerEnvelope envelope, long knownEpoch) {
        int from = envelope.getFrom();
        if (!memberIds.contains(from) || from == selfId) {
            return "sender id " + from + " is not another configured member " + memberIds;
        }
        String problem = epochProblem("envelope epoch", envelope.getEpoch(), knownEpoch);
        if (problem != null) {
            return problem;
        }
        return switch (envelope.getBodyCase()) {
            case ELECTION_TOKEN -> tokenProblem(envelope.getElectionToken(), knownEpoch);
            case TOKEN_RECEIPT -> firstProblem(
                    epochProblem("receipt epoch", envelope.getTokenReceipt().getEpoch(), knownEpoch),
                    memberProblem("receipt initiator", envelope.getTokenReceipt().getInitiator()));
            case ELECTED -> electedProblem(envelope.getElected(), knownEpoch);
            case APPEND -> appendProblem(envelope.getAppend(), envelope.getEpoch());
            case HEARTBEAT -> firstProblem(
                    indexProblem("heartbeat commit index", envelope.getHeartbeat().getCommitIndex()),
                    indexProblem("heartbeat restore barrier", envelope.getHeartbeat().getRestoreBarrier()));
            case HEARTBEAT_REPLY -> indexProblem("heartbeat match index",
                    envelope.getHeartbeatReply().getMatchIndex());
            case APPEND_RESULT -> firstProblem(
                    indexProblem("append result match index", envelope.getAppendResult().getMatchIndex()),
                    indexProblem("append result hint index", envelope.getAppendResult().getHintIndex()));
            case INSTALL_SNAPSHOT -> installSnapshotProblem(envelope.getInstallSnapshot(), envelope.getEpoch());
            case INSTALL_SNAPSHOT_RESULT -> firstProblem(
                    indexProblem("snapshot result index", envelope.getInstallSnapshotResult().getSnapshotIndex()),
                    envelope.getInstallSnapshotResult().getRefused().length() > 1024
                            ? "snapshot refusal reason of " + envelope.getInstallSnapshotResult().getRefused().length()
                                    + " characters" : null);
            default -> null;
        };
    }

    private String tokenProblem(ElectionToken token, long knownEpoch) {
        // The candidate's last epoch may exceed the token's: a stale token still travels
        // (and is then dropped by the core) after its participants moved on.
        return firstProblem(
                epochProblem("token epoch", token.getEpoch(), knownEpoch),
                epochProblem("token candidate last epoch", token.getCandidateLastEpoch(), knownEpoch),
                memberProblem("token initiator", token.getInitiator()),
                memberProblem("token candidate", token.getCandidate()),
                participantsProblem("token", token.getParticipantsList()),
                indexProblem("token candidate last index", token.getCandidateLastIndex()));
    }

    private String electedProblem(Elected elected, long knownEpoch) {
        return firstProblem(
                epochProblem("elected epoch", elected.getEpoch(), knownEpoch),
                memberProblem("elected leader", elected.getLeader()),
                participantsProblem("elected", elected.getParticipantsList()));
    }

    private String appendProblem(Append append, long envelopeEpoch) {
        List<Entry> entries = append.getEntriesList();
        if (entries.size() > maxAppendEntries) {
            return "append carries " + entries.size() + " entries, above the maximum " + maxAppendEntries;
        }
        String problem = firstProblem(
                indexProblem("append prev index", append.getPrevIndex()),
                indexProblem("append commit index", append.getCommitIndex()));
        if (problem != null) {
            return problem;
        }
        if (append.getPrevEpoch() < 0 || append.getPrevEpoch() > envelopeEpoch) {
            return "append prev epoch " + Long.toUnsignedString(append.getPrevEpoch())
                    + " is above the sender's epoch " + envelopeEpoch;
        }
        long bytes = 0;
        long previousEpoch = append.getPrevEpoch();
        for (int i = 0; i < entries.size(); i++) {
            Entry entry = entries.get(i);
            long expectedIndex = append.getPrevIndex() + 1 + i;
            if (entry.getIndex() != expectedIndex) {
                return "append entry " + i + " has index " + Long.toUnsignedString(entry.getIndex())
                        + ", expected " + expectedIndex + " (entries must be consecutive after prev index)";
            }
            if (entry.getEpoch() < previousEpoch || entry.getEpoch() > envelopeEpoch) {
                return "append entry " + expectedIndex + " has epoch " + Long.toUnsignedString(entry.getEpoch())
                        + ", outside [" + previousEpoch + ", " + envelopeEpoch + "]";
            }
            previousEpoch = entry.getEpoch();
            bytes += entry.getSerializedSize();
        }
        if (entries.size() > 1 && bytes > maxAppendBytes) {
            return "append carries " + bytes + " bytes of entries, above the maximum " + maxAppendBytes;
        }
        return null;
    }

    private String installSnapshotProblem(InstallSnapshot chunk, long envelopeEpoch) {
        String problem = firstProblem(
                indexProblem("snapshot index", chunk.getSnapshotIndex()),
                indexProblem("snapshot commit index", chunk.getCommitIndex()));
        if (problem != null) {
            return problem;
        }
        if (chunk.getSnapshotEpoch() < 0 || chunk.getSnapshotEpoch() > envelopeEpoch) {
            return "snapshot epoch " + Long.toUnsignedString(chunk.getSnapshotEpoch()) + " is above the sender's epoch "
                    + envelopeEpoch;
        }
        if (chunk.getOffset() < 0 || chunk.getTotalBytes() < 0 || chunk.getOffset() > chunk.getTotalBytes()) {
            return "snapshot chunk offset " + Long.toUnsignedString(chunk.getOffset()) + " lies outside its "
                    + Long.toUnsignedString(chunk.getTotalBytes()) + " bytes";
        }
        if (chunk.getData().size() > 2 * maxAppendBytes) {
            return "snapshot chunk of " + chunk.getData().size() + " bytes, above the maximum " + 2 * maxAppendBytes;
        }
        return null;
    }

    private String participantsProblem(String what, List<Integer> participants) {
        if (participants.size() > memberIds.size() || new HashSet<>(participants).size() != participants.size()) {
            return what + " participants " + participants + " repeat a node or outnumber the members";
        }
        for (int id : participants) {
            if (!memberIds.contains(id)) {
                return what + " participant " + id + " is not a configured member " + memberIds;
            }
        }
        return null;
    }

    private String memberProblem(String what, int id) {
        return memberIds.contains(id) ? null : what + " " + id + " is not a configured member " + memberIds;
    }

    private static String epochProblem(String what, long epoch, long knownEpoch) {
        if (epoch < 0) {
            return what + " " + Long.toUnsignedString(epoch) + " is beyond 2^63";
        }
        if (epoch - knownEpoch > MAX_EPOCH_JUMP) {
            return what + " " + epoch + " jumps more than 2^32 past this node's epoch " + knownEpoch;
        }
        return null;
    }

    private static String indexProblem(String what, long index) {
        if (index < 0 || index > MAX_INDEX) {
            return what + " " + Long.toUnsignedString(index) + " is beyond 2^62";
        }
        return null;
    }

    private static String firstProblem(String... problems) {
        for (String problem : problems) {
            if (problem != null) {
                return problem;
            }
        }
        return null;
    }
}
