"""`tcp-lab replay FILE --conversations` on two cores (tui/conv_parallel.py, core/partition.py)
prints exactly what one process prints: the same table, text and JSON, with and without
--conn, the same notes and errors, the same exit code; and when the helper process fails
in any way, the table still comes out, the same, with nothing else shown.

Three levels:
- the split itself: both halves' segments together are the capture's, in order, with the
  same counts (any chunking, pcap and pcapng, broken captures);
- the tracker: tracking each half alone and merging gives the one-tracker table, for
  made-up segment streams (hypothesis) and mutated real captures;
- the command, run as a user runs it (a fresh process, so that forking is what happens
  in real use): every shipped capture, the malformed-file corpus, and made-up busy
  captures, each with the parallel path forced (threshold 0) against the single path;
  the helper made to fail (exit, crash, garbage, a lying answer, a hang, no fork);
  ctrl+c and signals during a run.
"""

from __future__ import annotations

import json
import os
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostile
import make_malformed as mm
from craft_scenarios import build_all
from tcp_craft import CLIENT_ISN as C
from tcp_craft import SERVER_ISN as S
from tcp_craft import Dialog, capture
from tcp_lab.core.partition import PARITY, PartitionScanner, partition_of
from tcp_lab.core.pcapwrite import tcp_packet
from tcp_lab.core.replay import Replay
from tcp_lab.core.segment import ACK, FIN, PSH, RST, SYN, Segment
from tcp_lab.core.tcpscan import TcpScanner, flat_to_lean
from tcp_lab.tui import conv_parallel
from tcp_lab.tui.cmd_replay import conversation_lines

ROOT = pathlib.Path(__file__).resolve().parent.parent
CAPTURES = sorted((ROOT / "captures").glob("*.pcap"))
T0 = 1_700_000_000.0


# -- made-up busy captures -------------------------------------------------------------------


class VlanDialog(Dialog):
    """A Dialog whose frames carry a VLAN tag (the scanner's general decode path)."""

    def _send(self, frm, to, flags, seq, ack, data, win, opts, dt, urg) -> "Dialog":
        self.t += dt
        payload = data if isinstance(data, bytes) else b"x" * data
        seg = Segment(frm[0], frm[1], to[0], to[1], seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, flags, win, len(payload), opts)
        self.packets.append((round(self.t, 6), tcp_packet(seg, payload, urgent=urg, vlans=(7,))))
        return self


def _normal(d: Dialog, rng: random.Random) -> None:
    d.handshake(rtt=rng.uniform(0.001, 0.05))
    c, s = C + 1, S + 1
    for _ in range(rng.randrange(0, 6)):
        n = rng.randrange(1, 1400)
        d.c(ACK | PSH, c, s, data=n, dt=rng.uniform(0, 0.05))
        c += n
        m = rng.randrange(0, 3000)
        d.s(ACK | PSH if m else ACK, s, c, data=m, dt=rng.uniform(0, 0.05))
        s += m
        if m:
            d.c(ACK, c, s, dt=rng.uniform(0, 0.05))
    if rng.random() < 0.5:  # the client closes first
        d.c(FIN | ACK, c, s).s(ACK, s, c + 1).s(FIN | ACK, s, c + 1, dt=0.2).c(ACK, c + 1, s + 1)
    else:
        d.s(FIN | ACK, s, c).c(ACK, c, s + 1).c(FIN | ACK, c, s + 1, dt=0.2).s(ACK, s + 1, c + 1)


def _reset(d: Dialog, rng: random.Random) -> None:
    d.handshake()
    d.c(ACK | PSH, C + 1, S + 1, data=10)
    d.s(RST | ACK, S + 1, C + 11)


def _refused(d: Dialog, rng: random.Random) -> None:
    d.c(SYN, C, 0)
    d.s(RST | ACK, 0, C + 1, win=0)


def _syn_lost(d: Dialog, rng: random.Random) -> None:
    d.c(SYN, C, 0).c(SYN, C, 0, dt=1.0).s(SYN | ACK, S, C + 1).c(ACK, C + 1, S + 1)
    d.c(FIN | ACK, C + 1, S + 1).s(FIN | ACK, S + 1, C + 2).c(ACK, C + 2, S + 2)


