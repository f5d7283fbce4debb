#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the result lines of a benchmark run into results.md and a plot.

Usage: bench/report.py RAW OUTDIR

RAW (plain or gzipped) holds "@@info KEY VALUE", "@@row group|name|mode|
size|median|spread|unit[|min|max]", "@@samples group|name|mode|size|
repeat|ns,ns,..." and "@@sys group|name|mode|size|tx|rx|copies|rx_empty"
lines among other output.  Writes OUTDIR/results.md,
OUTDIR/samples.csv.gz (every sample) and OUTDIR/results.png when gnuplot
is there.

Rules (bench/README.md): a row whose slowest repeat is more than
UNSTABLE times its fastest is unstable and gives no verdict; a busy host
(see busy()) gives no verdicts at all.
"""
import csv
import gzip
import math
import os
import shutil
import subprocess
import sys
import time

LAT_SIZES = [64, 4096, 65536]
TPUT_SIZES = [64, 4096, 65536, 1 << 20]
MP_BUSY = "msgpool token/shm"
MP_BLOCK = "msgpool token/pipe"

MAX_SAMPLES = 100000    # per row, as bench.h prints them
UNSTABLE = 2.0          # slowest / fastest repeat above this: unstable
HOST_BUSY = 0.25        # share of all host CPUs others used
STEAL = 0.05            # share of CPU time stolen, host or guest
CALIB_TAIL = 1.25       # calibration loop: p99 / median above this


def size_name(n):
    if n >= 1 << 20:
        return "%d MiB" % (n >> 20)
    if n >= 1024:
        return "%d KiB" % (n >> 10)
    return "%d B" % n


SYSCALLS = {}   # (group, name, mode, size): (tx, rx, copies, rx_empty)


def row_key(fields):
    """(group, name, mode, size) of a result line's fields."""
    return (fields[0], fields[1], fields[2], int(fields[3]))


def parse(path):
    """info: {key: value}; rows: {key: (median, spread, unit)};
    extremes: {key: (fastest, slowest repeat)}; samples: {key: {repeat:
    [ns]}}, a key being (group, name, mode, size).  @@sys lines go to
    SYSCALLS."""
    info, rows, extremes, samples = {}, {}, {}, {}
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            tag, sep, rest = line.partition(" ")
            f_ = rest.split("|")
            if not sep:
                continue    # not a result line
            if tag == "@@info":
                _, key, *val = line.split(" ")
                info[key] = " ".join(val)
            elif tag == "@@row":
                key, (med, spread, unit) = row_key(f_), f_[4:7]
                rows[key] = (float(med), float(spread), unit)
                if len(f_) >= 9:
                    extremes[key] = (float(f_[7]), float(f_[8]))
            elif tag == "@@sys" and len(f_) == 8:
                try:
                    SYSCALLS[row_key(f_)] = (float(f_[4]), float(f_[5]),
                                             int(f_[6]), float(f_[7]))
                except ValueError:
                    continue
            elif tag == "@@samples" and len(f_) == 6:
                try:
                    vals = [int(v) for v in f_[5].split(",") if v]
                except ValueError:
                    continue    # a line the console mangled
                per = samples.setdefault(row_key(f_), {})
                per.setdefault(int(f_[4]), []).extend(vals)
    for key, per in samples.items():
        n = sum(len(v) for v in per.values())
        if n > MAX_SAMPLES:
            step = math.ceil(n / MAX_SAMPLES)
            for r in per:
                per[r] = per[r][::step]
    return info, rows, extremes, samples


def unstable(extremes, key):
    """The slowest repeat more than UNSTABLE times the fastest (per-repeat
    medians for latency, per-repeat figures elsewhere)."""
    e = extremes.get(key)
    if not e:
        return False
    lo, hi = min(e), max(e)
    if lo <= 0:
        return hi > 0
    return hi / lo > UNSTABLE


UNSTABLE_ROWS = {}


def shaky(key):
    return " unstable" if UNSTABLE_ROWS.get(key) else ""


def cell(rows, key, fmt="%.1f"):
    r = rows.get(key)
    if not r:
        return "-"
    return (fmt % r[0]) + " ±%.0f%%" % r[1] + shaky(key)


