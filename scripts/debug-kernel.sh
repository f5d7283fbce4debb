#!/bin/bash
# Build, once, the x86_64 debug kernel the tests run on: tinyconfig plus
# scripts/debug-kernel.config (KASAN, lockdep, kmemleak, KUnit). Output goes
# to $DEBUG_KDIR (see scripts/env.sh), with O= so the source stays clean,
# and is prepared for building external modules against it.
#
# Usage: scripts/debug-kernel.sh        (prints the bzImage path)
# Env:   JOBS (default 2)
set -euo pipefail

scripts=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$scripts/env.sh"
fragment=$scripts/debug-kernel.config
jobs=${JOBS:-2}

built() {
	[ -s "$DEBUG_BZIMAGE" ] && [ -f "$DEBUG_KDIR/Module.symvers" ]
}

mkdir -p "$DEBUG_KDIR"
# Two callers at once (a background build and make check) must not both
# build into the same directory.
exec 9>"$DEBUG_KDIR.lock"
flock 9
if built; then
	echo "$DEBUG_BZIMAGE"
	exit 0
fi

[ -f "$LINUX_SRC/Makefile" ] || {
	echo "debug-kernel: no kernel source at $LINUX_SRC (run scripts/deps.sh)" >&2
	exit 1
}

log=$DEBUG_KDIR/build.log
kmake() {
	make -C "$LINUX_SRC" O="$DEBUG_KDIR" ARCH=x86_64 "$@" >>"$log" 2>&1
}

# Every option the fragment sets must come out of olddefconfig as written;
# a silently dropped one (unmet dependency) would leave a checker off.
verify_config() {
	local line missing=()

	while IFS= read -r line; do
		case $line in
		CONFIG_*=* | "# CONFIG_"*" is not set") ;;
		*) continue ;;
		esac
		if [[ $line == "#"* ]]; then
			local opt=${line#\# }
			opt=${opt%% *}
			grep -q "^$opt=" "$DEBUG_KDIR/.config" &&
				missing+=("$line")
		else
			grep -qxF "$line" "$DEBUG_KDIR/.config" ||
				missing+=("$line")
		fi
	done <"$fragment"
	if [ ${#missing[@]} -gt 0 ]; then
		echo "debug-kernel: options lost by olddefconfig:" >&2
		printf '  %s\n' "${missing[@]}" >&2
		return 1
	fi
}

fail() {
	echo "debug-kernel: $1 failed; last lines of $log:" >&2
	tail -n 30 "$log" >&2
	exit 1
}

start=$(date +%s)
: >"$log"
echo "debug-kernel: building in $DEBUG_KDIR (-j$jobs, log in $log)" >&2
kmake tinyconfig || fail tinyconfig
(cd "$LINUX_SRC" && scripts/kconfig/merge_config.sh -m -O "$DEBUG_KDIR" \
	"$DEBUG_KDIR/.config" "$fragment") >>"$log" 2>&1 || fail merge_config
kmake olddefconfig || fail olddefconfig
verify_config
kmake -j"$jobs" all || fail build
kmake modules_prepare || fail modules_prepare
built || fail "bzImage and Module.symvers check"
echo "debug-kernel: built in $(($(date +%s) - start)) s" >&2
echo "$DEBUG_BZIMAGE"
