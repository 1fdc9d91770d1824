#!/usr/bin/env bash
# System packages the tests and the demo need, on Debian 12 (bookworm), as root.
# Idempotent: skips apt entirely when everything is already installed.
set -euo pipefail
PKGS=(
  zstd git ca-certificates       # blobs, repos
  mmdebstrap                     # real Debian minbase roots for chroot tests (cached in .cache/)
  eatmydata                      # libeatmydata, preloaded into dpkg while a restore installs (apt-unsafe-io.ts)
  util-linux mount               # unshare, mount
  chromium                       # wizard e2e (driven by playwright-core)
  desktop-file-utils             # desktop-file-validate: the Backup app's .desktop entry (deb test)
  jq                             # scripts
  xz-utils                       # the peer corpora (../shared/peer-corpora/*.tar.xz)
  # Installer integration (test/installer/, issue 7):
  python3                        # the Calamares job's unittest (stub libcalamares); tomllib, the TOML 1.0 oracle
  calamares                      # bookworm's 3.2.61: the real-Calamares smoke test of our page + job
  qmlscene qml-module-qtwebengine  # the "Restore" page under qmlscene (QtWebEngine pulls qtquick2)
  xvfb imagemagick               # an X server for it; `import`/`identify` for the screenshots
  binutils                       # strip, for the .deb's native addon (npm run deb)
  live-build                     # `lb config` check of live-iso/ (and live-iso/build.sh)
  # Server at scale (issue 15): throwaway engines started by scripts/postgres.sh and scripts/ceph-rgw.sh
  postgresql                     # PostgreSQL 15 (initdb/pg_ctl under /usr/lib/postgresql/15/bin)
  ceph-mon ceph-osd radosgw      # Ceph 16: 1 mon + 1 memstore osd + radosgw as the S3 endpoint
  curl                           # scripts/ceph-rgw.sh polls radosgw until it answers
  restic                         # bench/peer-restic.ts: data v2 against restic 0.14 (issue 11)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "install-system-deps: need root to install: ${missing[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  # No daemon may start on install (postgresql's "main" cluster, ceph's units): the tests start their
  # own throwaway ones. Containers usually ship a policy-rc.d that says so; where none exists, put one
  # in place for the install and remove it after.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# install-system-deps.sh: no service starts during this install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "install-system-deps: ok (${#PKGS[@]} packages)"
