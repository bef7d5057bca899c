"""An endpoint pane: one side of the connection as it is after the current frame.

It shows the side's address and port (in the pane's title), its state in large type with
the RFC 9293 name and the name Linux `ss` prints, the transmission control block
(RFC 9293 section 3.3.1: ISS, IRS, SND.UNA, SND.NXT, SND.WND, RCV.NXT, RCV.WND), the timers
that are running with the time they have left, and the states it went through. When the
state changes at the current step, the state is highlighted for a moment.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Group
from rich.style import Style
from rich.text import Text
from textual.timer import Timer as TextualTimer
from textual.widget import Widget

from tcp_lab.core.frame import EndpointView, Frame, Role
from tcp_lab.core.segment import SEQ_MOD
from .big_text import big_lines, big_width
from .timeline_index import TimelineIndex
from .ui_text import ui

_TIMER_NAMES = {"rto": "RTO", "2msl": "2MSL", "timewait": "2MSL", "persist": "PERSIST", "keepalive": "KEEPALIVE"}


class EndpointPane(Widget):
    """The client's or the server's state and TCB at the current step."""

    COMPONENT_CLASSES = {
        "endpoint--state",
        "endpoint--changed",
        "endpoint--names",
        "endpoint--label",
        "endpoint--value",
        "endpoint--muted",
    }

    DEFAULT_CSS = """
    EndpointPane > .endpoint--state { text-style: bold; color: $text; background: $primary 40%; }
    EndpointPane > .endpoint--changed { text-style: bold; color: $text; background: $warning 70%; }
    EndpointPane > .endpoint--names { color: $text-muted; }
    EndpointPane > .endpoint--label { color: $text-muted; }
    EndpointPane > .endpoint--value { color: $text; }
    EndpointPane > .endpoint--muted { color: $text-muted; text-style: italic; }
    """

    def __init__(self, role: Role, index: TimelineIndex, *, highlight_seconds: float | None = 1.5, id: str | None = None) -> None:
        super().__init__(id=id)
        self.role: Role = role
        self.index = index
        #: How long a state change stays highlighted; None keeps it for the whole step
        #: (tests and snapshots use None so that the picture does not depend on timing).
        self.highlight_seconds = highlight_seconds
        self.view: EndpointView | None = None
        self.frame: Frame | None = None
        self.cursor = -1
        self.absolute = False
        self.lang = "en"
        self.highlighted = False
        self._unhighlight: TextualTimer | None = None

    # -- what the screen asks ---------------------------------------------------------

    def show(self, cursor: int, *, absolute: bool = False, lang: str = "en", initial: EndpointView | None = None) -> None:
        """Show the side as it is after frame `cursor`; -1 is before the first frame, where
        the side is shown as `initial` says (if given)."""
        self.cursor = cursor
        self.absolute = absolute
        self.lang = lang
        if cursor >= 0:
            self.frame = self.index.timeline[cursor]
            self.view = self.frame.endpoint(self.role)
            changed = self.index.changed_at(self.role, cursor) and cursor > 0
        else:
            self.frame = None
            self.view = initial
            changed = False
        self._set_highlight(changed)
        self.border_title = self.title_text()
        self.refresh()

    def _set_highlight(self, on: bool) -> None:
        if self._unhighlight is not None:
            self._unhighlight.stop()
            self._unhighlight = None
        self.highlighted = on
        self.set_class(on, "-changed")
        if on and self.highlight_seconds is not None:
            self._unhighlight = self.set_timer(self.highlight_seconds, lambda: self._end_highlight())

    def _end_highlight(self) -> None:
        self._unhighlight = None
        self.highlighted = False
        self.remove_class("-changed")
        self.refresh()

    @property
    def state_name(self) -> str:
        """The BSD name of the state shown ("SYN_SENT"), or "" before the first frame."""
        return self.view.state.value if self.view is not None else ""

    def title_text(self) -> str:
        side = ui(self.role, self.lang)
        if self.view is None:
            return side
        return f"{side} {self.view.addr}:{self.view.port}"

    def plain_text(self) -> str:
        """What the pane shows, as plain text (title first), at its current size."""
        width = max(20, self.size.width)
        height = max(6, self.size.height)
        return self.title_text() + "\n" + "\n".join(line.plain.rstrip() for line in self.lines(width, height))

    # -- drawing ----------------------------------------------------------------------

    def render(self) -> Group:
        return Group(*self.lines(self.size.width, self.size.height))

    def lines(self, width: int, height: int) -> list[Text]:
        """The pane's content as lines of at most `width` cells."""
        view = self.view
        muted = self.get_component_rich_style("endpoint--muted", partial=True)
        if view is None:
            return [Text(ui("before_start", self.lang), style=muted)]
        label = self.get_component_rich_style("endpoint--label", partial=True)
        value = self.get_component_rich_style("endpoint--value", partial=True)
        names_style = self.get_component_rich_style("endpoint--names", partial=True)
        state_style = self.get_component_rich_style(
            "endpoint--changed" if self.highlighted else "endpoint--state", partial=True
        )
        state = view.state
        names = _names(state, width - cell_len(state.value) - 4)
        out: list[Text] = []
        table = self._tcb(width, label, value)
        others = 1 + len(table) + 2  # names, TCB, timers, history
        if width >= big_width(state.value) and height >= 3 + others:
            for row in big_lines(state.value):
                out.append(Text(row, style=state_style))
            out.append(Text.assemble((state.value, state_style), "  ", (names, names_style)))
        else:
            line = Text.assemble((f" {state.value} ", state_style))
            if cell_len(state.value) + 4 + cell_len(names) <= width:
                line.append("  " + names, names_style)
            out.append(line)
        out.extend(table)
        out.append(self._timer_line(label, value, muted))
        out.append(self._history_line(width, label, value))
        if view.note:
            out.append(Text(view.note, style=muted))
        for line in out:
            line.truncate(width, overflow="ellipsis")
        return out

    def _tcb(self, width: int, label: Style, value: Style) -> list[Text]:
        """The TCB as a small table: the send and receive sequence variables of RFC 9293
        section 3.3.1, relative to ISS/IRS unless absolute numbers are asked for."""
        view = self.view
        assert view is not None
        iss, irs = view.iss, view.irs

        def rel(number: int | None, base: int | None) -> str:
            if number is None:
                return "-"
            if self.absolute or base is None:
                return str(number)
            return str((number - base) % SEQ_MOD)

        def show(number: int | None) -> str:
            return "-" if number is None else str(number)

        snd = (show(iss), rel(view.snd_una, iss), rel(view.snd_nxt, iss), show(view.snd_wnd))
        rcv = (show(irs), "", rel(view.rcv_nxt, irs), show(view.rcv_wnd))
        heads = ("ISS/IRS", "UNA", "NXT", "WND")
        widths = [max(cell_len(h), cell_len(a), cell_len(b)) for h, a, b in zip(heads, snd, rcv)]
        keep = [0, 1, 2, 3]
        if 4 + sum(widths) + 2 * 3 > width:
            # Too narrow for the ISS/IRS column: the sequence variables say more.
            keep = [1, 2, 3]
        rows = []
        for head, cells in (("", heads), ("SND", snd), ("RCV", rcv)):
            text = Text(f"{head:<4}", style=label)
            for n, k in enumerate(keep):
                cell = cells[k]
                text.append(("  " if n else "") + cell.ljust(widths[k]), label if head == "" else value)
            rows.append(text)
        return rows

    def _history_line(self, width: int, label: Style, value: Style) -> Text:
        """The last states the side went through, as many as fit, oldest first."""
        full = [s.value for s in self.index.history(self.role, self.cursor, 8)]
        if not full and self.view is not None:
            full = [self.view.state.value]
        head = ui("history", self.lang) + " "
        states = full[-5:]
        while True:
            path = ("… → " if len(states) < len(full) else "") + " → ".join(states)
            if cell_len(head) + cell_len(path) <= width:
                return Text.assemble((head, label), (path, value))
            if cell_len(path) <= width or len(states) <= 1:
                return Text(path, style=value)
            states = states[1:]

    def _timer_line(self, label: Style, value: Style, muted: Style) -> Text:
        view = self.view
        assert view is not None
        now = self.frame.time if self.frame is not None else 0.0
        if not view.timers:
            return Text(ui("no_timers", self.lang), style=muted)
        text = Text(ui("timers", self.lang) + " ", style=label)
        for n, timer in enumerate(view.timers):
            left = max(0.0, timer.deadline - now)
            name = _TIMER_NAMES.get(timer.name.lower(), timer.name.upper())
            text.append(("  " if n else "") + f"{name} {left:.2f} s", value)
        return text


def _names(state, room: int) -> str:
    """The state's RFC 9293 and Linux `ss` names, in the longest form that fits `room`."""
    rfc, ss = state.rfc_name, state.ss_name
    forms = [f"RFC {rfc} · ss {ss}"]
    if rfc == ss:
        forms.append(f"RFC/ss {rfc}")
    forms += [f"{rfc} · ss {ss}", f"ss {ss}"]
    for form in forms:
        if cell_len(form) <= room:
            return form
    return forms[-1]
