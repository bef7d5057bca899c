"""The connection list of the replay and live screens: one entry per TCP conversation of
the capture (Wireshark's tcp.stream), the selected one shown in the panes beside it.

Each entry gives the conversation's number, its 4-tuple (client first), how many
segments and payload bytes it carried, how long it lasted and the states both endpoints
were left in; `?` after the number marks a client guessed from the ports (no SYN was
captured, so the side with the higher port is taken for the client). `ConnDetails`, under
the list, spells out the selected conversation (both state pairs, bytes each way, notes).

It is a line-API `ScrollView` (the toolong shape, STYLE.md) that reads the tracker's
conversations as it draws: a capture of ten thousand connections scrolls as fast as one
of three, and a growing capture adds entries (`grow`); a replay with memory limits
(core/limits.py) may forget old conversations, which then leave the list (`prune`).
Typing `/` on the screen filters the list (`set_filter`): every word must match, a number
matches a port exactly ("80", ":443"), anything else a part of an address or of
"address:port" ("10.21", "118.178.116.8:80").
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from tcp_lab.core.addr import addr_text
from tcp_lab.core.inference import STATES

#: At this width and above, each entry takes two lines (the 4-tuple, then the figures).
TWO_LINES_FROM = 40


def endpoint_text(addr: bytes, port: int) -> str:
    text = addr_text(addr)
    return f"[{text}]:{port}" if ":" in text else f"{text}:{port}"


def bytes_text(n: int) -> str:
    """Payload bytes, short: 356 B, 1.9 kB, 12.4 MB."""
    if n < 1000:
        return f"{n} B"
    for unit in ("kB", "MB", "GB"):
        n /= 1000
        if n < 999.95:
            return f"{n:.1f} {unit}"
    return f"{n:.0f} TB"


def duration_text(seconds: float) -> str:
    """A duration, short: 0.35 s, 12.5 s, 340 s."""
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 100:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s"


def state_pair(code: int) -> str:
    """A states byte (client << 4 | server) as "TIME_WAIT/CLOSED"."""
    return f"{STATES[code >> 4].value}/{STATES[code & 0xF].value}"


def first_state_pair(conv: Any) -> str:
    c, s = conv.first_states
    return f"{STATES[c].value}/{STATES[s].value}"


class ConnFilter:
    """What `/` typed: words that must all match a conversation's ports or addresses."""

    def __init__(self, text: str = "") -> None:
        self.text = text.strip()
        self.ports: list[int] = []
        self.parts: list[str] = []
        for word in self.text.lower().split():
            digits = word.removeprefix(":")
            if digits.isdigit():
                self.ports.append(int(digits))
            else:
                self.parts.append(word)

    def __bool__(self) -> bool:
        return bool(self.text)

    def matches(self, conv: Any) -> bool:
        for port in self.ports:
            if port not in conv.port:
                return False
        if self.parts:
            texts = (endpoint_text(conv.addr[0], conv.port[0]).lower(), endpoint_text(conv.addr[1], conv.port[1]).lower())
            for part in self.parts:
                if part not in texts[0] and part not in texts[1]:
                    return False
        return True


