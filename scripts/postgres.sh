#!/usr/bin/env bash
# A throwaway PostgreSQL 15 (Debian's postgresql): a fresh cluster in DIR, trust auth, no durability
# (fsync, synchronous_commit, full_page_writes off), listening on 127.0.0.1 and on a socket in DIR.
# As root it runs as the `postgres` user (PostgreSQL refuses root), so DIR becomes postgres's and every
# parent folder of DIR must be traversable by it (/tmp is, /root is not).
#
#   scripts/postgres.sh start DIR [--watch PID]   prints KEY=VALUE lines on stdout:
#       DATABASE_URL=postgres://postgres@127.0.0.1:PORT/koder  PGHOST=127.0.0.1  PGPORT=PORT
#       PGUSER=postgres  PGDATABASE=koder  PG_DIR=DIR
#   scripts/postgres.sh stop DIR                   stops the server (immediate) and removes DIR
#
# DIR must be new or empty. --watch PID: stop by itself once process PID has gone.
# A server that does not come up fails the start loudly, with the tail of its log, and leaves nothing.
# Start takes ~1.2 s on an idle 2-core machine. Figures: scripts/README.md.
set -euo pipefail
ENGINE_NAME=postgres.sh
SELF=$(readlink -f "$0")
# shellcheck source=lib/engine.sh
. "$(dirname "$SELF")/lib/engine.sh"

BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
DB=koder


as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

postmaster_pid() { [ -s "$1/data/postmaster.pid" ] && head -n 1 "$1/data/postmaster.pid" || true; }

stop() {
  local d=$1 watcher pid
  engine_owned "$d" postgres || engine_die "$d is not a folder made by '$ENGINE_NAME start' (nothing removed)"
  watcher=$(engine_pidfile "$d/watch.pid")
  [ "$watcher" = $$ ] && watcher=
  pid=$(postmaster_pid "$d")
  if [ -n "$pid" ] && engine_alive "$pid"; then
    # Immediate: a throwaway cluster has nothing to flush (0.15 s); SIGKILL if pg_ctl cannot.
    as_pg "$BIN/pg_ctl" -D "$d/data" -m immediate -t 10 -w stop >/dev/null 2>&1 || engine_kill KILL "$d" "$pid"
  fi
  engine_wait_gone 10 "$d" $pid || engine_die "postgres of $d did not die; $d kept"
  engine_kill KILL "$d" $watcher  # only now: while the server lives, the watcher may still be needed
  rm -rf "$d"
}

# One attempt with a fresh port; returns 3 when the port was taken meanwhile (the caller retries).
attempt() {
  local d=$DIR log=$DIR/postgres.log
  PORT=$(engine_pick_port)
  as_pg truncate -s 0 "$log"  # postgres appends to it
  as_pg "$BIN/pg_ctl" -D "$d/data" -l "$log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$d" >>"$d/pg_ctl.log" 2>&1 ||
    { grep -q 'could not bind\|Address already in use' "$log" && return 3
      engine_fail "postgres did not start" "$d/pg_ctl.log" "$log"; return 1; }
  as_pg "$BIN/createdb" -h "$d" -p "$PORT" -U postgres "$DB" >>"$d/pg_ctl.log" 2>&1 ||
    { engine_fail "createdb $DB failed" "$d/pg_ctl.log" "$log"; return 1; }
}

start() {
  local tries=0 rc
  engine_claim "$DIR" postgres
  trap 'stop "$DIR"' EXIT  # whatever goes wrong from here leaves nothing behind
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$DIR"
    runuser -u postgres -- test -w "$DIR" ||
      engine_die "user postgres cannot write to $DIR: every parent folder must be traversable by it (/root is not)"
  fi
  [ -z "$WATCH" ] || engine_watch "$DIR" "$WATCH" "$SELF"
  as_pg "$BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --no-locale --no-sync >"$DIR/initdb.log" 2>&1 ||
    { engine_fail "initdb failed" "$DIR/initdb.log"; exit 1; }
  cat >>"$DIR/data/postgresql.conf" <<EOF
# scripts/postgres.sh: a throwaway test cluster, durability off
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
  while :; do
    tries=$((tries + 1))
    rc=0
    attempt || rc=$?
    [ $rc = 0 ] && break
    if [ $rc != 3 ] || [ $tries -ge 3 ]; then
      [ $rc = 3 ] && echo "$ENGINE_NAME: a port was taken while starting, $tries times" >&2
      exit 1
    fi
  done
  trap - EXIT
  cat <<EOF
DATABASE_URL=postgres://postgres@127.0.0.1:$PORT/$DB
PGHOST=127.0.0.1
PGPORT=$PORT
PGUSER=postgres
PGDATABASE=$DB
PG_DIR=$DIR
EOF
}

engine_main "$@"
