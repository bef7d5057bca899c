"""The main screen's body: both endpoints, the ladder, the segment log and the explanation,
all showing one frame of one timeline.

It knows nothing of where frames come from (a simulation, a capture, a live sniff): it is
given a TimelineIndex and told which frame to show (`show`). Selecting a row in the log
posts `SegmentLog.RowChosen`, which the app turns into a jump of the cursor.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from tcp_lab.core.explain import render
from tcp_lab.core.frame import Frame
from .endpoint_pane import EndpointPane
from .explain_pane import ExplainPane
from .ladder import Ladder, Reveal
from .segment_log import SegmentLog, SegmentLogHeader
from .timeline_index import TimelineIndex
from .ui_text import ui


class TimelineView(Vertical):
    """Client and server panes, ladder, segment log and explanation for one frame."""

    def __init__(
        self,
        index: TimelineIndex,
        *,
        reveal: Reveal = "upto",
        highlight_seconds: float | None = 1.5,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.index = index
        self.reveal: Reveal = reveal
        self.highlight_seconds = highlight_seconds
        self.cursor = -1
        self.absolute = False
        self.lang = "en"

    def compose(self) -> ComposeResult:
        with Horizontal(id="endpoints"):
            yield EndpointPane("client", self.index, highlight_seconds=self.highlight_seconds, id="client")
            yield EndpointPane("server", self.index, highlight_seconds=self.highlight_seconds, id="server")
        yield Ladder(self.index, reveal=self.reveal, id="ladder")
        log = SegmentLog(self.index, reveal=self.reveal, id="log")
        with Vertical(id="log-box"):
            yield SegmentLogHeader(log, id="log-header")
            yield log
        yield ExplainPane(id="explain")

    def on_mount(self) -> None:
        self._titles()

    def _titles(self) -> None:
        self.query_one(Ladder).border_title = ui("ladder", self.lang)
        self.query_one("#log-box").border_title = ui("log", self.lang)
        self.query_one(ExplainPane).border_title = ui("explanation", self.lang)

    def show(self, cursor: int, *, absolute: bool = False, lang: str = "en", intro: tuple[str, str] | None = None) -> None:
        """Show frame `cursor` of the timeline (-1: before the first frame, where `intro`,
        a heading and a text, takes the explanation's place)."""
        self.index.sync()
        relabel = lang != self.lang
        self.cursor, self.absolute, self.lang = cursor, absolute, lang
        for pane in self.query(EndpointPane):
            pane.show(cursor, absolute=absolute, lang=lang)
        self.query_one(Ladder).show(cursor, absolute=absolute, lang=lang)
        self.query_one(SegmentLog).show(cursor, absolute=absolute)
        self.query_one(SegmentLogHeader).refresh()
        explain = self.query_one(ExplainPane)
        if cursor >= 0:
            frame = self.index.timeline[cursor]
            explain.show(event_heading(frame, lang), render(frame.explain, lang))
        elif intro is not None:
            explain.show(*intro)
        else:
            explain.show("", "")
        if relabel:
            self._titles()


def event_heading(frame: Frame, lang: str) -> str:
    """A short line saying what the frame is: "client sends SYN", "server calls listen()"."""
    who = ui(frame.who, lang) if frame.who else ""
    flags = ",".join(frame.segment.flag_names) if frame.segment is not None else ""
    sender = ui(frame.sender, lang) if frame.sender else ""
    zh = lang == "zh"
    if frame.event == "send":
        text = f"{sender}发送 {flags}" if zh else f"{sender} sends {flags}"
    elif frame.event == "deliver":
        text = f"{who}收到 {flags}" if zh else f"{who} receives {flags}"
    elif frame.event == "drop":
        text = f"网络丢失了{sender}的 {flags}" if zh else f"the wire loses the {sender.lower()}'s {flags}"
    elif frame.event == "segment":
        receiver = ui("server" if frame.sender == "client" else "client", lang)
        text = f"{sender} → {receiver} {flags}"
    elif frame.event == "app":
        text = f"{who}调用 {frame.call}()" if zh else f"{who} calls {frame.call}()"
    elif frame.event == "timer":
        name = (frame.timer or "").upper()
        text = f"{who}的 {name} 定时器到期" if zh else f"{who}'s {name} timer fires"
    elif frame.event == "fault":
        text = ui("fault_note", lang).format(fault=frame.fault or "")
    else:
        text = frame.event
    step = f"#{frame.no}"
    return f"{step} · {text[:1].upper() + text[1:]}"
