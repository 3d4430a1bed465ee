#!/usr/bin/env bash
# Runs the 3-node cluster of deploy/docker-compose.yml; the make deploy-* targets call this.
#
#   deploy/cluster.sh up       start (detached) and wait until every node is healthy
#   deploy/cluster.sh logs     follow the nodes' logs
#   deploy/cluster.sh status   each node's container state and /status
#   deploy/cluster.sh down     remove the containers and the network, keep the data volumes
#   deploy/cluster.sh purge    remove the containers, the network and the data volumes
#
# `up` creates, once, the cluster's CA and certificates in $MESSENGER_TLS_DIR (default deploy/tls) and
# the ES256 key pair of user tokens in $MESSENGER_AUTH_DIR (default deploy/auth), and prints how to mint
# a token with the private key and connect the CLI with it over TLS.
#
# Uses `docker compose` when the engine's CLI has it, else `docker-compose`. Project name:
# $MESSENGER_PROJECT (default messenger); image: $MESSENGER_IMAGE (default messenger/server:dev).
#
# `up` also starts the `prometheus` service (compose profile `monitoring`, http://127.0.0.1:9090)
# when deploy/build-prometheus-image.sh can build its image ($PROMETHEUS_IMAGE, default
# messenger/prometheus:local) from the host's prometheus binary; otherwise it says why and deploys
# the nodes alone. MESSENGER_PROMETHEUS=0 skips it; PROMETHEUS_PORT changes the host port.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PROJECT=${MESSENGER_PROJECT:-messenger}
NODES=(node1 node2 node3)
WAIT_TIMEOUT=${MESSENGER_DEPLOY_TIMEOUT:-120}

if ! docker info >/dev/null 2>&1; then
  echo "deploy: no Docker engine answers. Start one (as root on Debian: .ci/docker-engine.sh start)." >&2
  exit 1
fi
if docker compose version >/dev/null 2>&1; then
  COMPOSE=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  COMPOSE=(docker-compose)
else
  echo "deploy: neither 'docker compose' nor 'docker-compose' is installed." >&2
  exit 1
fi
COMPOSE+=(-f "$HERE/docker-compose.yml" -p "$PROJECT")
export PROMETHEUS_IMAGE=${PROMETHEUS_IMAGE:-messenger/prometheus:local}
export PROMETHEUS_PORT=${PROMETHEUS_PORT:-9090}
# down, purge, logs and status cover the prometheus service too, whether or not it runs.
WITH_PROMETHEUS=(--profile monitoring)

container_of() { "${COMPOSE[@]}" ps -q "$1" 2>/dev/null; }

health_of() {
  local id
  id=$(container_of "$1")
  if [ -z "$id" ]; then echo absent; return; fi
  docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null || echo absent
}

# Node N's admin port on the host is 800N (see docker-compose.yml).
admin_get() {
  local n=$1 path=$2
  curl -fsS --max-time 2 "http://127.0.0.1:800$n$path" 2>/dev/null
}

# Ready: the node's own /health answers 200 through its published admin port. Docker's health status
# says the same, but only at its next probe (every 3s), which would make start-up look slower.
ready() {
  local n=$1
  curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:800$n/health" 2>/dev/null
}

# The cluster's CA, each node's peer certificate and the client-facing certificate, made once.
# The container's non-root user (uid 10001) must read the keys through the bind mount, so they
# are mode 644 in a directory of mode 711: other users of this host can open a key only if they
# know its name. On a shared host, set MESSENGER_TLS_DIR to a place of your own.
TLS_DIR=${MESSENGER_TLS_DIR:-$HERE/tls}
ensure_credentials() {
  if [[ -s $TLS_DIR/ca.pem && -s $TLS_DIR/server.key ]] && ls "$TLS_DIR"/node-{1,2,3}.key >/dev/null 2>&1; then
    return
  fi
  echo "deploy: creating the cluster's CA and certificates in $TLS_DIR (once)"
  SERVER_NAMES=node1,node2,node3 "$HERE/../scripts/make-certs.sh" "$TLS_DIR" 3 >/dev/null
  chmod 711 "$TLS_DIR"
  chmod 644 "$TLS_DIR"/node-*.key "$TLS_DIR"/server.key
}

# The ES256 key pair of user tokens, made once (scripts/make-token-key.sh, which runs the server jar's
# `token --generate-ec-key`). Only the public key is mounted into the nodes (read-only, at
# /auth/token-public.pem): a node's disk holds nothing that can mint tokens. The private key stays
# here, mode 600 in a mode-700 directory, for `server.app token --auth-private-key-file`.
AUTH_DIR=${MESSENGER_AUTH_DIR:-$HERE/auth}
ensure_token_key() {
  if [[ -s $AUTH_DIR/token-private.pem && -s $AUTH_DIR/token-public.pem ]]; then
    return
  fi
  echo "deploy: creating the ES256 key pair of user tokens in $AUTH_DIR (once)"
  mkdir -p "$AUTH_DIR"
  chmod 700 "$AUTH_DIR"
  "$HERE/../scripts/make-token-key.sh" "$AUTH_DIR" >/dev/null
}

