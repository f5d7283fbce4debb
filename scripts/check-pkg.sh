# shellcheck shell=bash
# The suites of scripts/check.sh that test what a real system gets:
# `make install` into a staging tree, the DKMS build and the installed
# module loaded with modprobe in a VM on every kernel, the udev rule
# applied by Debian's udevadm in a VM, and the man pages.  Sourced by
# check.sh, which provides one, need, vm, vm_results, in_kernel, $log,
# $repo, the K_* variables of the kernel under test and the paths of
# scripts/env.sh.
# shellcheck disable=SC2153,SC2154 # check.sh sets log, repo, KVER, KDIR

version=$(cat "$repo/VERSION")

# The functions userlib/msgpool.h declares, one a line.
lib_functions() {
	sed -n 's/^[a-z].*[ *]\(msgpool_[a-z_]*\)(.*/\1/p' \
		"$repo/userlib/msgpool.h" | sort -u
}

# The tree `make install DESTDIR=... PREFIX=/usr` must produce: one line
# per path, "TYPE MODE PATH [LINK-TARGET]" as find -printf '%y %m %p %l'
# prints it.
pkg_expected_tree() {
	local f

	cat <<EOF
f 644 lib/modules/$KVER/updates/msgpool.ko
f 644 usr/include/msgpool.h
f 644 usr/include/msgpool.hpp
f 644 usr/include/linux/msgpool.h
f 644 usr/lib/libmsgpool.a
f 755 usr/lib/libmsgpool.so.$version
l 777 usr/lib/libmsgpool.so.1 libmsgpool.so.$version
l 777 usr/lib/libmsgpool.so libmsgpool.so.1
f 644 usr/lib/pkgconfig/msgpool.pc
f 755 usr/bin/msgpool-demo
f 755 usr/bin/msgpool-producer
f 755 usr/bin/msgpool-consumer
f 755 usr/bin/msgpool-pubsub
f 755 usr/bin/msgpool-stat
f 644 usr/share/man/man3/msgpool.3
f 644 usr/share/man/man4/msgpool.4
f 644 usr/share/man/man8/msgpool-stat.8
f 644 usr/lib/udev/rules.d/60-msgpool.rules
EOF
	# A page per function the header declares, so that man finds it by
	# name.
	for f in $(lib_functions); do
		echo "f 644 usr/share/man/man3/$f.3"
	done
}

# What is installed under DESTDIR, as pkg_expected_tree lists it:
# "pkg_tree DESTDIR".
pkg_tree() {
	(cd "$1" && find . -mindepth 1 -not -type d -printf '%y %m %P %l\n') |
		sed 's/ $//' | sort
}

# A program built against the installed header, found through the
# installed msgpool.pc: "pkg_prog DESTDIR OUT [LINK-FLAGS]".
pkg_prog() {
	local dest=$1 out=$2 flags

	flags=$(PKG_CONFIG_SYSROOT_DIR=$dest \
		PKG_CONFIG_LIBDIR=$dest/usr/lib/pkgconfig \
		PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 \
		pkg-config --cflags --libs msgpool) || return
	echo "pkg-config: $flags"
	# A static link wants libmsgpool.a: -Bstatic around -lmsgpool.
	[ "${3:-}" = static ] &&
		flags=${flags/-lmsgpool/-Wl,-Bstatic -lmsgpool -Wl,-Bdynamic}
	# shellcheck disable=SC2086 # flags are words
	gcc -std=c99 -Wall -Wextra -Werror -o "$out" -x c - $flags <<'EOF'
#include <stdio.h>
#include <string.h>
#include <msgpool.h>

int main(void)
{
	struct msgpool_op op = { .op = MSGPOOL_OP_NOP };

	/* The uapi struct as installed, and a call into the library. */
	if (sizeof(op) != 80 || MSGPOOL_IOC_NOP == 0)
		return 1;
	if (strcmp(msgpool_strerror(12345), "unknown msgpool error"))
		return 1;
	puts(msgpool_strerror(MSGPOOL_E_TOO_BIG));
	return 0;
}
EOF
}

pkg_pc() {
	PKG_CONFIG_LIBDIR=$1/usr/lib/pkgconfig pkg-config "${@:2}" msgpool
}

# Tools' output is captured before grep: with pipefail, grep -q ending a
# pipe early would fail the writer.
pkg_runs_shared() {
	local dyn libs out

	dyn=$(readelf -d "$1") && libs=$(LD_LIBRARY_PATH=$2 ldd "$1") &&
		out=$(LD_LIBRARY_PATH=$2 "$1") || return
	grep -q 'NEEDED.*\[libmsgpool\.so\.1\]' <<<"$dyn" &&
		grep -qF "$2/libmsgpool.so.1" <<<"$libs" && [ -n "$out" ]
}

