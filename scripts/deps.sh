#!/bin/bash
# Install from Debian whatever msgpool's build and tests need and is not
# there yet, fetch the Debian kernel image the tests boot (without
# installing it) and extract the kernel source. Idempotent; quiet and fast
# when everything is present. Needs root (or sudo) only to install.
#
# Usage: scripts/deps.sh
set -euo pipefail

scripts=$(cd "$(dirname "$0")" && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/msgpool
debian=$cache/debian
log=$cache/deps.log
mkdir -p "$debian"

packages=(qemu-system-x86 busybox-static cpio liburcu-dev sparse gcc g++
	libc6-dev make bc flex bison libelf-dev libssl-dev xz-utils kmod
	python3 perl linux-source-6.1 dkms mandoc man-db groff-base pkgconf)

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
updated=

apt_update() {
	[ -n "$updated" ] && return
	echo "deps: apt-get update" >&2
	$sudo apt-get update >>"$log" 2>&1 || {
		tail -n 20 "$log" >&2
		exit 1
	}
	updated=1
}

# The kernel Debian currently ships for amd64, e.g. 6.1.0-28-amd64.
resolve_kver() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\([0-9].*\)$/\1/p' | head -n 1
}

kver=$(resolve_kver)
if [ -z "$kver" ]; then
	apt_update
	kver=$(resolve_kver)
	[ -n "$kver" ] || {
		echo "deps: cannot resolve linux-image-amd64" >&2
		exit 1
	}
fi
packages+=("linux-headers-$kver")

installed=" $(dpkg-query -W -f='${db:Status-Status} ${Package}\n' \
	"${packages[@]}" 2>/dev/null | sed -n 's/^installed //p' |
	tr '\n' ' ')"
missing=()
for p in "${packages[@]}"; do
	[[ $installed == *" $p "* ]] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt_update
	echo "deps: installing ${missing[*]}" >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" >>"$log" 2>&1 || {
		tail -n 20 "$log" >&2
		exit 1
	}
fi

# Only the image's vmlinuz is needed: qemu boots it directly.
vmlinuz=$debian/boot/vmlinuz-$kver
if [ ! -s "$vmlinuz" ]; then
	deb=$(find "$debian" -maxdepth 1 -name "linux-image-${kver}_*.deb" |
		head -n 1)
	if [ -z "$deb" ]; then
		echo "deps: downloading linux-image-$kver" >&2
		(cd "$debian" && apt-get download -q "linux-image-$kver") \
			>>"$log" 2>&1 || {
			apt_update
			(cd "$debian" && apt-get download -q \
				"linux-image-$kver") >>"$log" 2>&1 || {
				tail -n 20 "$log" >&2
				exit 1
			}
		}
		deb=$(find "$debian" -maxdepth 1 \
			-name "linux-image-${kver}_*.deb" | head -n 1)
	fi
	dpkg-deb --fsys-tarfile "$deb" | tar -C "$debian" -x ./boot
	[ -s "$vmlinuz" ] || {
		echo "deps: $deb holds no vmlinuz-$kver" >&2
		exit 1
	}
fi
# udevadm tests the udev rule in the VM: extracted from Debian's udev
# package, not installed.
if [ ! -x "$debian/udev/bin/udevadm" ]; then
	deb=$(find "$debian" -maxdepth 1 -name 'udev_*.deb' | head -n 1)
	if [ -z "$deb" ]; then
		echo "deps: downloading udev" >&2
		(cd "$debian" && apt-get download -q udev) >>"$log" 2>&1 || {
			apt_update
			(cd "$debian" && apt-get download -q udev) \
				>>"$log" 2>&1 || {
				tail -n 20 "$log" >&2
				exit 1
			}
		}
		deb=$(find "$debian" -maxdepth 1 -name 'udev_*.deb' | head -n 1)
	fi
	rm -rf "$debian/udev"
	dpkg-deb -x "$deb" "$debian/udev"
fi
echo "$kver" >"$debian/kver.tmp"
mv "$debian/kver.tmp" "$debian/kver"

src=$cache/linux-source-6.1
if [ ! -f "$src/Makefile" ]; then
	echo "deps: extracting linux-source-6.1 into $cache" >&2
	rm -rf "$src.tmp"
	mkdir -p "$src.tmp"
	tar -C "$src.tmp" -xf /usr/src/linux-source-6.1.tar.xz
	mv "$src.tmp/linux-source-6.1" "$src"
	rmdir "$src.tmp"
fi

# Sanity check of what scripts/env.sh points at.
# shellcheck source=scripts/env.sh
. "$scripts/env.sh"
for f in "$KDIR/Makefile" "$VMLINUZ" "$KSFT_DIR/kselftest_harness.h"; do
	[ -e "$f" ] || {
		echo "deps: $f is missing" >&2
		exit 1
	}
done
