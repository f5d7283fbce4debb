#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: msgpool against iceoryx and the kernel's IPC.  Builds the
# module and the benchmarks, runs the free-list benchmark natively and
# the rest in one VM (Debian's kernel, 2 vCPUs), and writes
# bench/results/<date>/results.md, results.png and the raw rows.
#
# Usage: bench/run.sh [--quick] [--kvm]
#   --quick  few iterations and 3 repeats (BENCH_QUICK=1), for development
#   --kvm    the VM under KVM when /dev/kvm exists (near-native figures)
# Env: BENCH_REPEATS (repeats per figure), BENCH_ONLY (subset of
#      "freelist ops lat tput mem iox"), BENCH_NO_DEPS=1 (skip installing)
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$bench")
kvm=()
while [ $# -gt 0 ]; do
	case $1 in
	--quick) export BENCH_QUICK=1; shift ;;
	--kvm) kvm=(--kvm); shift ;;
	*) sed -n '8,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
only=${BENCH_ONLY:-freelist ops lat tput mem iox}
want() {
	case " $only " in *" $1 "*) return 0 ;; esac
	return 1
}

[ -n "${BENCH_NO_DEPS:-}" ] || "$bench/deps.sh"
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"
make -s -C "$repo" modules KDIR="$KDIR" >/dev/null
make -s -C "$bench"

out=$bench/results/$(date +%Y-%m-%dT%H%M)
build=$repo/build/bench
mkdir -p "$out"
raw=$out/raw.txt
: >"$raw"

accel=tcg
[ ${#kvm[@]} -eq 0 ] || [ ! -w /dev/kvm ] || accel=kvm
{
	echo "@@info host_cpu $(sed -n 's/^model name\t*: //p' /proc/cpuinfo |
		head -n 1)"
	echo "@@info host_cpus $(nproc)"
	echo "@@info host_kernel $(uname -r)"
	echo "@@info accel $accel"
	echo "@@info quick ${BENCH_QUICK:-0}"
	repeats=${BENCH_REPEATS:-0}
	[ "$repeats" -gt 0 ] || repeats=$([ "${BENCH_QUICK:-0}" = 1 ] &&
		echo 3 || echo 5)
	echo "@@info repeats $repeats"
	echo "@@info commit $(git -C "$repo" rev-parse --short HEAD)"
} >>"$raw"

if want freelist; then
	echo "bench: free list, natively" >&2
	"$build/shim_freelist" | tee -a "$raw"
fi

# iceoryx runs in the VM from its Debian binaries: stage them with the
# shared libraries ldd names and the loader.
stage=$build/vm-stage
rm -rf "$stage"
mkdir -p "$stage/lib"
files=(--file "$build/mp_ops" --file "$build/ipc_bench"
	--file "$bench/vm-bench.sh")
if want iox && [ -x "$build/iox_bench" ]; then
	roudi=$(command -v iox-roudi)
	cp "$build/iox_bench" "$roudi" "$bench/roudi.toml" "$stage/"
	ldd "$build/iox_bench" "$roudi" | awk '$2 == "=>" && $3 ~ /^\// \
		{ print $3 }' | sort -u | xargs -I{} cp -L {} "$stage/lib/"
	cp -L /lib64/ld-linux-x86-64.so.2 "$stage/ld.so"
	files+=(--file "$stage:/bench"
		--file "$stage/ld.so:/lib64/ld-linux-x86-64.so.2")
fi

# The host's share in the verdicts (bench/report.py): load average and the
# aggregate cpu line of /proc/stat before and after the VM, a 2 s sample of
# it before the VM starts, and the CPU time this script's children (qemu)
# used, so that what others ran during the VM can be told apart.
host_busy() {
	echo "@@info host_load_$1 $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "@@info host_stat_$1 $(sed -n 's/^cpu  *//p' /proc/stat)"
	echo "@@info host_children_$1 $(cut -d')' -f2 /proc/$$/stat |
		awk '{ print $14 + $15 }')"
	echo "@@info host_uptime_$1 $(cut -d' ' -f1 /proc/uptime)"
}
{
	echo "@@info host_clk_tck $(getconf CLK_TCK)"
	echo "@@info host_stat_idle0 $(sed -n 's/^cpu  *//p' /proc/stat)"
	sleep 2
	echo "@@info host_stat_idle1 $(sed -n 's/^cpu  *//p' /proc/stat)"
	host_busy before
} >>"$raw"

vm_only=""
for b in ops lat tput mem iox; do
	want $b && vm_only+="$b "
done
echo "bench: in the VM ($accel): $vm_only" >&2
"$repo/scripts/vm-run.sh" "${kvm[@]}" --module "$repo/kmod/msgpool.ko" \
	--mem 2048 --timeout 1800 --log "$out/console.log" "${files[@]}" -- \
	"BENCH_ONLY='$vm_only' BENCH_QUICK=${BENCH_QUICK:-0}" \
	"BENCH_REPEATS=${BENCH_REPEATS:-0} sh /bin/vm-bench.sh" |
	tee -a "$raw"
host_busy after >>"$raw"

python3 "$bench/report.py" "$raw" "$out"
# Every latency sample is in it too: keep it small.
gzip -f "$raw"
echo "bench: $out/results.md" >&2