def pct(sorted_v, q):
    """Nearest rank: the smallest sample with at least q of all at or
    below it."""
    if not sorted_v:
        return None
    return sorted_v[max(0, math.ceil(q * len(sorted_v)) - 1)]


def dist(samples, key):
    """p50, p99, p99.9, max in ns and the sample count, or None."""
    per = samples.get(key)
    if not per:
        return None
    v = sorted(x for r in per.values() for x in r)
    return (pct(v, 0.5), pct(v, 0.99),
            pct(v, 0.999) if len(v) >= 1000 else None, v[-1], len(v))


def val(rows, key):
    r = rows.get(key)
    return r[0] if r else None


def table(head, body):
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in body]
    return out + [""]


def names(rows, group, mode=None):
    """(name, mode) of each transport in @group, in order of appearance;
    of @mode alone if given."""
    seen = []
    for (g, name, m, _) in rows:
        if g == group and mode in (None, m) and (name, m) not in seen:
            seen.append((name, m))
    return seen


def machine(info):
    repeats = ", %s repeats" % info["repeats"] if "repeats" in info else ""
    return [
        "## Machine", "",
        "- host: %s, %s CPUs, Linux %s" % (info.get("host_cpu", "?"),
                                          info.get("host_cpus", "?"),
                                          info.get("host_kernel", "?")),
        "- VM: qemu %s, %s vCPUs, Debian kernel %s, clocksource %s" % (
            info.get("accel", "?").upper(), info.get("guest_cpus", "?"),
            info.get("guest_kernel", "?"),
            info.get("guest_clocksource", "?")),
        "- msgpool commit %s; %s run%s" % (
            info.get("commit", "?"),
            "quick" if info.get("quick", "0") not in ("0", "") else "full",
            repeats),
        "- each figure: median over the repeats, ± half the range "
        "between the fastest and slowest repeat; \"unstable\": the "
        "slowest repeat over %g times the fastest, no verdict from it"
        % UNSTABLE, ""]


def ops_section(rows):
    floor = val(rows, ("ops", "null ioctl", "-", 0))
    body = []
    for key, (med, spread, unit) in rows.items():
        if key[0] != "ops":
            continue
        ratio = "%.2f" % (med / floor) if floor else "-"
        body.append([key[1], "%.0f ±%.0f%%" % (med, spread) + shaky(key),
                     ratio])
    return ["## Per-operation cost (one process, in the VM)", "",
            "ns per op; ratio to the null ioctl (MSGPOOL_IOC_NOP). "
            "Batches: per op inside one MSGPOOL_IOC_BATCH.", ""] + \
        table(["operation", "ns/op", "x null ioctl"], body)


def lat_section(rows):
    out = ["## Latency, two processes (us)", "",
           "One-way: the receiver's clock minus the send time written "
           "in the payload; round trip: ping-pong at the sender.  The "
           "payload is written once and read (checked) once per hop.", ""]
    for mode in ("busy", "blocking"):
        body = [[name] +
                [cell(rows, ("lat-oneway", name, m, s)) for s in LAT_SIZES] +
                [cell(rows, ("lat-rtt", name, m, s)) for s in LAT_SIZES]
                for name, m in names(rows, "lat-oneway", mode)]
        out += ["### %s" % ("Busy-polling receiver" if mode == "busy"
                            else "Blocking receiver"), ""]
        out += table(["transport"] +
                     ["one-way %s" % size_name(s) for s in LAT_SIZES] +
                     ["round trip %s" % size_name(s) for s in LAT_SIZES],
                     body)
    return out


def us(ns):
    return "-" if ns is None else "%.1f" % (ns / 1e3)


def dist_section(rows, extremes, samples):
    """One line per latency row: every message of every repeat."""
    body = []
    for g, what in (("lat-oneway", "one-way"), ("lat-rtt", "round trip")):
        for mode in ("busy", "blocking"):
            for name, m in names(rows, g, mode):
                for s in LAT_SIZES:
                    key = (g, name, m, s)
                    if key not in rows:
                        continue
                    d = dist(samples, key)
                    e = extremes.get(key)
                    body.append([
                        "%s (%s)" % (name, m), what, size_name(s),
                        "%.1f" % rows[key][0]] +
                        ([us(d[0]), us(d[1]), us(d[2]), us(d[3]),
                          str(d[4])] if d else ["-"] * 5) +
                        ["%.1f / %.1f" % e if e else "-",
                         shaky(key).strip() or "ok"])
    if not body:
        return []
    return ["## Latency distribution, two processes (us)", "",
            "Every message of every repeat together (p99.9 from 1000 "
            "samples up); the median of the per-repeat medians and the "
            "fastest / slowest repeat's median beside them.  Unstable: the "
            "slowest repeat over %g times the fastest." % UNSTABLE, ""] + \
        table(["transport", "figure", "size", "median", "p50", "p99",
               "p99.9", "max", "samples", "fastest / slowest",
               "stable"], body)


