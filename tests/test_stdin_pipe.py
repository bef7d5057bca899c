"""The documented unprivileged path: root (or a user with CAP_NET_RAW) captures, and
tcp-lab, run as an ordinary user, shows the capture as it grows:

    sudo tcpdump -U -w - -i lo 'tcp port 8080' | tcp-lab replay - --format json

tcp-lab needs no privilege to show a capture: here it runs as `nobody` (setpriv, see
tests/hostile_cli.py) and must print each segment while the connection is still going, not
only when tcpdump exits. A real connection in a network namespace, root's tcpdump there.
"""

from __future__ import annotations

import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_malformed as mm  # noqa: E402
from hostile_cli import TCP_LAB, nobody_argv, nobody_env, public_dir  # noqa: E402,F401  (public_dir: a fixture)
from netns_util import netns  # noqa: E402,F401  (a fixture)

PORT = 8080


class Lines:
    """JSON lines read from a process's stdout on a thread, with when each arrived."""

    def __init__(self, stream) -> None:
        self.q: queue.Queue[tuple[float, dict] | None] = queue.Queue()
        self.rows: list[dict] = []
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        for raw in stream:
            self.q.put((time.monotonic(), json.loads(raw)))
        self.q.put(None)

    def wait_for(self, n: int, timeout: float = 10.0) -> list[dict]:
        """Block until at least n rows have arrived (fails after `timeout`)."""
        deadline = time.monotonic() + timeout
        while len(self.rows) < n:
            left = deadline - time.monotonic()
            assert left > 0, f"waited {timeout} s for {n} rows, have {len(self.rows)}: {self.rows}"
            try:
                item = self.q.get(timeout=left)
            except queue.Empty:
                continue
            assert item is not None, f"tcp-lab's output ended after {len(self.rows)} rows, expected {n}"
            self.rows.append(item[1])
        return self.rows

    def rest(self, timeout: float = 10.0) -> list[dict]:
        """Every row until the output ends."""
        deadline = time.monotonic() + timeout
        while True:
            item = self.q.get(timeout=max(0.01, deadline - time.monotonic()))
            if item is None:
                return self.rows
            self.rows.append(item[1])


def _uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError("no Uid line")


