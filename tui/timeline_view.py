"""The main screen's body: both endpoints, the ladder, the segment log and the explanation,
all showing one frame of one timeline.

It knows nothing of where frames come from (a simulation, a capture, a live sniff): it is
given a TimelineIndex and told which frame to show (`show`). Selecting a row in the log
posts `SegmentLog.RowChosen`, which the app turns into a jump of the cursor.
"""

from __future__ import annotations

import gc

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from tcp_lab.core.explain import render
from tcp_lab.core.frame import EndpointView, Frame
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
        self._frozen_at = 0

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
        self._freeze_heap()

    #: Frames indexed between two gc.freeze() calls.
    FREEZE_EVERY = 1000

    def _freeze_heap(self) -> None:
        """Take what lives now out of the garbage collector's full passes (gc.freeze).

        Frames live as long as the screen. With thousands of them (a long free play, a
        capture), every full collection scanned them all again, and a step stalled for
        100-200 ms every few dozen steps (tests/bench/bench_lab_screen.py). The young
        generations are collected first, so that little garbage gets frozen. This runs at
        mount and each time the timeline has grown by FREEZE_EVERY frames."""
        gc.collect(1)
        gc.freeze()
        self._frozen_at = self.index.synced

    def _titles(self) -> None:
        self.query_one(Ladder).border_title = ui("ladder", self.lang)
        self.query_one("#log-box").border_title = ui("log", self.lang)
        self.query_one(ExplainPane).border_title = ui("explanation", self.lang)

    def show(
        self,
        cursor: int,
        *,
        absolute: bool = False,
        lang: str = "en",
        intro: tuple[str, str] | None = None,
        initial: tuple[EndpointView, EndpointView] | None = None,
    ) -> None:
        """Show frame `cursor` of the timeline. -1 is before the first frame: `intro` (a
        heading and a text) takes the explanation's place and `initial` gives the client's
        and the server's views to show."""
        synced = self.index.sync()
        if synced < self._frozen_at:  # another timeline (a fork, a new scenario)
            self._frozen_at = synced
        if synced - self._frozen_at >= self.FREEZE_EVERY:
            self._freeze_heap()
        relabel = lang != self.lang
        self.cursor, self.absolute, self.lang = cursor, absolute, lang
        for n, pane in enumerate(self.query(EndpointPane)):
            pane.show(cursor, absolute=absolute, lang=lang, initial=initial[n] if initial else None)
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
        if frame.fault == "duplicate":
            text += "（重复的副本）" if zh else " (the duplicate copy)"
        elif frame.fault == "delay":
            text += "（被延迟）" if zh else " (held back by the wire)"
        elif frame.fault == "old-syn":
            text += "（旧的重复 SYN）" if zh else " (the old duplicate SYN)"
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
        text = _fault_heading(frame, sender, flags, zh)
    else:
        text = frame.event
    step = f"#{frame.no}"
    return f"{step} · {text[:1].upper() + text[1:]}"


_FAULT_VERBS = {
    "drop": ("the wire will lose the {sender}'s {flags}", "网络将丢失{sender}的 {flags}"),
    "duplicate": ("the wire duplicates the {sender}'s {flags}", "网络复制了{sender}的 {flags}"),
    "delay": ("the wire holds back the {sender}'s {flags}", "网络延迟了{sender}的 {flags}"),
}
_FAULT_ARMED = {
    "drop": ("fault armed: the next segment will be lost", "已设置故障：下一个报文段将丢失"),
    "duplicate": ("fault armed: the next segment will be duplicated", "已设置故障：下一个报文段将被复制"),
    "delay": ("fault armed: the next segment will be held back", "已设置故障：下一个报文段将被延迟"),
}


def _fault_heading(frame: Frame, sender: str, flags: str, zh: bool) -> str:
    fault = frame.fault or ""
    if fault == "old-syn":
        return "网络上出现一个旧的重复 SYN" if zh else "an old duplicate SYN appears on the wire"
    if frame.segment is not None and fault in _FAULT_VERBS:
        en, cn = _FAULT_VERBS[fault]
        return (cn if zh else en).format(sender=sender if zh else sender.lower(), flags=flags)
    if fault in _FAULT_ARMED:
        en, cn = _FAULT_ARMED[fault]
        return cn if zh else en
    return f"fault: {fault}"
