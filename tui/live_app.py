"""The live screen: `tcp-lab sniff` (and `--demo`) on a terminal.

It is the replay screen (tui/replay_app.py CaptureScreen) fed by a live sniff: the
session (tui/live_session.py, opened by tui/cmd_sniff.py with every check done) turns
captured frames into the same replay a file would give, and this screen pumps it from a
timer, at most 30 times a second, repainting once per batch whatever the rate of
packets: a flood costs one repaint per tick, not one per segment.

- The connection list fills as connections appear. The newest connection is followed
  (its newest segment on the panes) until the user selects another; stepping back
  pauses following, `f` resumes it, choosing the newest connection again follows the
  newest.
- The status line counts packets received, dropped by the kernel (the socket's receive
  buffer was full) and skipped by the decoder (not TCP, or not decodable), then the
  segments and connections tracked.
- With `--demo`, each act of the scripted connection (tui/live_demo.py) is announced in
  the explanation pane, above the explanation of the segment shown: while following, the
  act going on now; on an earlier segment, the act during which it was captured
  (`LiveSession.act_for_row`).
- The interface taken down (``ip link set X down``) is said in the status line, in
  yellow, and in a notification; the capture waits for it and goes on when it is up again
  (a notification says so). Deleted (``ip link del X``, or a veth whose peer's namespace
  went away), or the capture socket failing: a red sentence in the status line and a
  notification; what was captured stays on the screen, to step through as a replay; q
  quits with 0 as always.
- Memory is bounded (core/limits.py: LIVE_LIMITS, or --max-segments,
  --max-segments-per-conn, --max-conns): what the limits drop is followed as on the
  replay screen (tui/replay_app.py CaptureScreen): the shown conversation's oldest
  segments leave the panes, a forgotten conversation leaves the list (said in a
  notification if it was shown), each notice is a notification and the status line
  ends with the memory line.
- ctrl+c quits like q; SIGINT, SIGTERM or SIGHUP from outside end the screen cleanly with
  exit code 0, as they end a headless sniff (tui/interrupts.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.message import Message
from textual.timer import Timer as TextualTimer

from tcp_lab.core.explain import render

from .interrupts import run_app
from .live_capture import InterfaceGone, failure_reason
from .replay_app import REPAINTS_PER_SECOND, CaptureApp, CaptureScreen, figures_text

#: How often the status line's counters are read again (the kernel's drop count is a
#: getsockopt call).
STATUS_EVERY = 0.25

TEXTS = {
    "starting": {"en": "Starting the capture on {iface}", "zh": "正在启动 {iface} 上的抓包"},
    "capturing": {"en": "Capturing on {iface}", "zh": "正在 {iface} 上抓包"},
    "stopped": {"en": "The capture on {iface} stopped: {why}", "zh": "{iface} 上的抓包已停止：{why}"},
    "gone": {"en": "The capture stopped: {iface} was deleted", "zh": "抓包已停止：网卡 {iface} 已被删除"},
    "kept": {"en": "{why}. What it captured stays here: step through it, or quit with q.",
             "zh": "{why}。已抓到的内容仍保留在这里：可以逐步查看，按 q 退出。"},
    "down": {"en": "{iface} is down: waiting for it to come back up", "zh": "{iface} 已停用（down）：等待它重新启用"},
    "up": {"en": "{iface} is up again: capturing", "zh": "{iface} 已重新启用：继续抓包"},
    "received": {"en": "{n:,} packets received", "zh": "收到 {n:,} 个包"},
    "dropped": {"en": "{n:,} dropped by the kernel", "zh": "内核丢弃 {n:,} 个"},
    "skipped": {"en": "{n:,} skipped", "zh": "跳过 {n:,} 个"},
    "waiting": {"en": "Capturing on {iface}: waiting for the first TCP segment", "zh": "正在 {iface} 上抓包：等待第一个 TCP 报文段"},
    "waiting_body": {
        "en": "Start a connection that the filter ({bpf}) lets through; its segments appear here as they cross the interface.",
        "zh": "发起一条能通过过滤器（{bpf}）的连接；它的报文段经过网卡时会出现在这里。",
    },
    "demo_over": {"en": "the demo is over", "zh": "演示已结束"},
    "demo_failed": {"en": "The demo stopped: {why}", "zh": "演示已停止：{why}"},
}


def lt(key: str, lang: str, **params: Any) -> str:
    entry = TEXTS[key]
    return (entry.get(lang) or entry["en"]).format(**params)


class LiveScreen(CaptureScreen):
    """A CaptureScreen over a LiveSession's replay; `demo` (tui/live_demo.py) or None."""

    @dataclass
    class Started(Message):
        """The capture thread is about to read (posted from it)."""

    @dataclass
    class ActAnnounced(Message):
        """The demo began an act (posted from the demo's thread)."""

        act: Any

    def __init__(self, session: Any, demo: Any = None, **kwargs: Any) -> None:
        capture = session.capture
        kwargs.setdefault("name", f"live on {capture.iface}")
        kwargs.setdefault("following", True)
        super().__init__(session.replay, **kwargs)
        self.session = session
        self.demo = demo
        self.iface = capture.iface
        self.bpf = capture.bpf
        self.started = False
        #: The sentence saying why the capture stopped, once it has.
        self.failed: str | None = None
        self.demo_over = False
        self._ticker: TextualTimer | None = None
        self._status_at = 0.0

    @property
    def growing(self) -> bool:
        return self.failed is None

    def on_mount(self) -> None:
        super().on_mount()
        self.session.capture.start(lambda: self.post_message(self.Started()))
        self._ticker = self.set_interval(1 / REPAINTS_PER_SECOND, self._tick)

    def on_live_screen_started(self, _: Started) -> None:
        self.started = True
        if self.demo is not None:
            self.session.attach_demo(self.demo, lambda act: self.post_message(self.ActAnnounced(act)))
            self.demo.start()
        self.show_figures()

    def on_live_screen_act_announced(self, _: ActAnnounced) -> None:
        # The act is already in session.acts (recorded on the demo's thread).
        if self.following or self.controller.cursor < 0:
            self.show()

    # -- one tick: what arrived, once -----------------------------------------------------

    def _tick(self) -> None:
        session = self.session
        capture = session.capture
        error = capture.error  # read before pumping: what came before the error is pumped now
        added = session.pump()
        revised = self.replay.take_revised()
        if added or revised or self.limits_bit():
            self.grew(revised)
        for notice in capture.take_notices():
            severity = "warning" if notice == "down" else "information"
            self.notify(lt(notice, self.lang, iface=self.iface), severity=severity, timeout=8)
            self.show_figures()
        if error is not None and self.failed is None:
            if isinstance(error, InterfaceGone):
                self.failed = lt("gone", self.lang, iface=self.iface)
            else:
                self.failed = lt("stopped", self.lang, iface=self.iface, why=failure_reason(error))
            self.notify(lt("kept", self.lang, why=self.failed), severity="error", timeout=15)
            self.show_figures()
        demo = self.demo
        if demo is not None and not self.demo_over and demo.done.is_set():
            self.demo_over = True
            if demo.error is not None:
                self.notify(lt("demo_failed", self.lang, why=demo.error), severity="error", timeout=15)
            self.show_figures()
        now = time.monotonic()
        if now - self._status_at >= STATUS_EVERY:
            self._status_at = now
            self.show_figures()

    # -- what the screen says -------------------------------------------------------------

    def status_line(self) -> Any:
        lang = self.lang
        s = self.session.stats()
        figures = [
            lt("received", lang, n=s.received),
            lt("dropped", lang, n=s.dropped),
            lt("skipped", lang, n=s.skipped_total),
            figures_text(s.segments, s.conversations, lang),
        ]
        memory = self.replay.memory_note(lang)
        if memory:
            # The memory limits (--max-segments ...) dropped something: say how much, first
            # (a long status line is cut at the right).
            figures.insert(0, memory)
        if self.failed is not None:
            return Text.assemble((self.failed, "bold red"), " · " + " · ".join(figures))
        if self.session.capture.link_down:
            return Text.assemble((lt("down", lang, iface=self.iface), "bold yellow"), " · " + " · ".join(figures))
        where = self.iface if self.demo is not None else f"{self.iface} ({self.bpf})"
        head = lt("capturing" if self.started else "starting", lang, iface=where)
        parts = [head, *figures]
        if self.demo_over:
            parts.append(lt("demo_over", lang))
        if self.following:
            parts.append("跟随中" if lang == "zh" else "following")
        return " · ".join(parts)

    def _act_text(self, act: Any) -> str:
        return render(act.explain, self.lang)

    def explanation_extra(self, cursor: int) -> str | None:
        acts = self.session.acts
        if not acts or self.index.conv is None:
            return None
        if self.following:
            act = acts[-1]
        else:
            act = self.session.act_for_row(self.index.conv.rows[cursor])
        return self._act_text(act) if act is not None else None

    def waiting_text(self) -> tuple[str, str]:
        acts = self.session.acts
        if acts:
            act = acts[-1]
            return f"{act.number}/{act.total}", self._act_text(act)
        return lt("waiting", self.lang, iface=self.iface), lt("waiting_body", self.lang, bpf=self.bpf)


def live_app(
    session: Any,
    demo: Any = None,
    *,
    lang: str = "en",
    highlight_seconds: float | None = 1.5,
    play_interval: float = 1.0,
    cursor_blink: bool = True,
) -> CaptureApp:
    """The live app over an open LiveSession (and the demo, if any)."""

    def make() -> LiveScreen:
        return LiveScreen(
            session, demo, lang=lang, highlight_seconds=highlight_seconds, play_interval=play_interval
        )

    return CaptureApp(make, cursor_blink=cursor_blink)


def run_live(session: Any, demo: Any, args: Any) -> int:
    """`tcp-lab sniff` on a terminal (tui/cmd_sniff.py calls this with the session open;
    it stops the capture and the demo when this returns)."""
    app = live_app(session, demo, lang=getattr(args, "lang", "en") or "en")
    # SIGINT/SIGTERM/SIGHUP end a live screen as they end a headless sniff: exit code 0.
    result = run_app(app, exit_code=lambda signum: 0)
    if app.return_code not in (None, 0):
        return int(app.return_code)
    return int(result or 0)
