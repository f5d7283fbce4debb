#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the result lines of a benchmark run into results.md and a plot.

Usage: bench/report.py RAW OUTDIR

RAW holds "@@info KEY VALUE" and "@@row group|name|mode|size|median|spread|
unit[|min|max]" lines among other output.  Writes OUTDIR/results.md, and
OUTDIR/results.png when gnuplot is there.
"""
import os
import shutil
import subprocess
import sys
import time

LAT_SIZES = [64, 4096, 65536]
TPUT_SIZES = [64, 4096, 65536, 1 << 20]
MP_BUSY = "msgpool token/shm"
MP_BLOCK = "msgpool token/pipe"


def size_name(n):
    if n >= 1 << 20:
        return "%d MiB" % (n >> 20)
    if n >= 1024:
        return "%d KiB" % (n >> 10)
    return "%d B" % n


def parse(path):
    info, rows = {}, {}
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("@@info "):
                _, key, *val = line.split(" ")
                info[key] = " ".join(val)
            elif line.startswith("@@row "):
                g, name, mode, size, med, spread, unit = \
                    line[6:].split("|")[:7]
                rows[(g, name, mode, int(size))] = \
                    (float(med), float(spread), unit)
    return info, rows


def cell(rows, key, fmt="%.1f"):
    r = rows.get(key)
    if not r:
        return "-"
    return (fmt % r[0]) + " ±%.0f%%" % r[1]


def val(rows, key):
    r = rows.get(key)
    return r[0] if r else None


def table(head, body):
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in body]
    return out + [""]


def names(rows, group):
    seen = []
    for (g, name, mode, _) in rows:
        if g == group and (name, mode) not in seen:
            seen.append((name, mode))
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
        "between the fastest and slowest repeat", ""]


def ops_section(rows):
    floor = val(rows, ("ops", "null ioctl", "-", 0))
    body = []
    for (g, name, mode, size), (med, spread, unit) in rows.items():
        if g != "ops":
            continue
        ratio = "%.2f" % (med / floor) if floor else "-"
        body.append([name, "%.0f ±%.0f%%" % (med, spread), ratio])
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
        body = []
        for name, m in names(rows, "lat-oneway"):
            if m != mode:
                continue
            body.append([name] +
                        [cell(rows, ("lat-oneway", name, m, s))
                         for s in LAT_SIZES] +
                        [cell(rows, ("lat-rtt", name, m, s))
                         for s in LAT_SIZES])
        out += ["### %s" % ("Busy-polling receiver" if mode == "busy"
                            else "Blocking receiver"), ""]
        out += table(["transport"] +
                     ["one-way %s" % size_name(s) for s in LAT_SIZES] +
                     ["round trip %s" % size_name(s) for s in LAT_SIZES],
                     body)
    return out


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


def simple_section(rows, group, title, text):
    body = [[name, mode, "%.1f %s" % (med, unit) if not spread else
             "%.1f ±%.0f%% %s" % (med, spread, unit)]
            for (g, name, mode, _), (med, spread, unit) in rows.items()
            if g == group]
    if not body:
        return []
    return ["## " + title, "", text, ""] + \
        table(["what", "figure", "value"], body)


def ratio(a, b):
    return a / b if a is not None and b else None


def verdict(r, limit, below=True):
    if r is None:
        return "-", "not measured"
    ok = r <= limit if below else r >= limit
    return "%.2f" % r, "holds" if ok else "MISSED"


def targets(rows):
    floor = val(rows, ("ops", "null ioctl", "-", 0))
    rb = val(rows, ("ops", "read borrow", "-", 64))
    rr = val(rows, ("ops", "read borrow+release", "-", 64))
    b64 = val(rows, ("ops", "batch borrow/release x64", "-", 64))
    body = []
    for what, r, lim, below in (
            ("read borrow / null ioctl", ratio(rb, floor), 1.5, True),
            ("read borrow + release / null ioctl", ratio(rr, floor), 2.5,
             True),
            ("batch x64, per op / null ioctl", ratio(b64, floor), 0.15,
             True)):
        v, ok = verdict(r, lim, below)
        body.append([what, v, ("<= %g" if below else ">= %g") % lim, ok])
    for s in (65536, 1 << 20):
        pipe = val(rows, ("tput", "pipe", "blocking", s))
        for name, mode in ((MP_BLOCK, "blocking"), (MP_BUSY, "busy")):
            v, ok = verdict(ratio(val(rows, ("tput", name, mode, s)),
                                  pipe), 2, False)
            body.append(["%s throughput / pipe, %s" % (name, size_name(s)),
                         v, ">= 2", ok])
    for s in LAT_SIZES:
        efd = val(rows, ("lat-oneway", "eventfd+shm", "blocking", s))
        v, ok = verdict(ratio(val(rows, ("lat-oneway", MP_BLOCK,
                                         "blocking", s)), efd), 1)
        body.append(["%s one-way / eventfd+shm, %s" % (MP_BLOCK,
                                                       size_name(s)),
                     v, "<= 1", ok])
    out = ["## Targets", ""] + table(["target", "ratio", "wanted",
                                      "verdict"], body)
    body = []
    for mode, mp in (("busy", MP_BUSY), ("blocking", MP_BLOCK)):
        for s in LAT_SIZES:
            r = ratio(val(rows, ("lat-oneway", mp, mode, s)),
                      val(rows, ("lat-oneway", "iceoryx", mode, s)))
            body.append(["one-way latency %s, %s" % (mode, size_name(s)),
                         "%.2f" % r if r else "-"])
        for s in TPUT_SIZES:
            r = ratio(val(rows, ("tput", mp, mode, s)),
                      val(rows, ("tput", "iceoryx", mode, s)))
            body.append(["throughput %s, %s" % (mode, size_name(s)),
                         "%.2f" % r if r else "-"])
    out += ["### msgpool / iceoryx", "",
            "Latency ratio above 1: msgpool slower; throughput ratio "
            "below 1: msgpool slower.", ""] + \
        table(["figure", "msgpool / iceoryx"], body)
    return out


def plot(rows, outdir):
    if not shutil.which("gnuplot"):
        return False
    lat = os.path.join(outdir, "latency.dat")
    with open(lat, "w") as f:
        f.write("transport " + " ".join(size_name(s).replace(" ", "")
                                        for s in LAT_SIZES) + "\n")
        for name, mode in names(rows, "lat-oneway"):
            f.write('"%s (%s)" ' % (name, mode) + " ".join(
                "%g" % (val(rows, ("lat-oneway", name, mode, s)) or 0)
                for s in LAT_SIZES) + "\n")
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
    script = """
set terminal pngcairo size 1600,700 font ",10"
set output '%s'
set multiplot layout 1,2
set title 'One-way latency (us, log scale)'
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set xtics rotate by -40 scale 0
set key top left
plot for [c=2:4] '%s' using c:xtic(1) title columnhead
unset logscale
set title 'Throughput (MiB/s) by message size (bytes)'
set style data linespoints
set logscale xy
set xtics norotate
set key bottom right
plot %s
unset multiplot
""" % (os.path.join(outdir, "results.png"), lat, ", ".join(
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
    info, rows = parse(raw)
    md = ["# msgpool benchmarks, %s" % time.strftime("%Y-%m-%d %H:%M"), ""]
    md += machine(info)
    md += targets(rows)
    md += ops_section(rows)
    md += lat_section(rows)
    md += tput_section(rows)
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
        "each thread holds 8 slots between pops and pushes.")
    if plot(rows, outdir):
        md += ["![latency and throughput](results.png)", ""]
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write("\n".join(md))
    sys.stdout.write("\n".join(md))


if __name__ == "__main__":
    main()
