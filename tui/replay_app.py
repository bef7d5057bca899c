"""The replay screen: a capture's connections, and the selected one stepped segment by
segment with both endpoints' states inferred from the traffic.

`tcp-lab replay FILE` (tui/cmd_replay.py calls `run_replay(args)`) opens it on a capture
file; `tcp-lab replay -` on a pcap stream growing on stdin (``tcpdump -U -w - |
tcp-lab replay -``). The live screen (tui/live_app.py) is the same screen fed by a sniff.

Layout: the connection list (tui/conn_list.py) on the left, with the selected
conversation in full under it; beside it the lab's TimelineView (both endpoint panes,
ladder, segment log, explanation) over that conversation, every segment listed at once
(`reveal="all"`: a capture is known ahead, the rows after the cursor are dimmed); a
status line for a capture that is still arriving; the footer.

Keys (tui/keys.py CAPTURE_KEYS): the lab's step keys (n/space/→, p/←, Home, End, a, r,
l, ?, q; clicking a row of the log or a line of the ladder), `/` to filter the
connections, `c` for the list, `f` to follow a growing capture, and the teaching tools
(g, z, e). The lab's keys that change what happens (faults, timers, app calls, scenarios)
are not offered: a capture is what it is.

Where the bytes come from: a thread worker (tui/capture_reader.py) reads the file or the
pipe and queues the bytes; the screen feeds them to the replay (core/replay.py) on its own
thread in slices of a few tens of milliseconds, so keys are answered while a file of a
million segments is still being read, and repaints at most about 30 times a second
however fast records arrive. A file shows its first connection as soon as the first
megabyte is read.

A capture on stdin and the screen: Textual reads keys from file descriptor 0 (the
driver takes `sys.__stdin__.fileno()`), so before the app starts `run_replay` duplicates
the pipe to another descriptor for the reader and puts the terminal (/dev/tty) on 0. After
the app ends, 0 is the pipe again.
"""

from __future__ import annotations

import argparse
import gc
from bisect import bisect_left
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer as TextualTimer
from textual.widgets import Footer, Header, Input, Static

from tcp_lab.core.limits import Limits, resolve_limits
from tcp_lab.core.replay import Replay

from .capture_index import CaptureIndex
from .capture_reader import CaptureReader
from .conn_list import ConnDetails, ConnList
from .controller import Stepper
from .endpoint_pane import EndpointPane
from .errors import CliError, PermissionProblem
from .explain_pane import ExplainPane
from .interrupts import CTRL_C, CtrlCQuits, run_app
from .keys import CAPTURE_KEYS, LOG_KEYS, bindings
from .ladder import Ladder
from .limit_notices import NoticePrinter
from .privilege import NoStrayFiles
from .segment_log import SegmentLog
from .teach import TeachingMixin
from .timeline_view import TimelineView
from .too_small import MinimumSize
from .ui_text import ui

#: Repaints a second at most while a capture grows.
REPAINTS_PER_SECOND = 30
#: Time the screen spends feeding the replay before it lets keys and repaints through.
FEED_SLICE = 0.015
#: Bytes fed to the replay at once (about a thousand segments).
FEED_BYTES = 256 << 10
#: Conversations whose index is kept when the user moves between them.
KEEP_INDEXES = 4

TEXTS: dict[str, dict[str, str]] = {
    "connections": {"en": "Connections", "zh": "连接"},
    "of": {"en": "{shown} of {total}", "zh": "{shown} / {total}"},
    "filter_placeholder": {"en": "address or port, e.g. 80 or 10.0.0.1", "zh": "地址或端口，例如 80 或 10.0.0.1"},
    "no_match": {"en": "no connection matches", "zh": "没有匹配的连接"},
    "no_conn_yet": {"en": "no connection yet", "zh": "还没有连接"},
    "waiting": {"en": "Waiting for the first TCP segment", "zh": "正在等待第一个 TCP 报文段"},
    "waiting_body": {
        "en": "Nothing has arrived yet. Segments appear here as they are read; the connection list fills as connections appear.",
        "zh": "还没有收到任何内容。报文段读到后会出现在这里；连接出现后会加入连接列表。",
    },
    "waiting_conn": {"en": "Waiting for connection #{n}", "zh": "正在等待第 {n} 号连接"},
    "waiting_conn_body": {
        "en": "The capture has not reached connection #{n} yet; it is shown as soon as its first segment is read.",
        "zh": "抓包还没有读到第 {n} 号连接；读到它的第一个报文段后立即显示。",
    },
    "following": {"en": "following", "zh": "跟随中"},
    "follow_on": {"en": "Following: the newest segment is shown as it arrives (f stops).", "zh": "跟随：新报文段到达时立即显示（按 f 停止）。"},
    "follow_off": {"en": "Following paused (f follows again).", "zh": "已暂停跟随（按 f 继续跟随）。"},
    "follow_done": {"en": "The capture is complete: nothing more will arrive.", "zh": "抓包已读完：不会再有新的报文段。"},
    "at_last": {"en": "This is the connection's last segment so far.", "zh": "这是该连接目前的最后一个报文段。"},
    "reading": {"en": "Reading {name}", "zh": "正在读取 {name}"},
    "ended": {"en": "{name} ended", "zh": "{name} 已结束"},
    # Memory limits (core/limits.py): what the screen says when they bite.
    "step_dropped": {"en": "step {n:,} of {total:,} kept · {dropped:,} older dropped", "zh": "第 {n:,} 步，共保留 {total:,} 步 · 更早的 {dropped:,} 个已丢弃"},
    "step_only_dropped": {"en": "step {n:,} of those kept · {dropped:,} older dropped", "zh": "保留部分的第 {n:,} 步 · 更早的 {dropped:,} 个已丢弃"},
    "forgotten_list": {"en": "{n:,} forgotten", "zh": "已忘记 {n:,} 条"},
    "forgot_shown": {
        "en": "Connection #{n} was forgotten to bound memory (see --max-conns); now showing #{m}.",
        "zh": "为限制内存，连接 #{n} 已被忘记（见 --max-conns）；现在显示 #{m}。",
    },
    "forgot_none": {
        "en": "Connection #{n} was forgotten to bound memory (see --max-conns); no connection is left to show.",
        "zh": "为限制内存，连接 #{n} 已被忘记（见 --max-conns）；没有可显示的连接了。",
    },
    "forgot_heading": {"en": "Connection #{n} was forgotten", "zh": "连接 #{n} 已被忘记"},
    "forgot_body": {
        "en": "To bound memory, the oldest closed connections are forgotten (see --max-conns), and this one was. "
              "Connections still kept are in the list; new ones are shown as they arrive.",
        "zh": "为了限制内存，最早结束的连接会被忘记（见 --max-conns），这条连接就是如此。"
              "仍保留的连接在列表中；新连接到达时会显示出来。",
    },
}