# A path as the user should type it: relative to the current directory when it lies below it.
shown() {
  case $1 in
    "$PWD"/*) echo "${1#"$PWD"/}" ;;
    *) echo "$1" ;;
  esac
}

# Whether the prometheus service can run: its image exists or can be built now (reason on stderr).
prometheus_image() {
  if [ "${MESSENGER_PROMETHEUS:-1}" = 0 ]; then
    echo "deploy: MESSENGER_PROMETHEUS=0: no Prometheus container" >&2
    return 1
  fi
  "$HERE/build-prometheus-image.sh" "$PROMETHEUS_IMAGE"
}

prometheus_ready() { curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" 2>/dev/null; }

up() {
  local start=$SECONDS profiles=() prometheus=""
  ensure_credentials
  ensure_token_key
  export MESSENGER_TLS_DIR=$TLS_DIR MESSENGER_AUTH_DIR=$AUTH_DIR
  if prometheus_image; then
    profiles=("${WITH_PROMETHEUS[@]}")
    prometheus=yes
  else
    echo "deploy: no Prometheus image could be built (reason above); deploying the nodes without it." >&2
    echo "deploy: to scrape them with a Prometheus of your own, use deploy/prometheus/prometheus.yml" \
      "(targets node1..3:8001 inside the compose network; 127.0.0.1:8001..8003 from the host)." >&2
  fi
  "${COMPOSE[@]}" "${profiles[@]}" up -d
  echo "deploy: waiting (up to ${WAIT_TIMEOUT}s) for ${NODES[*]} to report healthy"
  local line previous=""
  while true; do
    local healthy=0 states=() i=0
    for node in "${NODES[@]}"; do
      i=$((i + 1))
      if ready "$i"; then
        states+=("$node=healthy")
        healthy=$((healthy + 1))
      else
        states+=("$node=$(health_of "$node")")
      fi
    done
    line="${states[*]}"
    [ "$line" != "$previous" ] && echo "  $((SECONDS - start))s: $line"
    previous=$line
    [ "$healthy" -eq "${#NODES[@]}" ] && break
    if [ $((SECONDS - start)) -ge "$WAIT_TIMEOUT" ]; then
      echo "deploy: the cluster did not become healthy within ${WAIT_TIMEOUT}s; last log lines:" >&2
      "${COMPOSE[@]}" logs --tail=20 >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  echo "deploy: all ${#NODES[@]} nodes healthy after $((SECONDS - start))s"
  if [ -n "$prometheus" ]; then
    local tries=0
    until prometheus_ready; do
      tries=$((tries + 1))
      if [ "$tries" -ge 60 ]; then
        echo "deploy: Prometheus is not ready after 30s (the nodes run regardless); its last log lines:" >&2
        "${COMPOSE[@]}" "${profiles[@]}" logs --tail=20 prometheus >&2 || true
        break
      fi
      sleep 0.5
    done
  fi
  status_lines
  local ca key bin
  ca=$(shown "$TLS_DIR/ca.pem")
  key=$(shown "$AUTH_DIR/token-private.pem")
  bin=$(shown "$(cd "$HERE/.." && pwd)/build")
  cat <<EOF

The cluster requires TLS (peers: mutual TLS; CA $ca) and a signed token (ES256) from every user.
Mint a token for alice, valid for an hour, with the private key (only the public half is in the nodes):
  $bin/server.app token --auth-private-key-file $key --user alice --ttl 1h > alice.token
Chat as alice in room lobby over TLS:
  $bin/client.app --tls-ca $ca --token-file alice.token --servers 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003 alice lobby
(--token TOKEN or MESSENGER_TOKEN work too; a client without a valid token for its username exits 5, one
 without --tls-ca is refused with a sentence.)
Status: make deploy-status   Logs: make deploy-logs   Stop: make deploy-stop (data kept)
EOF
  if [ -n "$prometheus" ]; then
    echo "Prometheus (scrapes the three nodes, evaluates deploy/prometheus/alerts.yml): http://127.0.0.1:$PROMETHEUS_PORT"
    echo "Grafana: import deploy/grafana/messenger-dashboard.json with that Prometheus as its data source."
  fi
}

status_lines() {
  local i=0
  for node in "${NODES[@]}"; do
    i=$((i + 1))
    local s
    s=$(admin_get "$i" /status) || s="(no answer on http://127.0.0.1:800$i/status)"
    printf '  %s  %-9s clients 127.0.0.1:700%s  %s\n' "$node" "$(health_of "$node")" "$i" "$s"
  done
  local p up
  p=$("${COMPOSE[@]}" "${WITH_PROMETHEUS[@]}" ps -q prometheus 2>/dev/null || true)
  if [ -n "$p" ]; then
    up=$(curl -fsS --max-time 2 "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/query?query=up%3D%3D1" 2>/dev/null \
      | grep -o '"__name__":"up"' | wc -l || true)
    printf '  prometheus %-9s http://127.0.0.1:%s  (scrapes %s of 3 nodes)\n' \
      "$(docker inspect -f '{{.State.Status}}' "$p" 2>/dev/null || echo absent)" "$PROMETHEUS_PORT" "${up:-?}"
  fi
}

case "${1:-}" in
  up) up ;;
  logs) "${COMPOSE[@]}" "${WITH_PROMETHEUS[@]}" logs -f --tail=50 ;;
  status) status_lines ;;
  down) "${COMPOSE[@]}" "${WITH_PROMETHEUS[@]}" down --remove-orphans && echo "deploy: stopped; data volumes kept (make deploy-stop DROP_DATA=1 removes them)" ;;
  purge) "${COMPOSE[@]}" "${WITH_PROMETHEUS[@]}" down --remove-orphans --volumes && echo "deploy: stopped; data volumes removed" ;;
  *) echo "usage: $0 up|logs|status|down|purge" >&2; exit 2 ;;
esac
