package io.messenger.server.client;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A token bucket's shape: {@code perSecond} tokens refill each second, up to {@code burst}
 * held at once. {@link #OFF} never limits.
 */
public record SendRate(double perSecond, int burst) {

    /** No limit at all. */
    public static final SendRate OFF = new SendRate(Double.POSITIVE_INFINITY, Integer.MAX_VALUE);

    private static final Pattern RATE = Pattern.compile("(\\d{1,9})\\s*/\\s*(s|m)");

    public SendRate {
        if (!(perSecond > 0)) {
            throw new IllegalArgumentException("a send rate must be positive, got " + perSecond);
        }
        if (burst < 1) {
            throw new IllegalArgumentException("a send burst must be at least 1, got " + burst);
        }
    }

    public boolean off() {
        return Double.isInfinite(perSecond);
    }

    /**
     * Parses {@code 50/s}, {@code 600/m}, or {@code off} (also {@code 0}).
     *
     * @return tokens per second, or {@code Double.POSITIVE_INFINITY} for off
     */
    public static double parsePerSecond(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.equals("off") || t.equals("0")) {
            return Double.POSITIVE_INFINITY;
        }
        Matcher m = RATE.matcher(t);
        if (!m.matches()) {
            throw new IllegalArgumentException("must be a rate such as 50/s or 600/m, or off, got '" + text + "'");
        }
        long n = Long.parseLong(m.group(1));
        if (n == 0) {
            return Double.POSITIVE_INFINITY;
        }
        return m.group(2).equals("s") ? n : n / 60.0;
    }

    /** As a person reads it: {@code 50/s burst 100}, or {@code off}. */
    @Override
    public String toString() {
        if (off()) {
            return "off";
        }
        String rate = perSecond == Math.rint(perSecond) ? (long) perSecond + "/s"
                : Math.round(perSecond * 60) + "/m";
        return rate + " burst " + burst;
    }

    /** The rate in words for a refusal: {@code 50 messages a second (bursts of 100)}. */
    String inWords() {
        String rate = perSecond == Math.rint(perSecond) ? (long) perSecond + " messages a second"
                : Math.round(perSecond * 60) + " messages a minute";
        return rate + " (bursts of " + burst + ")";
    }
}
