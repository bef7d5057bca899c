"""`tcp-lab replay` as a user runs it: real processes, real files and pipes."""

from __future__ import annotations

import gzip
import json
import os
import pathlib
import select
import subprocess
import sys
import types

import pytest

from tcp_lab.core.output import frame_json, frame_text
from tcp_lab.core.replay import Replay
from tcp_lab.tui import cli

CAPTURES = pathlib.Path(__file__).resolve().parent.parent / "captures"
COURSE = CAPTURES / "course-example.pcap"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tcp_lab.tui.cli", "replay", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
    )


def timeline_of(path: pathlib.Path):
    r = Replay()
    r.feed(path.read_bytes())
    return r.timeline()


def test_text_output_is_one_line_per_segment_with_both_states():
    p = run(str(COURSE), "--format", "text")
    assert p.returncode == 0 and p.stderr == b""
    lines = p.stdout.decode().splitlines()
    tl = timeline_of(COURSE)
    assert lines == [frame_text(tl[i]) for i in range(len(tl))]
    assert "client SYN_SENT    server SYN_RCVD" in lines[0]
    assert lines[12].endswith("80 → 52296 [ACK] Seq=358 Ack=1540 Win=32768 Len=0")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_json_output_is_frame_json_with_the_explanation(lang):
    p = run(str(COURSE), "--format", "json", "--lang", lang)
    assert p.returncode == 0
    lines = p.stdout.decode().splitlines()
    tl = timeline_of(COURSE)
    assert lines == [frame_json(tl[i], lang) for i in range(len(tl))]
    first = json.loads(lines[0])
    assert first["info"] == "52296 → 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460 WS=256 SACK_PERM"
    assert first["client"]["state"] == "SYN_SENT" and first["server"]["state"] == "SYN_RCVD"
    assert first["flags"] == ["SYN"] and first["explain"]


def test_conn_selects_one_conversation(tmp_path):
    both = tmp_path / "two.pcap"
    # Two captures' records back to back make a two-conversation capture.
    normal = (CAPTURES / "normal.pcap").read_bytes()
    refused = (CAPTURES / "refused.pcap").read_bytes()
    both.write_bytes(normal + refused[24:])
    p = run(str(both), "--format", "json", "--conn", "1")
    assert p.returncode == 0
    records = [json.loads(line) for line in p.stdout.decode().splitlines()]
    assert [r["conn"] for r in records] == [1, 1]
    assert [r["no"] for r in records] == [12, 13]  # capture frame numbers
    bad = run(str(both), "--format", "json", "--conn", "2")
    assert bad.returncode == 2 and bad.stdout == b""
    assert bad.stderr.decode().strip() == "tcp-lab: --conn 2: the capture holds 2 conversations, numbered 0 to 1"


def test_conversations_table():
    p = run(str(COURSE), "--conversations", "--format", "text")
    assert p.returncode == 0
    header, line = p.stdout.decode().splitlines()
    assert header.split()[:3] == ["conn", "client", "server"]
    assert line.split() == [
        "0", "10.21.71.101:52296", "<->", "118.178.116.8:80", "7", "1538", "6", "356",
        "0.000000", "5.089435", "CLOSED", "TIME_WAIT",
    ]  # fmt: skip
    j = run(str(CAPTURES / "refused.pcap"), "--conversations", "--format", "json")
    record = json.loads(j.stdout)
    assert (record["client"]["state"], record["server"]["state"]) == ("CLOSED", "CLOSED")
    assert record["client"]["segments"] == 1 and record["server"]["port"] == 80


def test_stdin_stream_gives_the_same_lines_as_the_file():
    data = (CAPTURES / "normal.pcap").read_bytes()
    from_file = run(str(CAPTURES / "normal.pcap"), "--format", "json")
    from_pipe = run("-", "--format", "json", stdin=data)
    assert from_pipe.returncode == 0
    assert from_pipe.stdout == from_file.stdout


