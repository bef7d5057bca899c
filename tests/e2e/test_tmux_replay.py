"""The installed `tcp-lab replay` and `tcp-lab sniff --demo` in a real terminal (tmux).

- `tcp-lab replay captures/course-example.pcap`: the keys walk the course notes' example,
  the panes show both endpoints' states; q gives the terminal back as it was.
- `cat FILE | tcp-lab replay -`: the capture comes on stdin, a real pipe, while the keys
  come from the terminal (the screen reads /dev/tty): the screen opens, follows the stream,
  answers keys, and q restores the terminal. A slow pipe shows the screen open before the
  capture is complete and fill as records arrive. Input that is not a capture is one
  sentence and exit code 2, the terminal restored.
- `tcp-lab sniff --demo` in a fresh network namespace: the live screen shows the real
  connection reach TIME_WAIT / CLOSED, and q ends it at once (capture and demo threads
  included).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from replay_fixture import pcap_records  # noqa: E402
from test_tmux_lab import ROOT, Tmux, pane_states, tcp_lab_command  # noqa: E402

COURSE = ROOT / "captures" / "course-example.pcap"


def _session(command: str) -> Tmux:
    return Tmux(f"sh -c '{command}; echo EXITED $?; exec sleep 60'")


@pytest.fixture
def tmux_sessions():
    made: list[Tmux] = []

    def start(command: str) -> Tmux:
        session = _session(command)
        made.append(session)
        return session

    yield start
    for session in made:
        session.kill()


def _restored(term: Tmux, screen: str) -> None:
    assert term.flag("alternate_on") == "0"  # the alternate screen is left
    assert term.flag("cursor_flag") == "1"  # the cursor is visible again
    assert "Segments" not in screen and "Client " not in screen


def _press(term: Tmux, key: str) -> str:
    before = term.screen()
    term.keys(key)
    term.wait_for(lambda s: s != before, timeout=5)
    return term.settled()


def test_replay_a_file_with_the_keys_then_q(tmux_sessions):
    term = tmux_sessions(f"{tcp_lab_command()} replay {COURSE}")
    screen = term.wait_for(lambda s: "course-example.pcap #0" in s and pane_states(s) is not None)
    assert term.flag("alternate_on") == "1"
    assert pane_states(term.settled()) == ("SYN_SENT", "SYN_RCVD")
    assert "52296 → 80 [SYN] Seq=0 Win=64240" in screen  # the Info column, cut to the width
    assert pane_states(_press(term, "n")) == ("ESTABLISHED", "SYN_RCVD")
    assert pane_states(_press(term, "n")) == ("ESTABLISHED", "ESTABLISHED")
    screen = _press(term, "End")
    assert pane_states(screen) == ("CLOSED", "TIME_WAIT") and "step 13 of 13" in screen
    assert pane_states(_press(term, "p")) == ("LAST_ACK", "TIME_WAIT")
    assert pane_states(_press(term, "Home")) == ("SYN_SENT", "SYN_RCVD")
    term.keys("q")
    screen = term.wait_for(lambda s: "EXITED" in s)
    assert "EXITED 0" in screen
    _restored(term, screen)


def test_cat_file_into_replay_dash_keys_from_the_terminal(tmux_sessions):
    term = tmux_sessions(f"cat {COURSE} | {tcp_lab_command()} replay -")
    screen = term.wait_for(lambda s: "stdin ended" in s and pane_states(s) is not None)
    assert "stdin #0" in screen
    assert pane_states(term.settled()) == ("CLOSED", "TIME_WAIT")  # followed to the end
    assert pane_states(_press(term, "Home")) == ("SYN_SENT", "SYN_RCVD")
    assert pane_states(_press(term, "n")) == ("ESTABLISHED", "SYN_RCVD")
    term.keys("q")
    screen = term.wait_for(lambda s: "EXITED" in s)
    assert "EXITED 0" in screen
    _restored(term, screen)


def test_a_slow_pipe_opens_the_screen_at_once_and_fills_it(tmux_sessions):
    header, records = pcap_records(COURSE.read_bytes())
    first = len(header) + sum(len(rec) for _, _, rec in records[:3])  # the handshake
    command = (
        f"(head -c {first} {COURSE}; sleep 2; tail -c +{first + 1} {COURSE}) | {tcp_lab_command()} replay -"
    )
    term = tmux_sessions(command)
    screen = term.wait_for(lambda s: pane_states(s) == ("ESTABLISHED", "ESTABLISHED"), timeout=8)
    assert "Reading stdin" in screen and "3 segments in 1 connection" in screen and "following" in screen
    screen = term.wait_for(lambda s: "stdin ended" in s, timeout=10)
    assert pane_states(term.settled()) == ("CLOSED", "TIME_WAIT")
    term.keys("q")
    screen = term.wait_for(lambda s: "EXITED" in s)
    assert "EXITED 0" in screen
    _restored(term, screen)


def test_a_pipe_that_is_not_a_capture_is_one_sentence_and_exit_2(tmux_sessions):
    term = tmux_sessions(f"echo hello, not a capture | {tcp_lab_command()} replay -")
    screen = term.wait_for(lambda s: "EXITED" in s)
    assert "EXITED 2" in screen
    assert "tcp-lab: the input is a text file, not a pcap or pcapng capture" in screen
    assert "Traceback" not in screen
    _restored(term, screen)


def test_sniff_demo_on_the_live_screen_then_q(tmux_sessions):
    from netns_util import namespace, require_netns

    require_netns()
    with namespace("tcplab-test") as ns:
        term = tmux_sessions(
            f"ip netns exec {ns.name} env TCP_LAB_DEMO_PAUSE=0.3 {tcp_lab_command()} sniff --demo"
        )
        screen = term.wait_for(lambda s: "the demo is over" in s and "TIME_WAIT" in s, timeout=30)
        assert "live on lo #0" in screen and "Act 8/8" in screen
        assert pane_states(term.settled()) == ("TIME_WAIT", "CLOSED")
        assert "dropped by the kernel" in screen
        term.keys("q")
        screen = term.wait_for(lambda s: "EXITED" in s, timeout=5)
        assert "EXITED 0" in screen
        _restored(term, screen)
