"""Exports: the pcap opens in tshark with good checksums and the lab's own Info lines, data
bytes are consistent (a retransmission carries the original's bytes), Mermaid and SVG
draw every segment, files are written atomically, from the screen (e) and headless."""

from __future__ import annotations

import argparse
import os
import subprocess
import xml.etree.ElementTree as ET

import pytest
from teach_helpers import finished, teach_app
from tshark_oracle import TSHARK_ARGS
from tui_helpers import run_async, screen_text, toasts

from tcp_lab.core.export import mermaid_export, payload_bytes, pcap_export, segment_frames, svg_export
from tcp_lab.core.replay import Replay
from tcp_lab.core.scenario import names
from tcp_lab.tui.export_actions import add_export_arguments, export_from_args, write_atomic

SCENARIOS = [n for n in names() if n != "free-play"]


def tshark(path, *fields):
    cmd = ["tshark", "-r", str(path), *TSHARK_ARGS, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-T", "fields", "-E", "separator=\t"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout
    return [line.split("\t") for line in out.splitlines()]


def split_labels(info: str) -> tuple[set[str], str]:
    """Wireshark's analysis labels in front of an Info line, and the rest."""
    labels = set()
    while info.startswith("[") and "] " in info:
        end = info.index("] ")
        labels.add(info[1:end])
        info = info[end + 2 :]
    return labels, info


#: Scenarios with an injected old SYN: Wireshark takes it for a new connection ("Port numbers
#: reused") and counts relative numbers from it; the lab keeps counting from the client's ISN.
OLD_SYN = ("stale-syn", "two-way-handshake")


def test_pcap_of_every_scenario_reads_in_tshark_with_the_labs_info_lines(tmp_path):
    """One file per scenario, all checked by one tshark run each (quick)."""
    for name in SCENARIOS:
        timeline = finished(name)
        frames = segment_frames(timeline)
        path = tmp_path / f"{name}.pcap"
        path.write_bytes(pcap_export(timeline))
        rows = tshark(path, "_ws.col.Info", "tcp.checksum.status", "ip.checksum.status", "tcp.len", "frame.time_relative", "tcp.seq_raw", "tcp.flags")
        assert len(rows) == len(frames), name
        for frame, (info, tcp_ok, ip_ok, length, rel, seq_raw, flags) in zip(frames, rows):
            if name in OLD_SYN:
                assert int(seq_raw) == frame.segment.seq and int(flags, 16) == frame.segment.flags, name
            else:
                # The lab labels only what it knows for certain (retransmission, window
                # full); Wireshark adds guesses of its own (a Dup ACK after a lost ACK, the
                # crossed SYN-ACK of a simultaneous open taken for a retransmission).
                theirs, rest = split_labels(info)
                ours, our_rest = split_labels(frame.info)
                assert rest == our_rest and ours <= theirs, name
            assert tcp_ok == "1" and ip_ok == "1", name
            assert int(length) == frame.segment.length
            assert abs(float(rel) - (frame.time - frames[0].time)) < 1e-6


def test_simulated_data_bytes_are_consistent(tmp_path):
    """The client's 1200 bytes, cut by the wire: a retransmitted copy carries the same bytes."""
    timeline = finished("lost-final-ack")
    fins = [f for f in segment_frames(timeline) if f.sender == "server" and "FIN" in f.segment.flag_names]
    assert len(fins) == 2 and payload_bytes(fins[0]) == payload_bytes(fins[1]) == b""
    timeline = finished("close-wait-data")
    data = [f for f in segment_frames(timeline) if f.sender == "server" and f.segment.length]
    stream = b"".join(payload_bytes(f) for f in data)
    assert stream == (b"tcp-lab: bytes from the server's application. " * 40)[: len(stream)]
    path = tmp_path / "cwd.pcap"
    path.write_bytes(pcap_export(timeline))
    payloads = [bytes.fromhex(p[0]) for p in tshark(path, "tcp.payload") if p and p[0]]
    assert b"".join(payloads[-len(data) :]) == stream


def test_pcap_of_a_replayed_capture_keeps_its_segments(tmp_path):
    replay = Replay("lost-fin")
    replay.feed(open("captures/lost-fin.pcap", "rb").read())
    replay.finish()
    timeline = replay.timeline(0)
    path = tmp_path / "again.pcap"
    path.write_bytes(pcap_export(timeline))
    infos = [r[0] for r in tshark(path, "_ws.col.Info")]
    assert infos == [timeline[i].info for i in range(len(timeline))]


def test_mermaid_draws_every_segment_and_lost_ones_with_a_cross():
    timeline = finished("lost-syn")
    text = mermaid_export(timeline, "The SYN is lost")
    lines = text.splitlines()
    assert lines[0] == "sequenceDiagram" and lines[1] == "    title The SYN is lost"
    arrows = [ln for ln in lines if "->>" in ln or "-x" in ln]
    assert len(arrows) == len(segment_frames(timeline))
    assert arrows[0] == "    C-xS: [SYN] Seq=0 Win=64240 Len=0 MSS=1460 SACK_PERM WS=128 (lost)"
    assert arrows[1].startswith("    C->>S: [TCP Retransmission] [SYN] Seq=0")
    assert "    Note left of C: RTO timer fires" in lines
    assert "    Note left of C: connect() → SYN_SENT" in lines


def test_svg_is_a_document_with_every_arrow_and_state():
    timeline = finished("simultaneous-close")
    svg = svg_export(timeline, "Crossing FINs")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in root.iter(f"{ns}text")]
    arrows = [ln for ln in root.iter(f"{ns}line") if ln.get("marker-end")]
    assert len(arrows) == len(segment_frames(timeline))
    for state in ("SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1", "CLOSING", "TIME_WAIT", "CLOSED"):
        assert state in texts
    assert "Crossing FINs" in texts


