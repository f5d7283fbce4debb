# shellcheck shell=bash
# Sourced by the msgpool scripts: where the kernels, their headers, the
# kernel source and the debug kernel live. Cheap; scripts/deps.sh and
# scripts/kernels.sh install and fetch what these paths point to.

MSGPOOL_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/msgpool
_msgpool_scripts=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The lines of scripts/kernels: "SUITE host|root host|root|sid".
msgpool_kernels() {
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$_msgpool_scripts/kernels"
}

# The suite of the kernel this system builds for: the first built on
# this system.
msgpool_host_kernel() {
	msgpool_kernels | awk '$2 == "host" { print $1; exit }'
}

# This system's apt source files, one path a line.
msgpool_apt_sources() {
	local f

	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources; do
		[ ! -f "$f" ] || echo "$f"
	done
}

# The archive this system's apt takes bookworm from, for debootstrap and
# the roots' sources (one-line and deb822 sources both).
msgpool_mirror() {
	local mirror

	mirror=$({
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) bookworm .*/\2/p' ||
			true
		cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
		BEGIN { RS = ""; FS = "\n" }
		{
			uris = ""; suites = ""; types = ""; enabled = "yes"
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^#/) continue
				split($i, kv, /:[ \t]*/)
				if (kv[1] == "URIs") uris = substr($i, length(kv[1]) + 2)
				if (kv[1] == "Suites") suites = " " substr($i, length(kv[1]) + 2) " "
				if (kv[1] == "Types") types = " " substr($i, length(kv[1]) + 2) " "
				if (kv[1] == "Enabled") enabled = kv[2]
			}
			gsub(/[ \t]+/, " ", suites); gsub(/[ \t]+/, " ", types)
			if (enabled != "no" && types ~ / deb / && suites ~ / bookworm /) {
				split(uris, u, /[ \t]+/)
				print (u[1] != "" ? u[1] : u[2])
			}
		}' || true
	} | head -n 1)
	[ -n "$mirror" ] || {
		echo "msgpool: no bookworm archive in this system's apt sources" >&2
		return 1
	}
	echo "$mirror"
}

# The kernel release this system's linux-headers-amd64 depends on.
msgpool_headers_kver() {
	apt-cache depends linux-headers-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-headers-\([0-9].*\)$/\1/p' | head -n 1
}

# The kernel this system builds for by default (make, make install, the
# demo): the first of scripts/kernels, built on this system.
_msgpool_host=$(msgpool_host_kernel)
if [ -s "$MSGPOOL_CACHE/kernels/$_msgpool_host/env" ]; then
	KVER=$(sed -n 's/^K_KVER=//p' "$MSGPOOL_CACHE/kernels/$_msgpool_host/env")
	VMLINUZ=$(sed -n 's/^K_VMLINUZ=//p' "$MSGPOOL_CACHE/kernels/$_msgpool_host/env")
else
	# Empty on a system whose package lists are not there yet.
	KVER=$(msgpool_headers_kver || true)
	VMLINUZ=$MSGPOOL_CACHE/kernels/$_msgpool_host/vmlinuz-$KVER
fi
KDIR=/usr/src/linux-headers-$KVER

# The kselftest harness the tests build with: this system's kernel's.
KSFT_DIR=$MSGPOOL_CACHE/kernels/$_msgpool_host/src/tools/testing/selftests

# The debug kernel's source, bookworm-backports' 6.12 LTS.
LINUX_SRC=$MSGPOOL_CACHE/linux-source-6.12

# The debug kernel's build dir is keyed on its config fragment and on the
# kernel version, so editing either builds a fresh one next to the old.
DEBUG_KDIR=$MSGPOOL_CACHE/debug-kernel-$(
	{
		cat "$_msgpool_scripts/debug-kernel.config"
		# Not there before scripts/deps.sh has unpacked it.
		sed -n '/^VERSION/p; /^PATCHLEVEL/p; /^SUBLEVEL/p; /^EXTRAVERSION/p' \
			"$LINUX_SRC/Makefile" 2>/dev/null || true
	} | sha256sum | cut -c1-12)
DEBUG_BZIMAGE=$DEBUG_KDIR/arch/x86/boot/bzImage
unset _msgpool_host

export MSGPOOL_CACHE KVER KDIR VMLINUZ LINUX_SRC KSFT_DIR DEBUG_KDIR \
	DEBUG_BZIMAGE