def figures_text(segs: int, convs: int, lang: str) -> str:
    """"1,234 segments in 56 connections" (the status line)."""
    if lang == "zh":
        return f"{segs:,} 个报文段，{convs:,} 条连接"
    return f"{segs:,} segment{'' if segs == 1 else 's'} in {convs:,} connection{'' if convs == 1 else 's'}"

CAPTURE_INTRO = {
    "en": (
        "On the left: the capture's TCP connections, one per 4-tuple (client first; ? marks a client guessed "
        "from the ports because no SYN was captured), with segments, payload bytes, duration and the states "
        "both endpoints were left in; the selected one is spelt out under the list.\n"
        "On the right, for the selected connection: each side's state after the current segment, as tcp-lab "
        "infers it from the traffic (the sender's transition for sending it, the receiver's for receiving it), "
        "its TCB values as far as the capture shows them, the ladder, every segment as Wireshark lists it "
        "(the rows after the current one are dimmed), and what the segment did and why, with the RFC 9293 "
        "section.\n"
        "A growing capture (a pipe on stdin, a live sniff) is followed: the newest connection and its newest "
        "segment are shown as they arrive, until you step back or pick another connection (f follows again)."
    ),
    "zh": (
        "左边：抓包中的 TCP 连接，每个四元组一条（客户端在前；? 表示没有捕获到 SYN，按端口猜测客户端），"
        "列出报文段数、载荷字节数、持续时间以及两端最后的状态；列表下方详细列出所选的连接。\n"
        "右边是所选连接：当前报文段之后每一端的状态（tcp-lab 根据流量推断：发送方按发送这个报文段转换，"
        "接收方按收到它转换）、抓包能看到的 TCB 数值、时序图、按 Wireshark 格式列出的每个报文段（当前之后的行变暗），"
        "以及这个报文段做了什么、为什么，并注明 RFC 9293 的章节。\n"
        "正在增长的抓包（标准输入上的管道、实时抓包）会被跟随：新连接和新报文段一到就显示，"
        "直到你后退或选择另一条连接（按 f 重新跟随）。"
    ),
}

CAPTURE_EXTRA_KEYS: tuple[tuple[str, str, str, str], ...] = (
    *LOG_KEYS,
    ("click a connection", "点击一条连接", "Show that connection (with the list focused: ↑ ↓ PgUp PgDn)", "显示该连接（列表获得焦点时：↑ ↓ PgUp PgDn）"),
)


def t(key: str, lang: str, **params: Any) -> str:
    entry = TEXTS[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**params) if params else text


class CaptureStepper(Stepper):
    """A cursor over one conversation of a capture that may still be growing. When the
    replay's memory limits drop the conversation's oldest segments, every position moves
    down (CaptureIndex.sync): the cursor moves with its segment, or to the oldest segment
    kept if its own was dropped."""

    def __init__(self, index: CaptureIndex, growing: Callable[[], bool]) -> None:
        super().__init__(index.timeline, index)  # type: ignore[arg-type]
        self._growing = growing

    @property
    def length(self) -> int:
        index: CaptureIndex = self.index  # type: ignore[assignment]
        n = index.sync()
        shifted = index.take_shifted()
        if shifted and self.cursor >= 0:
            self.cursor = max(0, self.cursor - shifted)
        if self.cursor >= n:
            self.cursor = n - 1
        return n

    @property
    def more_may_come(self) -> bool:
        return self._growing()

    def initial_views(self) -> tuple[Any, Any] | None:
        """The endpoints before the first segment (the state diagram and the quiz start
        from them): what the tracker assumed, e.g. client CLOSED, server LISTEN."""
        return self.index.initial_views()  # type: ignore[attr-defined]


class FilterInput(Input):
    """The connection filter (`/`): Escape clears it and closes it."""

    BINDINGS = [Binding("escape", "close_filter", "Clear the filter", show=False)]

    def action_close_filter(self) -> None:
        close = getattr(self.screen, "close_filter", None)
        if callable(close):
            close()


class ScreenNotices(NoticePrinter):
    """What the memory limits did (Replay.take_notices), as notifications: the first of
    each kind at once, later ones of that kind merged and shown at most every `interval`
    seconds (tui/limit_notices.py's throttle, which the headless commands use on stderr)."""

    def __init__(self, screen: "CaptureScreen", interval: float) -> None:
        super().__init__(prefix="", interval=interval)
        self.screen = screen

    @property
    def held(self) -> bool:
        """True while merged notices wait for their turn."""
        return bool(self._pending)

    def _print(self, notice: Any) -> None:
        text = notice.text(self.screen.lang)
        self.screen.notify(text[:1].upper() + text[1:] + ".", severity="warning", timeout=8)


