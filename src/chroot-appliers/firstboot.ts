/**
 * First-boot tasks: what cannot run in a chroot (snaps need snapd; per-user
 * flatpaks, ssh-URL clones and desktop settings need the user and the
 * network) is written into the target as a oneshot systemd service that runs
 * once after the network is up, records one result line per task, and
 * disables itself; the person sees the results once at their first login.
 *
 * Files written in the target (atomically, through safe-path):
 *   /var/lib/koder-restore/firstboot-tasks.json   the tasks (ctx.deferred)
 *   /usr/lib/koder-restore/firstboot.sh           the runner, generated: one
 *       `run_task ID LABEL task_KIND ARGS…` line per task, every word
 *       single-quoted; results appended to firstboot-results.tsv
 *       (id \t done|failed \t message); a failing task does not stop the
 *       others; at the end firstboot.done is created, the unit disabled
 *       (`systemctl disable`, and the wants link removed by hand when
 *       systemctl cannot — e.g. no systemd running)
 *   /usr/lib/koder-restore/summary.sh             prints (--text) or notifies
 *       (--notify) the results once per user (marker in
 *       ~/.local/state/koder-restore/)
 *   /etc/systemd/system/koder-restore-firstboot.service  (+ the
 *       multi-user.target.wants symlink `systemctl enable` would create)
 *   /etc/profile.d/koder-restore.sh, /etc/xdg/autostart/koder-restore-summary.desktop
 *
 * The runner is safe to run again: it exits at once when firstboot.done
 * exists, and a task already recorded `done` is not run twice (a reboot in
 * the middle of the tasks resumes with the rest).
 */
import type { StepApplier } from './applier.ts';
import type { DeferredTask } from '../restore-machine/plan.ts';
import { remoteLocation } from './flatpak.ts';
import { KPKG_SLUG } from './kpkg.ts';
import { removeInTarget, readTargetText, symlinkInTarget, writeTargetFile } from './target-files.ts';

export const FIRSTBOOT_STATE_DIR = '/var/lib/koder-restore';
export const FIRSTBOOT_TASKS = `${FIRSTBOOT_STATE_DIR}/firstboot-tasks.json`;
export const FIRSTBOOT_RESULTS = `${FIRSTBOOT_STATE_DIR}/firstboot-results.tsv`;
export const FIRSTBOOT_DONE = `${FIRSTBOOT_STATE_DIR}/firstboot.done`;
export const FIRSTBOOT_RUNNER = '/usr/lib/koder-restore/firstboot.sh';
export const FIRSTBOOT_SUMMARY = '/usr/lib/koder-restore/summary.sh';
export const FIRSTBOOT_UNIT_NAME = 'koder-restore-firstboot.service';
export const FIRSTBOOT_UNIT = `/etc/systemd/system/${FIRSTBOOT_UNIT_NAME}`;
export const FIRSTBOOT_WANTS = `/etc/systemd/system/multi-user.target.wants/${FIRSTBOOT_UNIT_NAME}`;
export const FIRSTBOOT_PROFILE = '/etc/profile.d/koder-restore.sh';
export const FIRSTBOOT_AUTOSTART = '/etc/xdg/autostart/koder-restore-summary.desktop';

/** A shell script literal: raw text, with `$\{` standing for `${` (which a template would interpolate). */
function sh(s: TemplateStringsArray): string {
  return s.raw.join('').replaceAll('$\\{', '${');
}