def _synack_lost(d: Dialog, rng: random.Random) -> None:
    d.c(SYN, C, 0).s(SYN | ACK, S, C + 1).c(SYN, C, 0, dt=1.0).s(SYN | ACK, S, C + 1).c(ACK, C + 1, S + 1)


def _fin_ack_lost(d: Dialog, rng: random.Random) -> None:
    d.handshake()
    d.c(FIN | ACK, C + 1, S + 1).s(ACK, S + 1, C + 2).c(FIN | ACK, C + 1, S + 1, dt=0.5).s(ACK, S + 1, C + 2)
    d.s(FIN | ACK, S + 1, C + 2).c(ACK, C + 2, S + 2)


def _crossed_fins(d: Dialog, rng: random.Random) -> None:
    d.handshake()
    d.c(FIN | ACK, C + 1, S + 1).s(FIN | ACK, S + 1, C + 1, dt=0.0001)
    d.c(ACK, C + 2, S + 2).s(ACK, S + 2, C + 2)


def _port_reuse(d: Dialog, rng: random.Random) -> None:
    d.handshake().c(FIN | ACK, C + 1, S + 1).s(FIN | ACK, S + 1, C + 2).c(ACK, C + 2, S + 2)
    d.c(SYN, C + 100000, 0, dt=1.0).s(SYN | ACK, S + 70000, C + 100001).c(ACK, C + 100001, S + 70001)
    if rng.random() < 0.5:  # and once more
        d.c(RST | ACK, C + 100001, S + 70001, dt=0.5)
        d.c(SYN, C + 900000, 0, dt=0.5).s(SYN | ACK, S + 1000, C + 900001).c(ACK, C + 900001, S + 1001)


def _midstream(d: Dialog, rng: random.Random) -> None:
    d.c(ACK | PSH, C + 500, S + 900, data=30).s(ACK, S + 900, C + 530).s(FIN | ACK, S + 900, C + 530)
    d.c(ACK, C + 530, S + 901)


def _synack_first(d: Dialog, rng: random.Random) -> None:
    d.s(SYN | ACK, S, C + 1).c(ACK, C + 1, S + 1).s(ACK | PSH, S + 1, C + 1, data=20)


def _gone(d: Dialog, rng: random.Random) -> None:
    """The client's FIN_WAIT_2 times out; the server's later data gets a bare RST."""
    d.handshake().c(FIN | ACK, C + 1, S + 1).s(ACK, S + 1, C + 2)
    d.s(ACK | PSH, S + 1, C + 2, data=10, dt=70.0).c(RST, C + 2, 0)


def _simultaneous_open(d: Dialog, rng: random.Random) -> None:
    d.c(SYN, C, 0).s(SYN, S, 0, dt=0.0001).c(SYN | ACK, C, S + 1).s(SYN | ACK, S, C + 1)
    d.c(ACK, C + 1, S + 1).s(ACK, S + 1, C + 1)


def _retransmissions(d: Dialog, rng: random.Random) -> None:
    d.handshake()
    d.c(ACK | PSH, C + 1, S + 1, data=100).c(ACK | PSH, C + 1, S + 1, data=100, dt=0.3)
    d.s(ACK, S + 1, C + 101).s(ACK, S + 1, C + 101).c(ACK, C + 100, S + 1, dt=5.0)  # dup ACK, keep-alive
    d.s(ACK, S + 1, C + 101)


LIVES = (
    _normal, _reset, _refused, _syn_lost, _synack_lost, _fin_ack_lost, _crossed_fins, _port_reuse,
    _midstream, _synack_first, _gone, _simultaneous_open, _retransmissions, _normal, _normal,
)  # fmt: skip