def calib_rows(rows, samples):
    """(row name, cpu, p50 ns, p99 ns, tail) of the calibration loop."""
    out = []
    for (g, name, mode, size) in rows:
        if g != "calib":
            continue
        d = dist(samples, (g, name, mode, size))
        if d and d[0]:
            out.append((name, mode, d[0], d[1], d[1] / d[0]))
    return out


def calib_section(rows, samples):
    body = [[name, cpu, us(p50), us(p99), "%.2f" % tail]
            for name, cpu, p50, p99, tail in calib_rows(rows, samples)]
    if not body:
        return []
    return ["## Calibration (in the VM)", "",
            "A loop of fixed length, about 1 ms when calibrated, timed "
            "on every vCPU at once before and after the benchmarks.  Its "
            "p99 over its median above %g: vCPUs were preempted, no "
            "verdicts." % CALIB_TAIL, ""] + \
        table(["loop", "CPU", "p50 (us)", "p99 (us)", "p99 / p50"], body)


def stat_delta(info, a, b):
    """(total, non-idle, steal) ticks between two aggregate cpu lines of
    /proc/stat: user nice system idle iowait irq softirq steal ..."""
    try:
        x = [int(v) for v in info[a].split()[:8]]
        y = [int(v) for v in info[b].split()[:8]]
    except (KeyError, ValueError):
        return None
    d = [q - p for p, q in zip(x, y)]
    total = sum(d)
    if total <= 0:
        return None
    return total, total - d[3] - d[4], d[7]


def busy(info, rows, samples):
    """Why the host was too busy for verdicts: a list, empty if it was
    not (bench/README.md, "A busy host")."""
    why = []

    def load(key):
        try:
            return float(info[key].split()[0])
        except (KeyError, ValueError, IndexError):
            return None

    ncpu = int(info.get("host_cpus", "0") or 0)
    l = load("host_load_before")
    if l is not None and ncpu and l > ncpu:
        why.append("host load %.2f before the VM, over its %d CPUs"
                   % (l, ncpu))
    d = stat_delta(info, "host_stat_idle0", "host_stat_idle1")
    if d:
        total, used, steal = d
        if used / total > HOST_BUSY:
            why.append("host %.0f%% busy in the 2 s before the VM"
                       % (100 * used / total))
        if steal / total > STEAL:
            why.append("host %.0f%% stolen before the VM"
                       % (100 * steal / total))
    d = stat_delta(info, "host_stat_before", "host_stat_after")
    if d:
        total, used, steal = d
        try:
            mine = (float(info["host_children_after"]) -
                    float(info["host_children_before"]))
        except (KeyError, ValueError):
            mine = None
        if mine is not None:
            others = (used - mine) / total
            if others > HOST_BUSY:
                why.append("others used %.0f%% of the host's CPUs during "
                           "the VM" % (100 * others))
        if steal / total > STEAL:
            why.append("host %.0f%% stolen during the VM"
                       % (100 * steal / total))
    gcpu = int(info.get("guest_cpus", "0") or 0)
    l = load("guest_load_before")
    if l is not None and gcpu and l > gcpu:
        why.append("guest load %.2f before the benchmarks" % l)
    d = stat_delta(info, "guest_stat_before", "guest_stat_after")
    if d and d[2] / d[0] > STEAL:
        why.append("guest %.0f%% stolen" % (100 * d[2] / d[0]))
    for name, cpu, p50, p99, tail in calib_rows(rows, samples):
        if tail > CALIB_TAIL:
            why.append("calibration %s on %s: p99 %.2fx its median"
                       % (name, cpu, tail))
    return why


