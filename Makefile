# Human entry points. Every target wraps a real command you can also run by hand.
#
#   make build          build everything and the launchers in ./build
#   make run / stop     a local 3-node cluster under ./run (NODES=1 for a single node)
#   make status         every local node's /status
#   make test           the full test suite (what CI runs)
#   make clean

SHELL       := /bin/bash
MVN         ?= mvn -B
VERSION     := 0.1.0-SNAPSHOT
SERVER_JAR  := messenger-server/target/messenger-server-$(VERSION)-app.jar
CLIENT_JAR  := messenger-client/target/messenger-client-$(VERSION)-app.jar
NODES       ?= 3

.PHONY: all build build-server build-client run stop status test clean

all: build

build:
	$(MVN) -q -DskipTests package
	@$(MAKE) --no-print-directory launchers

build-server:
	$(MVN) -q -DskipTests -pl messenger-server -am package
	@scripts/make-launcher.sh $(SERVER_JAR) build/server.app

build-client:
	$(MVN) -q -DskipTests -pl messenger-client -am package
	@scripts/make-launcher.sh $(CLIENT_JAR) build/client.app

.PHONY: launchers
launchers:
	@scripts/make-launcher.sh $(SERVER_JAR) build/server.app
	@scripts/make-launcher.sh $(CLIENT_JAR) build/client.app

run: build-server build-client
	@NODES=$(NODES) scripts/local-cluster.sh start

stop:
	@scripts/local-cluster.sh stop

status:
	@scripts/local-cluster.sh status

test:
	$(MVN) verify
	@scripts/check-leaks.sh

clean:
	@scripts/local-cluster.sh stop >/dev/null 2>&1 || true
	$(MVN) -q clean
	rm -rf build run
