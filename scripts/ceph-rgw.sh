#!/usr/bin/env bash
# A throwaway S3 endpoint: Ceph 16 (Debian's ceph-mon, ceph-osd, radosgw) with 1 mon + 1 memstore osd +
# radosgw on 127.0.0.1, no cephx, everything (config, data, logs, sockets, pid files) inside DIR.
#
#   scripts/ceph-rgw.sh start DIR [--watch PID]   prints KEY=VALUE lines on stdout:
#       S3_ENDPOINT=http://127.0.0.1:PORT  AWS_REGION=us-east-1  AWS_ACCESS_KEY_ID=…
#       AWS_SECRET_ACCESS_KEY=…  BUCKET=koder-test (already created)  CEPH_DIR=DIR
#   scripts/ceph-rgw.sh stop DIR                   kills the daemons and removes DIR
#
# DIR must be new or empty, with a short path (Ceph's admin sockets live in it; /tmp/… is right).
# --watch PID: stop by itself once process PID has gone (a test runner killed before its afterAll).
# The daemons detach with stdio on /dev/null, so `$(scripts/ceph-rgw.sh start DIR)` returns at once.
# A daemon that does not come up fails the start loudly, with the tail of its log, and leaves nothing.
# Start takes ~1.5 s on an idle 2-core machine; memstore keeps objects in the OSD's RAM (about 2× the
# live data) up to CEPH_MEMSTORE_BYTES (default 4 GiB: past it PUTs hang, they do not fail).
# Facts and pitfalls: shared/notes/s3-ceph-postgres.md; figures: scripts/README.md.
set -euo pipefail
ENGINE_NAME=ceph-rgw.sh
SELF=$(readlink -f "$0")
# shellcheck source=lib/engine.sh
. "$(dirname "$SELF")/lib/engine.sh"


write_conf() {  # DIR MON_PORT RGW_PORT FSID
  local d=$1
  cat >"$d/ceph.conf" <<EOF
[global]
fsid = $4
mon host = v2:127.0.0.1:$2
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
run dir = $d/run
pid file = $d/run/\$name.pid
admin socket = $d/run/\$name.asok
log file = $d/log/\$name.log
keyring = $d/keyring
mon data = $d/mon/\$name
osd data = $d/osd/\$name
rgw data = $d/rgw
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
paxos propose interval = 0.05
paxos min wait = 0.01
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
[mon]
ms bind retry count = 1  # one bind attempt: a taken port fails at once (not after 3 × 5 s), the start retries
[osd]
osd objectstore = memstore
memstore device bytes = ${CEPH_MEMSTORE_BYTES:-4294967296}
[client]
auth client required = none
ms mon client mode = crc
rgw frontends = beast endpoint=127.0.0.1:$3
rgw gc obj min wait = 30
rgw gc processor period = 30
EOF
}

