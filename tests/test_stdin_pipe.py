"""The documented unprivileged path: root (or a user with CAP_NET_RAW) captures, and
tcp-lab, run as an ordinary user, shows the capture as it grows:

    sudo tcpdump -U -w - -i lo 'tcp port 8080' | tcp-lab replay - --format json

tcp-lab needs no privilege to show a capture: here it runs as `nobody` (setpriv, see
tests/hostile_cli.py) and must print each segment while the connection is still going, not
only when tcpdump exits. A real connection in a network namespace, root's tcpdump there.
"""

from __future__ import annotations

import fcntl
import json
import os
import queue
import select
import struct
import subprocess
import sys
import termios
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


def _records(data: bytes) -> list[bytes]:
    out, pos = [], 24
    while pos < len(data):
        caplen = struct.unpack_from("<I", data, pos + 8)[0]
        out.append(data[pos : pos + 16 + caplen])
        pos += 16 + caplen
    return out


def _pipe_unread(fd: int) -> int:
    """Bytes written into a pipe and not yet read by the other end (FIONREAD)."""
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]


def test_stream_rows_arrive_as_records_complete_without_root():
    """No tcpdump needed to see the behaviour: this test writes the records of a real
    capture into tcp-lab's stdin 0.1 s apart (each split in two writes), tcp-lab running
    as nobody. Every row is printed while the input is still open (not at EOF), soon
    after its record is complete; the text format streams the same way."""
    data = mm.normal_bytes()
    for fmt in ("json", "text"):
        lab = subprocess.Popen(nobody_argv([TCP_LAB, "replay", "-", "--format", fmt]), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=nobody_env())
        arrivals: list[float] = []

        def read() -> None:
            for line in lab.stdout:
                arrivals.append(time.monotonic())
                if fmt == "json":
                    json.loads(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        fd = lab.stdin.fileno()
        os.write(fd, data[:24])
        deadline = time.monotonic() + 30
        while _pipe_unread(fd):  # wait until tcp-lab runs and has taken the file header
            assert time.monotonic() < deadline and lab.poll() is None, "tcp-lab never read its input"
            time.sleep(0.01)
        completed = []
        for rec in _records(data):
            half = len(rec) // 2
            os.write(fd, rec[:half])
            time.sleep(0.01)
            completed.append(time.monotonic())  # the record is complete from the next write on
            os.write(fd, rec[half:])
            time.sleep(0.09)
        time.sleep(0.3)
        eof = time.monotonic()
        lab.stdin.close()
        reader.join(timeout=10)
        assert lab.wait(timeout=10) == 0
        assert lab.stderr.read() == b""
        assert len(arrivals) == 11
        # Every row while the input was still open, none before its record was complete.
        assert all(a < eof for a in arrivals), (fmt, [round(eof - a, 3) for a in arrivals])
        assert all(a >= c for a, c in zip(arrivals, completed)), fmt
        # ... and most of them before the next record was even written.
        prompt = sum(1 for a, nxt in zip(arrivals, completed[1:]) if a < nxt)
        assert prompt >= 7, (fmt, prompt, [round(a - c, 3) for a, c in zip(arrivals, completed)])


def test_nobody_cannot_read_root_files_but_can_replay_stdin(public_dir):
    """The wrapper really drops privilege: nobody cannot read a root-only file, yet
    replays the same bytes handed to it on stdin."""
    secret = public_dir / "root-only.pcap"
    secret.write_bytes(mm.normal_bytes())
    secret.chmod(0o600)
    denied = subprocess.run(nobody_argv([TCP_LAB, "replay", str(secret), "--format", "json"]),
                            capture_output=True, text=True, env=nobody_env(), timeout=30)
    assert denied.returncode == 3 and denied.stderr == f"tcp-lab: {secret}: permission denied (cannot read it)\n"
    with open(secret, "rb") as f:
        ok = subprocess.run(nobody_argv([TCP_LAB, "replay", "-", "--format", "json"]), stdin=f,
                            capture_output=True, text=True, env=nobody_env(), timeout=30)
    assert ok.returncode == 0 and len(ok.stdout.splitlines()) == 11 and ok.stderr == ""
    # Nothing was written by nobody next to the capture.
    assert sorted(p.name for p in public_dir.iterdir()) == ["root-only.pcap"]
