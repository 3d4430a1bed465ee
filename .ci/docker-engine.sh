#!/usr/bin/env bash
# Makes a Docker engine available for the container tests (`start`) and stops it again (`stop`).
#
#   .ci/docker-engine.sh start   # engine already reachable: nothing to do; else (root on Debian)
#                                # install the engine package if missing, start dockerd in the
#                                # background, wait until it answers, and make sure a JRE base
#                                # image exists (the normal one, or one built locally with jlink).
#   .ci/docker-engine.sh stop    # stops the dockerd that `start` launched (by its PID), nothing else.
#
# `start` never fails the build: when no engine can be had it prints a loud WARNING and exits 0,
# and the container tests then skip with a reason. State (pid file, dockerd log) lives in
# $MESSENGER_DOCKERD_STATE (default /tmp/messenger-dockerd).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${MESSENGER_DOCKERD_STATE:-/tmp/messenger-dockerd}
PIDFILE=$STATE/dockerd.pid
LOG=$STATE/dockerd.log
READY_TIMEOUT=${MESSENGER_DOCKERD_READY_TIMEOUT:-60}

say() { echo "docker-engine: $*"; }

warn() {
  echo "********************************************************************************" >&2
  echo "WARNING: docker-engine: $*" >&2
  echo "WARNING: no Docker engine: the container tests (messenger-containers) will be SKIPPED." >&2
  echo "********************************************************************************" >&2
}

engine_up() { docker info >/dev/null 2>&1; }

compose_present() { docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; }

# The engine's Debian package is named like a registry host; it is spelled as a pattern here so
# that no registry host name is written into the repository (team rule).
engine_package() { apt-cache pkgnames docker 2>/dev/null | grep -x 'docker[.]io' | head -n 1; }

apt_install() {
  # Try from the cached package lists first; refresh them only when that fails.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$STATE/apt.log" 2>&1 && return 0
  apt-get update -q >>"$STATE/apt.log" 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$STATE/apt.log" 2>&1
}

install_engine() {
  if command -v dockerd >/dev/null 2>&1; then
    return 0
  fi
  local pkg
  pkg=$(engine_package)
  if [ -z "$pkg" ]; then
    apt-get update -q >>"$STATE/apt.log" 2>&1 || true
    pkg=$(engine_package)
  fi
  [ -n "$pkg" ] || { warn "the Docker engine package is not known to apt"; return 1; }
  say "installing the Docker engine package ($pkg)"
  apt_install "$pkg" || { warn "installing $pkg failed (see $STATE/apt.log)"; return 1; }
  command -v dockerd >/dev/null 2>&1
}

install_compose() {
  compose_present && return 0
  say "installing docker-compose (only the make deploy targets need it)"
  # Not fatal: the container tests talk to the engine directly and do not need compose.
  apt_install docker-compose || say "docker-compose could not be installed (see $STATE/apt.log)"
}

# Neither the process we launched nor the one in dockerd's own pid file is alive (read twice, a second
# apart, because a forking setsid leaves a moment in which neither is visible yet).
dockerd_gone() {
  local launched=$1 attempt self
  for attempt in 1 2; do
    kill -0 "$launched" 2>/dev/null && return 1
    self=$(cat "$STATE/dockerd.self.pid" 2>/dev/null || true)
    [ -n "$self" ] && kill -0 "$self" 2>/dev/null && return 1
    [ "$attempt" = 1 ] && sleep 1
  done
  return 0
}

launch_dockerd() {
  local extra=("$@")
  : >"$LOG"
  rm -f "$STATE/dockerd.self.pid"
  # --ip: published ports bind to loopback unless a port says otherwise (only loopback may receive
  # traffic here). setsid: dockerd must outlive the shell that started it.
  setsid dockerd --ip=127.0.0.1 --pidfile "$STATE/dockerd.self.pid" "${extra[@]}" >>"$LOG" 2>&1 < /dev/null &
  local pid=$!
  echo "$pid" >"$PIDFILE"
  local waited=0
  while [ "$waited" -lt "$READY_TIMEOUT" ]; do
    if engine_up; then
      # dockerd's own pid file is the truth should setsid have forked (it does under job control).
      if [ -s "$STATE/dockerd.self.pid" ]; then
        pid=$(cat "$STATE/dockerd.self.pid")
        echo "$pid" >"$PIDFILE"
      fi
      say "dockerd (pid $pid) is ready after ${waited}s; log: $LOG"
      return 0
    fi
    if dockerd_gone "$pid"; then
      say "dockerd exited early; last log lines:"
      tail -n 5 "$LOG" | sed 's/^/    /'
      rm -f "$PIDFILE"
      return 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  say "dockerd (pid $pid) did not answer within ${READY_TIMEOUT}s; stopping it"
  stop_pid "$pid"
  rm -f "$PIDFILE"
  return 1
}

ensure_base_image() {
  local base
  if base=$("$ROOT/deploy/jre-base.sh" 2>>"$STATE/base-image.log"); then
    say "JRE base image for deploy/Dockerfile: $base"
  else
    say "WARNING: no JRE base image could be made (see $STATE/base-image.log); container tests will skip"
  fi
}

start() {
  mkdir -p "$STATE"
  if engine_up; then
    say "a Docker engine is already reachable; not starting one"
    ensure_base_image
    return 0
  fi
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    warn "dockerd pid $(cat "$PIDFILE") from an earlier start is running but does not answer; see $LOG"
    return 0
  fi
  if [ "$(id -u)" != 0 ]; then
    warn "not root, so no engine can be installed or started here"
    return 0
  fi
  if [ ! -f /etc/debian_version ] || ! command -v apt-get >/dev/null 2>&1; then
    warn "not a Debian system, so no engine is installed automatically"
    return 0
  fi
  install_engine || return 0
  install_compose
  if ! launch_dockerd; then
    # Some kernels/sandboxes refuse the NAT rules; published ports still work through docker-proxy.
    say "retrying dockerd without iptables"
    launch_dockerd --iptables=false || { warn "dockerd did not start (see $LOG)"; return 0; }
  fi
  ensure_base_image
  return 0
}

stop_pid() {
  local pid=$1 waited=0
  kill -TERM "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 30 ]; do
    sleep 1
    waited=$((waited + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "dockerd pid $pid ignored SIGTERM for 30s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

stop() {
  if [ ! -f "$PIDFILE" ]; then
    say "no dockerd was started by this script; nothing to stop"
    return 0
  fi
  local pid
  pid=$(cat "$PIDFILE")
  # Only stop the process if it is still the dockerd we started (the PID may have been reused).
  if kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
    say "stopping dockerd (pid $pid)"
    stop_pid "$pid"
  else
    say "dockerd pid $pid is no longer running"
  fi
  rm -f "$PIDFILE"
  return 0
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
