"""tcp-lab compare on the shipped kernel captures and on hand-made ones: the closest
scenario, the alignment, and every difference marked with its explanation."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from teach_helpers import replay_file

from tcp_lab.core.compare import compare
from tcp_lab.core.explain import texts
from tcp_lab.core.options import build_options
from tcp_lab.core.pcapwrite import pcap_bytes, tcp_packet
from tcp_lab.core.segment import ACK, FIN, PSH, RST, SYN, Segment
from tcp_lab.tui.cmd_compare import model_runs

RUNS = None


def runs():
    global RUNS
    if RUNS is None:
        RUNS = model_runs()
    return RUNS


def cmp(path):
    replay = replay_file(path)
    timeline = replay.timeline(0)
    end = timeline[len(timeline) - 1].time
    return compare(timeline, runs(), capture_end=end)


def keys(c):
    return [n.key for r in c.rows for n in r.notes] + [n.key for n in c.notes]


def notes_of(c, key):
    return [n for r in c.rows for n in r.notes if n.key == key] + [n for n in c.notes if n.key == key]


def test_normal_capture_matches_the_textbook_scenario_step_for_step():
    c = cmp("captures/normal.pcap")
    assert c.scenario == "handshake-teardown" and c.cost == 0.0
    assert all(r.real is not None and r.model is not None for r in c.rows)
    assert [r.real.kind for r in c.rows] == [r.model.kind for r in c.rows]
    # Linux delays the ACK of the client's FIN by about 40 ms; the model ACKs at once.
    (delayed,) = notes_of(c, "cmp.delayed_ack")
    assert delayed.params["who"] == "server" and 40 <= int(delayed.params["ms"]) <= 60
    assert notes_of(c, "cmp.timestamps")[0].params["sides"] == "client and server"
    (tw,) = notes_of(c, "cmp.time_wait_unseen")
    assert tw.params["who"] == "client"


def test_course_example_delayed_ack_is_measured_against_the_round_trip():
    """The server is 29 ms away: its ACKs after 29 ms are immediate; the client's 41 ms ACK is delayed."""
    c = cmp("captures/course-example.pcap")
    assert c.scenario == "server-close"
    delayed = notes_of(c, "cmp.delayed_ack")
    assert [(n.params["who"], n.params["ms"]) for n in delayed] == [("client", "41")]
    assert "cmp.timestamps" not in keys(c)


def test_linux_resends_a_lost_fin_after_200_ms_not_1_s():
    c = cmp("captures/lost-fin.pcap")
    (rto,) = notes_of(c, "cmp.rto_linux")
    assert rto.params["who"] == "client" and 200 <= int(rto.params["ms"]) < 300
    # The dropped FIN never reached the server: the model's server is already in CLOSE_WAIT.
    states = notes_of(c, "cmp.state_differs")
    assert states[0].params == {**states[0].params, "who": "server", "real": "ESTABLISHED", "model": "CLOSE_WAIT"}


def test_a_lost_syn_is_resent_after_the_initial_rto_of_1_s():
    c = cmp("captures/simultaneous-open.pcap")
    rtos = notes_of(c, "cmp.rto_initial")
    assert rtos and all(1000 <= int(n.params["ms"]) < 1100 for n in rtos)


def test_closing_capture_is_the_simultaneous_close():
    c = cmp("captures/closing.pcap")
    assert c.scenario == "simultaneous-close"
    assert len(notes_of(c, "cmp.rto_linux")) == 4
    assert len(notes_of(c, "cmp.time_wait_unseen")) == 2


def test_orphaned_fin_wait_2_answered_with_rst():
    c = cmp("captures/fin-wait-2-timeout.pcap")
    (note,) = notes_of(c, "cmp.fin_wait_2_timeout")
    assert note.params["who"] == "client" and float(note.params["seconds"]) > 1.0


def test_refused_and_rst_abort_find_their_scenarios():
    assert cmp("captures/refused.pcap").scenario == "refused"
    assert cmp("captures/rst-abort.pcap").scenario == "rst-abort"


# ---- hand-made captures: what the recorded ones do not show ---------------------------

C, S = ("192.0.2.10", 40000), ("198.51.100.80", 80)


def seg(sender, seq, ack, flags, length=0, options=b""):
    (a, p), (b, q) = (C, S) if sender == "c" else (S, C)
    return Segment(a, p, b, q, seq, ack, flags, 64000, length, options)


def write(tmp_path, name, items):
    packets = [(t, tcp_packet(s, bytes(s.length))) for t, s in items]
    path = tmp_path / name
    path.write_bytes(pcap_bytes(packets))
    return path


