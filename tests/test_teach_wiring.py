"""The teaching tools wired into the lab: the g/z/e keys on the lab screen itself (its
footer, help and palette list them), and `tcp-lab lab --export-*` end to end, read back
by tshark. (The replay and live screens' teaching keys: tests/test_tui_replay.py,
tests/test_tui_live.py.)"""

from __future__ import annotations

import subprocess
import sys

from tshark_oracle import TSHARK_ARGS
from tui_helpers import run_async, screen_text

from tcp_lab.core.scenario import get
from tcp_lab.core.simulation import Simulation
from tcp_lab.tui.app import LabScreen, lab_app
from tcp_lab.tui.keys import CAPTURE_KEYS, KEYS, TEACH_KEYS
from tcp_lab.tui.teach import TeachingMixin


def _app(name: str = "handshake-teardown"):
    sim = Simulation(get(name), isn_client=1000, isn_server=5000)
    return lab_app(sim, highlight_seconds=None, cursor_blink=False)


def test_teach_keys_are_in_every_key_table_once():
    for table in (KEYS, CAPTURE_KEYS):
        actions = [k.action for k in table]
        assert len(actions) == len(set(actions))
        for key in TEACH_KEYS:
            assert actions.count(key.action) == 1
    assert issubclass(LabScreen, TeachingMixin)
    lab_only = {"scenarios", "timer", "fault('drop')", "call_menu('client')"}
    assert not lab_only & {k.action for k in CAPTURE_KEYS}


@run_async
async def test_lab_footer_help_and_keys_g_z_e():
    app = _app("handshake")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        assert "g Diagram" in footer and "z Quiz" in footer and "e Export" in footer
        await pilot.press("question_mark")
        text = screen_text(app)
        for key in TEACH_KEYS:
            assert key.en[:40] in text
        await pilot.press("escape", "n", "n", "g")
        await pilot.pause()
        assert app.screen.id == "state-diagram"
        await pilot.press("g", "z")
        await pilot.pause()
        from tcp_lab.tui.quiz_screen import QuizScreen

        assert isinstance(app.screen, QuizScreen)
        await pilot.press("escape", "escape")  # the score, then back to the lab
        await pilot.pause()
        assert isinstance(app.screen, LabScreen)
        await pilot.press("e")
        await pilot.pause()
        assert app.screen.id == "export-menu"


def test_lab_cli_exports_pcap_mermaid_svg_read_back_by_tshark(tmp_path):
    pcap, mmd, svg = tmp_path / "h.pcap", tmp_path / "h.mmd", tmp_path / "h.svg"
    run = subprocess.run(
        [sys.executable, "-m", "tcp_lab.tui.cli", "lab", "handshake-teardown", "--isn-client", "1000",
         "--isn-server", "5000", "--export-pcap", str(pcap), "--export-mermaid", str(mmd), "--export-svg", str(svg)],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""  # exports only: no frames printed without --format
    for path in (pcap, mmd, svg):
        assert f"tcp-lab: wrote {path}" in run.stderr
    infos = subprocess.run(
        ["tshark", *TSHARK_ARGS, "-r", str(pcap), "-T", "fields", "-e", "_ws.col.Info"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.splitlines()
    assert infos[0].startswith("52296 → 80 [SYN] Seq=0 Win=")
    assert infos[1].startswith("80 → 52296 [SYN, ACK] Seq=0 Ack=1 ")
    assert any("[FIN, ACK]" in line for line in infos)
    assert infos[-1].startswith("52296 → 80 [ACK]") or infos[-1].startswith("80 → 52296 [ACK]")
    assert mmd.read_text().startswith("sequenceDiagram")
    assert svg.read_text().lstrip().startswith("<svg") or "<svg" in svg.read_text()[:200]


def test_lab_cli_export_with_format_prints_the_run_too(tmp_path):
    pcap = tmp_path / "x.pcap"
    run = subprocess.run(
        [sys.executable, "-m", "tcp_lab.tui.cli", "lab", "handshake", "--format", "text", "--export-pcap", str(pcap)],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0 and pcap.exists()
    assert len(run.stdout.splitlines()) >= 3


def test_lab_cli_export_to_a_missing_folder_is_one_sentence_exit_2(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "tcp_lab.tui.cli", "lab", "handshake", "--export-pcap", str(tmp_path / "no" / "x.pcap")],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "does not exist" in run.stderr and "Traceback" not in run.stderr
