# Shared by scripts/postgres.sh and scripts/ceph-rgw.sh (sourced, not run): a throwaway engine lives in
# one folder DIR that the start claims with a marker file, and that stop kills and removes.
#
#   engine_claim DIR KIND        DIR must be absent or empty; creates it and writes DIR/.koder-engine
#   engine_owned DIR KIND        true when DIR carries KIND's marker (stop removes nothing else)
#   engine_pick_port             a free 127.0.0.1 TCP port below the kernel's ephemeral range
#   engine_kill SIG DIR PID...   signals each PID whose command line names DIR (never a reused PID)
#   engine_wait_gone SECS DIR PID...  waits until no PID is a live process naming DIR (a zombie is dead)
#   engine_watch DIR OWNER SCRIPT  a detached watcher: when process OWNER dies, runs `SCRIPT stop DIR`
#   engine_fail MSG LOG...       prints MSG and the tail of each log to stderr (the caller cleans up)
#   engine_main ARGS...          `start DIR [--watch PID]` → the script's start (DIR, WATCH set);
#                                `stop DIR` → the script's `stop DIR`

engine_die() { echo "$ENGINE_NAME: $*" >&2; exit 1; }

engine_claim() {
  local dir=$1 kind=$2
  if [ -e "$dir" ]; then
    [ -d "$dir" ] || engine_die "$dir exists and is not a folder"
    [ -z "$(ls -A "$dir")" ] || engine_die "$dir is not empty (start wants a new or empty folder)"
  fi
  mkdir -p "$dir"
  echo "$kind" >"$dir/.koder-engine"
}

engine_owned() { [ -f "$1/.koder-engine" ] && [ "$(cat "$1/.koder-engine")" = "$2" ]; }

# Ports the kernel hands out for port 0 and outgoing connections come from ip_local_port_range; a port
# below it can only be taken by another deliberate bind, so the window between this check and the
# daemon's own bind is only shared with other starts like this one (a random pick among ~20,000 ports;
# the caller retries on "address in use"). The OSD binds 6800-7300 by itself, hence the floor of 10000.
engine_pick_port() {
  python3 - <<'PY'
import random, socket
lo = int(open('/proc/sys/net/ipv4/ip_local_port_range').read().split()[0])
for _ in range(200):
    # Below the ephemeral range when it leaves room; else let the kernel choose (port 0).
    port = random.randint(10000, lo - 1) if lo > 11000 else 0
    s = socket.socket()
    try:
        s.bind(('127.0.0.1', port))
        print(s.getsockname()[1])
        break
    except OSError:
        continue
    finally:
        s.close()
else:
    raise SystemExit('no free port found')
PY
}

engine_alive() {  # running, not a zombie (the state follows the last ')': comm may hold spaces)
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ -n "$stat" ] && [ "${stat%% *}" != Z ] && [ "${stat%% *}" != X ]
}

# Ours: alive and its command line names DIR (a pid file's pid may since belong to someone else).
engine_ours() {
  local cmd
  engine_alive "$2" || return 1
  cmd="$(tr '\0' ' ' <"/proc/$2/cmdline" 2>/dev/null) "
  [[ "$cmd" == *"$1/"* || "$cmd" == *"$1 "* ]]
}

engine_kill() {
  local sig=$1 dir=$2 pid
  shift 2
  for pid in "$@"; do
    [ -n "$pid" ] && engine_ours "$dir" "$pid" && kill "-$sig" "$pid" 2>/dev/null || true
  done
}

engine_wait_gone() {
  local secs=$1 dir=$2 pid deadline
  shift 2
  deadline=$((SECONDS + secs))
  for pid in "$@"; do
    [ -n "$pid" ] || continue
    while engine_ours "$dir" "$pid"; do
      [ $SECONDS -lt $deadline ] || { echo "$ENGINE_NAME: process $pid still alive after ${secs}s" >&2; return 1; }
      sleep 0.05
    done
  done
}

engine_watch() {
  local dir=$1 owner=$2 script=$3
  [ -d "/proc/$owner" ] || engine_die "--watch $owner: no such process"
  # setsid + stdio to /dev/null: $(start …) in the caller returns at once, and the watcher outlives it;
  # started from a subshell, so it is no job of this shell (no "Killed" notice when stop kills it).
  (setsid bash -c 'echo $$ >"$1/watch.pid"
                   alive() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) && s=${s##*) } && [ "${s%% *}" != Z ]; }
                   while alive "$2" && [ -d "$1" ]; do sleep 1; done
                   [ -d "$1" ] && exec "$3" stop "$1"' engine-watch "$dir" "$owner" "$script" \
    </dev/null >/dev/null 2>&1 &)
}

engine_fail() {
  local msg=$1 log
  shift
  echo "$ENGINE_NAME: $msg" >&2
  for log in "$@"; do
    [ -s "$log" ] || continue
    echo "----- last lines of $log -----" >&2
    tail -n 25 "$log" >&2
  done
}

engine_pidfile() { [ -s "$1" ] && cat "$1" || true; }

engine_main() {
  local usage="usage: $ENGINE_NAME start DIR [--watch PID] | stop DIR"
  [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
  local cmd=$1
  DIR=$(readlink -m "$2") WATCH=
  shift 2
  case "$cmd" in
    start)
      if [ $# -gt 0 ]; then
        [ "$1" = --watch ] && [ $# = 2 ] || { echo "$usage" >&2; exit 2; }
        WATCH=$2
      fi
      start ;;
    stop) [ $# = 0 ] || { echo "$usage" >&2; exit 2; }; stop "$DIR" ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
}
