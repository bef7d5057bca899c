"""Benchmark: read + decode a big capture with tcp-lab, against tshark and tcpdump.

    uv run python tests/bench/bench_decode.py                 # makes /tmp/tcp-lab-bench-1M.pcap if missing
    uv run python tests/bench/bench_decode.py F.pcap --repeat 5 --no-tshark

Every method runs in its own process (so each has its own peak RSS, from GNU time), on
the same file, in one run; figures are the median wall time of --repeat runs (tshark and
tcpdump run once each unless --repeat-tools). Methods:

- ``flat``: ``iter_tcp_flat`` (core/tcpscan.py), the replay's path: 1 MiB reads, one flat
  tuple per TCP segment;
- ``nested``: ``iter_tcp``, one ``(ts, Decoded)`` per segment;
- ``reader+decode``: ``CaptureReader`` then ``decode`` per record (the general path);
- ``tshark -T fields``: ``tshark -r F -T fields -e tcp.seq -e tcp.ack -e tcp.flags ...``;
- ``tcpdump -nn -r F``.

"in-loop" is the time inside the reading loop (no interpreter start-up or imports).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT = Path("/tmp/tcp-lab-bench-1M.pcap")

OUR_CODE = {
    "flat": """
from tcp_lab.core.tcpscan import TcpScanner, iter_tcp_flat
scan = TcpScanner(flat=True)
n = 0
with open(PATH, "rb") as f:
    for item in iter_tcp_flat(iter(lambda: f.read(1 << 20), b""), scan):
        n += 1
""",
    "nested": """
from tcp_lab.core.tcpscan import TcpScanner, iter_tcp
scan = TcpScanner()
n = 0
with open(PATH, "rb") as f:
    for ts, seg in iter_tcp(iter(lambda: f.read(1 << 20), b""), scan):
        n += 1
""",
    "reader+decode": """
from tcp_lab.core.pcapfile import CaptureReader
from tcp_lab.core.decode import decode
reader = CaptureReader()
n = 0
with open(PATH, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        reader.feed(chunk)
        for rec in reader.records():
            if decode(rec.linktype, rec.data, rec.wirelen).__class__ is not str:
                n += 1
reader.finish()
""",
}

RUNNER = """
import sys, time
PATH = sys.argv[1]
t0 = time.perf_counter()
{code}
print(n, time.perf_counter() - t0)
"""

TSHARK_FIELDS = ["tcp.stream", "tcp.flags", "tcp.seq", "tcp.ack", "tcp.len", "tcp.window_size_value",
                 "tcp.srcport", "tcp.dstport", "ip.src", "ip.dst"]


TIME = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)


def run(cmd: list[str], stdout=subprocess.DEVNULL) -> tuple[float, int, bytes]:
    """Wall seconds, peak RSS (MiB) and stdout of one process.

    Peak RSS comes from GNU time (/usr/bin/time -f %M) when it is installed: a child forked
    straight from this Python process would count this process's pages in its ru_maxrss.
    """
    with tempfile.NamedTemporaryFile("r") as report:
        full = [TIME, "-q", "-f", "%M", "-o", report.name, *cmd] if TIME else cmd
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdout=stdout, stderr=subprocess.DEVNULL)
        out = proc.stdout.read() if stdout == subprocess.PIPE else b""
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise SystemExit(f"{cmd[0]} failed with exit code {code}")
        peak_kib = int(report.read().split()[-1]) if TIME else usage.ru_maxrss
    return wall, peak_kib // 1024, out


def measure(name: str, cmd: list[str], repeat: int, stdout=subprocess.DEVNULL) -> dict:
    walls, rss, loops, count = [], 0, [], None
    for _ in range(repeat):
        wall, peak, out = run(cmd, stdout)
        walls.append(wall)
        rss = max(rss, peak)
        if out:
            n, loop = out.split()
            count, loops = int(n), loops + [float(loop)]
    row = {"name": name, "wall": statistics.median(walls), "rss": rss, "runs": repeat}
    if loops:
        row["loop"] = statistics.median(loops)
        row["segments"] = count
    print(f"  {name:<20} {row['wall']:7.2f} s" + (f"  (in-loop {row['loop']:.2f} s)" if loops else "")
          + f"  {rss} MiB", file=sys.stderr)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pcap", nargs="?", type=Path, default=DEFAULT, help=f"capture to read (default {DEFAULT})")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each tcp-lab method (median)")
    ap.add_argument("--repeat-tools", type=int, default=1, help="runs of tshark and tcpdump")
    ap.add_argument("--no-tshark", action="store_true", help="leave tshark out (it takes about 15 s)")
    args = ap.parse_args(argv)

    if not args.pcap.exists():
        print(f"generating {args.pcap} (1M segments, 10k connections) ...", file=sys.stderr)
        subprocess.run([sys.executable, str(HERE / "make_big_pcap.py"), str(args.pcap), "--segments", "1000000",
                        "--connections", "10000"], check=True)
    size = args.pcap.stat().st_size
    # Warm the page cache so every method reads from memory.
    with open(args.pcap, "rb") as f:
        while f.read(1 << 24):
            pass
    print(f"{args.pcap}: {size / 1e6:.0f} MB, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}", file=sys.stderr)

    rows = []
    for name, code in OUR_CODE.items():
        script = RUNNER.format(code=code)
        rows.append(measure(name, [sys.executable, "-c", script, str(args.pcap)], args.repeat, subprocess.PIPE))
    if not args.no_tshark and shutil.which("tshark"):
        cmd = ["tshark", "-n", "-r", str(args.pcap), "-T", "fields"]
        for field in TSHARK_FIELDS:
            cmd += ["-e", field]
        rows.append(measure("tshark -T fields", cmd, args.repeat_tools))
    if shutil.which("tcpdump"):
        rows.append(measure("tcpdump -nn -r", ["tcpdump", "-nn", "-r", str(args.pcap)], args.repeat_tools))

    base = rows[0]["wall"]
    print()
    print("| method | wall (median of runs) | in-loop | segments | peak RSS | x flat |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        loop = f"{r['loop']:.2f} s" if "loop" in r else "-"
        segs = f"{r['segments']:,}" if "segments" in r else "-"
        print(f"| {r['name']} | {r['wall']:.2f} s ({r['runs']}) | {loop} | {segs} | {r['rss']} MiB "
              f"| {r['wall'] / base:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
