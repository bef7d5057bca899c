"""Every key of the lab screen, in one table: the bindings, the footer, the help screen
and the command palette are all made from it, so they cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    """One command of the lab screen and the keys that run it."""

    keys: str  # Textual key names, comma-separated
    display: str  # how the help screen writes the keys
    action: str  # the screen's action (without "action_")
    en: str
    zh: str
    footer: str | None = None  # short label in the footer; None keeps it out of the footer
    palette: bool = True  # listed in the command palette


KEYS: tuple[Key, ...] = (
    Key("n,space,right", "n  space  →", "next", "Next step (makes the next event happen at the end)", "下一步（到末尾时让下一个事件发生）", "Next"),
    Key("p,left", "p  ←", "prev", "Previous step (the screen is exactly as it was)", "上一步（画面与当时完全一样）", "Back"),
    Key("home", "Home", "first", "The start screen (the scenario's goal)", "开始画面（场景的目标）"),
    Key("end", "End", "last", "Last step so far", "目前的最后一步"),
    Key("question_mark", "?", "help", "This help", "帮助", "Help"),
    Key("a", "a", "play", "Play / pause: one step a second", "自动播放 / 暂停：每秒一步", "Play"),
    Key("s", "s", "scenarios", "Choose a scenario (searchable list; restarts on it)", "选择场景（可搜索；从头开始）", "Scenarios"),
    Key("t", "t", "timer", "Fire the next running timer (RTO, 2MSL) now", "立即触发下一个运行中的定时器（RTO、2MSL）", "Timer"),
    Key("d", "d", "fault('drop')", "Drop a segment: the one on the wire that arrives first, else the next one sent", "丢弃一个报文段：网络上最先到达的那个，没有则是下一个发送的"),
    Key("u", "u", "fault('duplicate')", "Duplicate a segment (the one on the wire that arrives first, else the next one sent)", "复制一个报文段（网络上最先到达的那个，没有则是下一个发送的）"),
    Key("y", "y", "fault('delay')", "Delay a segment (it arrives after the next one its sender sends)", "延迟一个报文段（它会晚于发送方的下一个报文段到达）"),
    Key("o", "o", "fault('old-syn')", "Inject an old duplicate SYN from an earlier connection", "注入一个来自旧连接的重复 SYN"),
    Key("left_square_bracket", "[", "call_menu('client')", "Client app call: connect, listen, send, close, abort", "客户端应用调用：connect、listen、send、close、abort", "Client call"),
    Key("right_square_bracket", "]", "call_menu('server')", "Server app call: connect, listen, send, close, abort", "服务端应用调用：connect、listen、send、close、abort", "Server call"),
    Key("r", "r", "toggle_seq", "Absolute / relative sequence numbers", "绝对 / 相对序号"),
    Key("l", "l", "toggle_lang", "Explanations in English / Chinese", "解释语言：英文 / 中文", "中文/EN"),
    Key("q", "q  ctrl+q", "quit", "Quit", "退出", "Quit"),
)

#: Keys that work in the segment log when it has focus (click it, or Tab to it).
LOG_KEYS: tuple[tuple[str, str, str, str], ...] = (
    ("↑  ↓  PgUp  PgDn", "↑  ↓  PgUp  PgDn", "Jump to another segment's row (the whole screen follows)", "跳到另一个报文段的行（整个画面随之变化）"),
    ("click a row", "点击一行", "Jump to that segment", "跳到该报文段"),
    ("click the ladder", "点击时序图", "Jump to that event", "跳到该事件"),
)


def bindings() -> list[Binding]:
    """The screen's Bindings, made from KEYS."""
    out = []
    for key in KEYS:
        display = {"left_square_bracket": "[", "right_square_bracket": "]", "question_mark": "?"}.get(key.keys)
        out.append(
            Binding(
                key.keys,
                key.action,
                key.footer or key.en,
                show=key.footer is not None,
                key_display=display,
                tooltip=key.en,
                id=key.action.split("(")[0] + (key.action.split("'")[1] if "'" in key.action else ""),
            )
        )
    return out
