package io.messenger.client.cli;

/**
 * Chooses the CLI's logging before the first logger exists: silent by default, or into the file named by
 * {@code --log-file}, so log lines never mix with the chat on stdout/stderr.
 */
final class LogSetup {

    static final String SILENT = "io/messenger/client/cli/logback-silent.xml";
    static final String TO_FILE = "io/messenger/client/cli/logback-file.xml";
    static final String LOG_FILE_PROPERTY = "messenger.client.logFile";

    private LogSetup() {
    }

    static void beforeAnyLogger(String[] args) {
        if (System.getProperty("logback.configurationFile") != null) {
            return; // the user chose a configuration explicitly
        }
        String file = null;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--log-file") && i + 1 < args.length) {
                file = args[i + 1];
            } else if (args[i].startsWith("--log-file=")) {
                file = args[i].substring("--log-file=".length());
            }
        }
        if (file != null && !file.isBlank()) {
            System.setProperty(LOG_FILE_PROPERTY, file);
            System.setProperty("logback.configurationFile", TO_FILE);
        } else {
            System.setProperty("logback.configurationFile", SILENT);
        }
    }
}