def test_write_atomic_replaces_whole_files_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.pcap"
    target.write_bytes(b"old")
    write_atomic(str(target), b"new contents")
    assert target.read_bytes() == b"new contents"
    assert os.listdir(tmp_path) == ["out.pcap"]
    os.chmod(tmp_path, 0o500)
    try:
        if os.geteuid() != 0:
            with pytest.raises(OSError):
                write_atomic(str(target), b"x")
            assert target.read_bytes() == b"new contents"
    finally:
        os.chmod(tmp_path, 0o700)


def test_headless_exports_from_arguments(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_export_arguments(parser)
    args = parser.parse_args(["--export-pcap", str(tmp_path / "a.pcap"), "--export-mermaid", str(tmp_path / "a.mmd"), "--export-svg", str(tmp_path / "a.svg")])
    timeline = finished("handshake")
    written = export_from_args(args, timeline, "The three-way handshake")
    assert [os.path.basename(p) for p in written] == ["a.pcap", "a.mmd", "a.svg"]
    assert "tcp-lab: wrote " + str(tmp_path / "a.pcap") in capsys.readouterr().err
    assert (tmp_path / "a.pcap").read_bytes() == pcap_export(timeline)
    from tcp_lab.tui.errors import CliError

    bad = parser.parse_args(["--export-svg", str(tmp_path / "missing" / "a.svg")])
    with pytest.raises(CliError, match="does not exist"):
        export_from_args(bad, timeline, "x")


@run_async
async def test_e_exports_from_the_lab_screen(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = teach_app("handshake")
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await pilot.press(*"n" * 8, "e")
        await pilot.pause()
        assert "Capture file (.pcap) for Wireshark" in screen_text(app)
        await pilot.press("1")
        await pilot.pause()
        await pilot.pause()
        path = tmp_path / "tcp-lab-handshake-1.pcap"
        assert path.exists()
        assert any(str(path) in t.replace("\n", "") for t in toasts(app))
        assert [r[0] for r in tshark(path, "_ws.col.Info")] == [f.info for f in segment_frames(app.controller.timeline)]
        for key, name in (("2", "tcp-lab-handshake-1.mmd"), ("3", "tcp-lab-handshake-1.svg"), ("4", "tcp-lab-handshake-2.svg")):
            await pilot.press("e", key)
            await pilot.pause()
            await pilot.pause()
            assert (tmp_path / name).exists(), name
        assert (tmp_path / "tcp-lab-handshake-1.mmd").read_text().startswith("sequenceDiagram")
        shot = (tmp_path / "tcp-lab-handshake-2.svg").read_text()
        assert "<svg" in shot and "ESTABLISHED" in shot
        assert sorted(os.listdir(tmp_path)) == ["tcp-lab-handshake-1.mmd", "tcp-lab-handshake-1.pcap", "tcp-lab-handshake-1.svg", "tcp-lab-handshake-2.svg"]