def test_stdin_stream_prints_records_as_they_arrive():
    data = (CAPTURES / "normal.pcap").read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tcp_lab.tui.cli", "replay", "-", "--format", "text"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # The file header and the first record (the SYN), then wait with stdin open.
        first_record_end = 24 + 16 + int.from_bytes(data[24 + 8 : 24 + 12], "little")
        proc.stdin.write(data[:first_record_end])
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert ready, "the first segment was not printed while the stream stayed open"
        line = os.read(proc.stdout.fileno(), 4096).decode()
        assert "[SYN]" in line and "client SYN_SENT" in line
        proc.stdin.write(data[first_record_end:])
        proc.stdin.close()
        rest = proc.stdout.read().decode()
        assert proc.wait(20) == 0
        assert len((line + rest).splitlines()) == 11
    finally:
        proc.kill()


@pytest.mark.parametrize(
    "content, sentence",
    [
        (b"", "is empty: there is no capture to read"),
        (b"hello, this is a note\n", "is a text file, not a pcap or pcapng capture"),
        (gzip.compress(COURSE.read_bytes()), "is a gzip-compressed file (decompress it first: gunzip), not a pcap or pcapng capture"),
    ],
    ids=["empty", "text", "gzip"],
)
def test_not_a_capture_is_one_sentence_and_exit_2(tmp_path, content, sentence):
    path = tmp_path / "input.pcap"
    path.write_bytes(content)
    p = run(str(path))
    assert p.returncode == 2 and p.stdout == b""
    assert p.stderr.decode() == f"tcp-lab: {path} {sentence}\n"


def test_missing_file_and_directory(tmp_path):
    p = run(str(tmp_path / "nope.pcap"))
    assert (p.returncode, p.stderr.decode()) == (2, f"tcp-lab: {tmp_path / 'nope.pcap'}: no such file\n")
    p = run(str(tmp_path))
    assert (p.returncode, p.stderr.decode()) == (2, f"tcp-lab: {tmp_path} is a directory, not a capture file\n")


def test_damage_in_the_middle_is_one_sentence_and_exit_2(tmp_path):
    data = bytearray(COURSE.read_bytes())
    # The third record's captured length becomes impossible.
    pos = 24
    for _ in range(2):
        pos += 16 + int.from_bytes(data[pos + 8 : pos + 12], "little")
    data[pos + 8 : pos + 12] = (0x7FFFFFF0).to_bytes(4, "little")
    path = tmp_path / "damaged.pcap"
    path.write_bytes(bytes(data))
    p = run(str(path), "--format", "text")
    assert p.returncode == 2 and p.stdout == b""
    err = p.stderr.decode()
    assert err.count("\n") == 1 and "damaged" in err and "Traceback" not in err


def test_a_capture_cut_short_prints_everything_before_the_cut(tmp_path):
    data = COURSE.read_bytes()
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[: len(data) - 30])
    p = run(str(path), "--format", "text")
    assert p.returncode == 0
    assert len(p.stdout.decode().splitlines()) == 12
    err = p.stderr.decode()
    assert err.startswith(f"tcp-lab: {path} stops short at byte ") and "12 TCP segments" in err


def test_the_screen_is_reported_missing_until_it_exists(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tcp_lab.tui.replay_app", None)
    assert cli.main(["replay", str(COURSE), "--format", "tui"]) == 2
    assert capsys.readouterr().err == "tcp-lab: the replay screen is not built yet; use --format text or --format json\n"


def test_the_screen_gets_the_arguments_when_it_exists(monkeypatch):
    seen = []
    fake = types.ModuleType("tcp_lab.tui.replay_app")
    fake.run_replay = lambda args: seen.append(args) or 0
    monkeypatch.setitem(sys.modules, "tcp_lab.tui.replay_app", fake)
    assert cli.main(["replay", str(COURSE), "--format", "tui", "--conn", "0"]) == 0
    assert seen[0].file == str(COURSE) and seen[0].conn == 0


def test_replay_never_imports_scapy():
    code = (
        "import sys; from tcp_lab.tui import cli; "
        f"cli.main(['replay', {str(COURSE)!r}, '--format', 'json']); "
        "sys.stderr.write(str('scapy' in sys.modules))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert p.stderr == b"False"