class ConnList(ScrollView, can_focus=True, inherit_bindings=False):
    """The conversations of a replay (a core.replay.Replay), filtered; one is selected."""

    BINDINGS = [
        Binding("up", "move(-1)", "Previous connection", show=False),
        Binding("down", "move(1)", "Next connection", show=False),
        Binding("pageup", "move(-10)", "Ten connections back", show=False),
        Binding("pagedown", "move(10)", "Ten connections on", show=False),
    ]

    COMPONENT_CLASSES = {"conn-list--selected", "conn-list--figures", "conn-list--guess", "conn-list--empty"}

    DEFAULT_CSS = """
    ConnList { scrollbar-size-vertical: 1; overflow-x: hidden; }
    ConnList > .conn-list--selected { background: $primary 30%; text-style: bold; }
    ConnList:focus > .conn-list--selected { background: $primary 55%; }
    ConnList > .conn-list--figures { color: $text-muted; }
    ConnList > .conn-list--guess { color: $text-warning; }
    ConnList > .conn-list--empty { color: $text-muted; text-style: italic; }
    """

    @dataclass
    class Chosen(Message):
        """The user picked a connection (`conn` is its number, as tcp.stream)."""

        conn_list: ConnList
        conn: int

    def __init__(self, replay: Any, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.replay = replay
        #: Conversation numbers shown, in order.
        self.ids = array("I")
        self.filter = ConnFilter()
        #: The conversation shown in the panes (None before the first).
        self.selected: int | None = None
        self.empty_text = ""
        self._seen = 0
        self._forgotten_seen = 0
        self._styles: dict[str, Style] | None = None

    # -- what the screen asks ---------------------------------------------------------

    @property
    def total(self) -> int:
        """Conversation numbers handed out so far (forgotten ones included)."""
        return len(self.replay.tracker.conversations)

    @property
    def kept(self) -> int:
        """Conversations the replay still holds (`total` less those forgotten)."""
        return self.total - self.forgotten

    @property
    def forgotten(self) -> int:
        """Conversations the replay forgot to bound memory (core/limits.py)."""
        return self.replay.evicted.conversations

    def grow(self) -> int:
        """Take in the conversations that appeared since the last call, and take out those
        the replay forgot to bound memory (`prune`); returns how many new ones the filter
        lets through. Figures of those already listed are read as they are drawn, so they
        are always the latest."""
        if self.forgotten != self._forgotten_seen:
            self.prune()
        convs = self.replay.tracker.conversations
        n = len(convs)
        added = 0
        f = self.filter
        for cid in range(self._seen, n):
            conv = convs[cid]
            if conv is None:  # forgotten (a replay with memory limits keeps its number free)
                continue
            if not f or f.matches(conv):
                self.ids.append(cid)
                added += 1
        self._seen = n
        self._resize()
        self.refresh()
        return added

    def prune(self) -> bool:
        """Take out the conversations forgotten since the last look (their slots are None);
        True when some were listed."""
        self._forgotten_seen = self.forgotten
        convs = self.replay.tracker.conversations
        ids = self.ids
        kept = array("I", (cid for cid in ids if convs[cid] is not None))
        if len(kept) == len(ids):
            return False
        self.ids = kept
        self._resize()
        self.refresh()
        return True

    def set_filter(self, text: str) -> None:
        self.filter = ConnFilter(text)
        convs = self.replay.tracker.conversations
        f = self.filter
        self.ids = array("I", (c.id for c in convs if c is not None and (not f or f.matches(c))))
        self._seen = len(convs)
        self._forgotten_seen = self.forgotten
        self._resize()
        self.scroll_to(y=0, animate=False, force=True)
        self.bring_selected_into_view()
        self.refresh()

    def select(self, conn: int | None) -> None:
        """Mark `conn` as the one shown (the screen calls this; no message is posted)."""
        self.selected = conn
        self.bring_selected_into_view()
        self.refresh()

    def position(self, conn: int | None) -> int:
        """Where `conn` is in the list, or -1 (not listed: filtered out, or None)."""
        if conn is None:
            return -1
        ids = self.ids
        # Conversation numbers are listed in increasing order: bisect.
        lo, hi = 0, len(ids)
        while lo < hi:
            mid = (lo + hi) // 2
            if ids[mid] < conn:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(ids) and ids[lo] == conn else -1

    def bring_selected_into_view(self) -> None:
        pos = self.position(self.selected)
        if pos < 0:
            return
        per = self.lines_per_entry()
        height = max(1, self.scrollable_content_region.height)
        top = round(self.scroll_y)
        first, last = pos * per, pos * per + per - 1
        if first < top:
            top = first
        elif last >= top + height:
            top = last - height + 1
        self.scroll_to(y=max(0, top), animate=False, force=True)

    def lines_per_entry(self, width: int | None = None) -> int:
        width = self.scrollable_content_region.width if width is None else width
        return 2 if width >= TWO_LINES_FROM else 1

    def entry_text(self, conn: int, width: int | None = None) -> list[str]:
        """An entry as the list draws it (its lines, plain text)."""
        width = max(10, self.scrollable_content_region.width if width is None else width)
        return [text for text, _ in self._lines(conn, width)]

    def visible_text(self, width: int | None = None) -> list[str]:
        """Every entry listed now, one string each (lines joined by " / ")."""
        return [" / ".join(t.rstrip() for t in self.entry_text(cid, width)) for cid in self.ids]

    # -- drawing ----------------------------------------------------------------------

    def _resize(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.ids) * self.lines_per_entry())
        self._scroll_update(self.virtual_size)

    def on_resize(self) -> None:
        self._resize()
        self.bring_selected_into_view()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None

    def _style_table(self) -> dict[str, Style]:
        if self._styles is None:
            table = {
                name: self.get_component_rich_style(f"conn-list--{name}", partial=True)
                for name in ("selected", "figures", "guess", "empty")
            }
            table["base"] = self.rich_style
            self._styles = table
        return self._styles

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        styles = self._style_table()
        base = styles["base"]
        if width <= 0:
            return Strip.blank(width, base)
        if not self.ids:
            if y == 0 and self.empty_text:
                text = set_cell_size(self.empty_text, width)
                return Strip([Segment(text, base + styles["empty"])], width)
            return Strip.blank(width, base)
        per = self.lines_per_entry(width)
        line = round(self.scroll_y) + y
        pos, sub = divmod(line, per)
        if pos >= len(self.ids):
            return Strip.blank(width, base)
        conn = self.ids[pos]
        text, kind = self._lines(conn, width)[sub]
        style = base + styles[kind] if kind else base
        if conn == self.selected:
            style += styles["selected"]
        text = set_cell_size(text, width)
        return Strip([Segment(text, style)], width)

    def _lines(self, conn: int, width: int) -> list[tuple[str, str | None]]:
        conv = self.replay.tracker.conversations[conn]
        digits = len(str(max(self.total - 1, 9)))
        if conv is None:
            return [(f"{conn:>{digits}} -", "figures")] * self.lines_per_entry(width)
        mark = "?" if conv.client_guess else " "
        head = f"{conn:>{digits}}{mark}"
        segs = conv.counts[0] + conv.counts[1]
        last = state_pair(conv.state_byte)
        if self.lines_per_entry(width) == 2:
            client = endpoint_text(conv.addr[0], conv.port[0])
            server = endpoint_text(conv.addr[1], conv.port[1])
            duration = duration_text(conv.last_ts - conv.first_ts)
            figures = f"{' ' * len(head)}{segs} seg  {bytes_text(conv.counts[2] + conv.counts[3])}  {duration}  {last}"
            return [(f"{head}{client} → {server}", "guess" if conv.client_guess else None), (figures, "figures")]
        # One line: as much as fits, the states first.
        for text in (
            f"{head}{conv.port[0]}→{conv.port[1]} {segs} {last}",
            f"{head}{conv.port[0]}→{conv.port[1]} {last}",
            f"{head}→{conv.port[1]} {last}",
        ):
            if len(text) <= width:
                break
        return [(text, "guess" if conv.client_guess else None)]

    # -- choosing ---------------------------------------------------------------------

    def _choose_position(self, pos: int) -> None:
        if not self.ids:
            return
        pos = max(0, min(len(self.ids) - 1, pos))
        conn = self.ids[pos]
        self.select(conn)
        self.post_message(self.Chosen(self, conn))

    def action_move(self, delta: int) -> None:
        pos = self.position(self.selected)
        if pos < 0:
            pos = 0 if delta > 0 else len(self.ids) - 1
        else:
            pos += delta
        self._choose_position(pos)

    def action_move_to(self, pos: int) -> None:
        self._choose_position(pos if pos >= 0 else len(self.ids) - 1)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        pos = (round(self.scroll_y) + offset.y) // self.lines_per_entry()
        if 0 <= pos < len(self.ids):
            self._choose_position(pos)