pkg_runs_static() {
	local dyn out

	dyn=$(readelf -d "$1") && out=$("$1") || return
	! grep -q 'NEEDED.*libmsgpool' <<<"$dyn" && [ -n "$out" ]
}

s_install() {
	local dest tree line want got rc var ko

	dest=$(mktemp -d) || return
	one "make install DESTDIR=... PREFIX=/usr" \
		make -s install DESTDIR="$dest" PREFIX=/usr KDIR="$KDIR"
	tree=$(pkg_tree "$dest")
	printf 'installed:\n%s\n' "$tree" >>"$log"
	while read -r line; do
		one "installed $line" grep -qxF "$line" <<<"$tree"
	done < <(pkg_expected_tree)
	one "nothing else installed" pkg_no_match \
		"$(comm -13 <(pkg_expected_tree | sort) - <<<"$tree")"

	want="prefix=/usr libdir=/usr/lib includedir=/usr/include"
	want+=" version=$version"
	got=
	for var in prefix libdir includedir; do
		got+="$var=$(pkg_pc "$dest" --variable="$var") "
	done
	got+="version=$(pkg_pc "$dest" --modversion)"
	echo "msgpool.pc: $got" >>"$log"
	one "msgpool.pc says $want" test "$got" = "$want"
	ko=$dest/lib/modules/$KVER/updates/msgpool.ko
	one "installed msgpool.ko is for $KVER, version $version" test \
		"$(modinfo -F vermagic "$ko" | cut -d' ' -f1) $(modinfo \
		-F version "$ko")" = "$KVER $version"
	one "man msgpool_open finds msgpool(3) in the installed tree" \
		grep -q '^MSGPOOL(3) ' \
		<(MANWIDTH=80 man -M "$dest/usr/share/man" msgpool_open 2>&1)
	one "libmsgpool.so.$version has soname libmsgpool.so.1" \
		grep -q 'SONAME.*\[libmsgpool\.so\.1\]' \
		<(readelf -d "$dest/usr/lib/libmsgpool.so.$version")

	one "installed header and msgpool.pc build a program (shared)" \
		pkg_prog "$dest" "$dest/prog-shared"
	one "it needs libmsgpool.so.1 and runs against the installed one" \
		pkg_runs_shared "$dest/prog-shared" "$dest/usr/lib"
	one "installed header and libmsgpool.a build a program (static)" \
		pkg_prog "$dest" "$dest/prog-static" static
	one "it needs no libmsgpool.so and runs" \
		pkg_runs_static "$dest/prog-static"
	rm -f "$dest/prog-shared" "$dest/prog-static"
	one "installed msgpool.hpp compiles alone as C++17" \
		g++ -std=c++17 -Wall -Wextra -Werror -pedantic \
		-I"$dest/usr/include" -fsyntax-only -x c++ \
		-include msgpool.hpp /dev/null

	make -s uninstall DESTDIR="$dest" PREFIX=/usr KDIR="$KDIR" >>"$log" 2>&1
	rc=$?
	got=$(cd "$dest" && find . -not -type d)
	one "make uninstall removes every file installed" \
		test "$rc" -eq 0 -a -z "$got"

	# What a DKMS user installs besides the module.
	make -s install-userspace DESTDIR="$dest" PREFIX=/usr KDIR="$KDIR" \
		>>"$log" 2>&1
	got=$(pkg_tree "$dest")
	one "make install-userspace installs all but the module" test "$got" = \
		"$(pkg_expected_tree | grep -v ' lib/modules/' | sort)"
	rm -rf "$dest"
	s_udev_rule
}

# The one test of the scripts run in the VM by busybox sh:
# "t WHAT COMMAND...", COMMAND's output the diagnostics of a failure.
pkg_vm_t='t() {
	d=$1
	shift
	if "$@" >/tmp/out 2>&1; then
		echo "ok - $d"
	else
		echo "not ok - $d"
		sed "s/^/# /" /tmp/out
	fi
}'

