#!/bin/bash
# Prepare the kernels of scripts/kernels: resolve each through its suite's
# linux-headers-amd64, install those headers (on this system for "host",
# else in a minimal debootstrap root of the suite, kept in the cache), take
# the vmlinuz qemu boots out of the kernel's package, and take checkpatch
# and the kselftest harness from the kernel's linux-source package.
# Idempotent; run it again to follow the suites' updates.
#
# For each suite it writes $MSGPOOL_CACHE/kernels/SUITE/env, which defines
#   K_SUITE K_LABEL (6.12) K_KVER (6.12.95+deb12-amd64) K_ROOT (/ for host)
#   K_KDIR (inside K_ROOT) K_VMLINUZ K_SPARSE (inside K_ROOT) K_CHECKPATCH
#   K_KSFT_DIR (the kselftest harness of that kernel's source)
#
# Usage: scripts/kernels.sh [SUITE...]      (default: every suite listed)
set -euo pipefail
shopt -s inherit_errexit

scripts=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/env.sh
. "$scripts/env.sh"
log=$MSGPOOL_CACHE/kernels.log
mkdir -p "$MSGPOOL_CACHE/kernels"
trap 'echo "kernels: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

die() {
	echo "kernels: $*" >&2
	[ ! -s "$log" ] || { echo "kernels: last lines of $log:" >&2; tail -n 20 "$log" >&2; }
	exit 1
}

# "quiet WHAT COMMAND...": the command's output goes to the log; a failure
# names WHAT.
quiet() {
	local what=$1
	shift
	"$@" >>"$log" 2>&1 || die "$what failed"
}

# "in_root ROOT COMMAND...": on this system for /, else chrooted.
in_root() {
	"$scripts/in-root.sh" "$1" -- "${@:2}"
}

mirror=$(msgpool_mirror)

# A minimal root of the suite's release with a compiler, make, dkms and
# sparse; the kernel's headers bring the compiler they were built with.
make_root() {
	local suite=$1 root=$2 base=${1%-backports}

	[ -e "$root/.msgpool-root" ] && return
	command -v debootstrap >/dev/null || die "debootstrap is not installed (scripts/deps.sh installs it)"
	echo "kernels: debootstrap $base into $root" >&2
	rm -rf "$root.tmp"
	mkdir -p "$(dirname "$root")"
	quiet "debootstrap $base" debootstrap --variant=minbase "$base" \
		"$root.tmp" "$mirror"
	{
		echo "deb $mirror $base main"
		[ "$suite" = "$base" ] || echo "deb $mirror $suite main"
	} >"$root.tmp/etc/apt/sources.list"
	quiet "apt-get update in the $base root" in_root "$root.tmp" apt-get update
	quiet "installing make, dkms, sparse in the $base root" \
		in_root "$root.tmp" apt-get install -y -q --no-install-recommends \
		make dkms sparse kmod xz-utils
	quiet "apt-get clean in the $base root" in_root "$root.tmp" apt-get clean
	touch "$root.tmp/.msgpool-root"
	mv "$root.tmp" "$root"
}

