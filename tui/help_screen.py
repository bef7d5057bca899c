"""The help screen: how to read the screen, and every key (the lab's, or the replay and
live screens' when they open it with their own key table and words)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from .keys import KEYS, LOG_KEYS, Key

INTRO = {
    "en": (
        "tcp-lab shows one TCP connection between a client (left) and a server (right).\n"
        "Top: each side's state in large type, its TCB (SND = what it sends, RCV = what it "
        "receives; UNA = sent but not yet acknowledged, NXT = next sequence number, WND = "
        "window) and its running timers.\n"
        "Middle: the ladder, a sequence diagram: each arrow is a segment, time runs down; "
        "a dashed arrow is still on the wire, a cross is a lost segment, and an arrow that "
        "bends down (╮ … ╰) arrives later, on the line where it arrives (segments that "
        "cross or are held back). The states are written beside each side's line when "
        "they change.\n"
        "Below: the segment log, one row per segment as Wireshark lists it (✕ lost, ×2 "
        "delivered twice, ~ delayed, * an old duplicate SYN you injected, … still in "
        "flight); then what happened at this step and why, with the RFC 9293 section.\n"
        "Stepping back shows each earlier step exactly as it was; acting at an earlier step "
        "(a fault, a timer, an app call) replaces what came after it."
    ),
    "zh": (
        "tcp-lab 展示一条 TCP 连接：左边是客户端，右边是服务端。\n"
        "上方：每一端的状态（大字）、它的 TCB（SND 表示发送方向，RCV 表示接收方向；UNA = "
        "已发送但未被确认，NXT = 下一个序号，WND = 窗口）以及正在运行的定时器。\n"
        "中间：时序图，每个箭头是一个报文段，时间向下流动；虚线箭头表示仍在网络中，叉号表示"
        "报文段丢失，向下拐弯的箭头（╮ … ╰）表示它在后面那一行才到达（交叉或被延迟的报文段）。"
        "状态变化时写在对应一端的竖线旁边。\n"
        "下方：报文段列表，每行一个报文段，格式同 Wireshark（✕ 丢失，×2 到达两次，~ 被延迟，"
        "* 你注入的旧的重复 SYN，… 仍在途中）；最后是这一步发生了什么、为什么，并注明 RFC 9293 的章节。\n"
        "后退时每一步的画面都和当时完全一样；在较早的一步执行操作（故障、定时器、应用调用）会替换掉其后的内容。"
    ),
}


def help_renderable(
    lang: str = "en",
    keys: tuple[Key, ...] = KEYS,
    intro: dict[str, str] | None = None,
    extra: tuple[tuple[str, str, str, str], ...] = LOG_KEYS,
) -> Group:
    """The help text and the keys table in `lang`: the lab's, or those given (`intro`: the
    text in each language; `extra`: rows after the keys, (keys en, keys zh, en, zh))."""
    intro = intro or INTRO
    table = Table(box=None, show_header=True, header_style="bold", padding=(0, 2, 0, 0), expand=False)
    table.add_column("Key" if lang == "en" else "按键", style="bold cyan", no_wrap=True)
    table.add_column("What it does" if lang == "en" else "作用")
    for key in keys:
        table.add_row(key.display, key.zh if lang == "zh" else key.en)
    table.add_row("ctrl+p", "Command palette: every command by name" if lang == "en" else "命令面板：按名称查找所有命令")
    for keys_en, keys_zh, en, zh in extra:
        table.add_row(keys_zh if lang == "zh" else keys_en, zh if lang == "zh" else en)
    title = Text("How to read this screen" if lang == "en" else "如何阅读这个界面", style="bold")
    keys_title = Text("\nKeys" if lang == "en" else "\n按键", style="bold")
    return Group(title, Text(intro.get(lang) or intro["en"]), keys_title, table)


class HelpScreen(ModalScreen[None]):
    """A modal help page; any of Escape, q or ? closes it."""

    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 95%; max-width: 110; height: 95%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(
        self,
        lang: str = "en",
        keys: tuple[Key, ...] = KEYS,
        intro: dict[str, str] | None = None,
        extra: tuple[tuple[str, str, str, str], ...] = LOG_KEYS,
    ) -> None:
        super().__init__()
        self.lang = lang
        self.keys = keys
        self.intro = intro
        self.extra = extra

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "tcp-lab help  (Esc closes)" if self.lang == "en" else "tcp-lab 帮助（Esc 关闭）"
            yield Static(help_renderable(self.lang, self.keys, self.intro, self.extra), id="help-text")

    def action_close(self) -> None:
        self.dismiss(None)
