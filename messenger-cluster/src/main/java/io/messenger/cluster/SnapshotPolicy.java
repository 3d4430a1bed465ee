package io.messenger.cluster;

import io.messenger.cluster.storage.LogStorageOptions;

/**
 * When a node snapshots its state machine and how much log it keeps behind a snapshot.
 *
 * @param interval applied entries between two snapshots; 0 turns snapshots (and so compaction) off
 * @param retainEntries entries kept in the log below the latest snapshot's index, so that a backup
 *     that lags by less than this catches up from the log rather than needing a snapshot
 * @param logSegmentBytes size of the log's segment files; compaction deletes whole segments, so
 *     this is also how much log past the retained tail may stay on disk
 */
public record SnapshotPolicy(long interval, long retainEntries, long logSegmentBytes) {

    public static final long DEFAULT_INTERVAL = 50_000;
    public static final long DEFAULT_RETAIN_ENTRIES = 10_000;

    /** Every 50,000 entries, keeping 10,000 entries of log behind the snapshot. */
    public static final SnapshotPolicy DEFAULTS = new SnapshotPolicy(DEFAULT_INTERVAL, DEFAULT_RETAIN_ENTRIES,
            LogStorageOptions.DEFAULT_SEGMENT_BYTES);

    /** No snapshots: the log is kept whole and replayed from index 1 on start. */
    public static final SnapshotPolicy OFF = new SnapshotPolicy(0, DEFAULT_RETAIN_ENTRIES,
            LogStorageOptions.DEFAULT_SEGMENT_BYTES);

    public SnapshotPolicy {
        if (interval < 0) {
            throw new IllegalArgumentException("snapshot interval must be 0 (off) or positive, not " + interval);
        }
        if (retainEntries < 0) {
            throw new IllegalArgumentException("retained log entries must not be negative, not " + retainEntries);
        }
        LogStorageOptions.DEFAULTS.withSegmentBytes(logSegmentBytes); // range check
    }

    /** The log options this policy implies. */
    public LogStorageOptions logOptions() {
        return LogStorageOptions.DEFAULTS.withSegmentBytes(logSegmentBytes);
    }

    /** Whether snapshots are taken at all. */
    public boolean enabled() {
        return interval > 0;
    }
}
