"""`tcp-lab sniff` as a user runs it, inside a fresh network namespace
(``ip netns exec NS tcp-lab sniff -i lo ...``), against the kernel and tcpdump.

- Real sockets opened, used and closed by the test while tcp-lab sniffs: every segment
  tcpdump sees appears exactly once in the JSON, in the same order, and at every quiet
  checkpoint the last frame's client and server states are the kernel's (`ss -tan`);
  the --write file holds the same segments (tshark reads it).
- ``--demo`` end to end in headless JSON: its acts are announced on stderr, the states go
  SYN_SENT ... TIME_WAIT in order, and at each act's quiet point they equal the kernel's.
- Permission missing (capabilities dropped, or the user nobody), an unknown interface, a
  bad filter: exit codes 3, 2, 2 and one sentence, nothing else, no traceback.
- --count, --timeout, ctrl+c and SIGTERM end the sniff with exit 0 and the stats line;
  SIGKILL leaves a --write file tshark reads up to the last packet.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tcp_lab.captures.netns import Namespace, connection_states
from tcp_lab.core.segment import FLAG_ORDER
from tcp_lab.core.states import State, from_ss

TCP_LAB = str(Path(sys.executable).parent / "tcp-lab")
PORT = 8080
DEMO_PAUSE = "0.4"

STATS_LINE = re.compile(
    r"^tcp-lab: (\d+) packets? captured on lo, (\d+) dropped by the kernel, (\d+) skipped by the decoder.*; "
    r"(\d+) TCP segments? in (\d+) conversations?\.$"
)


@pytest.fixture
def ns():
    if os.geteuid() != 0:
        pytest.fail("sniff tests need root (ip netns add, packet sockets)", pytrace=False)
    for tool in ("ip", "ss", "tcpdump", "tshark", "setpriv"):
        if shutil.which(tool) is None:
            pytest.fail(f"sniff tests need {tool}", pytrace=False)
    with Namespace("tcplab-sniff") as space:
        yield space


class Sniff:
    """`tcp-lab sniff ...` running inside the namespace; its stdout lines and stderr lines
    are collected as they come."""

    def __init__(self, ns: Namespace, *args: str, env: dict | None = None, prefix: list[str] | None = None) -> None:
        full_env = dict(os.environ, **(env or {}))
        self.proc = ns.popen([*(prefix or []), TCP_LAB, "sniff", *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=full_env)
        self.ns = ns
        self.out: list[str] = []
        self.err: list[str] = []
        self.cond = threading.Condition()
        self.readers = [threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
                        threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True)]
        for t in self.readers:
            t.start()

    def _read(self, stream, sink: list[str]) -> None:
        for raw in stream:
            with self.cond:
                sink.append(raw.decode("utf-8").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, predicate, timeout: float = 10.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not predicate()):
                    if self.proc.poll() is not None:
                        self.cond.wait(0.2)
                        if predicate():
                            return
                    raise AssertionError(f"waited for {what}: stdout={self.out[-3:]} stderr={self.err}")
                self.cond.wait(min(left, 0.1))

    def wait_capturing(self) -> None:
        self.wait_for(lambda: any("capturing on" in line for line in self.err), what="'capturing on'")

    def frames(self) -> list[dict]:
        with self.cond:
            return [json.loads(line) for line in self.out]

    def finish(self, sig: int | None = signal.SIGINT, timeout: float = 10.0) -> int:
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        for t in self.readers:
            t.join(5)
        self.ns.forget(self.proc)
        return rc


def kernel_states(ns: Namespace, client: tuple[str, int], server: tuple[str, int]) -> tuple[State, State]:
    return tuple(from_ss(name) for name in ns.states(client, server))  # type: ignore[return-value]


def frame_states(frame: dict) -> tuple[State, State]:
    return State(frame["client"]["state"]), State(frame["server"]["state"])


def tshark_segments(path: Path) -> list[tuple[int, int, int, int, int]]:
    out = subprocess.run(
        ["tshark", "-r", str(path), "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.dstport",
         "-e", "tcp.seq_raw", "-e", "tcp.ack_raw", "-e", "tcp.flags"],
        capture_output=True, text=True, check=True,
    ).stdout
    return [tuple(int(x, 0) for x in line.split("\t")) for line in out.splitlines()]  # type: ignore[misc]


def json_segments(frames: list[dict]) -> list[tuple[int, int, int, int, int]]:
    bits = {name: bit for bit, name in FLAG_ORDER}
    return [(f["sport"], f["dport"], f["seq_raw"], f["ack_raw"], sum(bits[name] for name in f["flags"]))
            for f in frames]


# -- real sockets, kernel checkpoints, tcpdump ---------------------------------------------


def test_real_connections_once_each_with_the_kernels_states(ns, tmp_path):
    live = tmp_path / "live.pcap"
    with ns.tcpdump(tmp_path / "oracle.pcap", bpf=f"tcp port {PORT}") as dump:
        sniff = Sniff(ns, "-i", "lo", "--port", str(PORT), "--format", "json", "--write", str(live))
        sniff.wait_capturing()
        server_addr = ("127.0.0.1", PORT)
        checked: list[tuple[State, State]] = []

        def checkpoint(client_addr: tuple[str, int], conn: int) -> None:
            n = dump.wait_quiet(0.1)
            sniff.wait_for(lambda: len(sniff.out) >= n, what=f"{n} frames")
            frames = sniff.frames()
            assert len(frames) == n  # never more than tcpdump saw
            mine = [f for f in frames if f["conn"] == conn][-1]
            kernel = kernel_states(ns, client_addr, server_addr)
            assert frame_states(mine) == kernel, f"after frame {mine['no']}: {mine['info']}"
            checked.append(kernel)

        listener = ns.socket()
        listener.bind(server_addr)
        listener.listen()
        assert sniff.out == []  # listen() sends nothing
        client = ns.socket()
        client.connect(server_addr)
        server, _ = listener.accept()
        caddr = client.getsockname()
        checkpoint(caddr, 0)
        client.sendall(b"request " * 100)
        server.recv(65536)
        checkpoint(caddr, 0)
        server.sendall(b"answer " * 5000)
        got = 0
        while got < 35000:
            got += len(client.recv(65536))
        checkpoint(caddr, 0)
        client.shutdown(socket.SHUT_WR)
        assert server.recv(10) == b""
        checkpoint(caddr, 0)
        server.sendall(b"late words")
        client.recv(100)
        checkpoint(caddr, 0)
        server.close()
        client.recv(10)
        checkpoint(caddr, 0)
        client.close()
        # A second connection, reset by its client (SO_LINGER 0: close sends RST).
        client2 = ns.socket()
        client2.connect(server_addr)
        server2, _ = listener.accept()
        caddr2 = client2.getsockname()
        checkpoint(caddr2, 1)
        client2.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client2.close()
        checkpoint(caddr2, 1)
        server2.close()
        listener.close()
        dump.wait_quiet(0.1)
    rc = sniff.finish(signal.SIGINT)
    assert rc == 0
    assert checked == [
        (State.ESTABLISHED, State.ESTABLISHED),
        (State.ESTABLISHED, State.ESTABLISHED),
        (State.ESTABLISHED, State.ESTABLISHED),
        (State.FIN_WAIT_2, State.CLOSE_WAIT),
        (State.FIN_WAIT_2, State.CLOSE_WAIT),
        (State.TIME_WAIT, State.CLOSED),
        (State.ESTABLISHED, State.ESTABLISHED),
        (State.CLOSED, State.CLOSED),
    ]
    frames = sniff.frames()
    oracle = tshark_segments(tmp_path / "oracle.pcap")
    assert json_segments(frames) == oracle  # each segment exactly once, in order
    assert [f["no"] for f in frames] == list(range(1, len(frames) + 1))
    assert tshark_segments(live) == oracle  # --write holds the same segments
    assert "Traceback" not in "\n".join(sniff.err)
    m = STATS_LINE.match(sniff.err[-1])
    assert m, sniff.err
    assert [int(x) for x in m.groups()] == [len(oracle), 0, 0, len(oracle), 2]
    # The live JSON is what `tcp-lab replay` prints for the --write file.
    replay = subprocess.run([TCP_LAB, "replay", str(live), "--format", "json"], capture_output=True, text=True,
                            check=True)
    assert replay.stdout.splitlines() == sniff.out


# -- the demo --------------------------------------------------------------------------------


def test_demo_end_to_end_states_in_order_and_equal_to_the_kernels(ns, tmp_path):
    dump = ns.tcpdump(tmp_path / "oracle.pcap", bpf="tcp")
    sniff = Sniff(ns, "--demo", "--format", "json", "--write", str(tmp_path / "demo.pcap"),
                  env={"TCP_LAB_DEMO_PAUSE": DEMO_PAUSE})
    sniff.wait_capturing()
    checkpoints = []  # (act number, segments so far, kernel states)
    port = None
    for act in range(1, 9):
        sniff.wait_for(lambda act=act: any(f"Act {act}/8:" in line for line in sniff.err), what=f"act {act}")
        time.sleep(float(DEMO_PAUSE) * 0.6)  # the act's segments are out; the next act has not begun
        if port is None:
            text = next(line for line in sniff.err if "Act 1/8:" in line)
            port = int(re.search(r"127\.0\.0\.1:(\d+)", text).group(1))
        # The kernel's states and tcpdump's count, taken together while the wire is quiet;
        # tcp-lab may print its frames a little later.
        while True:
            n = dump.count()
            rows = ns.ss()
            if dump.count() == n:
                break
        if n == 0:
            listening = [r.state for r in rows if r.local_port == port and r.peer_port is None]
            checkpoints.append((act, 0, ("CLOSED", "LISTEN" if "LISTEN" in listening else "?")))
            continue
        sniff.wait_for(lambda n=n: len(sniff.out) >= n, what=f"{n} frames")
        frames = sniff.frames()
        client = ("127.0.0.1", frames[0]["sport"])
        kernel = tuple(from_ss(name) for name in connection_states(rows, client, ("127.0.0.1", port)))
        assert frame_states(frames[n - 1]) == kernel, f"act {act}, after {frames[n - 1]['info']}"
        checkpoints.append((act, n, tuple(s.value for s in kernel)))
    rc = sniff.finish(sig=None, timeout=10)
    assert rc == 0
    assert checkpoints[0] == (1, 0, ("CLOSED", "LISTEN"))
    assert [c[2] for c in checkpoints[1:]] == [
        ("ESTABLISHED", "ESTABLISHED"),
        ("ESTABLISHED", "ESTABLISHED"),
        ("ESTABLISHED", "ESTABLISHED"),
        ("FIN_WAIT_2", "CLOSE_WAIT"),
        ("FIN_WAIT_2", "CLOSE_WAIT"),
        ("TIME_WAIT", "CLOSED"),
        ("TIME_WAIT", "CLOSED"),
    ]
    frames = sniff.frames()
    pairs = []
    for f in frames:
        pair = (f["client"]["state"], f["server"]["state"])
        if not pairs or pairs[-1] != pair:
            pairs.append(pair)
    assert pairs == [
        ("SYN_SENT", "SYN_RCVD"),
        ("ESTABLISHED", "SYN_RCVD"),
        ("ESTABLISHED", "ESTABLISHED"),
        ("FIN_WAIT_1", "CLOSE_WAIT"),
        ("FIN_WAIT_2", "CLOSE_WAIT"),
        ("TIME_WAIT", "LAST_ACK"),
        ("TIME_WAIT", "CLOSED"),
    ]
    # Data both ways, and the server's data in CLOSE_WAIT.
    assert any(f["from"] == "server" and f["len"] > 0 and f["server"]["state"] == "CLOSE_WAIT" for f in frames)
    assert any(f["from"] == "client" and f["len"] > 0 for f in frames)
    acts = [line for line in sniff.err if line.startswith("tcp-lab demo: Act ")]
    assert len(acts) == 8
    dump.stop()
    assert tshark_segments(tmp_path / "demo.pcap") == json_segments(frames)
    assert tshark_segments(tmp_path / "oracle.pcap") == json_segments(frames)
    assert STATS_LINE.match(sniff.err[-1])


def test_demo_in_chinese_announces_its_acts_in_chinese(ns):
    sniff = Sniff(ns, "--demo", "--format", "text", "--lang", "zh", env={"TCP_LAB_DEMO_PAUSE": "0.05"})
    assert sniff.finish(sig=None, timeout=20) == 0
    acts = [line for line in sniff.err if line.startswith("tcp-lab demo: ")]
    assert len(acts) == 8 and "幕" in acts[0] and "listen()" in acts[0]
    assert len(sniff.out) >= 10 and "client TIME_WAIT" in sniff.out[-1]


# -- permission and input errors ----------------------------------------------------------------


DROP_CAPS = ["setpriv", "--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-net_raw,-net_admin"]
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


@pytest.mark.parametrize("prefix", [DROP_CAPS, AS_NOBODY], ids=["no-cap-net-raw", "nobody"])
@pytest.mark.parametrize("args", [["--port", "80", "--format", "json"], ["--demo", "--format", "json"],
                                  ["--port", "80", "--format", "tui"]], ids=["json", "demo", "tui"])
def test_without_permission_exit_3_and_one_sentence_naming_both_ways_out(ns, tmp_path, prefix, args):
    out = tmp_path / "never.pcap"
    os.chmod(tmp_path, 0o777)
    sniff = Sniff(ns, *args, "--write", str(out), prefix=prefix)
    rc = sniff.finish(sig=None)
    assert rc == 3
    assert sniff.out == []
    assert len(sniff.err) == 1, sniff.err
    line = sniff.err[0]
    assert line.startswith("tcp-lab: capturing packets needs root or the CAP_NET_RAW capability: run it with sudo")
    assert "setcap cap_net_raw" in line
    assert "sudo tcpdump -U -w - -i lo '" in line and "| tcp-lab replay -" in line
    if "--demo" not in args:
        assert "'tcp port 80'" in line
    assert not out.exists()  # nothing was started, nothing written


def test_an_ordinary_user_with_cap_net_raw_can_sniff(ns):
    # What `setcap cap_net_raw+ep` on the interpreter gives: the capability, not root.
    with_cap = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                "--inh-caps=+net_raw", "--ambient-caps=+net_raw"]
    sniff = Sniff(ns, "--demo", "--format", "json", env={"TCP_LAB_DEMO_PAUSE": "0.05"}, prefix=with_cap)
    assert sniff.finish(sig=None, timeout=20) == 0
    frames = sniff.frames()
    assert (frames[0]["client"]["state"], frames[-1]["client"]["state"]) == ("SYN_SENT", "TIME_WAIT")
    assert STATS_LINE.match(sniff.err[-1])


@pytest.mark.parametrize("args,sentence", [
    (["-i", "nope0"], "tcp-lab: there is no network interface 'nope0' here; the interfaces are: lo"),
    (["-f", "tcp port"], "tcp-lab: the capture filter 'tcp port' is not valid BPF: syntax error"),
    (["-f", "tcp and", "--port", "80"],
     "tcp-lab: the capture filter '(tcp and) and (tcp port 80)' is not valid BPF: syntax error"),
    (["--port", "0"], "tcp-lab: --port 0: a TCP port is a number from 1 to 65535"),
    (["--count", "0"], "tcp-lab: --count 0: give a number of segments from 1 up"),
    (["--demo", "-i", "eth0"], "tcp-lab: --demo makes its connection on loopback; leave out -i eth0 (or say -i lo)"),
    (["--demo", "--port", "80"], "tcp-lab: --demo chooses its own port and filter; leave out -f and --port"),
    (["--write", "/nonexistent-dir/x.pcap"],
     ("tcp-lab: --write /nonexistent-dir/x.pcap: the directory /nonexistent-dir does not exist")),
], ids=["interface", "filter", "filter+port", "port", "count", "demo-iface", "demo-port", "write-dir"])
def test_bad_input_exit_2_and_one_sentence(ns, args, sentence):
    sniff = Sniff(ns, *args, "--format", "json")
    assert sniff.finish(sig=None) == 2
    assert sniff.out == []
    assert sniff.err == [sentence]


# -- ending a sniff ------------------------------------------------------------------------------


def _traffic(ns: Namespace, n: int = 3) -> None:
    listener = ns.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", PORT))
    listener.listen()
    for _ in range(n):
        c = ns.socket()
        c.connect(("127.0.0.1", PORT))
        s, _ = listener.accept()
        c.sendall(b"x" * 10)
        s.recv(10)
        c.close()
        s.close()
    listener.close()


def test_count_stops_after_n_segments(ns, tmp_path):
    sniff = Sniff(ns, "--port", str(PORT), "--format", "text", "--count", "5", "--write", str(tmp_path / "c.pcap"))
    sniff.wait_capturing()
    _traffic(ns)
    assert sniff.finish(sig=None) == 0
    assert len(sniff.out) == 5
    assert sniff.out[0].split()[:1] == ["1"] and "[SYN]" in sniff.out[0]
    m = STATS_LINE.match(sniff.err[-1])
    assert m and int(m.group(4)) == 5
    assert len(tshark_segments(tmp_path / "c.pcap")) == 5


def test_timeout_stops_a_quiet_sniff(ns):
    start = time.monotonic()
    sniff = Sniff(ns, "--format", "json", "--timeout", "0.5")
    assert sniff.finish(sig=None) == 0
    assert time.monotonic() - start < 5
    assert sniff.out == []
    assert STATS_LINE.match(sniff.err[-1]).group(4) == "0"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl+c", "sigterm"])
def test_ctrl_c_and_sigterm_stop_cleanly_with_exit_0_and_stats(ns, sig):
    sniff = Sniff(ns, "--port", str(PORT), "--format", "json")
    sniff.wait_capturing()
    _traffic(ns, 1)
    sniff.wait_for(lambda: len(sniff.out) >= 7, what="7 frames")
    assert sniff.finish(sig) == 0
    assert "Traceback" not in "\n".join(sniff.err)
    m = STATS_LINE.match(sniff.err[-1])
    assert m and int(m.group(4)) == len(sniff.out) >= 7


def test_a_killed_sniff_leaves_a_pcap_valid_up_to_its_last_packet(ns, tmp_path):
    out = tmp_path / "k.pcap"
    sniff = Sniff(ns, "--port", str(PORT), "--format", "json", "--write", str(out))
    sniff.wait_capturing()
    _traffic(ns, 2)
    sniff.wait_for(lambda: len(sniff.out) >= 14, what="14 frames")
    sniff.finish(signal.SIGKILL)
    result = subprocess.run(["tshark", "-r", str(out)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(sniff.out)
