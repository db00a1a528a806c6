#!/usr/bin/env bash
# Starts or stops a Docker daemon for building the project's image, on machines without a service
# manager (CI, containers). `start` does nothing when a daemon already answers; `stop` stops only a
# daemon this script started (its pid file), never one the machine runs on its own.
#   scripts/dockerd.sh start|stop
set -euo pipefail

state="${NEROPS_CACHE:-$HOME/.cache/nerops}/dockerd"
pid_file="$state/dockerd.pid"
docker=/usr/bin/docker # Debian's 20.10 CLI: builds with the classic builder (no BuildKit here)
mkdir -p "$state"

case "${1:-}" in
  start)
    if "$docker" info >/dev/null 2>&1; then exit 0; fi
    command -v dockerd >/dev/null || { echo "dockerd.sh: dockerd not found (apt-get install docker.io)" >&2; exit 1; }
    # Its own pid file and log; images stay in the default data root, so a warm run reuses them.
    nohup dockerd --pidfile "$pid_file.dockerd" >"$state/dockerd.log" 2>&1 &
    echo $! >"$pid_file"
    for _ in $(seq 1 60); do
      if "$docker" info >/dev/null 2>&1; then exit 0; fi
      sleep 0.5
    done
    echo "dockerd.sh: dockerd did not answer within 30 s; $state/dockerd.log:" >&2
    tail -20 "$state/dockerd.log" >&2
    exit 1
    ;;
  stop)
    [[ -f $pid_file ]] || exit 0
    pid=$(cat "$pid_file")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pid_file"
    ;;
  *)
    echo "usage: scripts/dockerd.sh start|stop" >&2
    exit 2
    ;;
esac
