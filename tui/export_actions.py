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
  options to a parser). They live in tui/export_files.py, which imports no Textual, and
  are re-exported here.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from .export_files import (  # noqa: F401  (the headless half, re-exported)
    add_export_arguments,
    export_from_args,
    free_name,
    render_export,
    slug,
    wants_export,
    write_atomic,
)

KINDS = ("pcap", "mermaid", "svg", "screenshot")
EXTENSIONS = {"pcap": "pcap", "mermaid": "mmd", "svg": "svg", "screenshot": "svg"}
LABELS = {
    "pcap": ("Capture file (.pcap) for Wireshark", "抓包文件（.pcap），可用 Wireshark 打开"),
    "mermaid": ("Ladder as a Mermaid sequenceDiagram (.mmd)", "时序图：Mermaid sequenceDiagram（.mmd）"),
    "svg": ("Ladder as an SVG picture for slides (.svg)", "时序图：SVG 图片，用于幻灯片（.svg）"),
    "screenshot": ("Screenshot of this screen (.svg)", "当前画面截图（.svg）"),
}


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
