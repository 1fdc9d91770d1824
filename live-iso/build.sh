#!/usr/bin/env bash
# Builds the Koder Linux live ISO (Debian bookworm, amd64, live-build):
#   1. `npm run deb` → dist/koder-snapshot_<version>_<arch>.deb
#   2. a work copy of live-iso/ (auto/ + config/) with that .deb in
#      config/packages.chroot/
#   3. lb config && lb build (as root) → dist/koder-linux-live-amd64.hybrid.iso
#
# Needs: root, live-build (scripts/install-system-deps.sh), the Debian mirror
# (network), ~15 GB free disk in the work dir. See live-iso/README.md for the
# time and size of a build.
#
# Environment:
#   KODER_ISO_WORK   work dir (default: <repo>/.cache/live-iso); kept between
#                    builds for live-build's package cache (`--cache true`)
#   KODER_ISO_SKIP_DEB=1   reuse the newest dist/*.deb instead of rebuilding
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
work=${KODER_ISO_WORK:-$repo/.cache/live-iso}

if [ "$(id -u)" != 0 ]; then
  echo "live-iso/build.sh: lb build needs root" >&2
  exit 1
fi
command -v lb >/dev/null || { echo "live-iso/build.sh: live-build is not installed (scripts/install-system-deps.sh)" >&2; exit 1; }

version=$(node -p "require('$repo/package.json').version")
if [ "${KODER_ISO_SKIP_DEB:-}" != 1 ]; then
  (cd "$repo" && npm run --silent deb)
fi
deb=$(ls -t "$repo"/dist/koder-snapshot_"$version"_*.deb 2>/dev/null | head -n1 || true)
[ -n "$deb" ] || { echo "live-iso/build.sh: no dist/koder-snapshot_${version}_*.deb (npm run deb)" >&2; exit 1; }

mkdir -p "$work"
cd "$work"
# Keep live-build's cache (downloaded packages, bootstrap) across builds; the
# configuration is always fresh from the repository.
if [ -d config ]; then lb clean --binary >/dev/null 2>&1 || true; fi
rm -rf auto config chroot binary ./*.iso ./*.log
cp -a "$here/auto" "$here/config" .
rm -f config/packages.chroot/README
cp "$deb" config/packages.chroot/

started=$(date +%s)
lb config
lb build
elapsed=$(( $(date +%s) - started ))

iso=$(ls -t ./*.iso | head -n1)
mkdir -p "$repo/dist"
mv "$iso" "$repo/dist/"
echo "live-iso/build.sh: $repo/dist/$(basename "$iso") ($(du -h "$repo/dist/$(basename "$iso")" | cut -f1)) in $((elapsed / 60)) min; work dir $work ($(du -sxh "$work" 2>/dev/null | cut -f1))"