def busy_section(info):
    def line(what, key):
        return "- %s: %s" % (what, info[key]) if key in info else None

    out = [line("host load average before the VM", "host_load_before"),
           line("host load average after the VM", "host_load_after"),
           line("guest load average before", "guest_load_before"),
           line("guest load average after", "guest_load_after")]
    for what, a, b in (("host", "host_stat_before", "host_stat_after"),
                       ("guest", "guest_stat_before", "guest_stat_after")):
        d = stat_delta(info, a, b)
        if d:
            out.append("- %s over the run: %.0f%% busy, %.1f%% stolen"
                       % (what, 100 * d[1] / d[0], 100 * d[2] / d[0]))
    return [x for x in out if x] + [""]


def write_samples(samples, outdir):
    if not samples:
        return
    with gzip.open(os.path.join(outdir, "samples.csv.gz"), "wt",
                   newline="") as f:
        w = csv.writer(f)
        w.writerow(["group", "name", "mode", "size", "repeat", "ns"])
        for (g, name, mode, size), per in samples.items():
            for r in sorted(per):
                for v in per[r]:
                    w.writerow([g, name, mode, size, r, v])


def tput_section(rows):
    body = []
    for name, mode in names(rows, "tput"):
        body.append(["%s (%s)" % (name, mode)] +
                    [cell(rows, ("tput", name, mode, s), "%.3g")
                     for s in TPUT_SIZES])
    return ["## Throughput, two processes (MiB/s)", "",
            "Payload written once by the producer, read once "
            "(checksummed) by the consumer.", ""] + \
        table(["transport"] + [size_name(s) for s in TPUT_SIZES], body)


def sys_fig(v):
    """Two decimals; three below 0.1 (a batch's share of one call)."""
    return ("%.3f" if 0 < abs(v) < 0.1 else "%.2f") % v


def sys_cell(v):
    """tx / rx, and rx less its empty polls when it made any."""
    tx, rx, _, empty = v
    cell = "%s / %s" % (sys_fig(tx), sys_fig(rx))
    if empty > 0:
        cell += " (%s)" % sys_fig(rx - empty)
    return cell


def sys_section(info):
    """Syscalls a message, tx / rx, per row and size; the payload the
    kernel copies, from the transport's definition."""
    if not SYSCALLS:
        return []
    clock = info.get("guest_clock_syscalls")
    out = ["## System calls and kernel copies per message", "",
           "Counted by the kernel (perf, raw_syscalls:sys_enter) over "
           "each repeat's timed loop, median over the repeats, less the "
           "counter's own reads and the clock's calls: tx / rx, the "
           "sender's and the receiver's calls a message.  Latency rows: "
           "tx is counted on the warm-up's sends, rx is the receiver's "
           "loop (its receives and its replies) less its replies' tx.  "
           "A busy receiver's empty polls count; in parentheses, rx less "
           "them, as the receiver counted them (EAGAIN returns).  "
           "Payload copied: bytes "
           "the kernel copies a message, from the transport's code (a "
           "write into the kernel, a read out of it); msgpool's ioctls "
           "copy their 80-byte ops, never the payload." +
           (("  Each clock read in the VM made %s system calls, taken "
             "out." % clock) if clock else ""), ""]
    for group, title, sizes in (("lat", "Latency rows", LAT_SIZES),
                                ("tput", "Throughput rows", TPUT_SIZES)):
        body = []
        for name, mode in names(SYSCALLS, group):
            copies = [v[2] for k, v in SYSCALLS.items()
                      if k[:3] == (group, name, mode)]
            cells = []
            for sz in sizes:
                v = SYSCALLS.get((group, name, mode, sz))
                cells.append(sys_cell(v) if v else "-")
            body.append(["%s (%s)" % (name, mode)] + cells +
                        ["%d × size" % copies[0] if copies[0] else "0"])
        if body:
            out += ["### " + title, ""]
            out += table(["transport"] +
                         ["tx / rx %s" % size_name(sz) for sz in sizes] +
                         ["payload copied"], body)
    return out


def simple_section(rows, group, title, text):
    body = [[name, mode, ("%.1f %s" % (med, unit) if not spread else
                          "%.1f ±%.0f%% %s" % (med, spread, unit)) +
             shaky((g, name, mode, size))]
            for (g, name, mode, size), (med, spread, unit) in rows.items()
            if g == group]
    if not body:
        return []
    return ["## " + title, "", text, ""] + \
        table(["what", "figure", "value"], body)


