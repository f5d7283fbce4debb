#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the benchmark VM (busybox sh, msgpool.ko loaded): every
# in-VM benchmark in turn, printing their result lines.  bench/run.sh
# puts the programs at /bin, iceoryx and its libraries under /bench.
# Env: BENCH_ONLY (a subset of "ops lat tput mem iox"), BENCH_QUICK,
# BENCH_REPEATS.

only=${BENCH_ONLY:-ops lat tput mem iox}
want() {
	case " $only " in *" $1 "*) return 0 ;; esac
	return 1
}

echo "@@info guest_kernel $(uname -r)"
echo "@@info guest_cpus $(grep -c ^processor /proc/cpuinfo)"
echo "@@info guest_clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"

# How busy the machine is: load average and the aggregate cpu line of
# /proc/stat (steal is its 8th figure), before and after; bench/report.py
# judges them.  The calibration loop before and after shows preemption.
busy_info() {
	echo "@@info guest_load_$1 $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "@@info guest_stat_$1 $(sed -n 's/^cpu  *//p' /proc/stat)"
}
busy_info before
/bin/mp_ops calib before

# The syscall counts of ipc_bench read the raw_syscalls tracepoint's id
# here (or under debugfs, which the VM mounts).
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
# One counter open for the whole run: see "hold" in ipc_bench.c.
mkfifo /tmp/hold
/bin/ipc_bench hold >/tmp/hold &
holder=$!
read -r _ </tmp/hold

# POSIX queues of 64 KiB messages, above the default 8 KiB.
echo 1048576 >/proc/sys/fs/mqueue/msgsize_max

want ops && /bin/mp_ops
want mem && /bin/mp_ops mem
want lat && /bin/ipc_bench lat
want tput && /bin/ipc_bench tput

finish() {
	kill $holder
	busy_info after
	/bin/mp_ops calib after
	exit 0
}

want iox && [ -x /bench/iox_bench ] || finish
export LD_LIBRARY_PATH=/bench/lib
before=$(sed -n 's/^MemFree: *\([0-9]*\) kB/\1/p' /proc/meminfo)
/bench/iox-roudi -l warning -c /bench/roudi.toml >/tmp/roudi.log 2>&1 &
roudi=$!
# RouDi has its shared memory up once its management segment exists.
i=0
while [ $i -lt 60 ] && [ "$(ls /dev/shm | wc -l)" -lt 2 ]; do
	sleep 1
	i=$((i + 1))
done
sleep 2
after=$(sed -n 's/^MemFree: *\([0-9]*\) kB/\1/p' /proc/meminfo)
shm=0
for f in /dev/shm/*; do
	shm=$((shm + $(stat -c %s "$f")))
done
echo "@@row mem|iceoryx|shared memory reserved|0|$((shm / 1024)).0|0.0|KiB"
echo "@@row mem|iceoryx|MemFree drop at start|0|$((before - after)).0|0.0|KiB"
/bench/iox_bench lat iceoryx
/bench/iox_bench tput iceoryx
kill $roudi
wait $roudi
tail -n 5 /tmp/roudi.log | sed 's/^/roudi: /'
finish
