package io.messenger.server;
