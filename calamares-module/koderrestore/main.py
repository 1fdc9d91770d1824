#!/usr/bin/env python3
# -*- coding: utf-8 -*-
#
# === Koder Snapshots: Calamares exec-phase job `koderrestore` ===
#
# SPDX-License-Identifier: MIT
"""
Restores the snapshot the person chose in the installer's "Restore" page
(the Koder Snapshots daemon's wizard, shown by the `notesqml@koderrestoreview`
view step) into the system Calamares just installed.

The daemon (`koder-snapshot daemon --mode installer`, started on the live
session by koder-snapshot-daemon.service) owns the whole restore: login,
chosen snapshot, verified plan, vault passphrase (in its memory only). This
job only hands it the target: POST /api/apply {root, user} with the session
token, and turns the daemon's JSON lines into Calamares progress.

    {"type":"progress", "fraction", "etaSeconds", "label", "current", "stepPhase", "detail",
     "doneBytes", "totalBytes", "doneItems", "totalItems"}
    {"type":"report", "report": {"status": "done|partial|failed", "results": [...], ...}}
    {"type":"error", "code", "message"}
    {"type":"skipped", "message"}

A restore NEVER fails the installation: a failed job makes Calamares skip
the rest of the exec phase (the bootloader included), which would leave an
unbootable machine for the sake of someone's documents. Whatever happens to
the restore (daemon down, network gone, snapshot refused, a step failed),
run() returns None; the engine leaves its report in the target
(/var/lib/koder-restore/report.txt) and this job adds a note shown once at
the person's first login when the restore did not fully happen.

run() returns an error tuple ONLY for installer misconfiguration, which a
distribution finds on its first test install (see README.md):
  - no `rootMountPoint` in GlobalStorage, or it is not a directory
    (the job is not after `mount` in the exec sequence);
  - no `username` in GlobalStorage (the job is not after `users`);
  - an invalid koderrestore.conf value (a timeout that is not a positive number).
"""

import http.client
import json
import os
import socket
import time
import urllib.parse

import libcalamares

DEFAULT_URL_FILE = "/run/koder-snapshot/wizard-url"
NOTE_DIR = "/var/lib/koder-restore"
NOTE_FILE = NOTE_DIR + "/installer-note.txt"
NOTE_PROFILE = "/etc/profile.d/koder-restore-installer.sh"

# What Calamares shows under the progress bar (pretty_status_message()).
_status = "Restoring your Koder snapshot"


def pretty_name():
    return "Restore from Koder Snapshots"


def pretty_status_message():
    return _status


_logged = None


def _set_status(text, log=None):
    """The status line; the installer log gets `log` (default: the text) when that changes."""
    global _status, _logged
    key = text if log is None else log
    if key != _logged:
        libcalamares.utils.debug("koderrestore: " + key)
        _logged = key
    _status = text


class Misconfigured(Exception):
    """The installer's configuration is wrong: the only case where the job fails."""

    def __init__(self, message, details):
        super().__init__(message)
        self.details = details


class NoRestore(Exception):
    """The restore did not happen (daemon down, refused, …): not an installer failure."""


# ── configuration ────────────────────────────────────────────────────────────

def _conf():
    return libcalamares.job.configuration or {}


def _positive_number(conf, key, default):
    value = conf.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise Misconfigured(
            "Koder restore: invalid configuration",
            "koderrestore.conf: `{}` must be a positive number of seconds, not {!r}.".format(key, value),
        )
    return float(value)


def _read_settings():
    conf = _conf()
    gs = libcalamares.globalstorage
    root = gs.value("rootMountPoint") if gs.contains("rootMountPoint") else None
    if not root:
        raise Misconfigured(
            "Koder restore: no target system",
            "GlobalStorage has no rootMountPoint: put `koderrestore` after `mount` "
            "(and after `users` and `packages`) in the exec phase of settings.conf.",
        )
    if not os.path.isdir(root):
        raise Misconfigured(
            "Koder restore: no target system",
            "rootMountPoint {!r} is not a directory.".format(root),
        )
    user = gs.value("username") if gs.contains("username") else None
    if not user:
        raise Misconfigured(
            "Koder restore: no user",
            "GlobalStorage has no username: put `koderrestore` after `users` in the exec phase "
            "of settings.conf (the restored home needs its owner).",
        )
    hostname = gs.value("hostname") if gs.contains("hostname") else None
    return {
        "root": root,
        "user": user,
        "hostname": hostname or None,
        "url_file": conf.get("urlFile", DEFAULT_URL_FILE),
        "daemon_url": conf.get("daemonUrl") or None,
        "connect_timeout": _positive_number(conf, "connectTimeout", 10),
        "idle_timeout": _positive_number(conf, "idleTimeout", 900),
        "total_timeout": _positive_number(conf, "totalTimeout", 4 * 3600),
        "note_in_target": bool(conf.get("noteInTarget", True)),
    }


