#!/usr/bin/env bash
# Starts, stops and inspects a local cluster of server processes under ./run.
#
# Node N listens on 127.0.0.1 only: for clients on 700N, for peers on 900N and for admin
# requests on 800N (loopback is also what lets its clients in without a token key: no user
# authentication, which start-up says loudly);
# its data lives in run/node-N/, its log in run/node-N.log and its PID in run/node-N.pid.
# A node started again appends to its log (after a line saying so), so a restart keeps what the
# earlier run wrote, e.g. the failover bench's node logs around each kill.
set -euo pipefail
cd "$(dirname "$0")/.."

RUN_DIR=${RUN_DIR:-run}
NODES=${NODES:-3}
SERVER=${SERVER:-build/server.app}
# How long 'start' waits for every node to answer /health (seconds): a node that restarts with a long
# log to replay on a loaded machine can take well beyond the default of a quiet one.
START_TIMEOUT=${START_TIMEOUT:-90}

# PORT_OFFSET moves every port (e.g. 100: clients on 7101.., admin 8101.., peers 9101..), so a
# second cluster (a benchmark's, in its own RUN_DIR) can run beside the default one.
PORT_OFFSET=${PORT_OFFSET:-0}
client_port() { echo $((7000 + PORT_OFFSET + $1)); }
admin_port()  { echo $((8000 + PORT_OFFSET + $1)); }
peer_port()   { echo $((9000 + PORT_OFFSET + $1)); }

pid_of() {
    local file="$RUN_DIR/node-$1.pid"
    [[ -f $file ]] && cat "$file"
}

alive() {
    local pid state
    pid=$(pid_of "$1") || return 1
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
    # A node killed with SIGKILL stays a zombie until its parent reaps it; kill -0 still
    # succeeds on a zombie, but it is not running.
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 0
    [[ $state != Z ]]
}