pids() { local f; for f in "$1"/run/*.pid; do engine_pidfile "$f"; done; }

stop() {
  local d=$1 watcher
  engine_owned "$d" ceph-rgw || engine_die "$d is not a folder made by '$ENGINE_NAME start' (nothing removed)"
  watcher=$(engine_pidfile "$d/watch.pid")
  [ "$watcher" = $$ ] && watcher=
  # A throwaway cluster has nothing to flush: SIGKILL (radosgw takes ~5 s to leave on SIGTERM).
  # shellcheck disable=SC2046
  engine_kill KILL "$d" $(pids "$d")
  # shellcheck disable=SC2046
  engine_wait_gone 10 "$d" $(pids "$d") || engine_die "daemons of $d did not die; $d kept"
  engine_kill KILL "$d" $watcher  # only now: while a daemon lives, the watcher may still be needed
  rm -rf "$d"
}

ceph_() { timeout 30 ceph --conf "$DIR/ceph.conf" --connect-timeout 25 "$@"; }
mon_answers() { timeout 5 ceph --conf "$DIR/ceph.conf" --connect-timeout 3 mon stat; }

port_taken() { grep -qiE 'unable to bind|failed to bind|address already in use' "$@" 2>/dev/null; }

# Waits for CMD to succeed while the daemon of PIDFILE stays alive; fails with its log otherwise, and
# returns 3 (retry with other ports) when the log says its port was taken.
wait_for() {  # WHAT SECS PIDFILE LOG CMD…
  local what=$1 secs=$2 pidfile=$3 log=$4 deadline pid
  shift 4
  deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    port_taken "$log" && return 3
    pid=$(engine_pidfile "$pidfile")
    if [ -n "$pid" ] && ! engine_alive "$pid"; then
      engine_fail "$what died while starting" "$log"; return 1
    fi
    if [ $SECONDS -ge $deadline ]; then engine_fail "$what not up after ${secs}s" "$log"; return 1; fi
    sleep 0.1
  done
}

rgw_answers() { curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$RGW_PORT/"; }

create_bucket() {  # SigV4 with curl: see the note's curl pitfalls (UNSIGNED-PAYLOAD header)
  curl -sS -f --max-time 10 -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user "$ACCESS:$SECRET" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "http://127.0.0.1:$RGW_PORT/$BUCKET" -o /dev/null
}

# One attempt with fresh ports; returns 3 when a port was taken meanwhile (the caller retries).
attempt() {
  local d=$DIR fsid uuid osd_id log
  MON_PORT=$(engine_pick_port)
  RGW_PORT=$(engine_pick_port)
  [ "$MON_PORT" != "$RGW_PORT" ] || return 3
  fsid=$(cat /proc/sys/kernel/random/uuid)
  uuid=$(cat /proc/sys/kernel/random/uuid)
  mkdir -p "$d/run" "$d/log" "$d/mon/mon.a" "$d/osd/osd.0" "$d/rgw"
  write_conf "$d" "$MON_PORT" "$RGW_PORT" "$fsid"

  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" "$d/monmap" >"$d/log/mkfs.log" 2>&1 ||
    { engine_fail "monmaptool failed" "$d/log/mkfs.log"; return 1; }
  ceph-mon --conf "$d/ceph.conf" -i a --mkfs --monmap "$d/monmap" >>"$d/log/mkfs.log" 2>&1 ||
    { engine_fail "ceph-mon --mkfs failed" "$d/log/mkfs.log"; return 1; }
  ceph-mon --conf "$d/ceph.conf" -i a >>"$d/log/mkfs.log" 2>&1 ||
    { port_taken "$d/log/mkfs.log" "$d/log/mon.a.log" && return 3
      # ceph-mon refuses to start on a filesystem with less than 5 % free ('mon data avail crit').
      if grep -q 'mon data avail crit' "$d/log/mkfs.log" "$d/log/mon.a.log" 2>/dev/null; then
        engine_fail "ceph-mon did not start: the filesystem of $d has less than 5 % free ($(df -h --output=avail,pcent "$d" | tail -n 1 | xargs) avail/used); free some space" "$d/log/mkfs.log"; return 1
      fi
      engine_fail "ceph-mon did not start" "$d/log/mkfs.log" "$d/log/mon.a.log"; return 1; }
  wait_for ceph-mon 30 "$d/run/mon.a.pid" "$d/log/mon.a.log" mon_answers || return

  osd_id=$(ceph_ osd new "$uuid") || { engine_fail "'ceph osd new' failed" "$d/log/mon.a.log"; return 1; }
  ceph-osd --conf "$d/ceph.conf" -i "$osd_id" --mkfs --osd-uuid "$uuid" >>"$d/log/mkfs.log" 2>&1 ||
    { engine_fail "ceph-osd --mkfs failed" "$d/log/mkfs.log" "$d/log/osd.$osd_id.log"; return 1; }
  ceph_ osd crush add "osd.$osd_id" 1 root=default host=localhost >/dev/null 2>&1 ||
    { engine_fail "'ceph osd crush add' failed" "$d/log/mon.a.log"; return 1; }
  ceph-osd --conf "$d/ceph.conf" -i "$osd_id" >>"$d/log/mkfs.log" 2>&1 ||
    { engine_fail "ceph-osd did not start" "$d/log/mkfs.log" "$d/log/osd.$osd_id.log"; return 1; }

  # The gateway user; radosgw-admin creates the RGW pools, so this also waits for the OSD.
  timeout 60 radosgw-admin --conf "$d/ceph.conf" user create --uid=koder --display-name=koder \
    --access-key="$ACCESS" --secret-key="$SECRET" >"$d/log/user.log" 2>&1 ||
    { engine_fail "radosgw-admin user create failed (is the OSD up?)" "$d/log/user.log" "$d/log/osd.$osd_id.log" "$d/log/mon.a.log"; return 1; }
  radosgw --conf "$d/ceph.conf" -n client.rgw >>"$d/log/mkfs.log" 2>&1 ||
    { engine_fail "radosgw did not start" "$d/log/mkfs.log" "$d/log/client.rgw.log"; return 1; }
  wait_for radosgw 30 "$d/run/client.rgw.pid" "$d/log/client.rgw.log" rgw_answers || return
  create_bucket 2>"$d/log/bucket.log" ||
    { engine_fail "creating bucket $BUCKET failed" "$d/log/bucket.log" "$d/log/client.rgw.log"; return 1; }
}

start() {
  local tries=0 rc
  engine_claim "$DIR" ceph-rgw
  trap 'stop "$DIR"' EXIT  # whatever goes wrong from here leaves nothing behind
  [ ${#DIR} -le 60 ] || { engine_die "DIR is too long for Ceph's admin sockets (≤ 60 characters): $DIR"; }
  [ -z "$WATCH" ] || engine_watch "$DIR" "$WATCH" "$SELF"
  ACCESS=$(od -An -tx1 -N10 /dev/urandom | tr -d ' \n' | tr a-f A-F)
  SECRET=$(od -An -tx1 -N20 /dev/urandom | tr -d ' \n')
  BUCKET=koder-test
  while :; do
    tries=$((tries + 1))
    rc=0
    attempt || rc=$?
    [ $rc = 0 ] && break
    # Clean the failed attempt, keep the claim (and the watcher) for the next one.
    # shellcheck disable=SC2046
    engine_kill KILL "$DIR" $(pids "$DIR")
    # shellcheck disable=SC2046
    engine_wait_gone 10 "$DIR" $(pids "$DIR") || true
    if [ $rc != 3 ] || [ $tries -ge 3 ]; then
      [ $rc = 3 ] && echo "$ENGINE_NAME: a port was taken while starting, $tries times" >&2
      exit 1
    fi
    find "$DIR" -mindepth 1 -maxdepth 1 ! -name .koder-engine ! -name watch.pid -exec rm -rf {} +
  done
  trap - EXIT
  cat <<EOF
S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=$ACCESS
AWS_SECRET_ACCESS_KEY=$SECRET
BUCKET=$BUCKET
CEPH_DIR=$DIR
EOF
}

engine_main "$@"
