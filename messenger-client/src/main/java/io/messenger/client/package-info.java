package io.messenger.client;
