"""Exports from the screen and the command line, written atomically.

Every file is written to a temporary file in the target's own folder, flushed to disk and
then renamed over the target (`os.replace`), so a reader never sees half a file and a
failed export leaves nothing behind. The user is told the path (a notification on the
screen, a line on stderr headless).

* From a screen: `open_export_menu(screen)` (the lab's `e` key) offers pcap, Mermaid,
  SVG and screenshot; each goes to the current directory as tcp-lab-NAME-N.EXT, N chosen
  so that nothing is overwritten. Any screen with a `controller` whose `timeline` holds
  the frames will do (lab, replay, live).
* Headless: `export_from_args(args, timeline, title)` for `tcp-lab lab SCENARIO
  --export-pcap F --export-mermaid F --export-svg F` (`add_export_arguments` adds the
  options to a parser).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from typing import Any, Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tcp_lab.core.export import mermaid_export, pcap_export, svg_export

from .errors import CliError

KINDS = ("pcap", "mermaid", "svg", "screenshot")
EXTENSIONS = {"pcap": "pcap", "mermaid": "mmd", "svg": "svg", "screenshot": "svg"}
LABELS = {
    "pcap": ("Capture file (.pcap) for Wireshark", "抓包文件（.pcap），可用 Wireshark 打开"),
    "mermaid": ("Ladder as a Mermaid sequenceDiagram (.mmd)", "时序图：Mermaid sequenceDiagram（.mmd）"),
    "svg": ("Ladder as an SVG picture for slides (.svg)", "时序图：SVG 图片，用于幻灯片（.svg）"),
    "screenshot": ("Screenshot of this screen (.svg)", "当前画面截图（.svg）"),
}


def write_atomic(path: str, data: bytes | str) -> str:
    """Write `data` to `path` atomically (temp file in the same folder, fsync, os.replace).
    Returns the absolute path. Raises OSError (the temp file is removed)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    target = os.path.abspath(path)
    folder = os.path.dirname(target) or "."
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return target


def render_export(kind: str, timeline: Any, title: str) -> bytes | str:
    """The bytes or text of an export of `timeline` (not the screenshot)."""
    if kind == "pcap":
        return pcap_export(timeline)
    if kind == "mermaid":
        return mermaid_export(timeline, title)
    if kind == "svg":
        return svg_export(timeline, title)
    raise ValueError(f"unknown export {kind!r}")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:40] or "lab"


def free_name(folder: str, stem: str, ext: str) -> str:
    """folder/stem-N.ext with the first N (from 1) that names no existing file."""
    n = 1
    while True:
        candidate = os.path.join(folder, f"{stem}-{n}.{ext}")
        if not os.path.exists(candidate):
            return candidate
        n += 1


# ============================================================================ screen ===


def screen_timeline(screen: Any) -> tuple[Any, str]:
    """The frames a screen shows (up to its cursor) and a name for the files."""
    controller = screen.controller
    timeline = controller.timeline
    upto = controller.cursor + 1
    frames = [timeline[i] for i in range(max(upto, 0))]
    scenario = getattr(controller, "scenario", None)
    name = getattr(scenario, "name", None) or getattr(timeline, "title", "capture")
    return frames, str(name)


def export_screen(screen: Any, kind: str, folder: str | None = None) -> str | None:
    """Export what `screen` shows as `kind`; notify the path (or the error). Returns the path."""
    folder = folder or os.getcwd()
    frames, name = screen_timeline(screen)
    path = free_name(folder, f"tcp-lab-{slug(name)}", EXTENSIONS[kind])
    title = getattr(screen, "title", None) or name
    try:
        if kind == "screenshot":
            data: bytes | str = screen.app.export_screenshot(title=str(title))
        else:
            data = render_export(kind, frames, str(title))
        written = write_atomic(path, data)
    except OSError as exc:
        screen.notify(f"Could not write {path}: {exc.strerror or exc}", severity="error", timeout=8)
        return None
    lang = getattr(screen, "lang", "en")
    label = LABELS[kind][1 if lang == "zh" else 0]
    screen.notify(f"{label}:\n{written}", title="已保存" if lang == "zh" else "Saved", timeout=8)
    return written


class ExportMenu(ModalScreen[str | None]):
    """Choose what to export: 1 pcap, 2 Mermaid, 3 SVG, 4 screenshot (Enter or the digit)."""

    DEFAULT_CSS = """
    ExportMenu { align: center middle; }
    ExportMenu > Vertical { width: 64; height: auto; border: round $primary; background: $surface; padding: 0 1; }
    ExportMenu OptionList { height: auto; }
    """
    BINDINGS = [
        Binding("escape,q", "dismiss_none", "Cancel"),
        *[Binding(str(n), f"pick({n})", show=False) for n in range(1, len(KINDS) + 1)],
    ]

    def __init__(self, lang: str = "en") -> None:
        super().__init__(id="export-menu")
        self.lang = lang

    def compose(self) -> ComposeResult:
        zh = self.lang == "zh"
        with Vertical():
            yield Static("导出（写入当前目录）" if zh else "Export (written to the current directory)")
            yield OptionList(
                *[Option(f"{n}  {LABELS[kind][1 if zh else 0]}", id=kind) for n, kind in enumerate(KINDS, start=1)],
                id="export-kinds",
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_pick(self, n: int) -> None:
        self.dismiss(KINDS[n - 1])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


def open_export_menu(screen: Any, folder: str | None = None, done: Callable[[str | None], None] | None = None) -> None:
    """The lab's `e` key: the export menu, then the export (after the menu has closed, so a
    screenshot shows the screen itself)."""

    def chosen(kind: str | None) -> None:
        if kind is None:
            if done:
                done(None)
            return

        def run() -> None:
            path = export_screen(screen, kind, folder)
            if done:
                done(path)

        screen.app.call_after_refresh(run)

    screen.app.push_screen(ExportMenu(getattr(screen, "lang", "en")), chosen)


# ========================================================================== headless ===


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """--export-pcap/--export-mermaid/--export-svg FILE for a headless run."""
    parser.add_argument("--export-pcap", metavar="FILE", help="write the run's segments as a pcap (Wireshark opens it)")
    parser.add_argument("--export-mermaid", metavar="FILE", help="write the ladder as a Mermaid sequenceDiagram")
    parser.add_argument("--export-svg", metavar="FILE", help="write the ladder as an SVG picture")


def export_from_args(args: argparse.Namespace, timeline: Any, title: str, err=None) -> list[str]:
    """Write every export asked for on the command line; tell each path on stderr.
    Raises CliError (exit 2) with one sentence when a file cannot be written."""
    err = err or sys.stderr
    written = []
    for kind in ("pcap", "mermaid", "svg"):
        path = getattr(args, f"export_{kind}", None)
        if not path:
            continue
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise CliError(f"{path}: the folder {folder} does not exist.")
        if os.path.isdir(path):
            raise CliError(f"{path} is a directory; give a file name to export to.")
        try:
            target = write_atomic(path, render_export(kind, timeline, title))
        except OSError as exc:
            raise CliError(f"{path}: cannot write the {kind} export ({exc.strerror or exc}).") from None
        err.write(f"tcp-lab: wrote {target}\n")
        written.append(target)
    return written


def wants_export(args: argparse.Namespace) -> bool:
    return any(getattr(args, f"export_{k}", None) for k in ("pcap", "mermaid", "svg"))
