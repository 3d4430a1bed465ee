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
# Extra flags for every local node (make run SERVER_ARGS="--send-rate 10/s")
SERVER_ARGS ?=

.PHONY: all build build-server build-client run run-bench stop status test clean

all: build

build:
	$(MVN) -q -DskipTests package
	@$(MAKE) --no-print-directory launchers

build-server:
	$(MVN) -q -DskipTests -pl messenger-server -am package
	@scripts/make-launcher.sh $(SERVER_JAR) build/server.app
	@scripts/make-class-archive.sh build/server.app

build-client:
	$(MVN) -q -DskipTests -pl messenger-client -am package
	@scripts/make-launcher.sh $(CLIENT_JAR) build/client.app

.PHONY: launchers
launchers:
	@scripts/make-launcher.sh $(SERVER_JAR) build/server.app
	@scripts/make-class-archive.sh build/server.app
	@scripts/make-launcher.sh $(CLIENT_JAR) build/client.app
	@scripts/make-launcher.sh $(BENCH_JAR) build/bench.app

run: build-server build-client
	@NODES=$(NODES) SERVER_ARGS="$(SERVER_ARGS)" scripts/local-cluster.sh start

# The cluster the benchmark needs: `make run` with the client limits lifted (the full-speed
# step sends far above the default 50 sends/s per connection, and every run makes new rooms).
run-bench: build-server build-client
	@NODES=$(NODES) SERVER_ARGS="$(BENCH_SERVER_ARGS)" scripts/local-cluster.sh start

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

# ---------------------------------------------------------------------------------------------
# Docker deployment: a 3-node cluster from deploy/docker-compose.yml (see deploy/README.md).
#
#   make deploy              build the jar (if stale) and the image, start the cluster detached,
#                            wait until every node is healthy, print how to mint a token and
#                            connect (TLS and token auth on; also builds build/server.app and
#                            build/client.app when stale)
#   make deploy-logs         the same, then follow the nodes' logs
#   make deploy-status       each node's health and /status
#   make deploy-stop         remove the containers, keep the data volumes (alias: undeploy);
#                            DROP_DATA=1 removes the volumes too
#   make deploy-image        only build the image ($(DEPLOY_IMAGE))
#   make deploy-base-image   only make sure a Java 17 base image exists (pulled, or built locally
#                            with jlink when nothing can be pulled)
DEPLOY_IMAGE   ?= messenger/server:dev
DEPLOY_SOURCES := $(shell find pom.xml proto messenger-cluster messenger-server -path '*/target' -prune -o \
                    -type f \( -name '*.java' -o -name '*.proto' -o -name 'pom.xml' -o -path '*/src/main/resources/*' \) -print 2>/dev/null)

.PHONY: deploy deploy-logs deploy-status deploy-stop undeploy deploy-image deploy-base-image

$(SERVER_JAR): $(DEPLOY_SOURCES)
	$(MVN) -q -DskipTests -pl messenger-server -am package

deploy-base-image:
	@deploy/jre-base.sh

deploy-image: $(SERVER_JAR)
	@deploy/build-image.sh $(DEPLOY_IMAGE)

# The launchers `make deploy` tells you to mint a token and chat with; rebuilt only when stale.
CLIENT_SOURCES := $(shell find messenger-client -path '*/target' -prune -o \
                    -type f \( -name '*.java' -o -name 'pom.xml' -o -path '*/src/main/resources/*' \) -print 2>/dev/null)

$(CLIENT_JAR): $(CLIENT_SOURCES) $(filter pom.xml proto/%,$(DEPLOY_SOURCES))
	$(MVN) -q -DskipTests -pl messenger-client -am package

build/server.app: $(SERVER_JAR)
	@scripts/make-launcher.sh $(SERVER_JAR) build/server.app
	@scripts/make-class-archive.sh build/server.app

build/client.app: $(CLIENT_JAR)
	@scripts/make-launcher.sh $(CLIENT_JAR) build/client.app

deploy: deploy-image build/server.app build/client.app
	@MESSENGER_IMAGE=$(DEPLOY_IMAGE) deploy/cluster.sh up

deploy-logs: deploy
	@MESSENGER_IMAGE=$(DEPLOY_IMAGE) deploy/cluster.sh logs

deploy-status:
	@MESSENGER_IMAGE=$(DEPLOY_IMAGE) deploy/cluster.sh status

deploy-stop:
	@MESSENGER_IMAGE=$(DEPLOY_IMAGE) deploy/cluster.sh $(if $(DROP_DATA),purge,down)

undeploy: deploy-stop

# ---------------------------------------------------------------------------------------------
# Benchmarks (messenger-bench; see `build/bench.app --help`).
#
#   make bench-deps     install nats-server (Debian package) for the JetStream comparison
#   make build-bench    build build/bench.app
#   make run-bench      `make run` with the client limits lifted (BENCH_SERVER_ARGS), for the bench
#   make bench          against a running local cluster (`make run-bench` first): messenger vs NATS at full
#                       speed and at 5,000 msg/s, then 3 leader kills at 2,000 msg/s on each system
#                       (SIGKILL of the messenger leader, then of the JetStream stream leader), then
#                       10,000 idle sessions (about 4 minutes); results in build/bench-results/. BENCH_ARGS, FAILOVER_ARGS and
#                       CONNECTIONS_ARGS add or override options of each step
#   make bench-compare / bench-failover / bench-connections   one step alone
#   make bench-jmh      the JMH microbenchmarks (JMH_ARGS, e.g. JMH_ARGS="ClientFrameCodec -f 1")
#   make bench-restart  restart time against total history, on a cluster of its own (ports 7101-7103,
#                       8101-8103, 9101-9103): fills the rooms to each of MESSAGES (default 1, 3 and
#                       10 million) and restarts a backup RESTARTS times at each; see scripts/restart-bench.sh
#   make bench-metrics-overhead   full-speed throughput with node metrics on and off, alternating
#                       on,off,on,off on a fresh local cluster each (about 2.5 minutes; stop `make run`
#                       first); see scripts/metrics-overhead.sh
BENCH_JAR   := messenger-bench/target/messenger-bench-$(VERSION)-app.jar
BENCH_ARGS  ?=
BENCH_SERVER_ARGS ?= --send-rate off --user-send-rate off --max-rooms 10000000 --connection-rate off --connection-rate-total off
FAILOVER_ARGS ?=
CONNECTIONS_ARGS ?=
JMH_ARGS    ?=
SUDO        := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: bench bench-deps build-bench bench-jmh bench-compare bench-failover bench-connections bench-metrics-overhead \
	bench-restart

bench-deps:
	@command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || \
		{ $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q nats-server; }
	@{ command -v nats-server || echo /usr/sbin/nats-server; } | head -1 | xargs -I{} sh -c '{} --version'

build-bench:
	$(MVN) -q -DskipTests -pl messenger-bench -am package
	@scripts/make-launcher.sh $(BENCH_JAR) build/bench.app

bench: build-bench
	build/bench.app compare $(BENCH_ARGS)
	build/bench.app failover $(FAILOVER_ARGS)
	build/bench.app connections $(CONNECTIONS_ARGS)

bench-compare: build-bench
	build/bench.app compare $(BENCH_ARGS)

bench-failover: build-bench
	build/bench.app failover $(FAILOVER_ARGS)

bench-connections: build-bench
	build/bench.app connections $(CONNECTIONS_ARGS)

bench-jmh: build-bench
	build/bench.app jmh $(JMH_ARGS)

bench-metrics-overhead: build-bench build-server
	scripts/metrics-overhead.sh

bench-restart: build-bench build-server
	scripts/restart-bench.sh