# The module build-LABEL made in its copy of the sources, depmod'ed in a
# staging tree, loads with modprobe in a VM and the installed demo runs
# against it.
s_install_vm() {
	local dest kver

	need "$K_VMLINUZ" || return
	need "$K_COPY/kmod/msgpool.ko" || return
	kver=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' \
		"${K_ROOT%/}$K_KDIR/include/generated/utsrelease.h")
	dest=$(mktemp -d "$repo/build/install.XXXXXX") || return
	one "make install-module for $kver" in_kernel make -s -C "$K_COPY" \
		-f "$repo/Makefile" install-module DESTDIR="$dest" KDIR="$K_KDIR"
	make -s install-userspace DESTDIR="$dest" PREFIX=/usr >>"$log" 2>&1
	one "depmod of the installed tree" depmod -b "$dest" "$kver"
	# "sh vm-install.sh VERSION"
	{ echo "$pkg_vm_t"; cat; } >"$dest/vm-install.sh" <<'EOF'
is() {
	t "$1 is $2" test "$(cat "$1")" = "$2"
}
p=/sys/module/msgpool/parameters
t "modprobe msgpool max_pools=7" modprobe msgpool max_pools=7
t "/dev/msgpool is a character device" test -c /dev/msgpool
# What 60-msgpool.rules matches: SUBSYSTEM "misc", KERNEL "msgpool".
t "udev sees misc device msgpool" \
	grep -qx DEVNAME=msgpool /sys/class/misc/msgpool/uevent
is /sys/module/msgpool/version "$1"
is $p/max_pool_bytes 268435456
is $p/max_pool_slots 262144
is $p/max_pools 7
t "installed msgpool-demo passes messages, no slot leaked" \
	/opt/msgpool/bin/msgpool-demo -n 200
t "modprobe -r msgpool" modprobe -r msgpool
t "/dev/msgpool is gone" test ! -e /dev/msgpool
EOF
	vm "$K_VMLINUZ" --file "$dest/lib/modules/$kver:/lib/modules/$kver" \
		--file "$dest/usr/bin:/opt/msgpool/bin" \
		--file "$dest/vm-install.sh:/opt/msgpool/vm-install.sh" \
		-- "sh /opt/msgpool/vm-install.sh $version"
	vm_results $? "$K_VMLINUZ"
	rm -rf "$dest"
}

# Debian's udevadm applies the rule to the device in a VM on this system's
# kernel: the rules file parses, matches /dev/msgpool and sets its group
# and mode.
s_udev_vm() {
	local udevadm=$MSGPOOL_CACHE/debian/udev/bin/udevadm lib dir
	local args=(--file "udev/60-msgpool.rules:/usr/lib/udev/rules.d/60-msgpool.rules")

	need "$udevadm" || return
	need "$K_VMLINUZ" || return
	need "$K_COPY/kmod/msgpool.ko" || return
	# udevadm and its libraries, where the dynamic linker looks for them.
	args+=(--file "$udevadm:/bin/udevadm")
	while read -r lib; do
		args+=(--file "$(readlink -f "$lib"):$lib")
	done < <(ldd "$udevadm" | grep -o '/[^ ]*')
	dir=$(mktemp -d) || return
	{ echo "$pkg_vm_t"; cat; } >"$dir/vm-udev.sh" <<'EOF'
# udevadm's report stays in /tmp/udev for the tests after it.
udev_test() {
	/bin/udevadm test --action=add /sys/class/misc/msgpool >/tmp/udev 2>&1
	s=$?
	cat /tmp/udev
	return $s
}
sets() {
	grep "60-msgpool.rules:[0-9]* GROUP 999$" /tmp/udev &&
		grep "60-msgpool.rules:[0-9]* MODE 0660$" /tmp/udev
}
no_complaint() {
	! grep -i 'invalid\|error\|ignor' /tmp/udev
}
dev_mode() {
	ls -l /dev/msgpool
	[ "$(stat -c '%g %a' /dev/msgpool)" = "999 660" ]
}
echo msgpool:x:999: >>/etc/group
mkdir -p /run/udev
t "udevadm test --action=add /sys/class/misc/msgpool" udev_test
t "60-msgpool.rules sets GROUP msgpool and MODE 0660" sets
t "udevadm parses 60-msgpool.rules without complaint" no_complaint
t "/dev/msgpool is group msgpool, mode 0660" dev_mode
EOF
	vm "$K_VMLINUZ" --module "$K_COPY/kmod/msgpool.ko" "${args[@]}" \
		--file "$dir/vm-udev.sh:/opt/msgpool/vm-udev.sh" \
		-- "sh /opt/msgpool/vm-udev.sh"
	vm_results $? "$K_VMLINUZ"
	rm -rf "$dir"
}

