package io.messenger.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class TerminalTextTest {

    @Test
    void plainTextIsUnchanged() {
        assertEquals("hello, wörld 😀", TerminalText.escape("hello, wörld 😀"));
    }

    @Test
    void escapeAndCsiSequencesAreShownNotActedOn() {
        assertEquals("\\e[2J\\e[31mFAKE", TerminalText.escape("\u001b[2J\u001b[31mFAKE"));
        assertEquals("\\e]0;title\\u0007", TerminalText.escape("\u001b]0;title\u0007"));
    }

    @Test
    void c0ControlsDelAndC1ControlsAreEscaped() {
        assertEquals("a\\rb\\nc\\td\\u0008e\\u0000\\u007f\\u009b\\u0085", TerminalText.escape("a\rb\nc\td\be\u0000\u007f\u009b\u0085"));
    }

    @Test
    void bidiOverridesIsolatesAndInvisibleFormatCharactersAreEscaped() {
        assertEquals("\\u202e\\u202a\\u2066\\u2069\\u200b\\ufeff\\u2028",
                TerminalText.escape("\u202e\u202a\u2066\u2069\u200b\ufeff\u2028"));
    }

    @Test
    void unpairedSurrogatesAreEscaped() {
        assertEquals("x\\ud800y", TerminalText.escape("x\ud800y"));
    }
}