configured_nodes() {
    # Nodes that have a PID file, whatever NODES says now.
    local f
    for f in "$RUN_DIR"/node-*.pid; do
        [[ -e $f ]] || continue
        f=${f##*/node-}
        echo "${f%.pid}"
    done
}

peers() {
    local i list=""
    for ((i = 1; i <= NODES; i++)); do
        list+="${list:+,}$i=127.0.0.1:$(peer_port "$i")"
    done
    echo "$list"
}

# The cluster's own CA and every node's peer certificate, made once (scripts/make-certs.sh adds
# the certificates of nodes that are new): a process without a certificate of this CA naming
# its node id cannot join as a peer.
ensure_peer_credentials() {
    local i missing=0
    for ((i = 1; i <= NODES; i++)); do
        [[ -s $RUN_DIR/tls/node-$i.pem && -s $RUN_DIR/tls/node-$i.key ]] || missing=1
    done
    ((missing)) || return 0
    echo "creating the cluster's CA and peer certificates in $RUN_DIR/tls (once; takes a few seconds)"
    scripts/make-certs.sh "$RUN_DIR/tls" "$NODES" >/dev/null
}

# Extra server flags for every node: SERVER_ARGS when it is set (make run always sets it, maybe
# empty), remembered in $RUN_DIR/server-args so that a node started again later without it (the
# bench's failover step restarts the nodes it kills) runs with the same flags.
server_args() {
    if [[ -n ${SERVER_ARGS+set} ]]; then
        printf '%s\n' "$SERVER_ARGS" >"$RUN_DIR/server-args"
    fi
    if [[ -f $RUN_DIR/server-args ]]; then
        cat "$RUN_DIR/server-args"
    fi
}

start_node() {
    local id=$1 extra
    extra=$(server_args)
    if alive "$id"; then
        echo "node $id already runs (pid $(pid_of "$id"))"
        return
    fi
    mkdir -p "$RUN_DIR/node-$id"
    if [[ -s $RUN_DIR/node-$id.log ]]; then
        printf '\n===== node %s started again at %s =====\n' "$id" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" \
            >>"$RUN_DIR/node-$id.log"
    fi
    nohup "$SERVER" \
        --node-id "$id" \
        --client-host 127.0.0.1 --peer-host 127.0.0.1 --admin-host 127.0.0.1 \
        --client-port "$(client_port "$id")" \
        --peer-port "$(peer_port "$id")" \
        --admin-port "$(admin_port "$id")" \
        --peers "$(peers)" \
        --advertised-client-address "127.0.0.1:$(client_port "$id")" \
        --data-dir "$RUN_DIR/node-$id/data" \
        --peer-tls-cert "$RUN_DIR/tls/node-$id.pem" \
        --peer-tls-key "$RUN_DIR/tls/node-$id.key" \
        --peer-tls-ca "$RUN_DIR/tls/ca.pem" \
        $extra \
        >>"$RUN_DIR/node-$id.log" 2>&1 </dev/null &
    echo $! >"$RUN_DIR/node-$id.pid"
}

healthy() {
    curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$(admin_port "$1")/health" 2>/dev/null
}

cmd_start() {
    if [[ ! -x $SERVER ]]; then
        echo "$SERVER is missing: run 'make build-server' first" >&2
        exit 1
    fi
    mkdir -p "$RUN_DIR"
    ensure_peer_credentials
    local i
    for ((i = 1; i <= NODES; i++)); do
        start_node "$i"
    done
    local deadline=$((SECONDS + START_TIMEOUT)) all
    while :; do
        all=1
        for ((i = 1; i <= NODES; i++)); do
            if ! alive "$i"; then
                echo "node $i exited during start-up; last lines of $RUN_DIR/node-$i.log:" >&2
                tail -n 20 "$RUN_DIR/node-$i.log" >&2
                exit 1
            fi
            healthy "$i" || all=0
        done
        ((all)) && break
        if ((SECONDS > deadline)); then
            echo "the cluster did not become healthy within $START_TIMEOUT s (START_TIMEOUT); see $RUN_DIR/node-*.log" >&2
            exit 1
        fi
        sleep 0.2
    done
    echo "cluster of $NODES node(s) is up:"
    for ((i = 1; i <= NODES; i++)); do
        echo "  node $i  pid $(pid_of "$i")  clients 127.0.0.1:$(client_port "$i")  peers :$(peer_port "$i")  admin http://127.0.0.1:$(admin_port "$i")/status  log $RUN_DIR/node-$i.log"
    done
    echo "peer links: mutual TLS with the CA $RUN_DIR/tls/ca.pem; client ports: plaintext on loopback (dev default)"
    local extra
    extra=$(server_args)
    if [[ -n $extra ]]; then
        echo "  every node runs with: $extra"
    fi
    echo "chat with:  ./build/client.app alice lobby"
    echo "!!! dev default: user authentication is OFF. Clients connect on 127.0.0.1 only, but any local"
    echo "!!! process may join as any username (alice, admin, ...). For signed tokens see the README's"
    echo "!!! 'Security: users' (server.app token, --auth-hmac-key-file)."
}

cmd_stop() {
    local id pid stopped=0
    for id in $(configured_nodes); do
        pid=$(pid_of "$id")
        if alive "$id"; then
            kill -TERM "$pid"
            for _ in $(seq 100); do
                alive "$id" || break
                sleep 0.1
            done
            if alive "$id"; then
                echo "node $id (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL" >&2
                kill -KILL "$pid" 2>/dev/null || true
            fi
            echo "stopped node $id (pid $pid)"
            stopped=$((stopped + 1))
        fi
        rm -f "$RUN_DIR/node-$id.pid"
    done
    ((stopped)) || echo "no local node was running"
}

cmd_status() {
    local id any=0
    for id in $(configured_nodes); do
        any=1
        if ! alive "$id"; then
            echo "node $id: not running"
            continue
        fi
        local out
        if out=$(curl -fsS --max-time 5 "http://127.0.0.1:$(admin_port "$id")/status" 2>/dev/null); then
            printf 'node %s: %s\n' "$id" "$out"
        else
            printf 'node %s: running (pid %s) but /status does not answer\n' "$id" "$(pid_of "$id")"
        fi
    done
    ((any)) || echo "no local node is configured; start with 'make run'"
}

case ${1:-} in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
esac
