"""The screens with memory limits, as a user runs them in a terminal (tmux): `tcp-lab
replay FILE --max-...`, `... | tcp-lab replay - --max-...`, and `tcp-lab sniff --max-...`
on real loopback traffic in a network namespace. What the limits dropped is said on the
screen (the list's title, the status line, the step counter), q quits with 0 and the
terminal is restored. (tests/test_tui_limits.py checks every pane against a replay
without limits, through Pilot.)"""

from __future__ import annotations

import re
import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import test_tui_limits as limits_test  # noqa: E402  (as a module: its tests are not collected here)
from capbuild import pcap_header  # noqa: E402
from netns_util import netns  # noqa: E402,F401  (a fixture)
from terminal_util import Terminal, tcp_lab_command  # noqa: E402

TCP_LAB = tcp_lab_command()


def _big_capture(path: Path) -> Path:
    """120 connections of 127 segments each (over a megabyte: read in several slices)."""
    recs: list[bytes] = []
    for i in range(120):
        recs += limits_test.records(limits_test.connection(20000 + i, data=60), start=len(recs))
    path.write_bytes(pcap_header() + b"".join(recs))
    return path


def _quit(term: Terminal) -> None:
    term.keys("q")
    rc, same, screen = term.result()
    assert rc == 0 and same
    term.restored(screen)


def test_replay_a_file_with_limits_says_what_went(tmp_path):
    path = _big_capture(tmp_path / "big.pcap")
    term = Terminal(f"{TCP_LAB} replay {path} --max-conns 10 --max-segments-per-conn 50", width=120, height=36)
    try:
        # (The status line's right end may be under the notifications for a few seconds.)
        screen = term.wait_for(lambda s: "big.pcap: 15,240 segments in 120 connections · memory" in s)
        screen = term.settled()
        title = re.search(r"Connections (\d+) · (\d+) forgotten", screen)
        assert title, screen
        assert int(title.group(1)) + int(title.group(2)) == 120 and int(title.group(2)) > 90
        assert "Forgot the " in screen and "oldest closed conversations" in screen  # a notification
        # The connection shown is one that is kept; its panes show it.
        assert re.search(r"big\.pcap #\d+", screen)
        _quit(term)
    finally:
        term.kill()


def test_a_stream_on_stdin_with_limits_trims_the_conversation_shown(tmp_path):
    path = tmp_path / "long.pcap"
    recs = limits_test.records(limits_test.connection(40000, data=3000))  # 6,007 segments
    path.write_bytes(pcap_header() + b"".join(recs))
    # Slowly, so that the screen reads it in several batches (the limits look at each).
    command = (
        f"(head -c 100000 {path}; sleep 0.5; tail -c +100001 {path}) | "
        f"{TCP_LAB} replay - --max-segments 0 --max-segments-per-conn 500"
    )
    term = Terminal(command, width=120, height=36)
    try:
        screen = term.wait_for(lambda s: "stdin ended" in s)
        screen = term.settled()
        assert "Kept the last" in screen  # a notification
        dropped = re.search(r"step ([\d,]+) of ([\d,]+) kept · ([\d,]+) older dropped", screen)
        assert dropped, screen
        n, total, older = (int(g.replace(",", "")) for g in dropped.groups())
        assert n == total and total + older == 6007  # followed to the newest; all counted
        assert "stdin ended · 6,007 segments in 1 connection · memory" in screen
        term.keys("Home")
        screen = term.settled()
        assert f"step 1 of {total:,} kept · {older:,} older dropped" in screen
        _quit(term)
    finally:
        term.kill()


def test_sniff_screen_with_limits_forgets_old_connections(netns):  # noqa: F811
    listener = netns.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    term = Terminal(f"ip netns exec {netns.name} {TCP_LAB} sniff --port {port} --max-conns 2", width=120, height=36)
    try:
        term.wait_for(lambda s: f"Capturing on lo (tcp port {port})" in s)
        for _ in range(12):
            client = netns.socket()
            client.settimeout(5)
            client.connect(("127.0.0.1", port))
            served, _ = listener.accept()
            client.sendall(b"hello")
            served.recv(5)
            client.close()
            served.close()
            term.settled(0.15)  # one batch per connection: the limits look between them
        screen = term.wait_for(lambda s: "forgotten" in s)
        title = re.search(r"Connections (\d+) · (\d+) forgotten", screen)
        assert title, screen
        assert int(title.group(1)) <= 4 and int(title.group(1)) + int(title.group(2)) == 12
        assert f"Capturing on lo (tcp port {port}) · memory bound: " in screen
        _quit(term)
    finally:
        term.kill()
        listener.close()