def _wait_listening(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """tcpdump prints 'listening on lo' on stderr once it captures."""
    seen = b""
    deadline = time.monotonic() + timeout
    while b"listening on" not in seen:
        left = deadline - time.monotonic()
        assert left > 0 and proc.poll() is None, f"tcpdump did not start: {seen!r}"
        ready, _, _ = select.select([proc.stderr], [], [], left)
        if ready:
            seen += os.read(proc.stderr.fileno(), 4096)


def states(row: dict) -> tuple[str, str]:
    return row["client"]["state"], row["server"]["state"]


def test_tcpdump_pipe_into_tcp_lab_run_as_nobody(netns):
    listener = netns.socket()
    listener.bind(("127.0.0.1", PORT))
    listener.listen()
    dump = netns.popen(["tcpdump", "-U", "--immediate-mode", "-w", "-", "-i", "lo", "-n", f"tcp port {PORT}"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_listening(dump)
    lab = subprocess.Popen(nobody_argv([TCP_LAB, "replay", "-", "--format", "json"]), stdin=dump.stdout,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=nobody_env(), text=True)
    dump.stdout.close()  # tcp-lab holds the pipe's only reading end: EOF when tcpdump exits
    try:
        lines = Lines(lab.stdout)
        time.sleep(0.3)
        assert lab.poll() is None, lab.stderr.read()
        assert _uid(lab.pid) == 65534, "tcp-lab is not running as nobody"

        client = netns.socket()
        client.connect(("127.0.0.1", PORT))
        server, _ = listener.accept()
        # The handshake is shown while the connection is open and tcpdump still runs.
        rows = lines.wait_for(3)
        assert [r["flags"] for r in rows[:3]] == [["SYN"], ["SYN", "ACK"], ["ACK"]]
        assert [states(r) for r in rows[:3]] == [("SYN_SENT", "SYN_RCVD"), ("ESTABLISHED", "SYN_RCVD"),
                                                 ("ESTABLISHED", "ESTABLISHED")]
        assert rows[0]["sport"] == client.getsockname()[1] and rows[0]["dport"] == PORT

        client.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert server.recv(100) == b"GET / HTTP/1.0\r\n\r\n"
        rows = lines.wait_for(4)
        assert rows[3]["len"] == 18 and rows[3]["from"] == "client" and rows[3]["seq"] == 1

        # The four-way teardown, still before tcpdump stops.
        client.close()
        time.sleep(0.05)
        server.close()
        deadline = time.monotonic() + 10
        while not lines.rows or states(lines.rows[-1]) != ("TIME_WAIT", "CLOSED"):
            lines.wait_for(len(lines.rows) + 1, timeout=max(0.1, deadline - time.monotonic()))
        assert lab.poll() is None, "tcp-lab stopped before its input ended"
        fins = [r for r in lines.rows if "FIN" in r["flags"]]
        assert [r["from"] for r in fins] == ["client", "server"]
    finally:
        listener.close()
        dump.terminate()
        dump.wait(timeout=10)
        netns.forget(dump)
    rows = lines.rest()
    assert lab.wait(timeout=10) == 0
    err = lab.stderr.read()
    assert err == "", err
    assert [r["no"] for r in rows] == list(range(1, len(rows) + 1))


WRITER = r"""
import sys, time
data = open(sys.argv[1], "rb").read()
out = sys.stdout.buffer
out.write(data[:24]); out.flush()
pos = 24
import struct
while pos < len(data):
    caplen = struct.unpack_from("<I", data, pos + 8)[0]
    rec = data[pos:pos + 16 + caplen]
    half = len(rec) // 2
    out.write(rec[:half]); out.flush(); time.sleep(0.01)   # a record split across two writes
    out.write(rec[half:]); out.flush(); time.sleep(0.09)
    pos += 16 + caplen
time.sleep(0.4)
"""


def test_stream_rows_arrive_as_records_complete_without_root():
    """No tcpdump needed to see the behaviour: a writer sends the records of a real
    capture 0.1 s apart (each split in two writes) into tcp-lab run as nobody; row k
    is printed about when record k is complete, long before the input ends, and the
    text format streams the same way."""
    for fmt in ("json", "text"):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(mm.NORMAL)], stdout=subprocess.PIPE)
        lab = subprocess.Popen(nobody_argv([TCP_LAB, "replay", "-", "--format", fmt]), stdin=writer.stdout,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=nobody_env(), text=True)
        writer.stdout.close()
        start = time.monotonic()
        arrivals = []
        for line in lab.stdout:
            arrivals.append(time.monotonic() - start)
            if fmt == "json":
                json.loads(line)
        end = time.monotonic() - start
        assert lab.wait(timeout=10) == 0 and writer.wait(timeout=10) == 0
        assert lab.stderr.read() == ""
        assert len(arrivals) == 11
        # Records go out 0.1 s apart: the first row long before the end of input (1.5 s).
        assert arrivals[0] < end - 0.8, (fmt, arrivals, end)
        gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
        assert sum(1 for g in gaps if g > 0.05) >= 8, (fmt, gaps)


def test_nobody_cannot_read_root_files_but_can_replay_stdin(public_dir):
    """The wrapper really drops privilege: nobody cannot read a root-only file, yet
    replays the same bytes handed to it on stdin."""
    secret = public_dir / "root-only.pcap"
    secret.write_bytes(mm.normal_bytes())
    secret.chmod(0o600)
    denied = subprocess.run(nobody_argv([TCP_LAB, "replay", str(secret), "--format", "json"]),
                            capture_output=True, text=True, env=nobody_env(), timeout=30)
    assert denied.returncode == 2 and denied.stderr == f"tcp-lab: {secret}: permission denied (cannot read it)\n"
    with open(secret, "rb") as f:
        ok = subprocess.run(nobody_argv([TCP_LAB, "replay", "-", "--format", "json"]), stdin=f,
                            capture_output=True, text=True, env=nobody_env(), timeout=30)
    assert ok.returncode == 0 and len(ok.stdout.splitlines()) == 11 and ok.stderr == ""
    # Nothing was written by nobody next to the capture.
    assert sorted(p.name for p in public_dir.iterdir()) == ["root-only.pcap"]