def handshake(t=0.0):
    return [
        (t, seg("c", 100, 0, SYN, options=build_options(mss=1460))),
        (t + 0.001, seg("s", 900, 101, SYN | ACK, options=build_options(mss=1460))),
        (t + 0.002, seg("c", 101, 901, ACK)),
    ]


def test_fin_with_data_psh_on_fin_and_fin_riding_on_the_ack(tmp_path):
    path = write(tmp_path, "merged.pcap", handshake() + [
        (0.010, seg("c", 101, 901, FIN | PSH | ACK, length=20)),   # FIN + data + PSH
        (0.011, seg("s", 901, 122, FIN | ACK)),                      # FIN acks the client's FIN
        (0.012, seg("c", 122, 902, ACK)),
    ])
    c = cmp(path)
    found = keys(c)
    assert "cmp.fin_with_data" in found and "cmp.psh_fin" in found
    (merged,) = notes_of(c, "cmp.fin_with_ack")
    assert merged.params["who"] == "server"


def test_challenge_ack_to_a_syn_and_to_an_in_window_rst(tmp_path):
    path = write(tmp_path, "challenge.pcap", handshake() + [
        (0.010, seg("c", 100, 0, SYN)),            # the SYN again on the open connection
        (0.011, seg("s", 901, 101, ACK)),           # challenge ACK (RFC 5961 4.2)
        (0.020, seg("c", 150, 0, RST)),             # an in-window RST, not at RCV.NXT
        (0.021, seg("s", 901, 101, ACK)),           # challenge ACK (RFC 5961 3.2)
    ])
    c = cmp(path)
    notes = notes_of(c, "cmp.challenge_ack")
    assert [(n.params["who"], n.params["why"]) for n in notes] == [("server", "SYN"), ("server", "RST")]


def test_time_wait_cut_short_by_port_reuse(tmp_path):
    first = handshake() + [
        (0.010, seg("c", 101, 901, FIN | ACK)),
        (0.011, seg("s", 901, 102, ACK)),
        (0.012, seg("s", 901, 102, FIN | ACK)),
        (0.013, seg("c", 102, 902, ACK)),
    ]
    second = [(2.0, seg("c", 100000, 0, SYN, options=build_options(mss=1460)))]
    path = write(tmp_path, "reuse.pcap", first + second)
    proc = subprocess.run([sys.executable, "-m", "tcp_lab.tui.cli", "compare", str(path), "--conn", "0", "--format", "json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    (note,) = [n for n in data["notes"] if n["key"] == "cmp.time_wait_short"]
    assert "2.0 s after the client entered TIME_WAIT" in note["text"]


# ---- the command ----------------------------------------------------------------------


def test_compare_text_and_json():
    text = subprocess.run([sys.executable, "-m", "tcp_lab.tui.cli", "compare", "captures/lost-fin.pcap", "--format", "text"], capture_output=True, text=True, timeout=60)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].startswith("Closest built-in scenario: handshake-teardown")
    assert any("C→S ↻[FIN,ACK] Seq=66 Ack=108 Len=0" in ln and ln.endswith("·") for ln in lines) or any("↻[FIN,ACK]" in ln for ln in lines)
    assert any("Linux's minimum RTO is 200 ms" in ln for ln in lines)
    zh = subprocess.run([sys.executable, "-m", "tcp_lab.tui.cli", "compare", "captures/lost-fin.pcap", "--format", "json", "--lang", "zh"], capture_output=True, text=True, timeout=60)
    data = json.loads(zh.stdout)
    assert data["scenario"] == "handshake-teardown" and data["conn"] == 0
    assert any("TCP_RTO_MIN" in n["text"] and "最小 RTO" in n["text"] for r in data["rows"] for n in r["notes"])
    assert len(data["rows"]) >= 12 and data["rows"][0]["real"]["flags"] == ["SYN"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["captures/nope.pcap"], "no such file"),
        (["captures/normal.pcap", "--conn", "7"], "there is no conversation 7"),
        (["pyproject.toml"], "not a pcap or pcapng capture"),
    ],
)
def test_compare_bad_input_is_one_sentence(argv, message):
    proc = subprocess.run([sys.executable, "-m", "tcp_lab.tui.cli", "compare", *argv, "--format", "text"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1


def test_every_teaching_text_has_both_languages_and_its_placeholders():
    from tcp_lab.core import texts_teach

    for key, entry in texts_teach.TEXTS.items():
        assert set(entry) == {"en", "zh"} and entry["en"] and entry["zh"], key
        assert key in texts()
