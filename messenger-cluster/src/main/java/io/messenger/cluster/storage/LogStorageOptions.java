package io.messenger.cluster.storage;

/**
 * Tuning of a {@link SegmentedLogStorage}, range-checked in one place.
 *
 * @param segmentBytes size at which the active segment file is closed and a new one started
 *     (a single entry larger than this gets a segment of its own)
 * @param cachedEntries how many of the most recent durable entries stay in memory; older
 *     ones are read back from their segment file when asked for
 */
public record LogStorageOptions(long segmentBytes, int cachedEntries) {

    public static final long DEFAULT_SEGMENT_BYTES = 4L * 1024 * 1024;
    public static final int DEFAULT_CACHED_ENTRIES = 8192;
    public static final LogStorageOptions DEFAULTS =
            new LogStorageOptions(DEFAULT_SEGMENT_BYTES, DEFAULT_CACHED_ENTRIES);

    static final long MIN_SEGMENT_BYTES = 1024;
    // Offsets inside a segment are kept as ints; a segment may overrun by one record.
    static final long MAX_SEGMENT_BYTES = 1024L * 1024 * 1024;

    public LogStorageOptions {
        if (segmentBytes < MIN_SEGMENT_BYTES || segmentBytes > MAX_SEGMENT_BYTES) {
            throw new IllegalArgumentException("segment size must be between " + MIN_SEGMENT_BYTES
                    + " bytes and 1 GiB, got " + segmentBytes);
        }
        if (cachedEntries < 0) {
            throw new IllegalArgumentException("cached entries must not be negative, got " + cachedEntries);
        }
    }

    public LogStorageOptions withSegmentBytes(long bytes) {
        return new LogStorageOptions(bytes, cachedEntries);
    }

    public LogStorageOptions withCachedEntries(int entries) {
        return new LogStorageOptions(segmentBytes, entries);
    }
}
