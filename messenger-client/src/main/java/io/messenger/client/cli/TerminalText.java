package io.messenger.client.cli;

/**
 * Makes text that came from the server (other users' messages, usernames, rooms, reasons) safe to write to a
 * terminal: every character a terminal would act on instead of showing is replaced by a visible escape, so a
 * message cannot clear, colour, retitle or reorder anyone's screen.
 */
final class TerminalText {

    private TerminalText() {
    }

    /**
     * Returns {@code text} with ESC as {@code \e}, CR as {@code \r}, LF as {@code \n}, tab as {@code \t}, and every other C0 control, DEL, C1 control, bidi override or isolate and
     * invisible format character (Unicode category Cf, plus unpaired surrogates) as {@code \}{@code uXXXX}.
     */
    static String escape(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            String replacement = replacement(text, i, c);
            if (replacement == null) {
                if (out != null) {
                    out.append(c);
                }
                continue;
            }
            if (out == null) {
                out = new StringBuilder(text.length() + 16).append(text, 0, i);
            }
            out.append(replacement);
        }
        return out == null ? text : out.toString();
    }

    private static String replacement(String text, int i, char c) {
        switch (c) {
            case 0x1b:
                return "\\e";
            case '\r':
                return "\\r";
            case '\n':
                return "\\n";
            case '\t':
                return "\\t";
            default:
                break;
        }
        if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f)
                || Character.getType(c) == Character.FORMAT
                || c == '\u2028' || c == '\u2029') {
            return unicode(c);
        }
        if (Character.isHighSurrogate(c)) {
            if (i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                int cp = text.codePointAt(i);
                return Character.getType(cp) == Character.FORMAT ? unicode(c) : null;
            }
            return unicode(c);
        }
        if (Character.isLowSurrogate(c)) {
            boolean paired = i > 0 && Character.isHighSurrogate(text.charAt(i - 1));
            if (!paired) {
                return unicode(c);
            }
            return Character.getType(text.codePointAt(i - 1)) == Character.FORMAT ? unicode(c) : null;
        }
        return null;
    }

    private static String unicode(char c) {
        return String.format("\\u%04x", (int) c);
    }
}
