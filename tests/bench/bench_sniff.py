"""Benchmark: how many loopback segments a second `tcp-lab sniff` tracks without missing one.

    uv run python tests/bench/bench_sniff.py                       # the default rates, 4 s each
    uv run python tests/bench/bench_sniff.py --rates 10000 40000 --seconds 8
    uv run python tests/bench/bench_sniff.py --paths               # the receive paths alone

Needs root (a network namespace per run), tcpdump and iproute2. Per target rate, in a
fresh namespace (127.0.0.1 only, so nothing else is on the wire):

1. tcpdump writes every segment of the generator's port to a file (the oracle: libpcap
   keeps one copy of each loopback packet);
2. ``tcp-lab sniff -i lo --port P --format json`` runs as a user would run it; the bench
   counts its output lines as they come;
3. the generator (this script, ``generate``) paces small writes over 4 connections
   (TCP_NODELAY, so each write is a segment; the receiver's ACKs add more) and opens and
   closes a short connection every 20 ms (handshakes and teardowns in the mix), for
   ``--seconds`` seconds;
4. the bench waits until tcp-lab has printed as many lines as tcpdump captured (or 10 s),
   then stops both (SIGTERM) and reads tcp-lab's stats line.

Reported per rate: segments tcpdump saw and the rate they came at, segments tcp-lab
tracked, missed (the difference), the kernel's drop count for tcp-lab's socket, and the
lag: how long after the traffic stopped tcp-lab's output was complete (a lag near zero
means it kept up; a growing lag means it fell behind and was catching up from its
buffer). The best rate is the highest with nothing missed and a lag under 0.5 s.

``--paths`` measures the receive paths alone (no decoding, no tracking, no output), each
counting what it received against tcpdump: ``direct`` (tui/live_capture.py's own recvmsg on
scapy's socket, the default), ``scapy`` (scapy's ``recv_raw()``), ``asyncsniffer``
(scapy's AsyncSniffer with a callback, dissecting every packet), with the receiving
process's CPU time per packet (the whole process: thread, queue, counting).
"""

from __future__ import annotations

import argparse
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
TCP_LAB = str(ROOT / ".venv" / "bin" / "tcp-lab")
PORT = 5001
DEFAULT_RATES = (5000, 10000, 20000, 30000, 40000, 60000)


# -- the generator (runs inside the namespace) ------------------------------------------