# Without a VM: Debian 12's udevadm has no "verify" (systemd 253 has), so
# the rule is checked for well-formed KEY op "value" pairs and what it sets.
s_udev_rule() {
	local f=udev/60-msgpool.rules pair='[A-Z_]+(\{[^}]*\})?(==|!=|\+=|:=|=)"[^"]*"'

	one "$f: every rule is comma-separated KEY op \"value\" pairs" \
		pkg_no_match "$(grep -vE '^(#.*)?$' "$f" |
			grep -vxE "$pair(, $pair)*")"
	one "$f: KERNEL==\"msgpool\" SUBSYSTEM==\"misc\" GROUP=\"msgpool\" MODE=\"0660\"" \
		grep -qxF 'KERNEL=="msgpool", SUBSYSTEM=="misc", GROUP="msgpool", MODE="0660"' "$f"
}

# dkms builds from a copy of the source tree, as `dkms add .` makes one,
# in private dkms and source trees so that the system's stay untouched;
# for a kernel built in a root, that root's dkms, which may compress the
# module (msgpool.ko.xz).
s_dkms() {
	local t D ko mod=msgpool/$version

	need "${K_ROOT%/}$K_KDIR/Makefile" || return
	t=$(mktemp -d "$repo/build/dkms.XXXXXX") || return
	mkdir -p "$t/tree" "$t/dkms" "$t/src"
	tree_copy "$t/tree"
	D=(in_kernel dkms --dkmstree "$t/dkms" --sourcetree "$t/src")
	one "dkms add ($mod)" "${D[@]}" add "$t/tree"
	one "dkms build $mod for $K_KVER" "${D[@]}" build "$mod" \
		-k "$K_KVER" --kernelsourcedir "$K_KDIR"
	ko=$(find "$t/dkms/$mod/$K_KVER" -name 'msgpool.ko*' 2>/dev/null |
		head -n 1)
	echo "dkms built: ${ko:-nothing}" >>"$log"
	one "dkms built msgpool.ko $version for $K_KVER" test -n "$ko" -a \
		"$(in_kernel modinfo -F vermagic "$ko" | cut -d' ' -f1) $(in_kernel \
		modinfo -F version "$ko")" = "$K_KVER $version"
	one "dkms status: built" \
		grep -q "^$mod, $K_KVER, .*: built$" <("${D[@]}" status)
	one "dkms remove --all" "${D[@]}" remove --all "$mod"
	one "dkms tree empty after remove" test ! -e "$t/dkms/msgpool"
	rm -rf "$t"
}

# The sources into DIR, as a user has them: the files git tracks and the
# new ones it does not ignore, no build output: "tree_copy DIR".
tree_copy() {
	git -C "$repo" ls-files -z -co --exclude-standard |
		tar -C "$repo" --null -T - -cf - | tar -C "$1" -xf -
}

# Passes if its argument, some tool's complaints, is empty; logs them.
pkg_no_match() {
	printf '%s\n' "$1"
	[ -z "$1" ]
}

s_man() {
	local f name opt fn

	for f in man/msgpool.3 man/msgpool.4 man/msgpool-stat.8; do
		one "$f: mandoc -T lint clean" \
			pkg_no_match "$(mandoc -T lint -W warning "$f" 2>&1)"
		one "$f: groff -man -ww clean" \
			pkg_no_match "$(groff -man -ww -z "$f" 2>&1)"
		one "$f: man -l renders it, without warnings" \
			pkg_no_match "$(MANWIDTH=80 man -l "$f" 2>&1 >/dev/null)"
		one "$f: man -l shows its NAME section" \
			grep -q '^NAME' <(MANWIDTH=80 man -l "$f" 2>/dev/null)
	done
	# The pages cover the interfaces as they are in this tree.
	while read -r name; do
		one "msgpool.4 documents $name" grep -qw "$name" man/msgpool.4
	done < <(sed -n 's/^#define \(MSGPOOL_IOC_[A-Z_]*\)[[:space:]]*_IO.*/\1/p' \
		uapi/linux/msgpool.h)
	# Every option msgpool-stat -h lists.
	make -s -C userlib tools >>"$log" 2>&1
	while read -r opt; do
		one "msgpool-stat.8 documents $opt" grep -qx \
			"\.[BI]* *\\\\${opt}.*" man/msgpool-stat.8
	done < <(userlib/tools/msgpool-stat -h |
		sed -n 's/^  \(-[a-z]\) .*/\1/p')
	# Every function userlib/msgpool.h declares, in msgpool(3)'s NAME.
	while read -r fn; do
		one "msgpool.3 names $fn() in NAME" grep -qw "$fn" \
			<(sed -n '/^\.SH NAME/,/^\\-/p' man/msgpool.3)
	done < <(lib_functions)
}