# ── the daemon ───────────────────────────────────────────────────────────────

def _daemon_address(settings):
    """(host, port, token) from daemonUrl or the URL file the daemon wrote."""
    url = settings["daemon_url"]
    if not url:
        try:
            with open(settings["url_file"], "r", encoding="utf-8") as f:
                url = f.read().strip()
        except OSError as e:
            raise NoRestore(
                "the restore daemon is not running ({} is missing: {})".format(settings["url_file"], e.strerror)
            )
    parsed = urllib.parse.urlsplit(url)
    token = urllib.parse.parse_qs(parsed.query).get("token", [None])[0]
    if parsed.scheme != "http" or parsed.hostname not in ("127.0.0.1", "localhost") or not parsed.port or not token:
        raise NoRestore("the daemon URL {!r} is not http://127.0.0.1:PORT/?token=…".format(url.split("?")[0]))
    return "127.0.0.1", parsed.port, token


def _progress_fraction(line):
    """0..1 from a progress line: the daemon's own share done (time-weighted, it
    moves inside apt too); from an older daemon, bytes and items weighing the same."""
    fraction = line.get("fraction")
    if isinstance(fraction, (int, float)) and not isinstance(fraction, bool):
        return min(1.0, max(0.0, float(fraction)))
    parts = []
    tb, db = line.get("totalBytes") or 0, line.get("doneBytes") or 0
    ti, di = line.get("totalItems") or 0, line.get("doneItems") or 0
    if tb > 0:
        parts.append(min(1.0, max(0.0, db / tb)))
    if ti > 0:
        parts.append(min(1.0, max(0.0, di / ti)))
    return sum(parts) / len(parts) if parts else 0.0