/** One shell word, single-quoted (a `'` becomes `'\''`). */
export function sq(s: string): string {
  if (s.includes('\0')) throw new Error('NUL byte in a first-boot task argument');
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*\$?$/;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * The runner line of one task: `[fn, ...args]`, or an error when the task's
 * arguments are not what its kind needs (that task is recorded failed).
 */
export function taskCall(t: DeferredTask): string[] | { error: string } {
  const a = t.args ?? {};
  switch (t.kind) {
    case 'snap': {
      const name = str(a.name);
      if (!name || !/^[a-z0-9][a-z0-9-]*$/.test(name)) return { error: `bad snap name ${JSON.stringify(a.name)}` };
      const channel = str(a.channel) ?? '';
      return ['task_snap', name, channel, a.classic === true ? '1' : '0'];
    }
    case 'flatpak.user': {
      const ref = str(a.ref);
      const origin = str(a.origin);
      if (!ref || !origin || ref.startsWith('-') || origin.startsWith('-')) return { error: 'flatpak task without ref/origin' };
      const url = str(a.origin_url);
      return ['task_flatpak_user', origin, url ? remoteLocation(url) : '', ref];
    }
    case 'repo.ssh': {
      const url = str(a.url);
      const path = str(a.path);
      if (!url || !path || url.startsWith('-')) return { error: 'repo task without url/path' };
      const branch = str(a.branch) ?? '';
      if (branch.startsWith('-')) return { error: `bad branch ${JSON.stringify(branch)}` };
      return ['task_repo_ssh', url, path, branch];
    }
    case 'kpkg': {
      const slug = str(a.slug);
      if (!slug || !KPKG_SLUG.test(slug)) return { error: `bad kpkg slug ${JSON.stringify(a.slug)}` };
      return ['task_kpkg', slug];
    }
    case 'gsettings': {
      const g = a.gsettings;
      if (!g || typeof g !== 'object') return { error: 'gsettings task without settings' };
      const triples: string[] = [];
      for (const [schema, keys] of Object.entries(g as Record<string, unknown>)) {
        if (!keys || typeof keys !== 'object') continue;
        for (const [key, value] of Object.entries(keys as Record<string, unknown>)) {
          if (typeof value !== 'string' || schema.startsWith('-') || key.startsWith('-')) continue;
          triples.push(schema, key, value);
        }
      }
      if (triples.length === 0) return { error: 'no settings to apply' };
      return ['task_gsettings', ...triples];
    }
    default:
      return { error: `unknown task kind ${JSON.stringify((t as { kind: unknown }).kind)}` };
  }
}

const RUNNER_HEAD = sh`#!/bin/sh
# Koder Snapshots: first-boot tasks of a restore. Generated by the restore;
# run once by koder-restore-firstboot.service. Each task is tried, its result
# appended to firstboot-results.tsv (id, done|failed, message); a task that
# fails does not stop the others. At the end firstboot.done is created and the
# unit disables itself.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022
STATE=/var/lib/koder-restore
RESULTS="$STATE/firstboot-results.tsv"
LOG="$STATE/firstboot.log"
DONE="$STATE/firstboot.done"
UNIT=koder-restore-firstboot.service
WANTS=/etc/systemd/system/multi-user.target.wants/$UNIT
TASK_TIMEOUT=3600

mkdir -p "$STATE"
if [ -e "$DONE" ]; then
  echo "koder-restore: first-boot tasks already ran ($DONE exists)"
  exit 0
fi

log() { printf '%s %s\n' "$(date '+%Y-%m-%dT%H:%M:%S%z' 2>/dev/null)" "$*" >>"$LOG"; }
oneline() { printf '%s' "$1" | tr '\t\r\n' '   ' | cut -c1-400; }
record() { printf '%s\t%s\t%s\n' "$(oneline "$1")" "$2" "$(oneline "$3")" >>"$RESULTS"; }
done_before() {
  [ -f "$RESULTS" ] || return 1
  KODER_ID=$(oneline "$1") awk -F'\t' '$1 == ENVIRON["KODER_ID"] && $2 == "done" { f = 1 } END { exit !f }' "$RESULTS"
}
# Command with the per-task time limit (when coreutils' timeout exists).
tmo() {
  if command -v timeout >/dev/null 2>&1; then timeout --kill-after=30 "$TASK_TIMEOUT" "$@"; else "$@"; fi
}
user_home() { getent passwd "$TARGET_USER" | cut -d: -f6; }
# Command as the restored user, with their HOME (and their session bus when
# they are logged in already).
as_user() {
  uid=$(id -u "$TARGET_USER" 2>/dev/null) || { echo "user $TARGET_USER does not exist"; return 1; }
  home=$(user_home)
  if command -v timeout >/dev/null 2>&1; then set -- timeout --kill-after=30 "$TASK_TIMEOUT" "$@"; fi
  if [ -d "/run/user/$uid" ]; then
    set -- XDG_RUNTIME_DIR="/run/user/$uid" "$@"
    if [ -S "/run/user/$uid/bus" ]; then set -- DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus" "$@"; fi
  fi
  (cd "$home" 2>/dev/null || cd /; exec runuser -u "$TARGET_USER" -- env HOME="$home" USER="$TARGET_USER" LOGNAME="$TARGET_USER" "$@")
}
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "$1 is not installed in this system$\{2:+ ($2)}"
  return 127
}

run_task() { # id label function args...
  id=$1; label=$2; shift 2
  if done_before "$id"; then log "skip $id: done before"; return 0; fi
  log "start $id: $label"
  out=$(mktemp) || out=$STATE/task.out
  ("$@") </dev/null >"$out" 2>&1
  rc=$?
  cat "$out" >>"$LOG"
  if [ "$rc" -eq 0 ]; then
    record "$id" done "$label"
  else
    record "$id" failed "$label: exit $rc: $(tail -n 3 "$out")"
  fi
  rm -f "$out"
  log "end $id: exit $rc"
}

task_snap() { # name channel classic(0|1)
  need snap "install snapd" || return
  tmo snap wait system seed.loaded >/dev/null 2>&1 || true
  name=$1; channel=$2; classic=$3
  set -- snap install "$name"
  if [ -n "$channel" ]; then set -- "$@" "--channel=$channel"; fi
  if [ "$classic" = 1 ]; then set -- "$@" --classic; fi
  tmo "$@"
}

task_flatpak_user() { # origin location ref
  need flatpak || return
  origin=$1; location=$2; ref=$3
  if [ -n "$location" ]; then
    as_user flatpak --user remote-add --if-not-exists "$origin" "$location" || return
  fi
  as_user flatpak --user install -y --noninteractive "$origin" "$ref"
}

task_repo_ssh() { # url path branch
  need git || return
  url=$1; path=$2; branch=$3
  home=$(user_home)
  case $path in
    "~") dest=$home ;;
    "~/"*) dest="$home/$\{path#"~/"}" ;;
    /*) dest=$path ;;
    *) dest="$home/$path" ;;
  esac
  if [ -e "$dest/.git" ]; then echo "already cloned in $dest"; return 0; fi
  if [ -d "$dest" ] && [ -n "$(ls -A "$dest" 2>/dev/null)" ]; then echo "$dest exists and is not empty"; return 1; fi
  as_user mkdir -p "$(dirname "$dest")" || return
  set -- git clone
  if [ -n "$branch" ]; then set -- "$@" --branch "$branch"; fi
  as_user env GIT_TERMINAL_PROMPT=0 GIT_SSH_COMMAND='ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new' "$@" -- "$url" "$dest"
}

task_kpkg() { # slug
  need kpkg || return
  tmo kpkg install "$1"
}

task_gsettings() { # (schema key value)...
  need gsettings || return
  # gsettings writes through dconf's D-Bus service: without a session bus the
  # write would silently go nowhere, so run one for the occasion.
  set -- sh -c 'failed=0
while [ $# -ge 3 ]; do
  if ! gsettings set "$1" "$2" "$3"; then echo "failed: $1 $2"; failed=$((failed + 1)); fi
  shift 3
done
exit $failed' koder-gsettings "$@"
  if command -v dbus-run-session >/dev/null 2>&1; then
    as_user dbus-run-session -- "$@"
  else
    uid=$(id -u "$TARGET_USER" 2>/dev/null) || { echo "user $TARGET_USER does not exist"; return 1; }
    if [ -S "/run/user/$uid/bus" ]; then as_user "$@"; else echo "no session bus and no dbus-run-session: settings not applied"; return 1; fi
  fi
}

task_invalid() { echo "$1"; return 1; }

`;

const RUNNER_TAIL = sh`
: >"$DONE"
if ! systemctl disable "$UNIT" >/dev/null 2>&1; then
  log "systemctl disable failed; removing the unit's wants link"
fi
if [ -e "$WANTS" ] || [ -L "$WANTS" ]; then rm -f "$WANTS"; fi
log "finished"
exit 0
`;

/** The runner script for these tasks, run as root with the restored user `user`. */
export function renderRunner(tasks: readonly DeferredTask[], user: string): string {
  if (!USER_NAME.test(user)) throw new Error(`bad user name ${JSON.stringify(user)}`);
  const lines = [`TARGET_USER=${sq(user)}`, `log ${sq(`first boot: ${tasks.length} tasks`)}`];
  for (const t of tasks) {
    const call = taskCall(t);
    const words = Array.isArray(call) ? call : ['task_invalid', call.error];
    lines.push(['run_task', sq(t.id), sq(t.label), words[0]!, ...words.slice(1).map(sq)].join(' '));
  }
  return `${RUNNER_HEAD}${lines.join('\n')}\n${RUNNER_TAIL}`;
}

export const SUMMARY_SCRIPT = sh`#!/bin/sh
# Koder Snapshots: the results of the restore's first-boot tasks, once per
# user: --text (interactive login shells, from /etc/profile.d/koder-restore.sh)
# or --notify (desktop session, from /etc/xdg/autostart).
STATE=/var/lib/koder-restore
RESULTS=$STATE/firstboot-results.tsv
mode=$\{1:---text}
[ -n "$\{HOME:-}" ] || exit 0
dir=$\{XDG_STATE_HOME:-$HOME/.local/state}/koder-restore
case $mode in
  --notify) marker=$dir/summary-notified ;;
  *) marker=$dir/summary-shown ;;
esac
[ -e "$marker" ] && exit 0
if [ ! -e "$STATE/firstboot.done" ]; then
  # Still running: a terminal says nothing yet; the desktop waits (30 min).
  [ "$mode" = --notify ] || exit 0
  n=0
  while [ ! -e "$STATE/firstboot.done" ] && [ "$n" -lt 360 ]; do sleep 5; n=$((n + 1)); done
  [ -e "$STATE/firstboot.done" ] || exit 0
fi
[ -r "$RESULTS" ] || exit 0
summary=$(awk -F'\t' '
  !($1 in st) { order[++n] = $1 }
  { st[$1] = $2; msg[$1] = $3 }
  END {
    ok = 0; bad = 0; lines = ""
    for (i = 1; i <= n; i++) {
      id = order[i]
      if (st[id] == "done") ok++
      else { bad++; lines = lines "\n  - " msg[id] }
    }
    printf "%d finished, %d failed%s", ok, bad, lines
  }' "$RESULTS")
case $mode in
  --notify)
    command -v notify-send >/dev/null 2>&1 || exit 0
    notify-send -a 'Koder Snapshots' 'Restore finished' "$summary" || exit 0
    ;;
  *)
    printf '\nKoder Snapshots: tasks of your restore done at first boot: %s\n(details: %s)\n\n' "$summary" "$STATE/firstboot.log"
    ;;
esac
mkdir -p "$dir" 2>/dev/null && : >"$marker"
exit 0
`;

export const PROFILE_SCRIPT = `# Koder Snapshots: a one-time summary of the restore's first-boot tasks.
case $- in
  *i*) if [ -x ${FIRSTBOOT_SUMMARY} ]; then ${FIRSTBOOT_SUMMARY} --text; fi ;;
esac
`;

export const AUTOSTART_DESKTOP = `[Desktop Entry]
Type=Application
Name=Koder Snapshots restore summary
Comment=Shows once what the first boot restored
Exec=${FIRSTBOOT_SUMMARY} --notify
TryExec=notify-send
NoDisplay=true
Terminal=false
X-GNOME-Autostart-Phase=Applications
`;

export const UNIT_FILE = `[Unit]
Description=Koder Snapshots: finish the restore (first-boot tasks)
Wants=network-online.target
After=network-online.target snapd.seeded.service
ConditionPathExists=!${FIRSTBOOT_DONE}

[Service]
Type=oneshot
ExecStart=${FIRSTBOOT_RUNNER}
TimeoutStartSec=infinity
StandardOutput=journal

[Install]
WantedBy=multi-user.target
`;

export const applyFirstboot: StepApplier = async (_step, ctx, progress) => {
  const seen = new Set<string>();
  const tasks = ctx.deferred.filter((t) => !seen.has(t.id) && (seen.add(t.id), true));
  if (tasks.length === 0) return { status: 'done', message: 'no first-boot tasks' };
  const root = ctx.target.root;
  const user = ctx.target.user;
  if (!USER_NAME.test(user)) return { status: 'failed', message: `target user ${JSON.stringify(user)} cannot be named in the runner` };
  const details: string[] = [];
  for (const t of tasks) {
    const c = taskCall(t);
    if (!Array.isArray(c)) details.push(`${t.id}: ${c.error} (recorded as failed at first boot)`);
  }

  const json = `${JSON.stringify({ version: 1, user, tasks }, null, 2)}\n`;
  const previous = await readTargetText(root, FIRSTBOOT_TASKS);
  await writeTargetFile(root, FIRSTBOOT_TASKS, json, { mode: 0o600 });
  // Other tasks than the ones that already ran: let the service run again.
  if (previous !== undefined && previous !== json) await removeInTarget(root, FIRSTBOOT_DONE);
  await writeTargetFile(root, FIRSTBOOT_RUNNER, renderRunner(tasks, user), { mode: 0o755 });
  await writeTargetFile(root, FIRSTBOOT_SUMMARY, SUMMARY_SCRIPT, { mode: 0o755 });
  await writeTargetFile(root, FIRSTBOOT_UNIT, UNIT_FILE, { mode: 0o644 });
  await writeTargetFile(root, FIRSTBOOT_PROFILE, PROFILE_SCRIPT, { mode: 0o644 });
  await writeTargetFile(root, FIRSTBOOT_AUTOSTART, AUTOSTART_DESKTOP, { mode: 0o644 });
  // What `systemctl enable` does (systemctl may not work in a chroot).
  await symlinkInTarget(root, FIRSTBOOT_WANTS, FIRSTBOOT_UNIT);
  progress({ bytes: 0, items: tasks.length });
  return {
    status: 'done',
    message: `${tasks.length} first-boot tasks installed (${FIRSTBOOT_UNIT_NAME})`,
    ...(details.length ? { details } : {}),
  };
};