def generate(rate: float, seconds: float, port: int, conns: int = 4) -> None:
    """Paced writes of 64 bytes, `rate` writes a second in all, plus a short connection
    every 20 ms. Prints how many writes it made."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    clients, servers = [], []
    for _ in range(conns):
        c = socket.create_connection(("127.0.0.1", port))
        s, _ = listener.accept()
        for x in (c, s):
            x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            x.setblocking(False)
        clients.append(c)
        servers.append(s)
    payload = b"x" * 64
    start = time.monotonic()
    sent = 0
    churn_next = start
    churned = 0
    end = start + seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        due = int((now - start) * rate) - sent
        for i in range(due):
            try:
                clients[i % conns].send(payload)
            except BlockingIOError:
                pass
            sent += 1
        for s in servers:
            try:
                while s.recv(1 << 20):
                    pass
            except BlockingIOError:
                pass
        if now >= churn_next:
            churn_next += 0.02
            c = socket.create_connection(("127.0.0.1", port))
            s, _ = listener.accept()
            c.sendall(b"ping")
            s.recv(16)
            c.close()
            s.close()
            churned += 1
        time.sleep(0.0005)
    for c in clients:
        c.close()
    for s in servers:
        s.close()
    listener.close()
    print(f"writes {sent} short-connections {churned}", flush=True)


# -- the receive paths alone (runs inside the namespace) --------------------------------


def receive(reader: str, port: int) -> None:
    """Count what one receive path hands on until SIGTERM; print the count."""
    sys.path.insert(0, str(ROOT))
    from tcp_lab.tui.live_capture import LiveCapture, check_filter, resolve_interface

    arphrd, linktype = resolve_interface("lo")
    bpf = f"tcp port {port}"
    check_filter(bpf, linktype)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    if reader == "asyncsniffer":
        import scapy.layers.inet  # noqa: F401  (so the socket dissects Ether / IP / TCP, as sniff() does)
        from scapy.sendrecv import AsyncSniffer

        cap = LiveCapture("lo", bpf, arphrd=arphrd).open()
        count = [0]
        last = [0.0]

        def prn(pkt):
            count[0] += 1
            last[0] = time.monotonic()

        sniffer = AsyncSniffer(opened_socket=cap.socket, prn=prn, store=False)
        sniffer.start()
        cpu0 = _cpu_seconds()
        print("ready", flush=True)
        stop.wait()
        time.sleep(0.5)
        sniffer.stop(join=True)
        st = cap.stats()
        cpu = _cpu_seconds() - cpu0
        print(f"received {count[0]} dropped {st.dropped} last {last[0]} cpu {cpu}", flush=True)
        return
    cap = LiveCapture("lo", bpf, arphrd=arphrd, reader=reader).open()
    cap.start()
    cap.wait_started(5)
    cpu0 = _cpu_seconds()
    print("ready", flush=True)
    n = 0
    last = 0.0
    while not stop.is_set():
        cap.wait(0.05)
        got = len(cap.take())
        if got:
            n += got
            last = time.monotonic()
    st = cap.stop()
    n += len(cap.take())
    cpu = _cpu_seconds() - cpu0
    print(f"received {n} dropped {st.dropped} last {last} cpu {cpu}", flush=True)


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- the driver --------------------------------------------------------------------------


class LineCounter(threading.Thread):
    """Counts the lines a process writes to its stdout, and when the count last grew."""

    def __init__(self, stream) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.lines = 0
        self.changed = time.monotonic()

    def run(self) -> None:
        fd = self.stream.fileno()
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return
            self.lines += chunk.count(b"\n")
            self.changed = time.monotonic()


def wait_line(proc: subprocess.Popen, needle: bytes, timeout: float = 10.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    fd = proc.stderr.fileno()
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise RuntimeError(f"did not see {needle!r}: {seen.decode(errors='replace')}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            seen += os.read(fd, 4096)
    return seen


class Oracle:
    """tcpdump counting the generator's segments: a large kernel buffer (-B) and a short
    snapshot so that it never drops one itself; its own counts are read when it stops."""

    def __init__(self, ns, path: Path) -> None:
        self.proc = ns.popen(["tcpdump", "-i", "lo", "-n", "--immediate-mode", "-B", "262144", "-s", "128", "-Z", "root",
                              "-w", str(path), f"tcp port {PORT}"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.ns = ns
        wait_line(self.proc, b"listening on")

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=30)
        self.ns.forget(self.proc)
        text = err.decode(errors="replace")
        found = {}
        for key, pattern in (("captured", r"(\d+) packets? captured"),
                             ("received", r"(\d+) packets? received by filter"),
                             ("dropped", r"(\d+) packets? dropped by kernel")):
            m = re.search(pattern, text)
            if m:
                found[key] = int(m.group(1))
        if "captured" not in found:
            raise RuntimeError(f"tcpdump said: {text}")
        return found


def run_rate(ns, rate: float, seconds: float, tmp: Path) -> dict:
    dump = Oracle(ns, tmp / f"oracle-{int(rate)}.pcap")
    sniff = ns.popen([TCP_LAB, "sniff", "-i", "lo", "--port", str(PORT), "--format", "json"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_line(sniff, b"capturing")
    counter = LineCounter(sniff.stdout)
    counter.start()
    gen = ns.run([PYTHON, __file__, "generate", "--rate", str(rate), "--seconds", str(seconds),
                  "--port", str(PORT)], timeout=seconds + 60)
    traffic_end = time.monotonic()
    time.sleep(1.0)
    tcpdump_stats = dump.stop()
    seen = tcpdump_stats["captured"]
    deadline = time.monotonic() + 10
    while counter.lines < seen and time.monotonic() < deadline:
        time.sleep(0.01)
    lag = max(0.0, counter.changed - traffic_end) if counter.lines >= seen else float("inf")
    sniff.send_signal(signal.SIGTERM)
    _, err = sniff.communicate(timeout=30)
    counter.join(5)
    ns.forget(sniff)
    text = err.decode(errors="replace")
    m = re.search(r"(\d+) packets? captured on lo, (\d+) dropped by the kernel.*?; (\d+) TCP segments?", text)
    if not m:
        raise RuntimeError(f"no stats line from tcp-lab: {text}")
    captured = tcpdump_stats["captured"]
    return {
        "rate": rate,
        "tcpdump": captured,
        "seen_rate": captured / seconds,
        "tcplab": int(m.group(3)),
        "lines": counter.lines,
        "dropped": int(m.group(2)),
        "tcpdump_dropped": tcpdump_stats.get("dropped", 0),
        "lag": lag,
        "gen": gen.stdout.strip(),
    }


def run_path(ns, reader: str, rate: float, seconds: float, tmp: Path) -> dict:
    dump = Oracle(ns, tmp / f"path-{reader}-{int(rate)}.pcap")
    rx = ns.popen([PYTHON, __file__, "receive", "--reader", reader, "--port", str(PORT)],
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = rx.stdout.readline()
    if b"ready" not in line:
        raise RuntimeError(f"receiver did not start: {line!r} {rx.stderr.read()!r}")
    ns.run([PYTHON, __file__, "generate", "--rate", str(rate), "--seconds", str(seconds),
            "--port", str(PORT)], timeout=seconds + 60)
    traffic_end = time.monotonic()
    time.sleep(1.0)
    stats = dump.stop()
    time.sleep(max(0.0, min(10.0, seconds)))  # time to catch up, if it fell behind
    rx.send_signal(signal.SIGTERM)
    out, err = rx.communicate(timeout=30)
    ns.forget(rx)
    m = re.search(rb"received (\d+) dropped (\d+) last ([0-9.]+) cpu ([0-9.]+)", out)
    if not m:
        raise RuntimeError(f"receiver said: {out!r} {err!r}")
    captured = stats["captured"]
    return {"reader": reader, "rate": rate, "tcpdump": captured, "seen_rate": captured / seconds,
            "received": int(m.group(1)), "dropped": int(m.group(2)),
            "lag": max(0.0, float(m.group(3)) - traffic_end),
            "cpu_us": float(m.group(4)) * 1e6 / max(1, int(m.group(1)))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd")
    g = sub.add_parser("generate")
    g.add_argument("--rate", type=float, required=True)
    g.add_argument("--seconds", type=float, required=True)
    g.add_argument("--port", type=int, default=PORT)
    r = sub.add_parser("receive")
    r.add_argument("--reader", choices=("direct", "scapy", "asyncsniffer"), required=True)
    r.add_argument("--port", type=int, default=PORT)
    parser.add_argument("--rates", type=float, nargs="+", default=list(DEFAULT_RATES),
                        help="target write rates (writes a second; segments are about 1.5-2x)")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--paths", action="store_true", help="measure the receive paths alone")
    args = parser.parse_args()
    if args.cmd == "generate":
        generate(args.rate, args.seconds, args.port)
        return 0
    if args.cmd == "receive":
        receive(args.reader, args.port)
        return 0
    if os.geteuid() != 0:
        print("bench_sniff needs root (network namespaces, packet sockets)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    from tcp_lab.captures.netns import Namespace

    with tempfile.TemporaryDirectory(prefix="tcp-lab-bench-sniff-") as tmpdir:
        tmp = Path(tmpdir)
        if args.paths:
            print(f"{'reader':<13} {'target':>8} {'tcpdump':>9} {'seg/s':>8} {'received':>9} {'missed':>7} "
                  f"{'kernel drops':>12} {'lag s':>6} {'CPU us/pkt':>10}")
            for reader in ("direct", "scapy", "asyncsniffer"):
                for rate in args.rates:
                    with Namespace("tcplab-bench") as ns:
                        row = run_path(ns, reader, rate, args.seconds, tmp)
                    print(f"{reader:<13} {int(rate):>8} {row['tcpdump']:>9} {row['seen_rate']:>8.0f} "
                          f"{row['received']:>9} {row['tcpdump'] - row['received']:>7} {row['dropped']:>12} "
                          f"{row['lag']:>6.2f} {row['cpu_us']:>10.1f}", flush=True)
            return 0
        print(f"{'target writes/s':>15} {'tcpdump segs':>12} {'seg/s':>8} {'tcp-lab':>9} {'missed':>7} "
              f"{'kernel drops':>12} {'lag s':>6}")
        best = None
        for rate in args.rates:
            with Namespace("tcplab-bench") as ns:
                row = run_rate(ns, rate, args.seconds, tmp)
            missed = row["tcpdump"] - row["tcplab"]
            lag = "inf" if row["lag"] == float("inf") else f"{row['lag']:.2f}"
            print(f"{int(rate):>15} {row['tcpdump']:>12} {row['seen_rate']:>8.0f} {row['tcplab']:>9} {missed:>7} "
                  f"{row['dropped']:>12} {lag:>6}", flush=True)
            if missed == 0 and row["lag"] < 0.5:
                best = row["seen_rate"] if best is None else max(best, row["seen_rate"])
        if best is not None:
            print(f"highest rate with nothing missed and no lag: {best:,.0f} segments/s")
        else:
            print("no rate passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