def _about(seconds):
    """The time left as the wizard says it: under a minute, about N min, about H h MM min."""
    if seconds < 45:
        return "under a minute left"
    m = max(1, int(round(seconds / 60.0)))
    if m > 60:
        m = int(round(m / 5.0)) * 5
    return "about {} min left".format(m) if m < 60 else "about {} h {:02d} min left".format(m // 60, m % 60)


def _status_text(line):
    """"Restoring: 24 apt packages (install python3.11, about 3 min left)"."""
    label = line.get("label") or line.get("current") or ""
    extra = []
    if line.get("detail"):
        extra.append("{} {}".format(line.get("stepPhase") or "", line["detail"]).strip())
    eta = line.get("etaSeconds")
    if isinstance(eta, (int, float)) and not isinstance(eta, bool):
        extra.append(_about(eta))
    text = "Restoring: {}".format(label) if label else "Restoring your Koder snapshot"
    return "{} ({})".format(text, ", ".join(extra)) if extra else text


def _apply(settings):
    """Streams POST /api/apply; returns the last JSON line (report, error or skipped)."""
    host, port, token = _daemon_address(settings)
    body = {"root": settings["root"], "user": settings["user"]}
    if settings["hostname"]:
        # Informational: the daemon applies the hostname the person confirmed in
        # the wizard (shown after the users page, prefilled); see README.md.
        body["hostname"] = settings["hostname"]
    payload = json.dumps(body).encode("utf-8")
    conn = http.client.HTTPConnection(host, port, timeout=settings["connect_timeout"])
    try:
        try:
            conn.request(
                "POST",
                "/api/apply",
                body=payload,
                headers={
                    "Authorization": "Bearer " + token,
                    "Content-Type": "application/json",
                    "Accept": "application/x-ndjson",
                },
            )
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as e:
            raise NoRestore("could not reach the restore daemon at 127.0.0.1:{}: {}".format(port, e))
        if resp.status != 200:
            text = resp.read(4096).decode("utf-8", "replace")
            raise NoRestore("the restore daemon answered HTTP {}: {}".format(resp.status, text.strip()))
        # From here on, a silent daemon for idleTimeout seconds means it is stuck.
        conn.sock.settimeout(settings["idle_timeout"])
        deadline = time.monotonic() + settings["total_timeout"]
        best = 0.0
        last = None
        while True:
            if time.monotonic() > deadline:
                raise NoRestore("the restore took longer than {:.0f} s; stopped waiting".format(settings["total_timeout"]))
            try:
                raw = resp.readline()
            except socket.timeout:
                raise NoRestore("the restore daemon said nothing for {:.0f} s".format(settings["idle_timeout"]))
            except (OSError, http.client.HTTPException) as e:
                raise NoRestore("the connection to the restore daemon broke: {}".format(e))
            if not raw:
                break
            try:
                line = json.loads(raw.decode("utf-8"))
            except ValueError:
                libcalamares.utils.warning("koderrestore: ignoring a line that is not JSON: {!r}".format(raw[:200]))
                continue
            kind = line.get("type")
            if kind == "progress":
                # Calamares' bar must not go backwards (a new step may bring new totals).
                best = max(best, min(0.99, _progress_fraction(line)))
                _set_status(_status_text(line), "Restoring: {}".format(line.get("label") or line.get("current") or ""))
                libcalamares.job.setprogress(best)
            elif kind in ("report", "error", "skipped"):
                last = line
        if last is None:
            raise NoRestore("the restore daemon closed the connection before the end of the restore")
        return last
    finally:
        conn.close()


# ── notes in the target ──────────────────────────────────────────────────────

_PROFILE_SCRIPT = """# Koder Snapshots: what the installer could not restore, once per user.
case $- in
  *i*)
    if [ -r {note} ] && [ -n "${{HOME:-}}" ]; then
      _ks_dir=${{XDG_STATE_HOME:-$HOME/.local/state}}/koder-restore
      if [ ! -e "$_ks_dir/installer-note-shown" ]; then
        printf '\\n'; cat {note}; printf '\\n'
        mkdir -p "$_ks_dir" 2>/dev/null && : >"$_ks_dir/installer-note-shown"
      fi
      unset _ks_dir
    fi
    ;;
esac
""".format(note=NOTE_FILE)


def _write_in_target(root, rel, text, mode):
    """Writes root/rel without following a symlink planted at its last component."""
    path = os.path.join(root, rel.lstrip("/"))
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    tmp = path + ".koder-tmp"
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _leave_note(settings, headline, detail):
    """A note in the target, printed once at each user's first interactive login."""
    if not settings.get("note_in_target"):
        return
    text = (
        "Koder Snapshots: {}\n{}\n"
        "To restore later, start the Koder Linux live USB, mount this system (say at /mnt)\n"
        "and run:  sudo koder-snapshot restore --target /mnt --user {}\n"
        "(the restore writes into a mounted system, never into the running one).\n"
        "Details of what was restored, if anything: {}/report.txt\n"
    ).format(headline, detail, settings["user"], NOTE_DIR)
    try:
        _write_in_target(settings["root"], NOTE_FILE, text, 0o644)
        _write_in_target(settings["root"], NOTE_PROFILE, _PROFILE_SCRIPT, 0o644)
    except OSError as e:
        libcalamares.utils.warning("koderrestore: could not leave a note in the target: {}".format(e))


# ── entry point ──────────────────────────────────────────────────────────────

def run():
    """Calamares entry point: None (always, but for misconfiguration) or (message, details)."""
    try:
        settings = _read_settings()
    except Misconfigured as e:
        libcalamares.utils.warning("koderrestore: {}: {}".format(e, e.details))
        return (str(e), e.details)

    _set_status("Asking the restore daemon to restore into the new system")
    libcalamares.job.setprogress(0.0)
    try:
        last = _apply(settings)
    except NoRestore as e:
        libcalamares.utils.warning("koderrestore: no restore: {}".format(e))
        _set_status("Nothing restored: {}".format(e))
        _leave_note(settings, "the installer did not restore your snapshot.", "Reason: {}.".format(e))
        libcalamares.job.setprogress(1.0)
        return None
    except Exception as e:  # a bug here must not cost the person a bootable system
        libcalamares.utils.warning("koderrestore: unexpected error: {!r}".format(e))
        _leave_note(settings, "the installer did not restore your snapshot.", "Reason: an unexpected error ({}).".format(e))
        libcalamares.job.setprogress(1.0)
        return None

    kind = last.get("type")
    if kind == "skipped":
        libcalamares.utils.debug("koderrestore: skipped: {}".format(last.get("message", "")))
        _set_status("No restore (skipped)")
    elif kind == "error":
        message = "{} ({})".format(last.get("message", "unknown error"), last.get("code", "ERROR"))
        libcalamares.utils.warning("koderrestore: the restore failed: " + message)
        _set_status("The restore failed; the installation goes on")
        _leave_note(settings, "the restore during installation failed.", "Reason: {}.".format(message))
    else:
        report = last.get("report") or {}
        status = report.get("status", "unknown")
        results = report.get("results") or []
        count = {s: sum(1 for r in results if r.get("status") == s) for s in ("done", "skipped", "failed")}
        summary = "{} done, {} skipped, {} failed, {} deferred to first boot".format(
            count["done"], count["skipped"], count["failed"], len(report.get("deferred") or [])
        )
        libcalamares.utils.debug("koderrestore: restore {}: {}".format(status, summary))
        _set_status("Restore {}: {}".format(status, summary))
        if status != "done":
            problems = [
                "  [{}] {}{}".format(r.get("status"), r.get("stepId"), " — " + r["message"] if r.get("message") else "")
                for r in results
                if r.get("status") != "done"
            ]
            _leave_note(settings, "the restore finished as {}: {}.".format(status, summary), "\n".join(problems))
    libcalamares.job.setprogress(1.0)
    return None
