#!/bin/bash
# Boot a kernel in qemu (TCG, 2 CPUs) on a busybox initramfs, load kernel
# modules, run one shell command line and power off. Prints the command's
# output and exits with its status; fails as well when the kernel log shows
# a warning, bug, KASAN/UBSAN/lockdep report or kmemleak suspect.
#
# Usage: scripts/vm-run.sh [--kernel debian|debug] [--module FILE]...
#          [--file SRC[:DEST]]... [--log FILE] [--timeout SEC] [--mem MB]
#          [--kvm] -- 'shell command line'
#
#   --kernel   debian: this system's Debian kernel ($VMLINUZ, default);
#              debug: the kernel scripts/debug-kernel.sh builds; or the
#              path of a vmlinuz (scripts/kernels.sh fetches them)
#   --module   insmod'ed in the given order before the command runs; the
#              file lies at /lib/modules/<basename> in the VM
#   --file     copied to DEST in the VM (default /bin/<basename>; a
#              directory is copied whole)
#   --log      where to save the full console log (kernel log included)
#   --timeout  seconds the whole boot-run-poweroff may take (default 600)
#   --mem      guest memory in MiB (default 1024)
#   --kvm      run under KVM when /dev/kvm exists (else TCG, as always)
#
# In the VM: busybox sh runs the command from / with stdin /dev/null;
# proc, sysfs, devtmpfs, debugfs, tmpfs on /tmp and /dev/shm, and cgroup2
# on /sys/fs/cgroup with a memory controller for children, are mounted;
# /etc/passwd and /etc/group hold root and nobody/nogroup (65534). busybox
# sh runs its own applet for a bare name like "id": call a file given with
# --file by its path when its name is an applet's. Where the kernel has
# kmemleak (debug), suspects left by the boot are cleared before the
# modules load and a scan follows the command (some 20 s in all).
#
# Exit status: the command's; else 1 if the kernel log shows a problem,
# 124 on timeout, 125 if the VM ended without reporting a status (panic)
# and 2 for bad usage.
set -euo pipefail

scripts=$(cd "$(dirname "$0")" && pwd)

usage() {
	sed -n '7,9p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

kernel=debian
modules=()
files=()
log=
timeout=600
mem=1024
accel=()
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=${2:?}; shift 2 ;;
	--module) modules+=("${2:?}"); shift 2 ;;
	--file) files+=("${2:?}"); shift 2 ;;
	--log) log=${2:?}; shift 2 ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	--kvm) [ ! -w /dev/kvm ] || accel=(-enable-kvm); shift ;;
	--) shift; break ;;
	*) usage ;;
	esac
done
[ $# -gt 0 ] || usage
command=$*

# shellcheck source=scripts/env.sh
. "$scripts/env.sh"
case $kernel in
debian) image=$VMLINUZ; hint=scripts/deps.sh ;;
debug) image=$DEBUG_BZIMAGE; hint=scripts/debug-kernel.sh ;;
*) image=$kernel; hint=scripts/kernels.sh ;;
esac
[ -s "$image" ] || {
	echo "vm-run: no $kernel kernel at $image (run $hint)" >&2
	exit 2
}

for f in "${modules[@]}" "${files[@]%:*}"; do
	[ -e "$f" ] || {
		echo "vm-run: $f does not exist" >&2
		exit 2
	}
done