def ratio(a, b):
    return a / b if a is not None and b else None


def verdict(r, limit, below=True, keys=(), busy_host=False):
    if r is None:
        return "-", "not measured"
    bad = [k for k in keys if UNSTABLE_ROWS.get(k)]
    if bad:
        return "%.2f" % r, "none: %s unstable" % ", ".join(
            "%s %s" % (k[1], size_name(k[3]) if k[3] else "")
            for k in bad).strip()
    if busy_host:
        return "%.2f" % r, "none: host busy"
    ok = r <= limit if below else r >= limit
    return "%.2f" % r, "holds" if ok else "MISSED"


def targets(rows, reasons):
    busy_host = bool(reasons)

    def versus(key, base, lim, below):
        """The verdict on row @key's figure over row @base's."""
        return verdict(ratio(val(rows, key), val(rows, base)), lim, below,
                       (base, key), busy_host)

    body = []
    for what, name, lim in (
            ("read borrow / null ioctl", "read borrow", 1.5),
            ("read borrow + release / null ioctl", "read borrow+release",
             2.5),
            ("batch x64, per op / null ioctl", "batch borrow/release x64",
             0.15)):
        v, ok = versus(("ops", name, "-", 64), ("ops", "null ioctl", "-", 0),
                       lim, True)
        body.append([what, v, "<= %g" % lim, ok])
    for s in (65536, 1 << 20):
        for name, mode in ((MP_BLOCK, "blocking"), (MP_BUSY, "busy")):
            v, ok = versus(("tput", name, mode, s),
                           ("tput", "pipe", "blocking", s), 2, False)
            body.append(["%s throughput / pipe, %s" % (name, size_name(s)),
                         v, ">= 2", ok])
    for s in LAT_SIZES:
        v, ok = versus(("lat-oneway", MP_BLOCK, "blocking", s),
                       ("lat-oneway", "eventfd+shm", "blocking", s), 1, True)
        body.append(["%s one-way / eventfd+shm, %s" % (MP_BLOCK,
                                                       size_name(s)),
                     v, "<= 1", ok])
    # Counted, not timed: system calls a message at steady state.  A
    # count does not move with the host's load, so it keeps its verdict
    # on a busy host.
    for what, key, side, lim, sizes in (
            ("ring reader (busy), syscalls a message",
             ("lat", "msgpool pub/sub ring", "busy"), 1, 0.05, LAT_SIZES),
            ("1-syscall publisher, syscalls a message",
             ("lat", "msgpool pub/sub 1-syscall", "busy"), 0, 1,
             LAT_SIZES),
            ("ring publisher, syscalls a message",
             ("lat", "msgpool pub/sub ring", "busy"), 0, 1, LAT_SIZES),
            ("batch publisher, syscalls a message",
             ("tput", "msgpool pub/sub batch", "busy"), 0, 1 / 32.0,
             TPUT_SIZES)):
        for s in sizes:
            v = SYSCALLS.get(key + (s,))
            r = v[side] if v else None
            shown, ok = verdict(r, lim + 1e-9, True)
            if r is not None:
                shown = "%.3f" % r
            body.append(["%s, %s" % (what, size_name(s)), shown,
                         "<= %.3g" % lim, ok])
    out = ["## Targets", ""]
    if busy_host:
        out += ["**host busy: no verdicts** (%s)" % "; ".join(reasons), ""]
    out += table(["target", "figure", "wanted", "verdict"], body)
    body = []
    for mode, mp in (("busy", MP_BUSY), ("blocking", MP_BLOCK)):
        for g, what, sizes in (("lat-oneway", "one-way latency",
                                LAT_SIZES),
                               ("tput", "throughput", TPUT_SIZES)):
            for s in sizes:
                a, b = (g, mp, mode, s), (g, "iceoryx", mode, s)
                r = ratio(val(rows, a), val(rows, b))
                unsure = UNSTABLE_ROWS.get(a) or UNSTABLE_ROWS.get(b)
                body.append(["%s %s, %s" % (what, mode, size_name(s)),
                             ("%.2f" % r if r else "-") +
                             (" (unstable)" if r and unsure else "")])
    out += ["### msgpool / iceoryx", "",
            "Latency ratio above 1: msgpool slower; throughput ratio "
            "below 1: msgpool slower.", ""] + \
        table(["figure", "msgpool / iceoryx"], body)
    return out