# The Debian packages: dpkg-buildpackage on a copy of the tree, then
# lintian on the result.
deb_dir=$repo/build/deb
deb_arch=$(dpkg --print-architecture)

deb_files() {
	local p

	echo "$deb_dir/msgpool-dkms_${version}_all.deb"
	for p in libmsgpool1 libmsgpool-dev msgpool-tools; do
		echo "$deb_dir/${p}_${version}_$deb_arch.deb"
	done
}

s_deb() {
	local f

	rm -rf "$deb_dir"
	mkdir -p "$deb_dir/src"
	tree_copy "$deb_dir/src"
	one "dpkg-buildpackage -b" sh -c "cd '$deb_dir/src' &&
		dpkg-buildpackage -us -uc -b"
	while read -r f; do
		one "built $(basename "$f"), version $version" \
			test "$(dpkg-deb -f "$f" Version 2>&1)" = "$version"
	done < <(deb_files)
	one "msgpool-dkms's dkms.conf names msgpool $version" grep -qx \
		"PACKAGE_VERSION=\"$version\"" <(dpkg-deb --fsys-tarfile \
		"$deb_dir/msgpool-dkms_${version}_all.deb" |
		tar -xOf - "./usr/src/msgpool-$version/dkms.conf")
	# Info and pedantic tags go to the log; errors and warnings fail.
	one "lintian: no error, no warning" lintian --pedantic -I -E \
		--fail-on error,warning \
		"$deb_dir/msgpool_${version}_$deb_arch.changes"
}

# The packages installed into a throwaway overlay over this kernel's root
# (scripts/deb-root.sh), then the module DKMS built there loaded in a VM,
# running the examples built from libmsgpool-dev. A kernel of the same
# Debian release built on this system ("later") gets its headers
# installed after msgpool, as a kernel upgrade would.
s_deb_root() {
	local t later='' f k vmlinuz libs=()

	need "$K_ROOT/.msgpool-root" || return
	while read -r f; do
		need "$f" || return
	done < <(deb_files)
	# shellcheck disable=SC1091 # the roots' and this system's
	[ "$(. "$K_ROOT/etc/os-release" && echo "$VERSION_CODENAME")" != \
		"$(. /etc/os-release && echo "$VERSION_CODENAME")" ] ||
		later=$host_kver
	t=$(mktemp -d "$repo/build/deb-root.XXXXXX") || return
	mkdir -p "$t/upper" "$t/work" "$t/merged" "$t/io"
	# shellcheck disable=SC2046 # paths without spaces, one a line
	cp $(deb_files) "$scripts/deb-root.sh" "$t/io/"
	# The later kernel comes from this system's apt sources.
	if [ -n "$later" ]; then
		mkdir -p "$t/io/apt"
		# host-sources.list for sources.list: apt reads *.list there.
		msgpool_apt_sources | while read -r f; do
			cp "$f" "$t/io/apt/host-$(basename "$f")"
		done
	fi
	# shellcheck disable=SC2016 # expanded by the inner shell
	unshare --mount --propagation private /bin/bash -c '
		mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" \
			"$2/merged" && exec "$3/in-root.sh" "$2/merged" --bind "$2/io" \
			-- bash "$2/io/deb-root.sh" "${@:4}"' deb-root "$K_ROOT" "$t" \
		"$scripts" "$version" "$K_KVER" ${later:+"$later"} 2>>"$log"
	while read -r f; do
		libs+=(--file "$f:${f#"$t/io/out/lib"}")
	done < <(find "$t/io/out/lib" -type f 2>/dev/null)
	{ echo "$pkg_vm_t"; cat; } >"$t/io/out/vm-deb.sh" <<'EOS'
t "msgpool-demo built from libmsgpool-dev passes messages on $1" \
	/opt/msgpool/bin/msgpool-demo -n 200
t "msgpool-stat from msgpool-tools runs on $1" /opt/msgpool/bin/msgpool-stat
EOS
	for k in "$K_KVER" $later; do
		vmlinuz=$K_VMLINUZ
		[ "$k" = "$K_KVER" ] || vmlinuz=$host_vmlinuz
		need "$t/io/out/ko/$k.ko" || continue
		vm "$vmlinuz" --module "$t/io/out/ko/$k.ko" "${libs[@]}" \
			--file "$t/io/out/bin:/opt/msgpool/bin" \
			--file "$t/io/out/vm-deb.sh:/opt/msgpool/vm-deb.sh" \
			-- "sh /opt/msgpool/vm-deb.sh $k"
		vm_results $? "$vmlinuz"
	done
	rm -rf "$t"
}