# The newest linux-headers-amd64 of the suite, installed; prints the
# kernel release it depends on.
headers() {
	local suite=$1 root=$2 kver

	if [ "$root" = / ]; then
		# This system's apt: scripts/deps.sh has updated it.
		kver=$(msgpool_headers_kver)
		[ -n "$kver" ] || die "cannot resolve linux-headers-amd64 in $suite"
		dpkg-query -W -f='${db:Status-Status}\n' "linux-headers-$kver" \
			2>/dev/null | grep -qx installed ||
			quiet "installing linux-headers-$kver" apt-get install -y -q \
			--no-install-recommends "linux-headers-$kver"
	else
		quiet "apt-get update in the $suite root" in_root "$root" apt-get update
		quiet "installing $suite's linux-headers-amd64" in_root "$root" \
			apt-get install -y -q --no-install-recommends -t "$suite" \
			linux-headers-amd64
		quiet "apt-get clean in the $suite root" in_root "$root" apt-get clean
		kver=$(in_root "$root" dpkg-query -W -f='${Depends}\n' \
			linux-headers-amd64 | grep -o 'linux-headers-[0-9][^ ,]*' |
			head -n 1)
		kver=${kver#linux-headers-}
		[ -n "$kver" ] || die "no linux-headers-amd64 in the $suite root"
	fi
	echo "$kver"
}

# "fetch ROOT DIR PACKAGE": PACKAGE's .deb in DIR (once), by the root's apt;
# prints its path.
fetch() {
	local root=$1 dir=$2 pkg=$3 deb tmp

	mkdir -p "$dir"
	deb=$(find "$dir" -maxdepth 1 -name "${pkg}_*.deb" | head -n 1)
	if [ -z "$deb" ]; then
		tmp=$(in_root "$root" mktemp -d)
		in_root "$root" sh -c "cd $tmp && apt-get download -q $pkg" \
			>>"$log" 2>&1 || return 1
		tmp=${root%/}$tmp
		mv "$tmp"/*.deb "$dir/"
		rmdir "$tmp"
		deb=$(find "$dir" -maxdepth 1 -name "${pkg}_*.deb" | head -n 1)
	fi
	echo "$deb"
}

# qemu boots the vmlinuz directly: from linux-binary-KVER since 7.x, from
# linux-image-KVER before.
vmlinuz() {
	local root=$1 kver=$2 dir=$3 deb x

	if [ ! -s "$dir/vmlinuz-$kver" ]; then
		deb=$(fetch "$root" "$dir/dl" "linux-binary-$kver") ||
			deb=$(fetch "$root" "$dir/dl" "linux-image-$kver") ||
			die "neither linux-binary-$kver nor linux-image-$kver can be downloaded"
		x=$(mktemp -d)
		dpkg-deb -x "$deb" "$x"
		for f in "$x/boot/vmlinuz-$kver" "$x/usr/lib/modules/$kver/vmlinuz"; do
			[ ! -s "$f" ] || cp "$f" "$dir/vmlinuz-$kver"
		done
		rm -rf "$x"
		[ -s "$dir/vmlinuz-$kver" ] || die "$deb holds no vmlinuz"
		find "$dir/dl" -name 'linux-*.deb' -delete
	fi
	echo "$dir/vmlinuz-$kver"
}

# From the kernel's own linux-source: checkpatch.pl and what it reads;
# checker-valid.sh, which Kbuild since 7.x runs to decide whether sparse
# may run, and which Debian's headers lack; and the kselftest harness.
kernel_source_files() {
	local root=$1 label=$2 dir=$3 deb want have f members=()

	want=$(in_root "$root" apt-cache policy "linux-source-$label" |
		sed -n 's/^ *Candidate: //p')
	[ -n "$want" ] && [ "$want" != "(none)" ] ||
		die "no linux-source-$label in the apt sources of $root"
	have=$(cat "$dir/src/version" 2>/dev/null || true)
	[ "$have" = "$want" ] && return
	echo "kernels: checkpatch and kselftest harness from linux-source-$label $want" >&2
	deb=$(fetch "$root" "$dir/dl" "linux-source-$label") ||
		die "cannot download linux-source-$label"
	for f in scripts/checkpatch.pl scripts/spelling.txt \
		scripts/const_structs.checkpatch scripts/checker-valid.sh \
		tools/testing/selftests/kselftest_harness.h \
		tools/testing/selftests/kselftest.h; do
		members+=("linux-source-$label/$f")
	done
	rm -rf "$dir/src"
	mkdir -p "$dir/src"
	# Members that a release lacks (checker-valid.sh before 6.15) are
	# left out.
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO "./usr/src/linux-source-$label.tar.xz" |
		tar -xJ -C "$dir/src" --strip-components=1 "${members[@]}" \
			2>>"$log" || true
	for f in scripts/checkpatch.pl tools/testing/selftests/kselftest_harness.h; do
		[ -s "$dir/src/$f" ] || die "linux-source-$label holds no $f"
	done
	rm -f "$deb"
	echo "$want" >"$dir/src/version"
}

# sid's sparse, unpacked into the root: its binary needs only libc, while
# the package wants gcc-16.
sid_sparse() {
	local root=$1 dir=$2 list=/etc/apt/msgpool-sid.list deb
	local apt=(-o "Dir::Etc::SourceList=$list" -o Dir::Etc::SourceParts=/dev/null
		-o Dir::State::Lists=/var/lib/apt/lists-sid
		-o Acquire::Check-Valid-Until=false)

	if [ ! -x "$root/opt/sparse-sid/usr/bin/sparse" ]; then
		echo "deb $mirror sid main" >"$root$list"
		mkdir -p "$root/var/lib/apt/lists-sid/partial"
		quiet "apt-get update (sid)" in_root "$root" apt-get "${apt[@]}" update
		rm -f "$dir"/dl/sparse_*.deb
		mkdir -p "$dir/dl"
		quiet "downloading sid's sparse" in_root "$root" sh -c \
			"cd /tmp && apt-get ${apt[*]} download sparse && mv sparse_*.deb /root/"
		mv "$root"/root/sparse_*.deb "$dir/dl/"
		deb=$(find "$dir/dl" -name 'sparse_*.deb' | head -n 1)
		rm -rf "$root/opt/sparse-sid"
		dpkg-deb -x "$deb" "$root/opt/sparse-sid"
		rm -f "$deb"
	fi
	echo /opt/sparse-sid/usr/bin/sparse
}

prepare() {
	local suite=$1 where=$2 sparse_from=$3 dir root kver label kdir common
	local vmlinuz sparse

	dir=$MSGPOOL_CACHE/kernels/$suite
	mkdir -p "$dir"
	root=/
	[ "$where" = host ] || {
		root=$MSGPOOL_CACHE/roots/$suite
		make_root "$suite" "$root"
	}
	kver=$(headers "$suite" "$root")
	label=$(sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p' <<<"$kver")
	kdir=/usr/src/linux-headers-$kver
	[ -f "${root%/}$kdir/Makefile" ] || die "no $kdir in $root"
	vmlinuz=$(vmlinuz "$root" "$kver" "$dir")
	kernel_source_files "$root" "$label" "$dir"
	case $sparse_from in
	sid) sparse=$(sid_sparse "$root" "$dir") ;;
	*) sparse=sparse ;;
	esac
	common=${root%/}/usr/src/linux-headers-${kver%-*}-common
	if grep -q checker-valid.sh "$common/Makefile" 2>/dev/null &&
		[ ! -e "$common/scripts/checker-valid.sh" ]; then
		cp "$dir/src/scripts/checker-valid.sh" "$common/scripts/"
	fi
	cat >"$dir/env.tmp" <<EOF
K_SUITE=$suite
K_LABEL=$label
K_KVER=$kver
K_ROOT=$root
K_KDIR=$kdir
K_VMLINUZ=$vmlinuz
K_SPARSE=$sparse
K_CHECKPATCH=$dir/src/scripts/checkpatch.pl
K_KSFT_DIR=$dir/src/tools/testing/selftests
EOF
	mv "$dir/env.tmp" "$dir/env"
	echo "kernels: $suite: $kver" >&2
}

: >"$log"
want=" $* "
while read -r suite where sparse_from; do
	[ $# -eq 0 ] || [[ $want == *" $suite "* ]] || continue
	prepare "$suite" "$where" "$sparse_from"
done < <(msgpool_kernels)
