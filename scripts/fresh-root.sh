#!/bin/bash
# Run a command in a fresh clone of this repository's HEAD inside a fresh
# minimal Debian 12 root: debootstrap --variant=minbase bookworm, plus only
# gcc, g++, make, git and ca-certificates, with this system's apt sources.
# Only msgpool's cache (built kernels, kernel packages and the kernels'
# roots, scripts/env.sh's MSGPOOL_CACHE) is bound in, at the same path:
# nothing installed on this system can make the command pass.
#
# Usage: scripts/fresh-root.sh COMMAND...      e.g. scripts/fresh-root.sh make check
# Env:   MSGPOOL_KEEP_ROOT=1 keeps the root afterwards (its path is printed)
set -euo pipefail
shopt -s inherit_errexit

scripts=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$scripts")
# shellcheck source=scripts/env.sh
. "$scripts/env.sh"
[ $# -gt 0 ] || {
	sed -n '9p' "$0" | sed 's/^# //' >&2
	exit 2
}
[ "$(id -u)" -eq 0 ] || {
	echo "fresh-root: debootstrap and chroot need root" >&2
	exit 2
}

if ! command -v debootstrap >/dev/null; then
	echo "fresh-root: installing debootstrap" >&2
	{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends debootstrap; } >/dev/null ||
		{ echo "fresh-root: cannot install debootstrap" >&2; exit 1; }
fi
mirror=$(msgpool_mirror)

root=$(mktemp -d "${TMPDIR:-/var/tmp}/msgpool-root.XXXXXX")
# The mounts live in the command's own mount namespace: once it is gone,
# removing the root cannot reach through them into the cache.
cleanup() {
	if [ -n "${MSGPOOL_KEEP_ROOT:-}" ]; then
		echo "fresh-root: kept $root" >&2
	else
		rm -rf "$root"
	fi
}
trap cleanup EXIT

echo "fresh-root: debootstrap bookworm into $root" >&2
debootstrap --variant=minbase --include=gcc,g++,make,git,ca-certificates \
	bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
	tail -n 20 "$root.log" >&2
	echo "fresh-root: debootstrap failed" >&2
	exit 1
}
rm -f "$root.log"

# The sources apt reads here, and nothing else of this system's.
rm -f "$root/etc/apt/sources.list"
msgpool_apt_sources | while read -r f; do
	cp "$f" "$root$f"
done

git clone -q "$repo" "$root/root/msgpool"
git -C "$root/root/msgpool" checkout -q "$(git -C "$repo" rev-parse HEAD)"
mkdir -p "$MSGPOOL_CACHE"
echo "fresh-root: $* in a clone of $(git -C "$repo" rev-parse --short HEAD)" >&2

# shellcheck disable=SC2016 # expanded by the inner shell
unshare --mount --propagation private /bin/bash -c '
	set -e
	root=$1 cache=$2
	shift 2
	# A mount point for /, so that unshare works inside the root too.
	mount --bind "$root" "$root"
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	mount --rbind /dev "$root/dev"
	mkdir -p "$root$cache"
	mount --bind "$cache" "$root$cache"
	exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		TERM=dumb CI="${CI:-}" XDG_CACHE_HOME="$(dirname "$cache")" \
		/bin/bash -c "cd /root/msgpool && exec \"\$@\"" in-root "$@"
' fresh-root "$root" "$MSGPOOL_CACHE" "$@"
