#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Where an ioctl path spends its time: perf (Debian's linux-perf) samples
# the whole VM by cpu-clock while `mp_ops loop` runs one path, and prints
# the hottest symbols, kernel and user, with their call chains.
#
# Usage: bench/profile.sh [--kvm] [nop|borrow|batch] [N]
#   nop     the null ioctl (MSGPOOL_IOC_NOP)
#   borrow  a read borrow and its release, one ioctl each
#   batch   batches of 64 NOPs (MSGPOOL_IOC_BATCH)
#   N       operations to run (default 2000000 for batch, else 200000)
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$bench")
vm=()
if [ "${1:-}" = --kvm ]; then
	vm=(--kvm)
	shift
fi
path=${1:-batch}
case $path in
nop | borrow) n=${2:-200000} ;;
batch) n=${2:-2000000} ;;
*) sed -n '8,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

[ -n "${BENCH_NO_DEPS:-}" ] || "$bench/deps.sh"
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"
make -s -C "$repo" modules KDIR="$KDIR" >/dev/null
make -s -C "$bench" "$repo/build/bench/mp_ops"

# perf is dynamically linked: it goes in with its libraries and loader.
stage=$repo/build/perf-stage
rm -rf "$stage"
mkdir -p "$stage/lib"
perf=$(command -v perf)
cp -L "$perf" "$stage/perf"
ldd "$perf" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u |
	xargs -I{} cp -L {} "$stage/lib/"
cp -L /lib64/ld-linux-x86-64.so.2 "$stage/ld.so"

# Kernel symbols need kptr_restrict 0; -a takes the kernel side as well.
"$repo/scripts/vm-run.sh" "${vm[@]}" --mem 2048 \
	--module "$repo/kmod/msgpool.ko" \
	--file "$repo/build/bench/mp_ops" --file "$stage:/perf" -- "
	echo 0 >/proc/sys/kernel/kptr_restrict
	echo -1 >/proc/sys/kernel/perf_event_paranoid
	perf='/perf/ld.so --library-path /perf/lib /perf/perf'
	\$perf record -q -e cpu-clock -F 10000 -g -o /tmp/perf.data \
		/bin/mp_ops loop $path $n &&
	\$perf report -q -i /tmp/perf.data --stdio --stdio-color never \
		--no-children --sort sym -g caller,0.5,callee --percent-limit 2"