class CaptureScreen(TeachingMixin, Screen):
    """The connection list beside a TimelineView of the selected conversation of `replay`
    (a core.replay.Replay that may still be growing). Subclasses feed it: ReplayScreen
    from a file or a pipe, tui/live_app.py's LiveScreen from a sniff.

    A replay with memory limits (core/limits.py) takes things away as it grows: the
    selected conversation's oldest segments (the cursor moves with its segment, or to the
    oldest kept; the step counter counts the segments kept and says how many older went), a forgotten
    conversation (it leaves the list; if it was shown, one notification says so and its
    neighbour is shown). Each of the replay's notices becomes a notification (throttled per
    kind, `NOTICE_INTERVAL`), and the status line carries `Replay.memory_note` while
    anything has been dropped."""

    #: Seconds between two notifications of one kind of memory-limit notice.
    NOTICE_INTERVAL = 5.0

    BINDINGS = bindings(CAPTURE_KEYS)
    AUTO_FOCUS = None
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    #: 36 rows and more: room for the state in large type (lab.tcss, replay.tcss).
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]

    def __init__(
        self,
        replay: Replay,
        *,
        name: str = "capture",
        lang: str = "en",
        conn: int | None = None,
        following: bool = False,
        highlight_seconds: float | None = 1.5,
        play_interval: float = 1.0,
    ) -> None:
        super().__init__(id="capture")
        self.replay = replay
        self.source_name = name
        self.lang = lang
        self.absolute = False
        self.highlight_seconds = highlight_seconds
        self.play_interval = play_interval
        #: The conversation asked for (--conn); it is selected as soon as it exists.
        self.wanted = conn
        #: Following: the cursor stays on the newest segment as the capture grows.
        self.following = following
        #: The user chose the connection shown; while False (and following) the newest
        #: connection is shown as connections appear.
        self.pinned = conn is not None
        #: None: the list is shown when it helps (a wide screen, or more than one
        #: connection); True/False: as the user set it with `c`.
        self.list_wanted: bool | None = None
        self.selected: int | None = None
        self.index = CaptureIndex()
        self.controller = CaptureStepper(self.index, lambda: self.growing)
        self._indexes: dict[int, CaptureIndex] = {}
        self._cursors: dict[int, int] = {}
        self._player: TextualTimer | None = None
        self._last_paint = 0.0
        self._frozen_at = 0
        self._status_shown: Any = None
        #: The rows of some kept index were rewritten since the last repaint.
        self._touched = False
        #: The conversation shown last that the replay forgot (the empty state says so).
        self.lost: int | None = None
        self._notices = ScreenNotices(self, self.NOTICE_INTERVAL)
        self._notice_timer: TextualTimer | None = None
        self._evicted_seen = (0, 0)

    # -- what subclasses say ------------------------------------------------------------

    @property
    def growing(self) -> bool:
        """True while more segments may arrive."""
        return False

    def status_line(self) -> Any:
        """The status line's text (str or rich Text), or None to hide it."""
        return None

    def explanation_extra(self, cursor: int) -> str | None:
        """Text to show above the current segment's explanation (the live demo's act)."""
        return None

    def waiting_text(self) -> tuple[str, str]:
        """The explanation pane's heading and text before the first segment is shown."""
        if self.lost is not None:
            return t("forgot_heading", self.lang, n=self.lost), t("forgot_body", self.lang)
        if self.wanted is not None and self.wanted >= len(self.replay.tracker.conversations):
            return t("waiting_conn", self.lang, n=self.wanted), t("waiting_conn_body", self.lang, n=self.wanted)
        return t("waiting", self.lang), t("waiting_body", self.lang)

    # -- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="⇄")
        with Horizontal(id="capture-body"):
            with Vertical(id="conn-box"):
                yield FilterInput(placeholder=t("filter_placeholder", self.lang), id="conn-filter", compact=True)
                yield ConnList(self.replay, id="conns")
                yield ConnDetails(id="conn-details")
            yield TimelineView(self.index, reveal="all", highlight_seconds=self.highlight_seconds, id="view")
        yield Static(id="capture-status", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(FilterInput).cursor_blink = getattr(self.app, "cursor_blink", True)
        self.query_one(ConnList).empty_text = t("no_conn_yet", self.lang)
        self.grew(force=True)
        (self.conn_list if self.list_shown() else self.query_one(SegmentLog)).focus()

    @property
    def view(self) -> TimelineView:
        return self.query_one(TimelineView)

    @property
    def conn_list(self) -> ConnList:
        return self.query_one(ConnList)

    # -- the capture grows --------------------------------------------------------------

    def grew(self, revised: set[int] | None = None, force: bool = False) -> None:
        """Take in what the replay gained since the last call (new segments, new
        conversations, rows rewritten by hindsight) and repaint once: the whole view when
        the conversation shown changed, else only the list and the status line (a file
        being read mostly adds connections that are not on the screen)."""
        conns = self.conn_list
        conns.grow()
        self._freeze_heap()
        self.limits_bit()  # taken in now
        self.say_notices()
        if revised:
            self.take_revised(revised)
        touched, self._touched = self._touched, False
        if self._drop_forgotten():
            return
        total = len(self.replay.tracker.conversations)
        if self.selected is None:
            first = self._initial_choice(total)
            if first is not None:
                self.select(first, chosen=False)
                return
        elif self.following and not self.pinned and conns.ids and conns.ids[-1] != self.selected:
            self.select(conns.ids[-1], chosen=False)
            return
        before = self.index.synced
        dropped = self.index.dropped
        cursor = self.controller.cursor
        after = self.controller.length  # follows the rows the limits dropped, cursor too
        if self.index.dropped != dropped:
            touched = True
        if self.following:
            self.controller.cursor = after - 1
        if after > before and after > 64:
            # Build the newest frame now: the replay keeps TCB checkpoints every 64
            # segments as it builds frames, so a later jump anywhere in a long
            # conversation starts from a checkpoint near it instead of from the start.
            self.index.timeline[after - 1]
        if force or touched or after != before or cursor != self.controller.cursor or self.selected is None:
            self.show()
        else:
            self.show_figures()

    def take_revised(self, revised: set[int]) -> None:
        """Store rows rewritten by hindsight (Replay.take_revised, numbered as the store is
        now): every kept index takes them in at once (before a later feed renumbers the
        store), and the next repaint redraws the conversation shown if it was touched."""
        for conn, index in self._indexes.items():
            if index.revise(revised) and conn == self.selected:
                self._touched = True

    # -- memory limits ------------------------------------------------------------------

    def limits_bit(self) -> bool:
        """True when the memory limits took something away since the last call. A feeder
        then repaints before it lets Textual draw again: the panes must not draw from
        positions that moved or a conversation that is gone."""
        replay = self.replay
        now = (replay.rows_dropped, replay.evicted.conversations)
        if now == self._evicted_seen:
            return False
        self._evicted_seen = now
        return True

    def say_notices(self) -> None:
        """Show what the memory limits did since the last look (merged, throttled); what
        is held back is shown when its turn comes, even if nothing else arrives."""
        self._notices(self.replay)
        if self._notices.held and self._notice_timer is None:
            self._notice_timer = self.set_timer(self._notices.interval / 2, self._notices_due)

    def _notices_due(self) -> None:
        self._notice_timer = None
        self.say_notices()

    def _drop_forgotten(self) -> bool:
        """Let go of conversations the replay forgot. If the one shown is among them: say
        so, and show its neighbour in the list (the newest while following), or the empty
        state when none is left. True when the screen was repainted here."""
        convs = self.replay.tracker.conversations
        for conn in [c for c in self._indexes if convs[c] is None]:
            self._indexes.pop(conn).timeline.forget()  # type: ignore[attr-defined]
        if self._cursors and any(convs[c] is None for c in self._cursors):
            self._cursors = {c: v for c, v in self._cursors.items() if convs[c] is not None}
        gone = self.selected
        if gone is None or convs[gone] is not None:
            return False
        conns = self.conn_list
        conns.prune()
        ids = conns.ids
        if not ids:
            self.notify(t("forgot_none", self.lang, n=gone), severity="warning", timeout=10)
            self._unselect(gone)
            return True
        if self.following and not self.pinned:
            neighbour = ids[-1]
        else:
            pos = bisect_left(ids, gone)
            neighbour = ids[pos] if pos < len(ids) else ids[pos - 1]
        self.notify(t("forgot_shown", self.lang, n=gone, m=neighbour), severity="warning", timeout=10)
        self.selected = None  # nothing of the forgotten one to remember
        self.select(neighbour, chosen=False)
        return True

    def _unselect(self, gone: int) -> None:
        """Show no conversation: the one shown was forgotten and none is listed."""
        self.selected = None
        self.lost = gone
        self.index = CaptureIndex()
        self.controller = CaptureStepper(self.index, lambda: self.growing)
        self._point_panes(self.index)
        self.conn_list.select(None)
        self.show()

    #: Segments taken in between two gc.freeze() calls.
    FREEZE_EVERY = 20_000

    def _freeze_heap(self) -> None:
        """Take what lives now out of the garbage collector's full passes (gc.freeze), each
        time the capture has grown by FREEZE_EVERY segments: the tracker's objects live as
        long as the screen, and full collections over hundreds of thousands of them stalled
        the screen for a large fraction of a second (as the lab's TimelineView does for its
        frames)."""
        n = self.replay.segments_tracked
        if n - self._frozen_at >= self.FREEZE_EVERY:
            gc.collect(1)
            gc.freeze()
            self._frozen_at = n

    def _initial_choice(self, total: int) -> int | None:
        if self.wanted is not None:
            if self.wanted >= total:
                return None
            if self.replay.tracker.conversations[self.wanted] is not None:
                return self.wanted
            self.wanted = None  # forgotten (memory limits) before it could be shown
        ids = self.conn_list.ids
        if not ids:
            return None
        return ids[-1] if self.following else ids[0]

    def select(self, conn: int, *, chosen: bool = True) -> None:
        """Show conversation `conn`. `chosen`: the user picked it (it stays shown while
        following, unless it is the newest, which means "follow the newest")."""
        if self.replay.tracker.conversations[conn] is None:
            # Forgotten (memory limits) since the list was last brought up to date.
            self.conn_list.prune()
            self.conn_list.select(self.selected)
            self.notify(t("forgot_heading", self.lang, n=conn) + ".", severity="warning", timeout=5)
            return
        if self.selected is not None:
            # Kept as the segment's number in its conversation: the limits may drop the
            # conversation's oldest segments before it is shown again.
            self._cursors[self.selected] = self.controller.cursor + self.index.dropped
        self.lost = None
        if chosen:
            ids = self.conn_list.ids
            self.pinned = not (ids and conn == ids[-1])
        index = self._indexes.pop(conn, None) or CaptureIndex(self.replay, conn)
        self._indexes[conn] = index
        while len(self._indexes) > KEEP_INDEXES:
            old = next(iter(self._indexes))
            self._indexes.pop(old).timeline.forget()  # type: ignore[attr-defined]
        self.selected = conn
        self.index = index
        self.controller = CaptureStepper(index, lambda: self.growing)
        n = self.controller.length
        cursor = n - 1 if self.following else self._cursors.get(conn, index.dropped) - index.dropped
        self.controller.cursor = max(0, min(n - 1, cursor)) if n else -1
        self._point_panes(index)
        self.conn_list.select(conn)
        self.show()

    def _point_panes(self, index: CaptureIndex) -> None:
        view = self.view
        view.index = index
        for pane in view.query(EndpointPane):
            pane.index = index
        view.query_one(Ladder).index = index
        view.query_one(SegmentLog).index = index

    # -- showing ------------------------------------------------------------------------

    def show(self) -> None:
        """Bring every pane to the cursor; the list, the details and the status line too."""
        if self.index.forgotten and self._drop_forgotten():
            return
        self._last_paint = time.monotonic()
        c = self.controller
        c.length  # noqa: B018  (follows what the memory limits dropped: the cursor moves)
        intro = None if c.cursor >= 0 else self.waiting_text()
        self.view.show(c.cursor, absolute=self.absolute, lang=self.lang, intro=intro)
        if c.cursor >= 0:
            extra = self.explanation_extra(c.cursor)
            if extra:
                pane = self.query_one(ExplainPane)
                pane.show(pane.heading, f"{extra}\n\n{pane.body}")
        self.show_figures()

    def show_figures(self) -> None:
        """Bring the list's title, the selected connection's details, the status line and
        the header up to date (what changes as a capture grows, beside the panes)."""
        self._last_paint = time.monotonic()
        self.query_one(ConnDetails).show(self.replay, self.selected, self.lang)
        self._box_title()
        self._list_visibility()
        status = self.status_line()
        bar = self.query_one("#capture-status", Static)
        bar.display = status is not None
        if status is not None and status != self._status_shown:
            bar.update(status, layout=False)  # one line, always
        self._status_shown = status
        self.title = self.selected_title()
        self.sub_title = self.status_text()
        self.refresh_teaching()  # the state diagram or the quiz open over this screen

    def selected_title(self) -> str:
        if self.selected is None:
            return self.source_name
        return f"{self.source_name} #{self.selected}"

    def status_text(self) -> str:
        """The header's right part: the step, relative or absolute numbers, following."""
        c = self.controller
        dropped = self.index.dropped
        if c.cursor < 0:
            step = ui("before_start", self.lang)
        elif dropped:
            # Numbered among the segments kept, as the log numbers its rows, and how many
            # older segments of the conversation the memory limits dropped.
            key = "step_only_dropped" if c.more_may_come else "step_dropped"
            step = t(key, self.lang, n=c.cursor + 1, total=c.length, dropped=dropped)
        elif c.more_may_come:
            step = ui("step_only", self.lang).format(n=c.cursor + 1)
        else:
            step = ui("step", self.lang).format(n=c.cursor + 1, total=c.length)
        seq = ui("seq_absolute" if self.absolute else "seq_relative", self.lang)
        parts = [step, seq]
        if self.following and self.growing:
            parts.append(t("following", self.lang))
        return " · ".join(parts)

    def _box_title(self) -> None:
        conns = self.conn_list
        total = conns.kept
        shown = len(conns.ids)
        count = f"{total:,}" if not conns.filter else t("of", self.lang, shown=f"{shown:,}", total=f"{total:,}")
        title = f"{t('connections', self.lang)} {count}"
        if conns.forgotten:
            title += f" · {t('forgotten_list', self.lang, n=conns.forgotten)}"
        if conns.filter:
            title += f" · /{conns.filter.text}"
        self.query_one("#conn-box").border_title = title
        conns.empty_text = t("no_match", self.lang) if conns.filter and total else t("no_conn_yet", self.lang)

    def list_shown(self) -> bool:
        if self.list_wanted is not None:
            return self.list_wanted
        return self.size.width >= 120 or self.conn_list.total > 1 or bool(self.conn_list.filter)

    def _list_visibility(self) -> None:
        box = self.query_one("#conn-box")
        shown = self.list_shown()
        if box.display != shown:
            box.display = shown

    def on_resize(self) -> None:
        self._list_visibility()

    # -- stepping -----------------------------------------------------------------------

    def _pause_following(self) -> None:
        if self.following and self.growing:
            self.following = False
            self.notify(t("follow_off", self.lang), timeout=3)
        else:
            self.following = False

    def action_next(self) -> None:
        self._step_on()

    def _step_on(self) -> bool:
        if self.controller.next():
            self.show()
            return True
        self._stop_play()
        if self.controller.length:
            self.notify(t("at_last", self.lang), timeout=2)
        return False

    def action_prev(self) -> None:
        if self.controller.prev():
            self._pause_following()
            self.show()

    def action_first(self) -> None:
        if self.controller.first():
            self._pause_following()
        self.show()

    def action_last(self) -> None:
        self.controller.last()
        self.show()

    def action_play(self) -> None:
        if self._player is not None:
            self._stop_play()
            self.notify(ui("paused", self.lang), timeout=2)
            return
        self._player = self.set_interval(self.play_interval, self._step_on)
        self.notify(ui("playing", self.lang), timeout=2)

    def _stop_play(self) -> None:
        if self._player is not None:
            self._player.stop()
            self._player = None

    @on(SegmentLog.RowChosen)
    @on(Ladder.LineChosen)
    def _row_chosen(self, event: SegmentLog.RowChosen | Ladder.LineChosen) -> None:
        if self.controller.jump(event.frame):
            if self.controller.cursor < self.controller.length - 1:
                self._pause_following()
            self.show()

    def action_follow(self) -> None:
        if self.following:
            self.following = False
            self.notify(t("follow_off", self.lang), timeout=3)
            self.show()
            return
        self.following = True
        if not self.growing:
            self.notify(t("follow_done", self.lang), timeout=3)
        else:
            self.notify(t("follow_on", self.lang), timeout=3)
        ids = self.conn_list.ids
        if not self.pinned and ids and ids[-1] != self.selected:
            self.select(ids[-1], chosen=False)
            return
        self.controller.last()
        self.show()

    # -- the connection list ------------------------------------------------------------

    @on(ConnList.Chosen)
    def _conn_chosen(self, event: ConnList.Chosen) -> None:
        self.select(event.conn)

    def action_connections(self) -> None:
        conns = self.conn_list
        if not self.list_shown():
            self.list_wanted = True
            self._list_visibility()
            conns.focus()
        elif conns.has_focus:
            self.list_wanted = False
            self._list_visibility()
            self.query_one(SegmentLog).focus()
        else:
            conns.focus()

    def action_filter(self) -> None:
        box = self.query_one(FilterInput)
        if not self.list_shown():
            self.list_wanted = True
            self._list_visibility()
        box.add_class("-open")
        box.focus()

    @on(Input.Changed, "#conn-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.apply_filter(event.value)

    @on(Input.Submitted, "#conn-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.close_filter()
            return
        self.conn_list.focus()

    def apply_filter(self, text: str) -> None:
        conns = self.conn_list
        conns.set_filter(text)
        if conns.ids and conns.position(self.selected) < 0:
            self.select(conns.ids[0])
        else:
            self.show()

    def close_filter(self) -> None:
        box = self.query_one(FilterInput)
        box.remove_class("-open")
        if box.value:
            box.value = ""  # Input.Changed clears the list's filter
        self.apply_filter("")
        self.conn_list.focus()

    # -- display ------------------------------------------------------------------------

    def action_toggle_seq(self) -> None:
        self.absolute = not self.absolute
        self.notify(ui("seq_now_abs" if self.absolute else "seq_now_rel", self.lang), timeout=2)
        self.show()

    def action_toggle_lang(self) -> None:
        self.lang = "zh" if self.lang == "en" else "en"
        self.query_one(FilterInput).placeholder = t("filter_placeholder", self.lang)
        self.show()

    def action_help(self) -> None:
        from .help_screen import HelpScreen

        self.app.push_screen(HelpScreen(self.lang, keys=CAPTURE_KEYS, intro=CAPTURE_INTRO, extra=CAPTURE_EXTRA_KEYS))

    def action_quit(self) -> None:
        self.app.exit(0)


# -- the replay: a file or a pipe -----------------------------------------------------------


class ReplayScreen(CaptureScreen):
    """A CaptureScreen fed by a CaptureReader on `fd` (None: the replay is complete)."""

    @dataclass
    class Arrived(Message):
        """Bytes are waiting in the reader (posted from its thread, once per batch)."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, ReplayScreen.Arrived)

    def __init__(self, replay: Replay, fd: int | None = None, *, stream: bool = False, size: int | None = None,
                 error_name: str | None = None, **kwargs: Any) -> None:
        super().__init__(replay, **kwargs)
        self.fd = fd
        self.stream = stream
        #: How sentences about bad input name it ("the input" for stdin, else the path).
        self.error_name = error_name or ("the input" if stream else self.source_name)
        #: The input's first bytes (to say what a file that is not a capture looks like).
        self.head = b""
        #: The file's size (for "45 %" while a file is read).
        self.file_size = size
        self.reader: CaptureReader | None = None
        #: Bytes the reader had read before the screen took over (the first megabyte).
        self.preread = 0
        #: Set when the input is damaged or ends with nothing to show: one sentence.
        self.error: str | None = None
        self.ended = fd is None
        self._pump_timer: TextualTimer | None = None
        self._dirty = False

    @property
    def growing(self) -> bool:
        return not self.ended

    def on_mount(self) -> None:
        super().on_mount()
        if self.fd is not None:
            self.reader = CaptureReader(self.fd, arrived=lambda: self.post_message(self.Arrived()))
            reader = self.reader

            def work() -> None:
                from textual.worker import get_current_worker

                worker = get_current_worker()
                reader.cancelled = lambda: worker.is_cancelled
                reader.run()

            self.run_worker(work, thread=True, name="capture-reader", exit_on_error=False)

    def on_unmount(self) -> None:
        if self.reader is not None:
            self.reader.stop()

    def on_replay_screen_arrived(self, _: Arrived) -> None:
        self._schedule_pump()

    def _schedule_pump(self, delay: float = 0.0) -> None:
        if self._pump_timer is None:
            self._pump_timer = self.set_timer(max(0.001, delay), self._pump)

    def _pump(self) -> None:
        """Feed queued bytes to the replay for at most FEED_SLICE seconds, then repaint if
        the last repaint is 1/30 s old; come back while bytes are waiting."""
        self._pump_timer = None
        reader = self.reader
        if reader is None or self.ended:
            return
        replay = self.replay
        deadline = time.monotonic() + FEED_SLICE
        while time.monotonic() < deadline:
            data = reader.take(FEED_BYTES)
            if not data:
                break
            if len(self.head) < 512:
                self.head += data[: 512 - len(self.head)]
            if replay.feed(data):
                self._dirty = True
            if replay.scanner.dead:
                self._input_damaged()
                return
        revised = replay.take_revised()
        if revised:
            # Taken in now: a later feed may renumber the store's rows (memory limits).
            self.take_revised(revised)
            self._dirty = True
        if reader.finished:
            self._input_ended()
            return
        now = time.monotonic()
        if self._dirty and (now - self._last_paint >= 1 / REPAINTS_PER_SECOND or self.limits_bit()):
            self._repaint()
        if reader.pending:
            self._schedule_pump(0.002)
        elif self._dirty:
            self._schedule_pump(self._last_paint + 1 / REPAINTS_PER_SECOND - now)

    def _repaint(self) -> None:
        self._dirty = False
        self.grew()

    def _input_ended(self) -> None:
        """End of input: what hindsight changes at the end, then the capture is complete."""
        replay = self.replay
        reader = self.reader
        self.ended = True
        if reader is not None and reader.error:
            self._fail(reader.error)
            return
        replay.finish()
        self.take_revised(replay.take_revised())
        if not len(replay):
            self._fail(self._unshowable())
            return
        if self.wanted is not None and self.wanted >= len(replay.tracker.conversations):
            n = len(replay.tracker.conversations)
            self._fail(f"--conn {self.wanted}: the capture holds {n} conversation{'s' if n > 1 else ''}, numbered 0 to {n - 1}")
            return
        if replay.problems:
            from .cmd_replay import _cut_short_note

            self.notify(_cut_short_note(self.error_name, replay), severity="warning", timeout=10)
        self._repaint()

    def _input_damaged(self) -> None:
        self.ended = True
        self._fail(self._unshowable())

    def _unshowable(self) -> str:
        """The one sentence for input that cannot be shown (cmd_replay's wording)."""
        from .cmd_replay import _input_error, _nothing_to_show

        replay = self.replay
        if replay.problems and (replay.scanner.dead or not replay.scanner.segments):
            return str(_input_error(self.error_name, replay, self.head))
        return str(_nothing_to_show(self.error_name, replay))

    def _fail(self, sentence: str) -> None:
        """Bad input. With nothing shown yet, the app ends and the sentence goes to stderr
        (exit 2, as headless); otherwise what came before stays on the screen, with the
        sentence in the status line."""
        self.error = sentence
        if not len(self.replay) or not self.conn_list.total or self.selected is None:
            self.app.failure = sentence  # type: ignore[attr-defined]
            self.app.exit(return_code=2)
            return
        self.notify(sentence, severity="error", timeout=15)
        self._repaint()

    def status_line(self) -> Any:
        from rich.text import Text

        replay = self.replay
        segs = replay.segments_tracked  # since the start (the limits may have dropped some)
        convs = len(replay.tracker.conversations)
        figures = figures_text(segs, convs, self.lang)
        if self.error:
            return Text.assemble((self.error, "bold red"), f"  ·  {figures}")
        left = sum(replay.skipped.values())
        notes = []
        memory = replay.memory_note(self.lang)
        if memory:
            notes.append(memory)
        if left:
            notes.append(f"{left:,} not TCP or not decodable (left out)" if self.lang == "en" else f"{left:,} 个包不是 TCP 或无法解码（已略去）")
        if replay.problems and self.ended:
            notes.append(replay.problems[0].message)
        if self.ended and not self.stream:
            if not notes:
                return None
            return f"{self.source_name}: {figures} · " + " · ".join(notes)
        if self.ended:
            head = t("ended", self.lang, name=self.source_name)
        else:
            head = t("reading", self.lang, name=self.source_name)
            if self.file_size and self.reader is not None:
                done = self.preread + self.reader.read_bytes - self.reader.pending
                head += f" {min(100, done * 100 // max(1, self.file_size))} %"
        parts = [head, figures, *notes]
        if self.following and not self.ended:
            parts.append(t("following", self.lang))
        return " · ".join(parts)


# -- the apps ---------------------------------------------------------------------------------


class CaptureCommands(Provider):
    """The command palette (ctrl+p) of the replay and live screens: every key's command."""

    def _commands(self) -> list[tuple[str, Callable[[], Any], str]]:
        screen = capture_screen_of(self.app)
        if screen is None:
            return []
        return [(key.en, partial(screen.run_action, key.action), f"key: {key.display}") for key in CAPTURE_KEYS]

    async def discover(self) -> Hits:
        for name, command, help_text in self._commands():
            yield DiscoveryHit(name, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, command, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), command, help=help_text)


def capture_screen_of(app: App) -> CaptureScreen | None:
    for screen in reversed(app.screen_stack):
        if isinstance(screen, CaptureScreen):
            return screen
    return None


class CaptureApp(CtrlCQuits, MinimumSize, NoStrayFiles, App[int]):
    """An app with one CaptureScreen (made by `make_screen`). ctrl+c quits like q (or
    copies the selected text) and a terminal too small gets one sentence
    (tui/interrupts.py, tui/too_small.py)."""

    CSS_PATH = ["lab.tcss", "replay.tcss"]
    TITLE = "tcp-lab"
    COMMANDS = App.COMMANDS | {CaptureCommands}
    BINDINGS = [Binding("ctrl+q", "quit_capture", "Quit", show=False, priority=True), CTRL_C]

    def __init__(self, make_screen: Callable[[], CaptureScreen], *, cursor_blink: bool = True) -> None:
        super().__init__()
        self._make_screen = make_screen
        self.cursor_blink = cursor_blink
        #: A sentence for stderr when the app ended on bad input.
        self.failure: str | None = None
        #: The screen made (kept after the app ends, to stop its reader).
        self.main_screen: CaptureScreen | None = None

    def get_default_screen(self) -> Screen:
        self.main_screen = self._make_screen()
        return self.main_screen

    @property
    def capture_screen(self) -> CaptureScreen:
        screen = capture_screen_of(self)
        assert screen is not None
        return screen

    def action_quit_capture(self) -> None:
        self.exit(0)


def replay_app(
    replay: Replay,
    fd: int | None = None,
    *,
    name: str = "capture",
    error_name: str | None = None,
    stream: bool = False,
    size: int | None = None,
    preread: int = 0,
    conn: int | None = None,
    lang: str = "en",
    following: bool | None = None,
    highlight_seconds: float | None = 1.5,
    play_interval: float = 1.0,
    cursor_blink: bool = True,
) -> CaptureApp:
    """The replay app over `replay`, fed from `fd` (None: already complete). A stream is
    followed from the start unless told otherwise. Tests use highlight_seconds=None and
    cursor_blink=False so that pictures do not depend on timing."""

    def make() -> ReplayScreen:
        screen = ReplayScreen(
            replay,
            fd,
            stream=stream,
            size=size,
            name=name,
            error_name=error_name,
            lang=lang,
            conn=conn,
            following=stream if following is None else following,
            highlight_seconds=highlight_seconds,
            play_interval=play_interval,
        )
        screen.preread = preread
        return screen

    return CaptureApp(make, cursor_blink=cursor_blink)


# -- tcp-lab replay FILE (--format tui) ---------------------------------------------------------

#: Read before the screen starts: enough for the first connection's first segments.
PREREAD = 1 << 20


def open_capture_file(
    path: str, conn: int | None = None, limits: Limits | None = None
) -> tuple[Replay, int, int, bool]:
    """Read the start of a capture file, so that bad input is one sentence before the
    screen starts and the first screen has something to show. Returns the replay (bounded
    by `limits`, if given: --max-segments ...), the open descriptor (positioned after what
    was read; the screen reads on), the bytes read, and whether the whole file was read."""
    from .cmd_replay import _check_path, _input_error, _nothing_to_show

    _check_path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except IsADirectoryError:
        raise CliError(f"{path} is a directory, not a capture file") from None
    except PermissionError:
        raise PermissionProblem(f"{path}: permission denied (cannot read it)") from None
    except OSError as exc:
        raise CliError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    replay = Replay(os.path.basename(path), limits=limits)
    head = b""
    done = 0
    whole = False
    try:
        while True:
            chunk = os.read(fd, PREREAD)
            if not chunk:
                whole = True
                break
            if not head:
                head = chunk[:512]
            done += len(chunk)
            replay.feed(chunk)
            if replay.scanner.dead:
                raise _input_error(path, replay, head)
            if len(replay) and done >= PREREAD:
                break
        if whole:
            replay.finish()
            if replay.problems and not replay.scanner.segments:
                raise _input_error(path, replay, head)
            if not replay.scanner.segments:
                raise _nothing_to_show(path, replay)
            _check_conn(conn, replay)
    except BaseException:
        os.close(fd)
        raise
    return replay, fd, done, whole


def _check_conn(conn: int | None, replay: Replay) -> None:
    from .cmd_replay import _check_conn as check

    check(argparse.Namespace(conn=conn), replay)


def _stdin_for_the_screen() -> tuple[int, Callable[[], None]]:
    """Keep the capture arriving on stdin for the reader, and give Textual the terminal:
    returns a descriptor of the pipe and a function that puts stdin back."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        raise CliError(
            "the replay screen needs a terminal for its keys while the capture comes on stdin, and there is none; "
            "use --format text or --format json"
        ) from None
    capture = os.dup(0)
    os.set_inheritable(capture, False)
    saved = os.dup(0)
    os.dup2(tty, 0)
    os.close(tty)

    def restore() -> None:
        os.dup2(saved, 0)
        os.close(saved)

    return capture, restore


def run_replay(args: argparse.Namespace) -> int:
    """`tcp-lab replay FILE` on a terminal: the replay screen until the user quits."""
    if getattr(args, "conversations", False):
        # The conversation table is text whatever the terminal.
        from . import cmd_replay

        args.format = "text"
        return cmd_replay.run(args)
    conn = getattr(args, "conn", None)
    if conn is not None and conn < 0:
        raise CliError(f"--conn {conn}: conversations are numbered from 0")
    lang = getattr(args, "lang", "en") or "en"
    path = args.file
    restore: Callable[[], None] | None = None
    fd: int | None
    # Memory limits (core/limits.py), as headless: a stream on stdin keeps the live
    # defaults; a file is kept whole unless --max-segments ... are given, and then the
    # screen keeps what they allow and says what went.
    limits = resolve_limits(
        path == "-",
        getattr(args, "max_segments", None),
        getattr(args, "max_segments_per_conn", None),
        getattr(args, "max_conns", None),
    )
    if path == "-":
        fd, restore = _stdin_for_the_screen()
        app = replay_app(Replay("stdin", limits=limits), fd, name="stdin", stream=True, conn=conn, lang=lang)
    else:
        replay, fd, done, whole = open_capture_file(path, conn, limits if limits.active else None)
        size = os.fstat(fd).st_size
        if whole:
            os.close(fd)
            fd = None
        app = replay_app(replay, fd, name=os.path.basename(path), error_name=path, size=size, preread=done,
                         conn=conn, lang=lang)
    try:
        result = run_app(app)  # SIGINT/SIGTERM/SIGHUP: the screen ends, exit 128 + signal
    finally:
        screen = app.main_screen
        reader = getattr(screen, "reader", None)
        if reader is not None:
            # Stop the reading thread before its descriptor is closed.
            reader.stop()
            reader.done.wait(1.0)
        if fd is not None:
            os.close(fd)
        if restore is not None:
            restore()
    if app.failure:
        raise CliError(app.failure)
    if app.return_code not in (None, 0):
        return int(app.return_code)
    return int(result or 0)