work=$(mktemp -d "${TMPDIR:-/tmp}/msgpool-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,etc/msgpool-vm,lib/modules,proc,sys,dev,tmp,root}
chmod 1777 "$root/tmp"

# /init links the applets, without overwriting the files given.
cp /bin/busybox "$root/bin/busybox"

cat >"$root/etc/passwd" <<'EOT'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOT
cat >"$root/etc/group" <<'EOT'
root:x:0:
nogroup:x:65534:
EOT

for m in "${modules[@]}"; do
	cp "$m" "$root/lib/modules/"
	basename "$m" >>"$root/etc/msgpool-vm/modules"
done
touch "$root/etc/msgpool-vm/modules"

for f in "${files[@]}"; do
	src=${f%:*}
	dest=/bin/$(basename "$src")
	[ "$src" = "$f" ] || dest=${f##*:}
	mkdir -p "$(dirname "$root$dest")"
	rm -rf "${root:?}$dest"
	cp -a "$src" "$root$dest"
done

printf '%s\n' "$command" >"$root/etc/msgpool-vm/cmd"

# Markers delimit the command's output and the kernel log on the console.
cat >"$root/init" <<'EOT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mkdir -p /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /dev/shm

# The first memory cgroup turns static keys on, which patches kernel text
# through int3s; under TCG a vCPU once trapped on one (in kmem_cache_free,
# during a selftest's mkdir).  Make it now, while nothing else runs, as an
# init system does at boot.
if mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null &&
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control; then
	mkdir /sys/fs/cgroup/boot && rmdir /sys/fs/cgroup/boot
fi

# Suspects left by the boot are not the command's: have kmemleak report
# them (two scans), then clear them.
leaks=/sys/kernel/debug/kmemleak
if [ -w $leaks ]; then
	echo scan >$leaks
	echo scan >$leaks
	echo clear >$leaks
	echo "msgpool-vm: kmemleak baseline" >/dev/kmsg
fi

echo "@@msgpool-vm: begin@@"
rc=0
for m in $(cat /etc/msgpool-vm/modules); do
	insmod "/lib/modules/$m" || {
		rc=$?
		echo "vm-run: insmod $m failed"
		break
	}
done
if [ $rc -eq 0 ]; then
	sh /etc/msgpool-vm/cmd </dev/null
	rc=$?
fi
printf '\n@@msgpool-vm: status %d@@\n' $rc

echo "@@msgpool-vm: kernel log@@"
# kmemleak reports an object once it looked unreferenced and unchanged in
# two scans, the second starting at least 5 s after it was allocated.
if [ -w $leaks ]; then
	done_cs=$(awk '{ printf "%d", $1 * 100 }' /proc/uptime)
	echo scan >$leaks
	now_cs=$(awk '{ printf "%d", $1 * 100 }' /proc/uptime)
	wait_cs=$((done_cs + 600 - now_cs))
	[ $wait_cs -le 0 ] || sleep $((wait_cs / 100)).$((wait_cs % 100 / 10))
	echo scan >$leaks
	cat $leaks
fi
dmesg
echo "@@msgpool-vm: end@@"
reboot -f
EOT
chmod +x "$root/init"

(cd "$root" && find . | cpio --quiet -o -H newc -R 0:0) >"$work/initramfs"

where="full log: $log"
[ -n "$log" ] || {
	log=$work/console.log
	where="full log: use --log"
}
mkdir -p "$(dirname "$log")"

# Stream the command's section live; keep the whole console in $log.
set +e
timeout -k 5 "$timeout" qemu-system-x86_64 \
	-nodefaults -nographic -serial stdio -no-reboot \
	-machine pc -cpu max -smp 2 -m "$mem" "${accel[@]}" \
	-kernel "$image" -initrd "$work/initramfs" \
	-append "console=ttyS0 loglevel=4 log_buf_len=4M panic=-1 panic_on_warn=0 rdinit=/init" \
	</dev/null 2>&1 |
	awk -v logf="$log" '
	function flush() { for (; blanks > 0; blanks--) print "" }
	{ sub(/\r$/, ""); print > logf; fflush(logf) }
	# The newline /init writes before the status marker is not output.
	/@@msgpool-vm: status -?[0-9]+@@/ {
		sub(/@@msgpool-vm: status.*/, "")
		if (out && $0 != "") { flush(); print }
		else if (out) { blanks--; flush() }
		out = 0; fflush(); next
	}
	out && $0 == "" { blanks++; next }
	out { flush(); print; fflush() }
	/@@msgpool-vm: begin@@/ { out = 1 }
	'
qemu_rc=${PIPESTATUS[0]}
set -e

if [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
	echo "vm-run: timed out after $timeout s; console log tail:" >&2
	tail -n 20 "$log" >&2
	exit 124
fi

status=$(sed -n 's/.*@@msgpool-vm: status \(-\{0,1\}[0-9]*\)@@.*/\1/p' \
	"$log" | tail -n 1)
if [ -z "$status" ]; then
	echo "vm-run: the VM ended without a status; console log tail:" >&2
	tail -n 30 "$log" >&2
	exit 125
fi

# Boot banners that name a checker without reporting anything.
benign='kmemleak: Kernel memory leak detector initialized|kmemleak: Automatic memory scanning thread|RCU lockdep checking is enabled'
# kmemleak's list after the command holds every suspect since the
# baseline; its "N new suspected" lines only count them.  A suspect
# allocated by the boot itself (swapper, start_kernel, kernel_init: ACPI's
# caches at times) can be reported late; it is not the command's.
kmemleak_suspects() {
	awk '
	function flush() {
		if (obj != "" && block !~ /comm "swapper|start_kernel|kernel_init/)
			print obj " " comm
		obj = ""
	}
	/^unreferenced object/ { flush(); obj = $0; block = ""; comm = ""; next }
	obj != "" && /^ / { block = block $0 "\n"; if (/comm "/) comm = $0; next }
	{ flush() }
	END { flush() }'
}
kernel_log=$(sed -n '/@@msgpool-vm: kernel log@@/,$p' "$log")
problems=$( { printf '%s\n' "$kernel_log" |
	grep -E 'WARNING:|BUG:|KASAN|possible circular locking|lockdep|Oops|kmemleak: |Call Trace|UBSAN' |
	grep -Ev "$benign|kmemleak: [0-9]+ new suspected"
	printf '%s\n' "$kernel_log" | kmemleak_suspects; } || true)
if [ -n "$problems" ]; then
	echo "vm-run: the kernel log shows problems ($where):" >&2
	printf '%s\n' "$problems" | head -n 40 >&2
	[ "$status" -ne 0 ] || status=1
fi
exit "$status"
