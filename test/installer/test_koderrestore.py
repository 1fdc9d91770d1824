#!/usr/bin/env python3
"""
The REAL calamares-module/koderrestore/main.py, run with a stub
`libcalamares` (test/installer/stub) against the REAL restore daemons and a
REAL Debian minbase target root that test/installer/calamares-job.test.ts
sets up and describes in the environment:

  KODER_TEST_MAIN            path of main.py
  KODER_TEST_ROOT            the target root (bookworm minbase, user created)
  KODER_TEST_USER            that user's name; KODER_TEST_UID its uid
  KODER_TEST_CONFIRMED_URL   url file of a daemon whose restore is confirmed
  KODER_TEST_SKIPPED_URL     url file of a daemon where the person chose Skip
  KODER_TEST_DOWN_URL        url file naming a port nobody listens on
  KODER_TEST_SCRATCH         an empty folder for throwaway roots
  KODER_TEST_EXPECT          JSON {path in the target: expected text}

Run by the vitest wrapper (`npm test`); tests run in name order and
test_1 consumes the confirmed restore.
"""

import importlib.util
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "stub"))
import libcalamares  # noqa: E402  (the stub)

ENV = os.environ


def load_job():
    """A fresh import of the real main.py (its module-level status resets)."""
    spec = importlib.util.spec_from_file_location("koderrestore_main", ENV["KODER_TEST_MAIN"])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def tree(root):
    """{relative path: (mode, size, mtime_ns, link)} of everything under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in (os.path.join(root, p) for p in ("proc", "sys", "dev", "run"))]
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (st.st_mode, st.st_size, st.st_mtime_ns, os.readlink(p) if os.path.islink(p) else None)
    return out


class KoderRestoreJob(unittest.TestCase):
    root = ENV.get("KODER_TEST_ROOT", "")
    user = ENV.get("KODER_TEST_USER", "ana")

    def run_job(self, url_file, root=None, gs_extra=None, conf_extra=None, gs=None):
        base_gs = {"rootMountPoint": root or self.root, "username": self.user, "hostname": "koder-novo"}
        base_gs.update(gs_extra or {})
        conf = {"urlFile": url_file, "connectTimeout": 5, "idleTimeout": 300, "totalTimeout": 600}
        conf.update(conf_extra or {})
        libcalamares.reset(gs=base_gs if gs is None else gs, conf=conf)
        job = load_job()
        result = job.run()
        return job, result

    def assertProgressEndsAtOne(self):
        p = libcalamares.calls.progress
        self.assertTrue(p, "setprogress was never called")
        self.assertEqual(p[-1], 1.0)
        self.assertTrue(all(0.0 <= x <= 1.0 for x in p), p)
        self.assertEqual(p, sorted(p), "progress went backwards: {}".format(p))

    # ── the daemon's progress lines ─────────────────────────────────────────
    def test_0_progress_lines_use_the_daemons_share_and_say_what_apt_does(self):
        libcalamares.reset(gs={}, conf={})
        job = load_job()
        # The daemon's share done wins (it moves inside apt, where bytes and items stand still).
        apt = {"type": "progress", "current": "apt.install", "label": "24 apt packages", "stepPhase": "install", "detail": "python3.11",
               "fraction": 0.4213, "etaSeconds": 185, "doneBytes": 0, "totalBytes": 1000, "doneItems": 3, "totalItems": 30}
        self.assertAlmostEqual(job._progress_fraction(apt), 0.4213)
        self.assertEqual(job._status_text(apt), "Restoring: 24 apt packages (install python3.11, about 3 min left)")
        self.assertEqual(job._status_text({"label": "~/Documentos", "etaSeconds": 20}), "Restoring: ~/Documentos (under a minute left)")
        self.assertEqual(job._status_text({"label": "x", "etaSeconds": 5000}), "Restoring: x (about 1 h 25 min left)")
        # An older daemon's line (no fraction): bytes and items weigh the same.
        self.assertAlmostEqual(job._progress_fraction({"doneBytes": 50, "totalBytes": 100, "doneItems": 0, "totalItems": 4}), 0.25)
        self.assertEqual(job._progress_fraction({"fraction": True, "doneItems": 1, "totalItems": 2}), 0.5)

    # ── the restore ─────────────────────────────────────────────────────────
    def test_1_restores_into_the_target_with_progress(self):
        job, result = self.run_job(ENV["KODER_TEST_CONFIRMED_URL"])
        self.assertIsNone(result, libcalamares.calls.log)
        self.assertEqual(libcalamares.calls.warnings(), [])
        # the engine's report is in the target
        with open(os.path.join(self.root, "var/lib/koder-restore/report.json"), encoding="utf-8") as f:
            report = json.load(f)
        self.assertEqual(report["status"], "done", json.dumps(report["results"], indent=1))
        for rel, text in json.loads(ENV["KODER_TEST_EXPECT"]).items():
            path = os.path.join(self.root, rel)
            with open(path, encoding="utf-8") as f:
                self.assertEqual(f.read(), text, rel)
            self.assertEqual(os.lstat(path).st_uid, int(ENV["KODER_TEST_UID"]), rel)
        # progress: starts at 0, moves through the restore, ends at 1.0, never backwards
        self.assertProgressEndsAtOne()
        self.assertEqual(libcalamares.calls.progress[0], 0.0)
        between = [x for x in libcalamares.calls.progress if 0.0 < x < 1.0]
        self.assertTrue(between, "no intermediate progress: {}".format(libcalamares.calls.progress))
        self.assertRegex(job.pretty_status_message(), r"^Restore done: \d+ done, 0 skipped, 0 failed")
        # a full restore leaves no "what went wrong" note
        self.assertFalse(os.path.exists(os.path.join(self.root, "var/lib/koder-restore/installer-note.txt")))

    def test_2_an_already_used_restore_does_not_fail_the_install(self):
        # The daemon's restore is finished: a second apply is refused (NOT_READY).
        job, result = self.run_job(ENV["KODER_TEST_CONFIRMED_URL"])
        self.assertIsNone(result)
        self.assertTrue(any("NOT_READY" in w for w in libcalamares.calls.warnings()), libcalamares.calls.log)
        self.assertProgressEndsAtOne()
        note = os.path.join(self.root, "var/lib/koder-restore/installer-note.txt")
        with open(note, encoding="utf-8") as f:
            self.assertIn("restore during installation failed", f.read())
        with open(os.path.join(self.root, "etc/profile.d/koder-restore-installer.sh"), encoding="utf-8") as f:
            self.assertIn("installer-note-shown", f.read())
        os.unlink(note)
        os.unlink(os.path.join(self.root, "etc/profile.d/koder-restore-installer.sh"))

    def test_3_a_skipped_restore_is_a_no_op(self):
        before = tree(self.root)
        job, result = self.run_job(ENV["KODER_TEST_SKIPPED_URL"])
        self.assertIsNone(result)
        self.assertEqual(libcalamares.calls.warnings(), [])
        self.assertEqual(tree(self.root), before)
        self.assertProgressEndsAtOne()
        self.assertEqual(job.pretty_status_message(), "No restore (skipped)")

    # ── the daemon is not there ─────────────────────────────────────────────
    def test_4_a_daemon_that_is_down_does_not_fail_the_job(self):
        with tempfile.TemporaryDirectory(dir=ENV["KODER_TEST_SCRATCH"]) as root:
            job, result = self.run_job(ENV["KODER_TEST_DOWN_URL"], root=root)
            self.assertIsNone(result)
            warnings = libcalamares.calls.warnings()
            self.assertEqual(len(warnings), 1, warnings)
            self.assertIn("could not reach the restore daemon", warnings[0])
            self.assertProgressEndsAtOne()
            with open(os.path.join(root, "var/lib/koder-restore/installer-note.txt"), encoding="utf-8") as f:
                note = f.read()
            self.assertIn("did not restore your snapshot", note)
            self.assertIn("koder-snapshot restore --target /mnt --user " + self.user, note)

    def test_5_no_url_file_means_no_daemon_not_a_failure(self):
        with tempfile.TemporaryDirectory(dir=ENV["KODER_TEST_SCRATCH"]) as root:
            job, result = self.run_job(os.path.join(root, "no-such-url-file"), root=root, conf_extra={"noteInTarget": False})
            self.assertIsNone(result)
            self.assertIn("not running", libcalamares.calls.warnings()[0])
            self.assertEqual(os.listdir(root), [], "noteInTarget: false writes nothing")

    # ── misconfiguration: the only errors ───────────────────────────────────
    def test_6_misconfiguration_is_reported_as_an_error(self):
        url = ENV["KODER_TEST_DOWN_URL"]
        _, r = self.run_job(url, gs={"username": self.user})
        self.assertIsInstance(r, tuple)
        self.assertIn("rootMountPoint", r[1])
        _, r = self.run_job(url, gs={"rootMountPoint": "/nonexistent/koder-target", "username": self.user})
        self.assertIn("not a directory", r[1])
        _, r = self.run_job(url, gs={"rootMountPoint": ENV["KODER_TEST_SCRATCH"]})
        self.assertIn("after `users`", r[1])
        _, r = self.run_job(url, root=ENV["KODER_TEST_SCRATCH"], conf_extra={"idleTimeout": "soon"})
        self.assertIn("idleTimeout", r[1])
        self.assertEqual(libcalamares.calls.progress, [], "nothing was attempted")


if __name__ == "__main__":
    unittest.main(verbosity=2)