class ConnDetails(Static):
    """The selected conversation in full, under the list."""

    DEFAULT_CSS = """
    ConnDetails { height: auto; max-height: 10; color: $text; border-top: solid $primary 50%; }
    """

    _shown: Any = None

    def show(self, replay: Any, conn: int | None, lang: str = "en") -> None:
        text = details_text(replay, conn, lang) if conn is not None and conn < len(replay.tracker.conversations) else Text()
        if text != self._shown:  # an update lays the screen out again: only on a change
            self._shown = text
            self.update(text)


def details_text(replay: Any, conn: int, lang: str = "en") -> Text:
    """What ConnDetails shows for conversation `conn`."""
    conv = replay.tracker.conversations[conn]
    zh = lang == "zh"
    if conv is None:
        return Text(f"#{conn}")
    c_segs, s_segs, c_bytes, s_bytes = conv.counts[:4]
    text = Text()
    text.append(f"#{conn} ", style="bold")
    text.append(("客户端 " if zh else "client ") + endpoint_text(conv.addr[0], conv.port[0]) + "\n")
    text.append(" " * (len(str(conn)) + 2) + ("服务端 " if zh else "server ") + endpoint_text(conv.addr[1], conv.port[1]) + "\n")
    if zh:
        text.append(f"{c_segs + s_segs} 个报文段：→ {c_segs} 个 {c_bytes} 字节，← {s_segs} 个 {s_bytes} 字节\n")
    else:
        text.append(f"{c_segs + s_segs} segments: → {c_segs}, {c_bytes} B; ← {s_segs}, {s_bytes} B\n")
    start = conv.first_ts - replay.first_ts
    duration = conv.last_ts - conv.first_ts
    text.append(f"持续 {duration:.3f} 秒，开始于 {start:.3f} 秒\n" if zh else f"{duration:.3f} s long, from {start:.3f} s\n")
    text.append("first " if not zh else "最初 ", style="dim")
    text.append(first_state_pair(conv) + "\n")
    text.append("last  " if not zh else "最后 ", style="dim")
    text.append(state_pair(conv.state_byte))
    notes = []
    if conv.client_guess:
        notes.append("? 客户端按端口猜测（没有 SYN）" if zh else "? client guessed from the ports (no SYN)")
    if conv.start == "midstream":
        notes.append("握手没有被捕获" if zh else "handshake not captured")
    elif conv.start == "synack":
        notes.append("客户端的 SYN 没有被捕获" if zh else "the client's SYN was not captured")
    if conv.reused_by is not None:
        notes.append(f"端口后来被 #{conv.reused_by} 重用" if zh else f"ports reused later by #{conv.reused_by}")
    for note in notes:
        text.append("\n" + note, style="italic dim")
    return text

