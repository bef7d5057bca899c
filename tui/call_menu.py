"""The app-call menu: what one side's application can ask its TCP to do.

`[` opens it for the client (the left pane), `]` for the server (the right pane). One key
makes the call: c connect, l listen, s send, x close, a abort. The screen returns the call
(and byte count for send) or None.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from .ui_text import ui

#: (key, call, bytes for send, English help, Chinese help)
CALLS: tuple[tuple[str, str, int | None, str, str], ...] = (
    ("c", "connect", None, "active open: send a SYN (RFC 9293 section 3.10.1)", "主动打开：发送 SYN（RFC 9293 第 3.10.1 节）"),
    ("l", "listen", None, "passive open: wait for a SYN", "被动打开：等待 SYN"),
    ("s", "send", 100, "send 100 bytes of data", "发送 100 字节数据"),
    ("x", "close", None, "close: send a FIN once all data is sent (section 3.10.4)", "关闭：数据发完后发送 FIN（第 3.10.4 节）"),
    ("a", "abort", None, "abort: send a RST and forget the connection (section 3.10.5)", "中止：发送 RST 并丢弃连接（第 3.10.5 节）"),
)


class CallMenu(ModalScreen[tuple[str, int | None] | None]):
    """A small menu of app calls for one side."""

    BINDINGS = [
        Binding("escape", "pick(None)", "Back"),
        *[Binding(key, f"pick('{call}')", call, show=False) for key, call, *_ in CALLS],
    ]

    DEFAULT_CSS = """
    CallMenu { align: center middle; }
    CallMenu > Vertical {
        width: auto; min-width: 50; max-width: 90%; height: auto;
        border: round $accent; background: $surface; padding: 0 1;
    }
    CallMenu Label { text-style: bold; }
    CallMenu OptionList, CallMenu OptionList:focus { height: auto; border: none; padding: 0; }
    """

    def __init__(self, role: str, lang: str = "en") -> None:
        super().__init__()
        self.role = role
        self.lang = lang

    def compose(self) -> ComposeResult:
        side = ui(self.role, self.lang)
        with Vertical():
            yield Label(ui("call_title", self.lang).format(side=side) + "  (Esc)")
            yield OptionList(
                *[
                    Option(f"{key}  {call}()  {zh if self.lang == 'zh' else en}", id=call)
                    for key, call, _, en, zh in CALLS
                ],
                id="calls",
            )

    @on(OptionList.OptionSelected, "#calls")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.action_pick(event.option.id)

    def action_pick(self, call: str | None) -> None:
        if call is None:
            self.dismiss(None)
            return
        nbytes = next(n for _, c, n, *_ in CALLS if c == call)
        self.dismiss((call, nbytes))
