"""The terminal resized to 20x8 and back to 100x30 (tmux resize-window), on every screen
and with every menu open: no crash, one sentence while it is too small, and afterwards
the screen exactly as it was (capture-pane text equal: same step, same selection, same
menu, same typed filter). Keys pressed while it is too small wait (only q and ctrl+c
act), so they change nothing either.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netns_util import netns  # noqa: E402,F401  (a fixture)
from terminal_util import HEIGHT, ROOT, WIDTH, Terminal, tcp_lab_command  # noqa: E402

TCP_LAB = tcp_lab_command()
COURSE = ROOT / "captures" / "course-example.pcap"

CASES = {
    # id: (command, ready marker, keys, marker once the keys have acted)
    "lab": (TCP_LAB, "Press n", ["n", "n", "n", "n"], "SYN_RCVD"),
    "lab-help": (TCP_LAB, "Press n", ["n", "n", "?"], "How to read"),
    "lab-scenarios": (TCP_LAB, "Press n", ["s", "l", "o", "s", "t"], "lost-syn"),
    "lab-quiz": (TCP_LAB, "Press n", ["n", "z"], "to answer · q quits"),
    "lab-export": (TCP_LAB, "Press n", ["n", "n", "n", "e"], "for Wireshark"),
    "replay": (f"{TCP_LAB} replay {COURSE}", "course-example.pcap #0", ["n", "n", "n", "Down"], "step 5 of 13"),
    "replay-filter": (f"{TCP_LAB} replay {COURSE}", "course-example.pcap #0", ["n", "/", "8", "0"], "/80"),
    "replay-help": (f"{TCP_LAB} replay {COURSE}", "course-example.pcap #0", ["n", "?"], "How to read"),
}


def too_small_shown(screen: str) -> bool:
    text = " ".join(line.strip() for line in screen.splitlines())
    return "Terminal too small: 20x8." in text and "at least 60x20" in text


def round_trip(term: Terminal) -> tuple[str, str, str]:
    """(before, while small, after): the screen settled at 100x30, at 20x8 (after a key
    that must wait), and at 100x30 again."""
    before = term.settled()
    term.resize(20, 8)
    small = term.wait_for(too_small_shown)
    term.keys("n")  # waits: nothing below may change
    small = term.settled()
    assert too_small_shown(small), small
    term.resize(WIDTH, HEIGHT)
    term.wait_for(lambda s: not too_small_shown(s) and len(s.splitlines()[0]) > 20)
    return before, small, term.settled()


@pytest.mark.parametrize("which", list(CASES))
def test_20x8_and_back_leaves_the_screen_exactly_as_it_was(which):
    command, ready, keys, marker = CASES[which]
    term = Terminal(command)
    try:
        term.wait_for(lambda s: ready in s)
        for key in keys:
            before = term.screen()
            term.keys(key)
            term.wait_for(lambda s, before=before: s != before, timeout=5)
        term.wait_for(lambda s: marker in s)
        before, small, after = round_trip(term)
        assert after == before
        assert term.screen_up()
        # Twice more, in quick succession: still the same.
        for _ in range(2):
            term.resize(20, 8)
            term.resize(WIDTH, HEIGHT)
        assert term.settled() == before
        term.keys("C-c")
        rc, same, screen = term.result()
        assert rc == 0 and same
        term.restored(screen)
    finally:
        term.kill()


def test_the_live_screen_too(netns):  # noqa: F811
    term = Terminal(f"ip netns exec {netns.name} env TCP_LAB_DEMO_PAUSE=0.05 {TCP_LAB} sniff --demo")
    try:
        term.wait_for(lambda s: "the demo is over" in s, timeout=20)
        term.keys("Home", "n")
        term.wait_for(lambda s: "step 2 ·" in s)
        # The "Following paused" notice is a toast that times out on its own: let it go
        # first, or the screen before and after differ by the toast alone.
        term.wait_for(lambda s: "Following paused" in s)
        term.wait_for(lambda s: "Following paused" not in s, timeout=20)
        before, small, after = round_trip(term)
        assert after == before
        term.keys("q")
        rc, same, screen = term.result()
        assert rc == 0 and same
        term.restored(screen)
    finally:
        term.kill()


def test_a_signal_while_too_small_still_restores_the_terminal():
    import subprocess

    term = Terminal(TCP_LAB)
    try:
        term.wait_for(lambda s: "Press n" in s)
        term.resize(20, 8)
        term.wait_for(too_small_shown)
        subprocess.run(["kill", "-TERM", str(term.pid())], check=True)
        term.resize(WIDTH, HEIGHT)
        rc, same, screen = term.result()
        assert rc == 143 and same
        term.restored(screen)
    finally:
        term.kill()
