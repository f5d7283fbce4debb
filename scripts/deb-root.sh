#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run by scripts/check.sh as root inside a throwaway minimal Debian root
# (an overlay over a kernel's root from scripts/kernels.sh), from the
# directory holding it and msgpool's .deb files. Installs the packages
# the way a user does, checks that DKMS built the module for the root's
# kernel, and for a kernel whose headers arrive afterwards, builds the
# examples from libmsgpool-dev, then removes and purges the packages and
# checks that nothing is left. Prints "ok - WHAT" / "not ok - WHAT"
# lines. What the VM runs goes to out/ there: ko/KVER.ko, bin/ (the
# examples, msgpool-stat) and lib/ (the shared libraries they load, at
# their paths).
#
# Usage: deb-root.sh VERSION KVER [LATER-KVER]
#   apt/ beside it: sources for apt to add, where LATER-KVER is found
set -uo pipefail

v=$1 kver=$2 later=${3:-}
pkgs=(msgpool-dkms libmsgpool1 libmsgpool-dev msgpool-tools)
io=$(cd "$(dirname "$0")" && pwd)
out=$io/out
examples=/usr/share/doc/libmsgpool-dev/examples

# "t WHAT COMMAND...": one test; a failure shows the command's output.
t() {
	local what=$1
	shift
	if "$@" >/tmp/t.out 2>&1; then
		echo "ok - $what"
	else
		echo "not ok - $what"
		tail -n 30 /tmp/t.out | sed 's/^/# /'
	fi
}

apt_get() {
	apt-get -q -y -o Dpkg::Use-Pty=0 "$@"
}

# Every path on the root's filesystem but apt's and dpkg's own records,
# logs and caches.
files() {
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path "$io" \
		-o -path /tmp -o -path /run -o -path /var/cache -o -path /var/log \
		-o -path /var/lib/apt -o -path /var/lib/dpkg \) -prune -o -print |
		sort
}

# DKMS built msgpool.ko VERSION for KVER and installed it; the module is
# copied out, uncompressed, for the VM. (Whether depmod ran depends on
# the dkms release and on a kernel image being installed: not checked.)
built_for() {
	local k=$1 ko

	dkms status msgpool/"$v" -k "$k" | grep -q ": installed$" || return
	ko=$(find "/lib/modules/$k/updates" -name 'msgpool.ko*' | head -n 1)
	[ -n "$ko" ] || return
	mkdir -p "$out/ko"
	case $ko in
	*.xz) xz -dc "$ko" ;;
	*.zst) zstd -dc "$ko" ;;
	*.gz) gzip -dc "$ko" ;;
	*) cat "$ko" ;;
	esac >"$out/ko/$k.ko" || return
	[ "$(modinfo -F vermagic "$out/ko/$k.ko" | cut -d' ' -f1)" = "$k" ] &&
		[ "$(modinfo -F version "$out/ko/$k.ko")" = "$v" ]
}

# What a user of libmsgpool-dev builds: the examples, by pkg-config.
build_examples() {
	local p

	mkdir -p "$out/bin"
	for p in msgpool-demo msgpool-producer msgpool-consumer; do
		# shellcheck disable=SC2046 # pkg-config prints words
		gcc -std=gnu11 -Wall -Wextra -Werror -O2 -o "$out/bin/$p" \
			"$examples/$p.c" $(pkg-config --cflags --libs msgpool) ||
			return
	done
	cp /usr/bin/msgpool-stat "$out/bin/"
}

