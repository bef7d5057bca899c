"""Faults while `tcp-lab sniff` captures: the interface goes down, is deleted, its peer's
namespace disappears, the capture socket fails. Real veth pairs between two network
namespaces, tcpdump and tshark as oracles.

What happens, and what a user keeps (tui/live_capture.py, tui/cmd_sniff.py):

- Down (``ip link set v0 down``): one line on stderr ("went down; waiting for it to come
  back up"), the sniff goes on; when it is up again, one line ("is up again") and the
  segments of new connections follow, numbered on. On the screen: the status line says
  it in yellow, a notification each way.
- Deleted (``ip link del v0``, or the peer's namespace deleted, which takes the veth pair
  with it; also while down): the headless sniff ends by itself: its rows, the stats line,
  then one sentence, exit code 3. On the screen: a red sentence, what was captured stays
  to be stepped through.
- The capture socket failing (a test double whose read raises EIO, or its descriptor
  closed under it): the same, "the capture on lo failed: <reason>". An ENETDOWN while
  the interface is up (it went down and up between two reads) is a bounce: "down" then
  "up", nothing lost.
- Always: every packet read before the fault is printed once and is in the --write file,
  which tshark reads, with the same segments as were printed and as tcpdump saw.
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import test_sniff_cli as sniff_cli  # noqa: E402  (as a module: its tests are not collected here)
from netns_util import netns  # noqa: E402,F401  (a fixture)
from tcp_lab.captures.netns import Namespace  # noqa: E402
from terminal_util import Terminal, tcp_lab_command  # noqa: E402

from tcp_lab.tui.live_capture import LiveCapture  # noqa: E402
from tcp_lab.tui.live_session import LiveSession, open_output  # noqa: E402

TCP_LAB = tcp_lab_command()
A_IP, B_IP = "10.77.0.1", "10.77.0.2"
PORT = 80


@pytest.fixture
def veth():
    """Namespace a (the sniffer's, with v0) and b (the peer's, with v1), 10.77.0.0/24."""
    if os.geteuid() != 0:
        pytest.fail("these tests need root (ip netns add, packet sockets)", pytrace=False)
    with Namespace("tcplab-fa") as a, Namespace("tcplab-fb") as b:
        run = lambda *argv: subprocess.run(argv, check=True, capture_output=True)  # noqa: E731
        run("ip", "link", "add", "v0", "netns", a.name, "type", "veth", "peer", "name", "v1", "netns", b.name)
        for ns, dev, ip in ((a, "v0", A_IP), (b, "v1", B_IP)):
            run("ip", "-n", ns.name, "addr", "add", f"{ip}/24", "dev", dev)
            run("ip", "-n", ns.name, "link", "set", dev, "up")
        yield a, b


class Peer:
    """A listening server in b and connections to it from a."""

    def __init__(self, a: Namespace, b: Namespace) -> None:
        self.a, self.b = a, b
        self.listener = b.socket()
        self.listener.bind((B_IP, PORT))
        self.listener.listen()
        self.open: list[socket.socket] = [self.listener]

    def connect(self, talk: bool = True) -> tuple[socket.socket, socket.socket]:
        client = self.a.socket()
        client.settimeout(10)
        client.connect((B_IP, PORT))
        server, _ = self.listener.accept()
        self.open += [client, server]
        if talk:
            client.sendall(b"request " * 40)
            got = 0
            while got < 320:
                got += len(server.recv(4096))
            server.sendall(b"answer " * 30)
            got = 0
            while got < 210:
                got += len(client.recv(4096))
        return client, server

    def close(self) -> None:
        for s in self.open:
            s.close()
        self.open = []


def ip(ns: Namespace, *argv: str) -> None:
    ns.run(["ip", *argv])


def stats_line(n: int, convs: int = 1) -> str:
    return (f"tcp-lab: {n} packets captured on v0, 0 dropped by the kernel, 0 skipped by the decoder; "
            f"{n} TCP segments in {convs} conversation{'s' if convs != 1 else ''}.")


def same_segments(frames: list[dict], *pcaps: Path) -> None:
    printed = sniff_cli.json_segments(frames)
    assert printed, "nothing was printed"
    for pcap in pcaps:
        assert sniff_cli.tshark_segments(pcap) == printed, pcap


# -- the interface deleted -----------------------------------------------------------------------


@pytest.mark.parametrize("how", ["ip-link-del", "peer-netns-deleted"])
def test_interface_deleted_ends_the_sniff_with_exit_3_keeping_every_packet(veth, tmp_path, how):
    a, b = veth
    out = tmp_path / "f.pcap"
    peer = Peer(a, b)
    with b.tcpdump(tmp_path / "oracle.pcap", iface="v1") as dump:
        sniff = sniff_cli.Sniff(a, "-i", "v0", "--format", "json", "--write", str(out))
        sniff.wait_capturing()
        peer.connect()
        if how == "peer-netns-deleted":
            peer.close()  # nothing may hold b: it goes, and the veth pair with it
        n = dump.wait_quiet(0.2)
        sniff.wait_for(lambda: len(sniff.out) >= n, what=f"{n} frames")
    if how == "ip-link-del":
        ip(a, "link", "del", "v0")
    else:
        b.delete()
    rc = sniff.finish(sig=None, timeout=10)  # it ends by itself
    assert rc == 3, sniff.err
    assert sniff.err[1:] == [
        stats_line(n),
        f"tcp-lab: the interface v0 was deleted during the capture; the {n} packets captured before that are "
        f"kept in {out}.",
    ]
    frames = sniff.frames()
    assert len(frames) == n
    same_segments(frames, out, tmp_path / "oracle.pcap")
    peer.close()


def test_interface_deleted_while_down_ends_the_sniff_too(veth, tmp_path):
    a, b = veth
    out = tmp_path / "f.pcap"
    peer = Peer(a, b)
    sniff = sniff_cli.Sniff(a, "-i", "v0", "--format", "text", "--write", str(out))
    sniff.wait_capturing()
    peer.connect(talk=False)
    sniff.wait_for(lambda: len(sniff.out) >= 3, what="the handshake")
    ip(a, "link", "set", "v0", "down")
    sniff.wait_for(lambda: any("went down" in line for line in sniff.err), what="'went down'")
    ip(a, "link", "del", "v0")
    rc = sniff.finish(sig=None, timeout=5)
    assert rc == 3, sniff.err
    assert sniff.err[1:] == [
        "tcp-lab: the interface v0 went down; waiting for it to come back up (ctrl+c stops).",
        stats_line(3),
        f"tcp-lab: the interface v0 was deleted during the capture; the 3 packets captured before that are kept "
        f"in {out}.",
    ]
    assert len(sniff.out) == 3 and "[SYN]" in sniff.out[0]
    assert len(sniff_cli.tshark_segments(out)) == 3
    peer.close()


# -- the interface down, then up again -----------------------------------------------------------


def test_interface_down_waits_for_it_and_the_sniff_goes_on_when_it_is_up(veth, tmp_path):
    a, b = veth
    out = tmp_path / "f.pcap"
    peer = Peer(a, b)
    with b.tcpdump(tmp_path / "oracle.pcap", iface="v1") as dump:
        sniff = sniff_cli.Sniff(a, "-i", "v0", "--format", "json", "--write", str(out))
        sniff.wait_capturing()
        peer.connect()
        first = dump.wait_quiet(0.2)
        sniff.wait_for(lambda: len(sniff.out) >= first, what=f"{first} frames")
        ip(a, "link", "set", "v0", "down")
        sniff.wait_for(lambda: any("went down" in line for line in sniff.err), what="'went down'")
        time.sleep(0.5)
        assert sniff.proc.poll() is None  # still running: waiting for the interface
        ip(a, "link", "set", "v0", "up")
        sniff.wait_for(lambda: any("is up again" in line for line in sniff.err), what="'is up again'")
        peer.connect()  # a new connection, after
        n = dump.wait_quiet(0.2)
        sniff.wait_for(lambda: len(sniff.out) >= n, what=f"{n} frames")
    rc = sniff.finish()  # ctrl+c
    assert rc == 0
    assert sniff.err[1:] == [
        "tcp-lab: the interface v0 went down; waiting for it to come back up (ctrl+c stops).",
        "tcp-lab: the interface v0 is up again; capturing.",
        stats_line(n, 2),
    ]
    frames = sniff.frames()
    assert n > first and len(frames) == n
    assert [f["no"] for f in frames] == list(range(1, n + 1))
    assert {f["conn"] for f in frames[first:]} == {1}  # the second connection's segments follow
    same_segments(frames, out, tmp_path / "oracle.pcap")
    peer.close()


# -- the capture socket failing (test doubles at the socket's read) ------------------------------


class FailingSocket:
    """The capture socket's stand-in: the real socket, whose recvmsg raises `error` once
    `after` frames were read (every time, or only the first time when `once`)."""

    def __init__(self, real: socket.socket, after: int, error: OSError, once: bool = False) -> None:
        self.real = real
        self.after = after
        self.error = error
        self.once = once
        self.read = 0
        self.raised = 0

    def recvmsg(self, *args):
        if self.read >= self.after and not (self.once and self.raised):
            self.raised += 1
            raise self.error
        result = self.real.recvmsg(*args)
        self.read += 1
        return result

    def __getattr__(self, name: str):
        return getattr(self.real, name)


def _exchange_later(ns: Namespace, opened: threading.Event, port: int = 8080) -> threading.Thread:
    def run() -> None:
        opened.wait(10)
        time.sleep(0.3)  # the capture thread is reading by now
        sniff_cli._traffic(ns, 1)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_failing_read_ends_the_sniff_with_exit_3_after_the_last_packet(netns, tmp_path, monkeypatch, capsys):  # noqa: F811
    from tcp_lab.tui import cli

    out = tmp_path / "f.pcap"
    opened = threading.Event()
    original = LiveCapture.open

    def open_with_a_failing_socket(self):
        original(self)
        self.socket.ins = FailingSocket(self.socket.ins, after=4, error=OSError(errno.EIO, os.strerror(errno.EIO)))
        opened.set()
        return self

    monkeypatch.setattr(LiveCapture, "open", open_with_a_failing_socket)
    traffic = _exchange_later(netns, opened)
    with netns.inside():
        rc = cli.main(["sniff", "-i", "lo", "--port", "8080", "--format", "text", "--write", str(out)])
    traffic.join(10)
    printed, err = capsys.readouterr()
    assert rc == 3, err
    rows = printed.splitlines()
    assert len(rows) == 4 and "[SYN]" in rows[0]
    assert err.splitlines()[1:] == [
        "tcp-lab: 4 packets captured on lo, 0 dropped by the kernel, 0 skipped by the decoder; "
        "4 TCP segments in 1 conversation.",
        f"tcp-lab: the capture on lo failed: Input/output error; the 4 packets captured before that are kept in {out}.",
    ]
    assert len(sniff_cli.tshark_segments(out)) == 4


def test_enetdown_while_the_interface_is_up_is_a_bounce_and_nothing_is_lost(netns, tmp_path):  # noqa: F811
    with netns.tcpdump(tmp_path / "oracle.pcap", bpf="tcp port 8080") as dump:
        with netns.inside():
            capture = LiveCapture("lo", "tcp port 8080").open()
        capture.socket.ins = FailingSocket(capture.socket.ins, after=3, error=OSError(errno.ENETDOWN, "down"),
                                           once=True)
        capture.start()
        capture.wait_started(5)
        sniff_cli._traffic(netns, 1)
        n = dump.wait_quiet(0.2)
        deadline = time.monotonic() + 5
        while capture.stats().received < n and time.monotonic() < deadline:
            time.sleep(0.02)
        capture.stop()
    assert capture.error is None
    assert capture.take_notices() == ["down", "up"]
    assert not capture.link_down
    assert len(capture.take()) == n  # every packet: the one not read at the fault came next


# -- the live screen -----------------------------------------------------------------------------------


def test_the_screen_says_down_up_and_deleted_and_keeps_what_it_captured(veth, tmp_path):
    a, b = veth
    out = tmp_path / "screen.pcap"
    peer = Peer(a, b)
    try:
        with a.inside():
            asyncio.run(_screen_faults(a, peer, out))
    finally:
        peer.close()


async def _screen_faults(a: Namespace, peer: Peer, out: Path) -> None:
    from tui_helpers import lab_state, screen_text, toasts

    from tcp_lab.tui.live_app import live_app

    capture = LiveCapture("v0", "tcp").open()
    session = LiveSession(capture, write_fd=open_output(str(out)))
    app = live_app(session, highlight_seconds=None, cursor_blink=False)
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = app.screen

            def status() -> str:  # the status line (notifications may cover it on the screen)
                return str(screen.status_line())

            async def until(predicate, timeout: float = 10.0) -> None:
                deadline = time.monotonic() + timeout
                while not predicate():
                    assert time.monotonic() < deadline, screen_text(app)
                    await pilot.pause(0.05)

            await until(lambda: screen.started)
            await asyncio.to_thread(peer.connect)
            await until(lambda: len(session.replay) >= 5)
            ip(a, "link", "set", "v0", "down")
            await until(lambda: "v0 is down: waiting for it to come back up" in status())
            await until(lambda: any("v0 is down" in t for t in toasts(app)))
            ip(a, "link", "set", "v0", "up")
            await until(lambda: any("v0 is up again: capturing" in t for t in toasts(app)))
            before = len(session.replay)
            await asyncio.to_thread(peer.connect)
            await until(lambda: len(session.replay) >= before + 5 and "2 connections" in status())
            assert status().startswith("Capturing on v0 (tcp)")
            ip(a, "link", "del", "v0")
            await until(lambda: screen.failed is not None)
            await pilot.pause(0.1)
            assert status().startswith("The capture stopped: v0 was deleted · ")
            await until(lambda: any("What it captured stays here" in t for t in toasts(app)))
            assert len(session.replay) >= before + 5
            await pilot.press("home")  # what was captured can still be stepped through
            assert (lab_state(app)["client"], lab_state(app)["server"]) == ("SYN_SENT", "SYN_RCVD")
            await pilot.press("q")
        assert app.return_code == 0
    finally:
        capture.stop()
        session.close()
    # Every segment shown is in the --write file, and nothing else.
    assert len(sniff_cli.tshark_segments(out)) == len(session.replay)


def test_the_screen_shows_a_closed_capture_socket_and_keeps_the_segments(netns):  # noqa: F811
    with netns.inside():
        asyncio.run(_closed_descriptor(netns))


async def _closed_descriptor(ns: Namespace) -> None:
    from tui_helpers import lab_state, screen_text

    from tcp_lab.tui.live_app import live_app

    capture = LiveCapture("lo", "tcp port 8080").open()
    session = LiveSession(capture)
    app = live_app(session, highlight_seconds=None, cursor_blink=False)
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            screen = app.screen
            while not screen.started:
                await pilot.pause(0.05)
            await asyncio.to_thread(sniff_cli._traffic, ns, 1)
            deadline = time.monotonic() + 10
            while len(session.replay) < 7:
                assert time.monotonic() < deadline
                await pilot.pause(0.05)
            n = len(session.replay)
            os.close(capture.socket.ins.detach())  # the descriptor closed under the reader
            await asyncio.to_thread(sniff_cli._traffic, ns, 1)  # wakes it: its next read fails
            deadline = time.monotonic() + 10
            while screen.failed is None:
                assert time.monotonic() < deadline, screen_text(app)
                await pilot.pause(0.05)
            await pilot.pause(0.1)
            assert "The capture on lo stopped: Bad file descriptor" in screen_text(app)
            assert n <= len(session.replay) <= n + 7
            await pilot.press("home")
            assert lab_state(app)["client"] == "SYN_SENT"
            await pilot.press("q")
    finally:
        capture.stop()
        session.close()


# -- the screen, as a user runs it -------------------------------------------------------------------


def test_sniff_screen_in_a_terminal_interface_deleted_then_q(veth, tmp_path):
    a, b = veth
    out = tmp_path / "t.pcap"
    peer = Peer(a, b)
    term = Terminal(f"ip netns exec {a.name} {TCP_LAB} sniff -i v0 --write {out}")
    try:
        term.wait_for(lambda s: "Capturing on v0" in s)
        peer.connect()
        shown = re.search(r"(\d+) segments in 1", term.settled(0.5))
        assert shown, term.screen()
        n = int(shown.group(1))
        ip(a, "link", "del", "v0")
        screen = term.wait_for(lambda s: "The capture stopped: v0 was deleted" in s)
        assert f"step {n} of {n}" in screen  # all of it still shown
        term.keys("q")
        rc, same, screen = term.result()
        assert rc == 0 and same
        term.restored(screen)
    finally:
        term.kill()
        peer.close()
    assert len(sniff_cli.tshark_segments(out)) == n >= 5
