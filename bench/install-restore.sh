#!/bin/bash
# The hand-written restore bench/install-restore.ts measures ours against:
# the same work in the obvious order, as a careful admin would write it.
#   install-restore.sh ROOT SERVER TOKEN
#   env: PACKAGES="jq tree …"  FOLDERS="Name=HEX …" (tar.zst blobs)  REPOS="name=HEX …" (git bundles)
# Each phase is stamped on stderr ("@ NAME epoch-seconds").
set -euo pipefail
T=$1 SERVER=$2 TOKEN=$3
stamp() { echo "@ $1 $(date +%s.%N)" >&2; }
get() { curl -sSf -H "Authorization: Bearer $TOKEN" "$SERVER/v1/me/blobs/$1"; }

# apt in the target, with proc, dev and sys mounted for the maintainer scripts (gone with the namespace)
unshare -m --propagation private bash -euo pipefail -c '
  T=$1; shift
  mount -t proc proc "$T/proc"; mount --rbind /dev "$T/dev"; mount --rbind /sys "$T/sys"
  cp /etc/resolv.conf "$T/etc/resolv.conf"
  echo "@ apt $(date +%s.%N)" >&2
  chroot "$T" apt-get -q update >/dev/null
  DEBIAN_FRONTEND=noninteractive chroot "$T" apt-get -q install -y "$@" >/dev/null
  echo "@ apt-done $(date +%s.%N)" >&2
' bash "$T" $PACKAGES

stamp files
for f in $FOLDERS; do
  name=${f%%=*} hex=${f#*=}
  mkdir -p "$T/home/ana/$name"
  get "$hex" | zstd -q -d -c | tar -x -C "$T/home/ana/$name"
  chown -R 1000:1000 "$T/home/ana/$name"
done

stamp repos
mkdir -p "$T/home/ana/dev"
for r in $REPOS; do
  name=${r%%=*} hex=${r#*=}
  get "$hex" > "$T/tmp/$name.bundle"
  git clone -q -b main "$T/tmp/$name.bundle" "$T/home/ana/dev/$name"
  git -C "$T/home/ana/dev/$name" remote remove origin
  rm "$T/tmp/$name.bundle"
  chown -R 1000:1000 "$T/home/ana/dev/$name"
done
chown 1000:1000 "$T/home/ana/dev"
stamp done