# The shared libraries the programs load, from this root, for the VM:
# ldd's "NAME => PATH (ADDRESS)" and "PATH (ADDRESS)" lines.
copy_libs() {
	local lib

	ldd "$out"/bin/* | sed -n 's,.* \(/[^ ]*\) (0x.*,\1,p; s,^\t\(/[^ ]*\) (0x.*,\1,p' |
		sort -u | while read -r lib; do
		mkdir -p "$out/lib$(dirname "$lib")"
		cp -L "$lib" "$out/lib$lib" || exit 1
	done
	[ -n "$(find "$out/lib" -name 'libmsgpool.so.1')" ]
}

system_group() {
	local gid

	gid=$(getent group msgpool | cut -d: -f3) && [ "$gid" -lt 1000 ]
}

no_group() {
	! getent group msgpool
}

# Nothing of the packages' left: no file that was not there before, but
# those of packages installed since (the later kernel's headers),
# depmod's indexes, which every module package leaves rewritten, and the
# backups groupadd and groupdel keep of /etc/group and the like.
nothing_left() {
	local owned

	# dpkg names /lib/..., find /usr/lib/... where / is merged into /usr.
	# shellcheck disable=SC2046 # package names are words
	owned=$(dpkg-query -L $(comm -13 /tmp/pkgs.before /tmp/pkgs.after) \
		2>/dev/null | sed -E 's,^/(lib|lib64|bin|sbin)/,/usr/\1/,' |
		sort -u)
	comm -13 /tmp/files.before <(files) | comm -23 - <(echo "$owned") |
		grep -v '^/usr/lib/modules/[^/]*/modules\.' |
		grep -vx '/etc/g\{0,1\}shadow-\|/etc/group-\|/etc/passwd-' |
		tee /tmp/left
	[ ! -s /tmp/left ]
}

# shellcheck disable=SC2015 # cp fails only with files there
[ ! -d "$io/apt" ] || cp "$io"/apt/* /etc/apt/sources.list.d/ || true
t "apt-get update" apt_get update
t "gcc, libc6-dev, pkg-config installed (for the test)" \
	apt_get install --no-install-recommends gcc libc6-dev pkg-config
dpkg-query -W -f '${Package}\n' | sort >/tmp/pkgs.before
files >/tmp/files.before
t "no group msgpool before" no_group

debs=()
for p in "${pkgs[@]}"; do
	debs+=("$io/${p}_${v}"_*.deb)
done
t "apt-get install ${pkgs[*]}" apt_get install --no-install-recommends \
	"${debs[@]}"
t "postinst created system group msgpool" system_group
t "udev rule installed" test -f /usr/lib/udev/rules.d/60-msgpool.rules
t "DKMS built and installed msgpool $v for $kver" built_for "$kver"
if [ -n "$later" ]; then
	t "kernel headers $later installed after msgpool" apt_get install \
		--no-install-recommends "linux-headers-$later"
	t "DKMS built msgpool $v for the new kernel $later" built_for "$later"
fi
t "man msgpool_open, man 4 msgpool, man msgpool-stat installed" \
	test -e /usr/share/man/man3/msgpool_open.3.gz -a \
	-e /usr/share/man/man4/msgpool.4.gz -a \
	-e /usr/share/man/man8/msgpool-stat.8.gz
t "libmsgpool-dev's examples build with pkg-config --libs msgpool" \
	build_examples
t "they load libmsgpool.so.1 from libmsgpool1" \
	grep -q "libmsgpool.so.1 => /.*lib/.*/libmsgpool.so.1 " \
	<(ldd "$out/bin/msgpool-demo")
t "libraries copied for the VM" copy_libs

t "apt-get remove ${pkgs[*]}" apt_get remove "${pkgs[@]}"
t "remove took the module out of every kernel" \
	sh -c '! find /lib/modules -name "msgpool.ko*" | grep .'
t "dkms knows no msgpool" sh -c '! dkms status msgpool | grep .'
# dpkg, not apt: apt knows only packages that are still installed or
# found in an archive, and the removed ones are neither.
t "dpkg --purge ${pkgs[*]}" dpkg --purge "${pkgs[@]}"
t "purge removed group msgpool" no_group
dpkg-query -W -f '${Package}\n' | sort >/tmp/pkgs.after
t "nothing left behind" nothing_left
