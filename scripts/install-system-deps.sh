#!/usr/bin/env bash
# System packages the tests and the demo need, on Debian 12 (bookworm), as root.
# Idempotent: skips apt entirely when everything is already installed.
set -euo pipefail
PKGS=(
  zstd git ca-certificates       # blobs, repos
  mmdebstrap                     # real Debian minbase roots for chroot tests (cached in .cache/)
  util-linux mount               # unshare, mount
  chromium                       # wizard e2e (driven by playwright-core)
  jq                             # scripts
  # Installer integration (test/installer/, issue 7):
  python3                        # the Calamares job's unittest (stub libcalamares)
  calamares                      # bookworm's 3.2.61: the real-Calamares smoke test of our page + job
  qmlscene qml-module-qtwebengine  # the "Restore" page under qmlscene (QtWebEngine pulls qtquick2)
  xvfb imagemagick               # an X server for it; `import`/`identify` for the screenshots
  binutils                       # strip, for the .deb's native addon (npm run deb)
  live-build                     # `lb config` check of live-iso/ (and live-iso/build.sh)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "install-system-deps: need root to install: ${missing[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "install-system-deps: ok (${#PKGS[@]} packages)"