def busy_capture(n: int, seed: int) -> bytes:
    """`n` conversations of every kind above, overlapping in time, on random client ports
    (so in both halves), some IPv6, some VLAN-tagged, with UDP packets in between."""
    rng = random.Random(seed)
    dialogs = []
    for i in range(n):
        kind = LIVES[i % len(LIVES)]
        t0 = T0 + rng.uniform(0, 3)
        cport, sport = rng.randrange(1024, 65536), rng.choice((80, 443, 22, 8080, 5432))
        if i % 9 == 4:
            d = Dialog(cport=cport, sport=sport, client=f"2001:db8::{i + 1:x}", server="2001:db8::ffff", t0=t0)
        elif i % 9 == 7:
            d = VlanDialog(cport=cport, sport=sport, client=f"10.1.{i % 250}.{1 + i % 250}", server="10.9.0.1", t0=t0)
        else:
            d = Dialog(cport=cport, sport=sport, client=f"10.0.{i % 250}.{1 + i % 250}", server="10.9.0.1", t0=t0)
        kind(d, rng)
        dialogs.append(d)
    data = capture(*dialogs)
    # Interleave a few UDP packets (left out, and said so on stderr).
    import capbuild as cb

    udp = [(int(T0) + k, 0, cb.eth(cb.ipv4(cb.udp(), proto=17))) for k in range(3)]
    return data + cb.pcap(udp)[24:]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, pathlib.Path]:
    """name -> path: the shipped captures, made-up busy ones (also as pcapng, cut short
    and damaged), and the malformed-file corpus."""
    d = tmp_path_factory.mktemp("conv-parallel")
    out = {p.name: p for p in CAPTURES}
    for n, seed in ((60, 1), (150, 2), (7, 3)):
        p = d / f"busy-{n}.pcap"
        p.write_bytes(busy_capture(n, seed))
        out[p.name] = p
    busy = (d / "busy-150.pcap").read_bytes()
    (d / "busy-cut.pcap").write_bytes(busy[: len(busy) * 2 // 3])
    out["busy-cut.pcap"] = d / "busy-cut.pcap"
    damaged = bytearray(busy)
    # The 2/3 point's record header is found by walking the records; claim 2 GB there.
    pos = 24
    while pos < len(busy) * 2 // 3:
        pos += 16 + int.from_bytes(busy[pos + 8 : pos + 12], "little")
    damaged[pos + 8 : pos + 12] = (0x7FFFFFFF).to_bytes(4, "little")
    (d / "busy-damaged.pcap").write_bytes(bytes(damaged))
    out["busy-damaged.pcap"] = d / "busy-damaged.pcap"
    if shutil.which("editcap"):
        for name in ("busy-150.pcap", "course-example.pcap", "busy-cut.pcap"):
            target = d / (name[:-5] + ".pcapng")
            subprocess.run(["editcap", "-F", "pcapng", str(out[name]), str(target)], check=True, capture_output=True)
            out[target.name] = target
    skip = {"unreadable", "fifo", "growing"}
    built = mm.build(d / "malformed", [c.name for c in mm.CASES + mm.PATHOLOGICAL if c.name not in skip])
    for name, path in built.items():
        out[f"malformed-{name}"] = path
    return out


# -- the split ---------------------------------------------------------------------------------


def test_the_half_is_the_same_both_ways_and_takes_every_port_bit():
    key = bytes((10, 0, 0, 1, 10, 0, 0, 2)) + (40001).to_bytes(2, "big") + (80).to_bytes(2, "big")
    rev = key[4:8] + key[:4] + key[10:12] + key[8:10]
    assert partition_of(key) == partition_of(rev)
    v6 = bytes(16) + bytes(15) + b"\x01" + (40001).to_bytes(2, "big") + (443).to_bytes(2, "big")
    assert partition_of(v6) == PARITY[(40001 & 0xFF) ^ (443 & 0xFF)]
    # Linux gives connect() even ports: a server port and even client ports still split.
    halves = [partition_of(key[:8] + p.to_bytes(2, "big") + (443).to_bytes(2, "big")) for p in range(32768, 61000, 2)]
    assert 0.4 < sum(halves) / len(halves) < 0.6


def _scan_halves(data: bytes, chunk: int):
    plain = TcpScanner(keyed=True, lean=True)
    halves = [PartitionScanner(0), PartitionScanner(1)]
    got: list[list] = [[], [], []]
    for start in range(0, max(len(data), 1), chunk):
        piece = data[start : start + chunk]
        for i, sc in enumerate((plain, *halves)):
            if not sc.dead:
                got[i] += sc.feed(piece)
    for sc in (plain, *halves):
        sc.finish()
    return plain, halves, got


@pytest.mark.parametrize("chunk", [1, 333, 1 << 20])
def test_both_halves_together_are_the_capture(files, chunk):
    """Every segment is in exactly one half, in capture order, with the counts of the
    whole capture in both (any chunking, pcap and pcapng, broken files)."""
    names = [n for n in files if files[n].is_file() and files[n].stat().st_size <= (2 << 20)]
    if chunk == 1:
        names = [n for n in names if files[n].stat().st_size <= 40_000]
    both_used = 0
    for name in names:
        data = files[name].read_bytes()
        plain, halves, (whole, h0, h1) = _scan_halves(data, chunk)
        for sc in halves:
            assert (sc.segments, sc.frames, sc.problems, sc.skipped, sc.format) == (
                plain.segments, plain.frames, plain.problems, plain.skipped, plain.format), name
            assert len(sc.order) == len(h0 if sc is halves[0] else h1)
            assert list(sc.order) == sorted(set(sc.order)), name
        merged = [it for _, it in sorted(list(zip(halves[0].order, h0)) + list(zip(halves[1].order, h1)))]
        assert merged == whole, name
        assert all(partition_of(it[2]) == 0 for it in h0) and all(partition_of(it[2]) == 1 for it in h1)
        both_used += bool(h0) and bool(h1)
    assert both_used >= (1 if chunk == 1 else 5)


# -- the tracker: each half alone, merged ----------------------------------------------------


def _tables(single: Replay, halves: list[Replay], orders: list) -> None:
    """The merged halves print the single replay's table, text and JSON, for every --conn."""
    merged = conv_parallel.merge(
        conv_parallel.fields_of(halves[0].tracker.conversations, orders[0]),
        conv_parallel.fields_of(halves[1].tracker.conversations, orders[1]),
    )
    assert merged is not None
    n = len(single.tracker.conversations)
    assert len(merged) == n
    if not n:
        return
    table = (merged, merged[0].first_ts)
    assert merged[0].first_ts == single.first_ts
    for fmt in ("text", "json"):
        for conn in [None, *range(min(n, 4)), n - 1]:
            assert list(conversation_lines(halves[0], fmt, conn, table)) == list(conversation_lines(single, fmt, conn))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_made_up_streams_tracked_in_halves_give_the_same_table(data):
    """Any segment stream (hostile.build_segments: any flags, SEQ/ACK anywhere, several
    conversations on the same addresses, ports reused): the one-tracker table."""
    pick = lambda lo, hi: data.draw(st.integers(lo, hi))  # noqa: E731
    items = flat_to_lean(hostile.build_segments(pick, max_segments=60))
    single = Replay(summary_only=True)
    single.tracker.feed_lean(items)
    halves, orders = [], []
    for part in (0, 1):
        r = Replay(summary_only=True)
        mine = [(i, it) for i, it in enumerate(items) if partition_of(it[2]) == part]
        r.tracker.feed_lean([it for _, it in mine])
        halves.append(r)
        orders.append([i for i, _ in mine])
    _tables(single, halves, orders)


SEEDS = hostile.seed_captures()
SEED_BYTES = [SEEDS[n] for n in sorted(SEEDS)]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_mutated_captures_read_in_halves_give_the_same_table(data):
    """Real captures broken at random (hostile.mutate), read by the two halves' scanners."""
    pick = lambda lo, hi: data.draw(st.integers(lo, hi))  # noqa: E731
    broken = hostile.mutate(pick, SEED_BYTES[pick(0, len(SEED_BYTES) - 1)], SEED_BYTES)
    single = Replay(summary_only=True)
    halves = [Replay(summary_only=True, partition=p) for p in (0, 1)]
    for r in (single, *halves):
        r.feed(broken)
        r.finish()
        assert (r.scanner.segments, r.problems, r.skipped) == (single.scanner.segments, single.problems, single.skipped)
    _tables(single, halves, [h.scanner.order for h in halves])


def test_partition_needs_a_summary_replay_without_limits():
    with pytest.raises(ValueError):
        Replay(partition=0)
    with pytest.raises(ValueError):
        Replay(summary_only=True, partition=0, max_conns=10)
    with pytest.raises(ValueError):
        PartitionScanner(2)


# -- the command -------------------------------------------------------------------------------

#: Runs `tcp-lab replay` (cli.main) several times in one fresh process, each with its own
#: threshold and fault, and prints what each run wrote, its exit code, the path taken and
#: whether a child process was left behind.
DRIVER = r"""
import io, json, os, sys, time, gc, contextlib, pickle
from tcp_lab.tui import cli, conv_parallel as cp

real_helper, real_fields, real_fork = cp._helper_main, cp._fields, os.fork

def helper_exits(*a):
    os._exit(3)

def helper_garbage(fd, r, w, title, chunk):
    os.write(w, b"this is not a pickle")
    os._exit(0)

def helper_lies(fd, r, w, title, chunk):
    os.write(w, pickle.dumps(((1, 2, 3), [])))
    os._exit(0)

def helper_wrong_shape(*a):
    cp._fields = lambda replay: [(0, 0, None)]
    real_helper(*a)

def helper_missing(*a):
    cp._fields = lambda replay: []
    real_helper(*a)

def helper_dies_after_answering(fd, r, w, title, chunk):
    real_exit = os._exit
    os._exit = lambda code: os.kill(os.getpid(), 9) if code == 0 else real_exit(code)
    real_helper(fd, r, w, title, chunk)

def helper_hangs(*a):
    time.sleep(60)
    os._exit(0)

def no_fork():
    raise OSError(11, "Resource temporarily unavailable")

FAULTS = {"exit": helper_exits, "garbage": helper_garbage, "lies": helper_lies, "wrong-shape": helper_wrong_shape,
          "missing": helper_missing, "abort": helper_dies_after_answering, "hang": helper_hangs}
results = []
for run in json.load(sys.stdin):
    cp.MIN_BYTES = run["min_bytes"]
    cp.CHECK_IDLE = False  # the test run itself keeps the CPUs busy
    cp.MIN_WAIT, cp.WAIT_FACTOR = (0.3, 1.0) if run["fault"] == "hang" else (20.0, 4.0)
    cp._helper_main = FAULTS.get(run["fault"], real_helper)
    os.fork = no_fork if run["fault"] == "no-fork" else real_fork
    out, err = io.BytesIO(), io.BytesIO()
    o, e = io.TextIOWrapper(out, encoding="utf-8"), io.TextIOWrapper(err, encoding="utf-8")
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        rc = cli.main(run["argv"])
        o.flush(); e.flush()
    gc.enable()
    try:
        os.waitpid(-1, os.WNOHANG)
        left = True  # a child process, running or not reaped
    except ChildProcessError:
        left = False
    results.append({"rc": rc, "out": out.getvalue().decode("latin-1"), "err": err.getvalue().decode("latin-1"),
                    "path": cp.last_path, "child_left": left})
json.dump(results, sys.stdout)
"""


def drive(*batches: list[dict]) -> list[list[dict]] | list[dict]:
    """Each batch of runs in its own driver process, the batches at the same time."""
    procs = [subprocess.Popen([sys.executable, "-c", DRIVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in batches]  # fmt: skip
    out = []
    for proc, runs in zip(procs, batches):
        stdout, stderr = proc.communicate(json.dumps(runs).encode(), timeout=300)
        assert proc.returncode == 0, stderr.decode()[-3000:]
        out.append(json.loads(stdout))
    return out if len(out) > 1 else out[0]


SINGLE = 1 << 62  # a threshold no file reaches


def _variants(path: pathlib.Path, n: int, few: bool = False) -> list[list[str]]:
    """Text and JSON, whole and with --conn (in range, at the end, past it); `few`: fewer."""
    argv = ["replay", str(path), "--conversations"]
    out = []
    for fmt in ("text", "json"):
        out.append([*argv, "--format", fmt])
        conns = {n - 1, n} if few else {0, 1, n // 2, n - 1, n, n + 5}
        for conn in sorted(conns if n else {0}):
            if conn >= 0:
                out.append([*argv, "--format", fmt, "--conn", str(conn)])
    return out


def _conversation_count(path: pathlib.Path) -> int:
    r = Replay(summary_only=True)
    try:
        r.feed(path.read_bytes())
    except (OSError, IsADirectoryError):
        return 0
    return len(r.tracker.conversations)


def test_the_command_prints_the_same_on_two_cores(files):
    """Every capture, busy made-up ones and the malformed corpus; text and JSON; --conn
    in range and out of it: the parallel run prints what the single run prints, byte for
    byte (stdout, stderr, exit code), and leaves no process behind."""
    runs = []
    for name, path in sorted(files.items()):
        n = _conversation_count(path) if path.is_file() else 0
        for argv in _variants(path, n, few=name.startswith("malformed-")):
            runs.append((name, argv))
    single, parallel = drive(
        [{"argv": argv, "min_bytes": SINGLE, "fault": None} for _, argv in runs],
        [{"argv": argv, "min_bytes": 0, "fault": None} for _, argv in runs],
    )
    took_parallel = 0
    for (name, argv), a, b in zip(runs, single, parallel):
        assert a["path"] in ("single", ""), (name, a["path"])
        assert (b["rc"], b["out"], b["err"]) == (a["rc"], a["out"], a["err"]), argv
        assert not b["child_left"], argv
        if b["rc"] == 0:
            assert b["path"] == "parallel", (argv, b["path"])
            took_parallel += 1
    busy = [b for (name, _), b in zip(runs, parallel) if name == "busy-150.pcap" and b["rc"] == 0]
    assert busy and all(b["path"] == "parallel" for b in busy)
    assert took_parallel > 100
    # The tables are real: the busy capture's has port reuse, refusals, RSTs, both halves.
    table = [json.loads(line) for line in parallel[[i for i, (n, a) in enumerate(runs)
             if n == "busy-150.pcap" and a[-1] == "json"][0]]["out"].splitlines()]  # fmt: skip
    assert len(table) > 150 and any(t["reused_by"] is not None for t in table)
    assert {t["client"]["state"] for t in table} >= {"CLOSED", "TIME_WAIT", "ESTABLISHED"}


def test_small_files_stay_in_one_process(files):
    res = drive([{"argv": ["replay", str(files["normal.pcap"]), "--conversations"], "min_bytes": 8 << 20,
                  "fault": None}])  # fmt: skip
    assert res[0]["rc"] == 0 and res[0]["path"] == "single"


def test_a_busy_machine_keeps_one_process(tmp_path, monkeypatch):
    """No free CPU: the helper would only take turns with this process; unknown: assume free."""
    loadavg = tmp_path / "loadavg"
    monkeypatch.setattr(conv_parallel, "LOADAVG", str(loadavg))
    cpus = os.cpu_count() or 1
    loadavg.write_text(f"0.10 0.20 0.30 1/120 4242\n")
    assert conv_parallel.cpu_free()
    loadavg.write_text(f"2.10 2.20 2.30 {cpus + 1}/120 4242\n")
    assert not conv_parallel.cpu_free()
    loadavg.write_text("garbled")
    assert conv_parallel.cpu_free()
    loadavg.unlink()
    assert conv_parallel.cpu_free()
    loadavg.write_text(f"2.10 2.20 2.30 {cpus + 1}/120 4242\n")
    monkeypatch.setattr(conv_parallel, "_cpus", lambda: 2)
    monkeypatch.setattr(conv_parallel.threading, "active_count", lambda: 1)
    big = tmp_path / "big.pcap"
    big.write_bytes(busy_capture(20, 5))
    with open(big, "rb") as f:
        assert conv_parallel.Helper.start(f, "big.pcap", 1 << 20, min_bytes=0) is None
    assert conv_parallel.last_path == "single: no free CPU"


@pytest.mark.parametrize("fault", ["exit", "garbage", "lies", "wrong-shape", "missing", "abort", "hang", "no-fork"])
def test_a_failing_helper_costs_time_only(files, fault):
    """Whatever goes wrong with the helper, the table is the single run's, nothing else is
    shown, the exit code is 0 (or today's), and no process is left behind."""
    cases = [files["busy-150.pcap"], files["busy-cut.pcap"], files["course-example.pcap"]]
    runs = [["replay", str(p), "--conversations", "--format", fmt] for p in cases for fmt in ("text", "json")]
    runs.append(["replay", str(files["busy-60.pcap"]), "--conversations", "--conn", "3"])
    single, broken = drive(
        [{"argv": a, "min_bytes": SINGLE, "fault": None} for a in runs],
        [{"argv": a, "min_bytes": 0, "fault": fault} for a in runs],
    )
    for argv, a, b in zip(runs, single, broken):
        assert (b["rc"], b["out"], b["err"]) == (a["rc"], a["out"], a["err"]), argv
        assert not b["child_left"]
        if fault == "no-fork":
            assert b["path"] == "single"
        elif "busy" in argv[1]:  # both halves hold conversations: the helper's is needed
            assert b["path"].startswith("fallback"), (argv, b["path"])


#: One parallel run whose helper waits (so that the run is still going when the test
#: signals it); writes the helper's pid to argv[1] once the parent waits for it.
SLOW_RUN = r"""
import os, sys, time
from tcp_lab.tui import cli, conv_parallel as cp
cp.MIN_BYTES = 0
cp.CHECK_IDLE = False
pidfile, mode = sys.argv[1], sys.argv[2]
real_helper, real_table = cp._helper_main, cp.Helper.table
if mode == "sleepy":
    def helper(*a):
        time.sleep(60)
        os._exit(0)
    cp._helper_main = helper
else:  # the real helper, slowed down: it reads small chunks, each after a pause
    from tcp_lab.core.replay import Replay
    def helper(*a):
        feed = Replay.feed
        Replay.feed = lambda self, chunk: (time.sleep(0.05), feed(self, chunk))[1]
        real_helper(*a)
    cp._helper_main = helper
    import tcp_lab.tui.cmd_replay as cr
    cr.CHUNK = 1024
def table(self, replay):
    with open(pidfile + ".tmp", "w") as f:
        f.write(str(self.pid))
    os.rename(pidfile + ".tmp", pidfile)
    return real_table(self, replay)
cp.Helper.table = table
sys.exit(cli.main(["replay", sys.argv[3], "--conversations"]))
"""


def _start_slow(tmp_path, files, mode):
    pidfile = tmp_path / f"helper-{mode}.pid"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_RUN, str(pidfile), mode, str(files["busy-150.pcap"])],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 30
    while not pidfile.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.02)
    return proc, int(pidfile.read_text())


def _gone(pid: int, within: float = 5.0) -> bool:
    """True once `pid` no longer runs (gone, or a zombie nobody reaped yet)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("who", ["group", "parent"])
def test_ctrl_c_during_a_parallel_run(tmp_path, files, who):
    """ctrl+c (SIGINT to the whole foreground group, as a terminal sends it) or SIGINT to
    tcp-lab alone: exit 130 as today, nothing printed, no traceback, the helper gone."""
    proc, helper = _start_slow(tmp_path, files, "sleepy")
    if who == "group":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert out == b"" and err == b""
    assert _gone(helper)


def test_a_killed_parent_takes_the_helper_with_it(tmp_path, files):
    """SIGTERM ends tcp-lab at once (as today); the helper notices and ends too."""
    proc, helper = _start_slow(tmp_path, files, "slow")
    os.kill(proc.pid, signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGTERM
    assert _gone(helper, within=10.0)
