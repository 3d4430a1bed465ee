package io.messenger.client.cli;

import java.time.Duration;
import picocli.CommandLine;

/** Reads durations written as {@code 500ms}, {@code 2s}, {@code 1m}, a bare number of milliseconds, or ISO-8601. */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {

    @Override
    public Duration convert(String value) {
        String v = value.trim().toLowerCase();
        try {
            if (v.startsWith("pt")) {
                return Duration.parse(v.toUpperCase());
            }
            if (v.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2).trim()));
            }
            if (v.endsWith("s")) {
                return Duration.ofMillis(Math.round(Double.parseDouble(v.substring(0, v.length() - 1).trim()) * 1000));
            }
            if (v.endsWith("m")) {
                return Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1).trim()) * 60);
            }
            return Duration.ofMillis(Long.parseLong(v));
        } catch (RuntimeException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a duration (examples: 500ms, 2s, 1m)");
        }
    }
}
