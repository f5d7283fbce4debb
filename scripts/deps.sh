#!/bin/bash
# Install from Debian whatever msgpool's build and tests need and is not
# there yet, and unpack the debug kernel's source (linux-source-6.12, from
# bookworm-backports, fetched without touching this system's apt sources),
# and prepare the kernel this system builds for: the first of
# scripts/kernels, by scripts/kernels.sh. make check prepares the others.
# Idempotent; quiet and fast when everything is present. Needs root (or
# sudo) only to install.
#
# Usage: scripts/deps.sh [PACKAGE...]   (PACKAGEs: more to install)
set -euo pipefail
shopt -s inherit_errexit

scripts=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$scripts/env.sh"
debian=$MSGPOOL_CACHE/debian
log=$MSGPOOL_CACHE/deps.log
mkdir -p "$debian"
: >"$log"
trap 'echo "deps: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

packages=(qemu-system-x86 busybox-static cpio liburcu-dev sparse gcc g++
	libc6-dev make bc flex bison libelf-dev libssl-dev xz-utils kmod
	python3 perl dkms mandoc man-db groff-base pkgconf debootstrap
	util-linux binutils rustc-web cargo-web build-essential debhelper dh-dkms
	lintian "$@")

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo

die() {
	echo "deps: $*" >&2
	[ ! -s "$log" ] || { echo "deps: last lines of $log:" >&2; tail -n 20 "$log" >&2; }
	exit 1
}

updated=
apt_update() {
	[ -n "$updated" ] && return
	echo "deps: apt-get update" >&2
	$sudo apt-get update >>"$log" 2>&1 || die "apt-get update failed"
	updated=1
}

# dpkg-query fails for a package it never saw: its silence is the answer.
installed=" $(dpkg-query -W -f='${db:Status-Status} ${Package}\n' \
	"${packages[@]}" 2>/dev/null | sed -n 's/^installed //p' |
	tr '\n' ' ' || true)"
missing=()
for p in "${packages[@]}"; do
	[[ $installed == *" $p "* ]] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt_update
	echo "deps: installing ${missing[*]}" >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" >>"$log" 2>&1 ||
		die "cannot install ${missing[*]}"
fi
# A fresh system has no package lists: scripts/kernels.sh resolves
# linux-headers-amd64 from them.
apt-cache show linux-headers-amd64 >/dev/null 2>&1 || apt_update

# "fetch SUITE PACKAGE": the newest PACKAGE of SUITE, downloaded into
# $debian with a private apt configuration; prints the .deb's path.
fetch() {
	local suite=$1 pkg=$2 mirror apt deb version

	mirror=$(msgpool_mirror)
	mkdir -p "$debian/apt/$suite/lists/partial"
	printf 'deb %s %s main\n' "$mirror" "$suite" >"$debian/apt/$suite/sources.list"
	apt=(-o "Dir::Etc::SourceList=$debian/apt/$suite/sources.list"
		-o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$debian/apt/$suite/lists"
		-o "Dir::Cache=$debian/apt/$suite/cache")
	apt-get "${apt[@]}" update >>"$log" 2>&1 ||
		die "apt-get update for $suite failed"
	version=$(apt-cache "${apt[@]}" policy "$pkg" |
		sed -n 's/^ *Candidate: //p')
	[ -n "$version" ] && [ "$version" != "(none)" ] || die "no $pkg in $suite"
	# The older ones go.
	find "$debian" -maxdepth 1 -name "${pkg}_*.deb" \
		-not -name "${pkg}_${version#*:}_*" -delete
	deb=$(find "$debian" -maxdepth 1 -name "${pkg}_${version#*:}_*.deb")
	if [ -z "$deb" ]; then
		(cd "$debian" && apt-get "${apt[@]}" download "$pkg") \
			>>"$log" 2>&1 || die "cannot download $pkg from $suite"
		deb=$(find "$debian" -maxdepth 1 -name "${pkg}_${version#*:}_*.deb")
	fi
	echo "$deb"
}

# udevadm tests the udev rule in the VM: extracted from Debian's udev
# package, not installed.
if [ ! -x "$debian/udev/bin/udevadm" ]; then
	deb=$(fetch bookworm udev)
	rm -rf "$debian/udev"
	dpkg-deb -x "$deb" "$debian/udev"
	rm -f "$deb"
fi

# The debug kernel's source follows bookworm-backports' linux-source-6.12.
src=$LINUX_SRC
deb=$(fetch bookworm-backports linux-source-6.12)
version=$(dpkg-deb -f "$deb" Version)
if [ "$(cat "$src.version" 2>/dev/null || true)" != "$version" ]; then
	echo "deps: extracting linux-source-6.12 $version into $MSGPOOL_CACHE" >&2
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO ./usr/src/linux-source-6.12.tar.xz |
		tar -xJ -C "$src.tmp"
	mv "$src.tmp/linux-source-6.12" "$src"
	rmdir "$src.tmp"
	echo "$version" >"$src.version"
fi

"$scripts/kernels.sh" "$(msgpool_host_kernel)"
