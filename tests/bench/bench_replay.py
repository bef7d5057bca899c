"""Benchmark: tcp-lab replay against tshark on a 1M-segment capture (run by hand, not a test).

    uv run python tests/bench/bench_replay.py                 # generates /tmp/tcp-lab-bench-1M.pcap once
    uv run python tests/bench/bench_replay.py --runs 5 --capture /path/to/other.pcap

It writes (with tests/bench/make_big_pcap.py) a capture of 1M segments in 10k interleaved
connections with options and data (skipped when the file is already there), then times in
one run, side by side, each command in its own process (wall time, and peak RSS from
wait4):

1. ``tcp-lab replay F --conversations``   vs  ``tshark -q -z conv,tcp -r F``; and the same
   with the two-process path forced (see below)
2. ``tcp-lab replay F --format json``     vs  ``tshark -r F -T fields`` with the fields
   the JSON carries (both to /dev/null)
3. the in-process load of the timeline: ``Replay.feed`` over the whole file, then the first
   and the last frame of the capture's timeline and of one conversation's

and prints medians of ``--runs`` runs (3 by default), the ratios, and the targets:
``--conversations`` within 1.5 s and 3x faster than tshark, JSON 2x faster than tshark,
at most 250 MB peak RSS. Wall and CPU time both (the CPU time of a process is what a
loaded machine changes least), ratios of each, and the load average (1 min) before every
command: run it on a quiet machine, and read the CPU columns when it is not.

``--conversations`` on a big file uses both cores (tui/conv_parallel.py): a forked helper
reads the whole file too and tracks half of the conversations (split by 4-tuple), this
process the other half, and the tables are merged. It does so only when a CPU is free at
start (/proc/loadavg's running tasks): on a busy machine the two processes would take
turns and end later than one, so the plain row then measures the one-process path. The
row "two processes forced" skips that check, to measure the two-process path whatever
the load. Wall and CPU time include the helper (wait4 counts the children a process
waited for), so the CPU column is the sum of both processes; the peak RSS column is the
larger of the two processes (wait4's ru_maxrss), and the helper's RSS is about the
same again (most of it shared with the parent: forked after the imports). The JSON
output runs in one process (an earlier version formatted half of the JSON in a forked
child; the single-process writer meets the target on its own).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CAPTURE = Path("/tmp/tcp-lab-bench-1M.pcap")

#: tshark fields matching what one JSON record of tcp-lab carries.
JSON_FIELDS = (
    "frame.number",
    "frame.time_relative",
    "tcp.stream",
    "ip.src",
    "tcp.srcport",
    "ip.dst",
    "tcp.dstport",
    "tcp.flags",
    "tcp.seq",
    "tcp.ack",
    "tcp.seq_raw",
    "tcp.ack_raw",
    "tcp.len",
    "tcp.window_size_value",
    "tcp.window_size",
    "tcp.options.mss_val",
    "tcp.options.wscale.shift",
    "tcp.options.timestamp.tsval",
    "tcp.options.timestamp.tsecr",
    "tcp.analysis.flags",
    "_ws.col.Info",
)

LOAD_TIMELINE = """
import sys, time
from tcp_lab.core.replay import Replay
t0 = time.perf_counter()
r = Replay()
with open(sys.argv[1], "rb") as f:
    while True:
        chunk = f.read(1 << 20)
        if not chunk:
            break
        r.feed(chunk)
