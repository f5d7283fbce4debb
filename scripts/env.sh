# shellcheck shell=bash
# Sourced by the msgpool scripts: where the Debian kernel, its headers, the
# kernel source and the debug kernel live. Cheap; scripts/deps.sh installs
# and fetches what these paths point to.

MSGPOOL_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/msgpool

# deps.sh records the version linux-image-amd64 resolves to, so sourcing
# this file does not need to ask apt every time.
if [ -s "$MSGPOOL_CACHE/debian/kver" ]; then
	KVER=$(cat "$MSGPOOL_CACHE/debian/kver")
else
	KVER=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-image-\([0-9].*\)$/\1/p' | head -n 1)
fi

KDIR=/usr/src/linux-headers-$KVER
VMLINUZ=$MSGPOOL_CACHE/debian/boot/vmlinuz-$KVER
LINUX_SRC=$MSGPOOL_CACHE/linux-source-6.1
KSFT_DIR=$LINUX_SRC/tools/testing/selftests

# The debug kernel's build dir is keyed on its config fragment and on the
# kernel version, so editing either builds a fresh one next to the old.
_msgpool_scripts=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEBUG_KDIR=$MSGPOOL_CACHE/debug-kernel-$(
	{
		cat "$_msgpool_scripts/debug-kernel.config"
		sed -n '/^VERSION/p; /^PATCHLEVEL/p; /^SUBLEVEL/p; /^EXTRAVERSION/p' \
			"$LINUX_SRC/Makefile" 2>/dev/null
	} | sha256sum | cut -c1-12)
DEBUG_BZIMAGE=$DEBUG_KDIR/arch/x86/boot/bzImage
unset _msgpool_scripts

export MSGPOOL_CACHE KVER KDIR VMLINUZ LINUX_SRC KSFT_DIR DEBUG_KDIR \
	DEBUG_BZIMAGE
