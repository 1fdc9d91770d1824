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

# apt in the target, with the chroot rules the product keeps: a private mount
# and PID namespace (every mount and process goes with it), an own /dev
# (tmpfs + the usual nodes + a new devpts, never the host's), proc, sysfs
# read-only, /run as tmpfs, the host's resolv.conf bound read-only,
# policy-rc.d denying service starts, noninteractive apt.
unshare --mount --propagation private --pid --fork --kill-child bash -euo pipefail -c '
  T=$1; shift
  mount -t tmpfs -o mode=0755,nosuid,noexec,size=4m bench-dev "$T/dev"
  mk() { mknod -m 0666 "$T/dev/$1" c "$2" "$3"; }
  mk null 1 3; mk zero 1 5; mk full 1 7; mk random 1 8; mk urandom 1 9; mk tty 5 0
  ln -s /proc/self/fd "$T/dev/fd"
  mkdir -m 0755 "$T/dev/pts"
  mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,nosuid,noexec bench-devpts "$T/dev/pts"
  ln -s pts/ptmx "$T/dev/ptmx"
  mkdir -m 1777 "$T/dev/shm"; mount -t tmpfs -o mode=1777,nosuid,nodev bench-shm "$T/dev/shm"
  mount -t proc -o nosuid,nodev,noexec bench-proc "$T/proc"
  mount -t sysfs -o ro,nosuid,nodev,noexec bench-sysfs "$T/sys"
  mount -t tmpfs -o mode=0755,nosuid,nodev bench-run "$T/run"; mkdir -m 1777 "$T/run/lock"
  made_resolv=; [ -e "$T/etc/resolv.conf" ] || { : > "$T/etc/resolv.conf"; made_resolv=1; }
  mount --bind /etc/resolv.conf "$T/etc/resolv.conf"; mount -o remount,bind,ro "$T/etc/resolv.conf"
  printf "#!/bin/sh\nexit 101\n" > "$T/usr/sbin/policy-rc.d"; chmod 0755 "$T/usr/sbin/policy-rc.d"
  in_root() { chroot "$T" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }
  echo "@ apt $(date +%s.%N)" >&2
  in_root apt-get -q update >/dev/null
  in_root apt-get -q install -y "$@" >/dev/null
  echo "@ apt-done $(date +%s.%N)" >&2
  rm "$T/usr/sbin/policy-rc.d"
  umount "$T/etc/resolv.conf"; [ -z "$made_resolv" ] || rm "$T/etc/resolv.conf"
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