r.finish()
t1 = time.perf_counter()
tl = r.timeline()
first, last = tl[0], tl[len(tl) - 1]
conv = r.timeline(len(r.tracker.conversations) // 2)
middle = conv[len(conv) // 2]
t2 = time.perf_counter()
print(f"{len(tl)} frames, {len(r.tracker.conversations)} conversations; feed {t1 - t0:.2f} s, "
      f"first frames {1000 * (t2 - t1):.1f} ms; store {r.store.nbytes() / 2**20:.0f} MB", file=sys.stderr)
"""


#: `tcp-lab` with the free-CPU check of the two-process --conversations path switched off.
FORCED = (
    "import sys; from tcp_lab.tui import conv_parallel; conv_parallel.CHECK_IDLE = False; "
    "from tcp_lab.tui.cli import main; sys.exit(main(sys.argv[1:]))"
)


def timed(cmd: list[str]) -> tuple[float, float, float]:
    """Run `cmd` with stdout to /dev/null; return (wall seconds, peak RSS MB, CPU seconds
    of the process and the children it waited for)."""
    with open(os.devnull, "wb") as devnull:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=devnull, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        err = proc.stderr.read().decode() if proc.stderr else ""
        proc.stderr.close()
    if status != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err.strip()}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--capture", type=Path, default=DEFAULT_CAPTURE)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--segments", type=int, default=1_000_000)
    ap.add_argument("--connections", type=int, default=10_000)
    args = ap.parse_args()
    cap = args.capture
    if not cap.exists():
        print(f"writing {cap} ...", file=sys.stderr)
        subprocess.run(
            [sys.executable, str(HERE / "make_big_pcap.py"), str(cap), "--segments", str(args.segments),
             "--connections", str(args.connections)],
            check=True,
        )  # fmt: skip
    py = sys.executable
    tcp_lab = [py, "-m", "tcp_lab.tui.cli", "replay", str(cap)]
    forced = [py, "-c", FORCED, "replay", str(cap)]
    fields = [arg for f in JSON_FIELDS for arg in ("-e", f)]
    cases = {
        "tcp-lab --conversations": tcp_lab + ["--conversations", "--format", "text"],
        "tcp-lab --conversations, two processes forced": forced + ["--conversations", "--format", "text"],
        "tshark -q -z conv,tcp": ["tshark", "-q", "-z", "conv,tcp", "-r", str(cap)],
        "tcp-lab --format json": tcp_lab + ["--format", "json"],
        "tshark -T fields": ["tshark", "-n", "-r", str(cap), "-T", "fields", *fields],
        "load timeline (in-process)": [py, "-c", LOAD_TIMELINE, str(cap)],
    }
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in cases}
    loads: dict[str, list[float]] = {name: [] for name in cases}
    print(f"capture: {cap} ({cap.stat().st_size / 2**20:.0f} MB); load average {os.getloadavg()[0]:.2f}; "
          f"{os.cpu_count()} CPUs; {args.runs} runs", file=sys.stderr)  # fmt: skip
    for run in range(args.runs):
        for name, cmd in cases.items():
            loads[name].append(os.getloadavg()[0])
            results[name].append(timed(cmd))
            wall, rss, cpu = results[name][-1]
            print(f"  run {run + 1}: {name}: {wall:.2f} s wall, {cpu:.2f} s CPU, {rss:.0f} MB "
                  f"(load {loads[name][-1]:.2f})", file=sys.stderr)  # fmt: skip
    med = {
        name: (statistics.median(w for w, _, _ in r), max(m for _, m, _ in r), statistics.median(c for _, _, c in r))
        for name, r in results.items()
    }
    print("\n| command | wall (median) | CPU (median) | peak RSS | load average (1 min, median) |")
    print("|---|---|---|---|---|")
    for name, (wall, rss, cpu) in med.items():
        print(f"| `{name}` | {wall:.2f} s | {cpu:.2f} s | {rss:.0f} MB | {statistics.median(loads[name]):.2f} |")
    # Ratios per run (each pair ran back to back, under the same load), then their median.
    conv_ratio = statistics.median(
        t[0] / c[0] for t, c in zip(results["tshark -q -z conv,tcp"], results["tcp-lab --conversations"])
    )
    json_ratio = statistics.median(
        t[0] / c[0] for t, c in zip(results["tshark -T fields"], results["tcp-lab --format json"])
    )
    forced_ratio = statistics.median(
        t[0] / c[0]
        for t, c in zip(results["tshark -q -z conv,tcp"], results["tcp-lab --conversations, two processes forced"])
    )
    conv_cpu_ratio = statistics.median(
        t[2] / c[2] for t, c in zip(results["tshark -q -z conv,tcp"], results["tcp-lab --conversations"])
    )
    json_cpu_ratio = statistics.median(
        t[2] / c[2] for t, c in zip(results["tshark -T fields"], results["tcp-lab --format json"])
    )
    peak = max(rss for name, (_, rss, _) in med.items() if not name.startswith("tshark"))
    print()
    print(f"--conversations: {med['tcp-lab --conversations'][0]:.2f} s wall, {med['tcp-lab --conversations'][2]:.2f} s "
          f"CPU (target <= 1.5 s); {conv_ratio:.1f}x faster than tshark in wall time, {conv_cpu_ratio:.1f}x in CPU "
          f"time, medians of the runs' ratios (target >= 3x)")  # fmt: skip
    forced = med["tcp-lab --conversations, two processes forced"]
    print(f"--conversations, two processes forced: {forced[0]:.2f} s wall, {forced[2]:.2f} s CPU (both processes); "
          f"{forced_ratio:.1f}x faster than tshark in wall time")  # fmt: skip
    print(f"--format json:   {json_ratio:.1f}x faster than tshark -T fields in wall time, {json_cpu_ratio:.1f}x in CPU "
          f"time, medians of the runs' ratios (target >= 2x)")  # fmt: skip
    print(f"peak RSS of tcp-lab: {peak:.0f} MB (target <= 250 MB)")
    print(f"load average after: {os.getloadavg()[0]:.2f}; own CPU time {resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
