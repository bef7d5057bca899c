"""ctrl+c and signals at many moments, in a real terminal (tmux) and headless.

What a user must be able to count on, whatever the moment:

- On a screen (lab, replay of a file, replay of a pipe, the live demo; and with the help,
  scenario chooser, quiz, export menu, command palette or filter open), ctrl+c is a key
  and quits like q: exit code 0.
- ctrl+c typed before the screen is up (the terminal still cooked: it is a SIGINT), and
  SIGINT / SIGTERM / SIGHUP sent from outside while a screen runs or a big file loads:
  the app ends with 128 + the signal's number (130, 143, 129); a live sniff with 0 once it
  captures (stopping is what a sniff is for).
- Always: no traceback, the terminal exactly as before (``stty -g`` equal, so echo,
  canonical mode and signals are back), the alternate screen left, the cursor visible,
  mouse reporting off; a sniff's --write file is a valid pcap; the demo's sockets are
  closed and its process ends at once.
- Headless: replay (a file or a pipe) ends on SIGINT with 130 and nothing on stderr; a
  sniff on SIGINT, SIGTERM or SIGHUP with 0, its rows, its stats line, and a valid pcap.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netns_util import netns  # noqa: E402,F401  (a fixture)
from terminal_util import ROOT, Terminal, tcp_lab_command  # noqa: E402

TCP_LAB = tcp_lab_command()
COURSE = ROOT / "captures" / "course-example.pcap"
MAKE_BIG = ROOT / "tests" / "bench" / "make_big_pcap.py"
DEMO_PAUSE = "0.3"


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    """300,000 segments in 3,000 connections (139 MB): the replay screen reads it for
    about two seconds, long enough to interrupt it while it loads."""
    path = tmp_path_factory.mktemp("big") / "big.pcap"
    subprocess.run([sys.executable, str(MAKE_BIG), str(path), "--segments", "300000", "--connections", "3000",
                    "--concurrency", "300"], check=True, capture_output=True)
    return path


@pytest.fixture
def terms():
    made: list[Terminal] = []

    def start(command: str, env: dict[str, str] | None = None) -> Terminal:
        term = Terminal(command, env)
        made.append(term)
        return term

    yield start
    for term in made:
        term.kill()


def ended_well(term: Terminal, code: int) -> str:
    rc, same, screen = term.result()
    assert rc == code, screen
    assert same, f"the terminal modes changed:\n{screen}"
    term.restored(screen)
    return screen


def tshark_count(path: Path) -> int:
    out = subprocess.run(["tshark", "-r", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return len(out.stdout.splitlines())


def pcap_records(path: Path) -> int:
    from netns_util import count_pcap_records

    data = path.read_bytes()
    return count_pcap_records(data)


# -- ctrl+c, the key ---------------------------------------------------------------------------


LAB_READY = "Press n"
SCREENS = {
    # id: (command, ready marker, keys, marker once the keys have acted)
    "lab": (TCP_LAB, LAB_READY, [], LAB_READY),
    "lab-help": (TCP_LAB, LAB_READY, ["?"], "How to read"),
    "lab-scenarios": (TCP_LAB, LAB_READY, ["s"], "Choose a scenario"),
    "lab-quiz": (TCP_LAB, LAB_READY, ["n", "z"], "to answer · q quits"),
    "lab-export": (TCP_LAB, LAB_READY, ["e"], "for Wireshark"),
    "lab-palette": (TCP_LAB, LAB_READY, ["C-p"], "Search for commands"),
    "replay": (f"{TCP_LAB} replay {COURSE}", "course-example.pcap #0", ["n"], "step 2 of 13"),
    "replay-filter": (f"{TCP_LAB} replay {COURSE}", "course-example.pcap #0", ["/", "4", "4", "3"],
                      "no connection"),
    "replay-pipe": (f"cat {COURSE} | {TCP_LAB} replay -", "stdin ended", [], "stdin ended"),
}


@pytest.mark.parametrize("which", list(SCREENS))
def test_ctrl_c_quits_like_q_on_every_screen_and_menu(terms, which):
    command, ready, keys, marker = SCREENS[which]
    term = terms(command)
    term.wait_for(lambda s: ready in s)
    type_keys(term, keys)
    term.wait_for(lambda s: marker in s)
    term.keys("C-c")
    ended_well(term, 0)


def type_keys(term: Terminal, keys: list[str]) -> None:
    """Press keys one at a time, each once the screen has answered the one before."""
    for key in keys:
        before = term.screen()
        term.keys(key)
        term.wait_for(lambda s, before=before: s != before, timeout=5)


def test_ctrl_c_with_text_selected_in_the_filter_copies_it_then_quits(terms):
    term = terms(f"{TCP_LAB} replay {COURSE}")
    term.wait_for(lambda s: "course-example.pcap #0" in s)
    type_keys(term, ["/", *"80"])
    term.wait_for(lambda s: any(line.startswith("80 ") for line in s.splitlines()))
    term.keys("S-Home")  # select what was typed
    time.sleep(0.2)
    term.keys("C-c")
    term.wait_for(lambda s: "Copied the selected text" in s)
    assert term.screen_up()
    term.keys("C-c")  # nothing selected now: quits
    ended_well(term, 0)


# -- ctrl+c in the first moments: a signal before the screen, a key once it is up --------------


@pytest.mark.parametrize("which", ["lab", "replay-big", "replay-big-pipe"])
def test_ctrl_c_at_any_moment_of_start_up(terms, big, which):
    command = {
        "lab": TCP_LAB,
        "replay-big": f"{TCP_LAB} replay {big}",
        "replay-big-pipe": f"cat {big} | {TCP_LAB} replay -",
    }[which]
    delays = [0.05, 0.15, 0.3, 0.5, None] if which == "lab" else [0.1, 0.4, None]
    codes = []
    for delay in delays:
        term = terms(command)
        term.pid()  # tcp-lab's process exists
        if delay is None:
            term.wait_for(lambda s: term.screen_up() and "palette" in s)  # the screen is up
        else:
            time.sleep(delay)
        term.keys("C-c")
        rc, same, screen = term.result()
        assert rc in (0, 130), screen  # 130: a SIGINT before the screen; 0: the key on it
        assert same, f"after ctrl+c at {delay} s the terminal modes changed:\n{screen}"
        term.restored(screen)
        codes.append(rc)
        term.kill()
    assert codes[0] == 130 and codes[-1] == 0, codes


# -- signals from outside ------------------------------------------------------------------------


OUTSIDE = {
    # id: (command, ready marker, keys, marker, signal, exit code)
    "lab-int": (TCP_LAB, LAB_READY, [], LAB_READY, signal.SIGINT, 130),
    "lab-term": (TCP_LAB, LAB_READY, [], LAB_READY, signal.SIGTERM, 143),
    "lab-hup": (TCP_LAB, LAB_READY, [], LAB_READY, signal.SIGHUP, 129),
    "lab-quiz-term": (TCP_LAB, LAB_READY, ["n", "z"], "to answer · q quits", signal.SIGTERM, 143),
    "lab-export-int": (TCP_LAB, LAB_READY, ["e"], "for Wireshark", signal.SIGINT, 130),
    "replay-int": (f"{TCP_LAB} replay {COURSE}", "course-example.pcap #0", ["n"], "step 2 of 13", signal.SIGINT, 130),
}


@pytest.mark.parametrize("which", list(OUTSIDE))
def test_a_signal_from_outside_ends_the_screen_and_restores_the_terminal(terms, which):
    command, ready, keys, marker, sig, code = OUTSIDE[which]
    term = terms(command)
    term.wait_for(lambda s: ready in s)
    type_keys(term, keys)
    term.wait_for(lambda s: marker in s)
    subprocess.run(["kill", f"-{sig.value}", str(term.pid())], check=True)
    ended_well(term, code)


@pytest.mark.parametrize("pipe", [False, True], ids=["file", "pipe"])
@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["int", "term"])
def test_a_signal_while_a_big_capture_loads(terms, big, pipe, sig, code):
    command = f"cat {big} | {TCP_LAB} replay -" if pipe else f"{TCP_LAB} replay {big}"
    term = terms(command)
    loading = "Reading stdin" if pipe else "Reading big.pcap"
    screen = term.wait_for(lambda s: loading in s and "segments in" in s)
    pid = term.pid()
    subprocess.run(["kill", f"-{sig.value}", str(pid)], check=True)
    start = time.monotonic()
    ended_well(term, code)
    assert time.monotonic() - start < 5
    assert "segments in" in screen


# -- the live demo --------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["ctrl+c", "sigint", "sigterm"])
def test_the_live_demo_interrupted_mid_act(terms, netns, tmp_path, how):  # noqa: F811
    out = tmp_path / "demo.pcap"
    term = terms(f"ip netns exec {netns.name} env TCP_LAB_DEMO_PAUSE={DEMO_PAUSE} {TCP_LAB} sniff --demo "
                 f"--write {out}")
    term.wait_for(lambda s: "Act 3/8" in s)
    pid = term.pid()
    if how == "ctrl+c":
        term.keys("C-c")
    else:
        subprocess.run(["kill", "-INT" if how == "sigint" else "-TERM", str(pid)], check=True)
    start = time.monotonic()
    ended_well(term, 0)
    assert time.monotonic() - start < 5
    # The demo's sockets are closed: no listener left, nothing established.
    states = {row.state for row in netns.ss()}
    assert not states & {"LISTEN", "ESTAB"}, states
    # The --write file is a valid pcap holding every packet captured (at least the handshake).
    n = pcap_records(out)
    assert n >= 3 and tshark_count(out) == n


# -- headless ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("pipe", [False, True], ids=["file", "pipe"])
def test_headless_replay_interrupted_is_130_and_silent(big, pipe):
    for delay in (0.05, 0.3, 0.8):
        if pipe:
            feeder = subprocess.Popen(["cat", str(big)], stdout=subprocess.PIPE)
            proc = subprocess.Popen([TCP_LAB, "replay", "-", "--format", "text"], stdin=feeder.stdout,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            feeder.stdout.close()
        else:
            feeder = None
            proc = subprocess.Popen([TCP_LAB, "replay", str(big), "--format", "json"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        if feeder is not None:
            feeder.wait(10)
        assert proc.returncode == 130, (delay, err)
        assert err == b"", (delay, err)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["int", "term", "hup"])
def test_headless_demo_stopped_by_a_signal_keeps_everything(netns, tmp_path, sig):  # noqa: F811
    import os

    out = tmp_path / "demo.pcap"
    env = dict(os.environ, TCP_LAB_DEMO_PAUSE=DEMO_PAUSE)
    proc = netns.popen([TCP_LAB, "sniff", "--demo", "--format", "json", "--write", str(out)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env)
    # Wait for the third act on stderr, then signal.
    lines = []
    while not any("Act 3/8" in line for line in lines):
        line = proc.stderr.readline().decode()
        assert line, lines
        lines.append(line)
    proc.send_signal(sig)
    rows, err = proc.communicate(timeout=10)
    netns.forget(proc)
    err_lines = lines + err.decode().splitlines()
    assert proc.returncode == 0, err_lines
    assert not any("Traceback" in line for line in err_lines)
    assert err_lines[-1].startswith("tcp-lab: ") and " TCP segments in 1 conversation." in err_lines[-1]
    n_rows = len(rows.decode().splitlines())
    assert n_rows >= 3
    assert f"; {n_rows} TCP segments" in err_lines[-1]
    assert pcap_records(out) == n_rows and tshark_count(out) == n_rows
    states = {row.state for row in netns.ss()}
    assert not states & {"LISTEN", "ESTAB"}, states