def plot_latency(rows, samples, outdir):
    """One data file per latency size: a line per transport with its
    one-way p50, p99, p99.9 and max over every message, in us (p99.9 as
    the max below 1000 samples, where it is not given)."""
    files = []
    for s in LAT_SIZES:
        path = os.path.join(outdir, "latency-%d.dat" % s)
        with open(path, "w") as f:
            f.write("transport p50 p99 p99.9 max\n")
            for name, mode in names(rows, "lat-oneway"):
                d = dist(samples, ("lat-oneway", name, mode, s))
                if not d:
                    continue
                p999 = d[2] if d[2] is not None else d[3]
                f.write('"%s (%s)" %s\n' % (name, mode, " ".join(
                    "%g" % (v / 1000.0) for v in (d[0], d[1], p999, d[3]))))
        files.append((s, path))
    return files


def plot(rows, samples, outdir):
    if not shutil.which("gnuplot"):
        return False
    lats = plot_latency(rows, samples, outdir)
    tputs = names(rows, "tput")
    tp = os.path.join(outdir, "throughput.dat")
    with open(tp, "w") as f:
        for name, mode in tputs:
            f.write('# %s (%s)\n' % (name, mode))
            for s in TPUT_SIZES:
                v = val(rows, ("tput", name, mode, s))
                if v:
                    f.write("%d %g\n" % (s, v))
            f.write("\n\n")
    # A panel per size: each transport's percentiles side by side, so a
    # tail of timer ticks shows beside a fast median.
    panels = "".join("""
set title 'One-way latency, %s: p50, p99, p99.9, max (us, log scale)'
plot for [c=2:5] '%s' using c:xtic(1) title columnhead
""" % (size_name(s), path) for s, path in lats)
    script = """
set terminal pngcairo size 1600,1300 font ",9"
set output '%s'
set multiplot layout 2,2
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set xtics rotate by -40 scale 0
set key top center horizontal opaque
%s
unset logscale
set title 'Throughput (MiB/s) by message size (bytes)'
set style data linespoints
set logscale xy
set xtics norotate
set key bottom right vertical noopaque
plot %s
unset multiplot
""" % (os.path.join(outdir, "results.png"), panels, ", ".join(
        "'%s' index %d using 1:2 title '%s (%s)'" % (tp, i, n, m)
        for i, (n, m) in enumerate(tputs)) or "0 notitle")
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True,
                       capture_output=True)
    except subprocess.CalledProcessError as e:
        sys.stderr.write("report: gnuplot: %s\n" % e.stderr)
        return False
    return True


def main():
    raw, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    info, rows, extremes, samples = parse(raw)
    for key in rows:
        UNSTABLE_ROWS[key] = unstable(extremes, key)
    reasons = busy(info, rows, samples)
    md = ["# msgpool benchmarks, %s" % time.strftime("%Y-%m-%d %H:%M"), ""]
    md += machine(info)
    md += busy_section(info)
    md += targets(rows, reasons)
    md += calib_section(rows, samples)
    md += ops_section(rows)
    md += lat_section(rows)
    md += dist_section(rows, extremes, samples)
    md += tput_section(rows)
    md += sys_section(info)
    md += simple_section(
        rows, "probe", "Copy probes (in the VM)",
        "What a copy between kernel and user costs on this machine, to "
        "read the per-op figures against.")
    md += simple_section(
        rows, "mem", "Memory for the same traffic",
        "One msgpool pool of 64 B, 4 KiB, 64 KiB x 64 slots and 1 MiB x "
        "32 beside iox-roudi configured with mempools of those chunks "
        "(bench/roudi.toml); MemFree drops are whole-system deltas.")
    md += simple_section(
        rows, "freelist", "Free list, userspace shim (native)",
        "Million pop + push pairs per second, all threads together; "
        "each thread holds 8 slots between pops and pushes.  The core's "
        "free list goes through its per-peer caches (a peer per thread); "
        "its stack alone is the shared Treiber stack they front.")
    write_samples(samples, outdir)
    if plot(rows, samples, outdir):
        md += ["![latency and throughput](results.png)", ""]
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write("\n".join(md))
    sys.stdout.write("\n".join(md))


if __name__ == "__main__":
    main()
