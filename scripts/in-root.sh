#!/bin/bash
# Run a command as root inside a Debian root made by debootstrap, with
# /proc mounted and host directories bound at the same paths; for ROOT /,
# on this system. The mounts live in a mount namespace of their own, so
# they go when the command ends, however it ends.
#
# Usage: scripts/in-root.sh ROOT [--bind DIR]... [--cd DIR] -- COMMAND...
set -euo pipefail

usage() {
	sed -n '7p' "$0" | sed 's/^# //' >&2
	exit 2
}

[ $# -gt 0 ] || usage
root=$1
shift
binds=()
dir=/
while [ $# -gt 0 ]; do
	case $1 in
	--bind) binds+=("$(cd "${2:?}" && pwd)"); shift 2 ;;
	--cd) dir=${2:?}; shift 2 ;;
	--) shift; break ;;
	*) usage ;;
	esac
done
[ $# -gt 0 ] || usage
[ "$root" != / ] || { cd "$dir" && exec "$@"; }
[ -x "$root/bin/sh" ] || {
	echo "in-root: $root is not a Debian root" >&2
	exit 2
}

# Inside the new namespace: $1 the root, $2 the directory, then the binds
# up to "--", then the command.
# shellcheck disable=SC2016 # expanded by the inner shell
exec unshare --mount --propagation private /bin/bash -c '
	set -e
	root=$1 dir=$2
	shift 2
	mount -t proc proc "$root/proc"
	while [ "$1" != -- ]; do
		mkdir -p "$root$1"
		mount --bind "$1" "$root$1"
		shift
	done
	shift
	exec chroot "$root" /usr/bin/env -i HOME=/root LC_ALL=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive \
		/bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$dir" "$@"
' in-root "$root" "$dir" "${binds[@]}" -- "$@"
