/** The command-line chat client ({@link io.messenger.client.cli.ChatCli}), interactive or scripted, built on the library. */
package io.messenger.client.cli;
