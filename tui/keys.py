"""Every key of tcp-lab's screens, in tables: the bindings, the footer, the help screen
and the command palette are all made from them, so they cannot disagree.

`KEYS` are the lab screen's (tui/app.py); `CAPTURE_KEYS` the replay and live screens'
(tui/replay_app.py, tui/live_app.py): the same step and display keys, the teaching tools
(`TEACH_KEYS`: state diagram, quiz, export) in both, but none of the lab's keys that
change what happens (faults, timers, app calls, scenarios): a capture is what it is."""

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

#: The teaching tools (tui/teach.py), on every screen that shows a timeline.
TEACH_KEYS: tuple[Key, ...] = (
    Key("g", "g", "state_diagram", "State diagram (RFC 9293) with both sides on it; g again: back to the ladder", "状态图（RFC 9293），标出两端的位置；再按 g 返回时序图", "Diagram"),
    Key("z", "z", "quiz", "Quiz: predict the next steps (state, flags, ack), then see why", "测验：预测接下来的步骤（状态、控制位、确认号），再看原因", "Quiz"),
    Key("e", "e", "export", "Export: pcap for Wireshark, Mermaid, SVG, screenshot", "导出：pcap（Wireshark）、Mermaid、SVG、截图", "Export"),
)

KEYS = KEYS[:-1] + TEACH_KEYS + KEYS[-1:]

#: The replay and live screens' keys.
CAPTURE_KEYS: tuple[Key, ...] = (
    Key("n,space,right", "n  space  →", "next", "Next segment of the selected connection", "所选连接的下一个报文段", "Next"),
    Key("p,left", "p  ←", "prev", "Previous segment (stops following a growing capture)", "上一个报文段（停止跟随正在增长的抓包）", "Back"),
    Key("home", "Home", "first", "The connection's first segment", "该连接的第一个报文段"),
    Key("end", "End", "last", "The connection's last segment so far", "该连接目前的最后一个报文段"),
    Key("question_mark", "?", "help", "This help", "帮助", "Help"),
    Key("a", "a", "play", "Play / pause: one segment a second", "自动播放 / 暂停：每秒一个报文段", "Play"),
    Key("f", "f", "follow", "Follow: stay on the newest segment as the capture grows (f again: stop)", "跟随：抓包增长时停在最新的报文段（再按 f 停止）", "Follow"),
    Key("slash", "/", "filter", "Filter connections by address or port (Enter: to the list, Esc: clear)", "按地址或端口筛选连接（回车：回到列表，Esc：清除）", "Filter"),
    Key("c", "c", "connections", "Connection list: show it and move to it (↑ ↓ pick; c again hides it)", "连接列表：显示并进入（↑ ↓ 选择；再按 c 隐藏）", "Conns"),
    *TEACH_KEYS,
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


#: How the footer writes keys whose Textual names are words.
_DISPLAY = {"left_square_bracket": "[", "right_square_bracket": "]", "question_mark": "?", "slash": "/"}


def bindings(keys: tuple[Key, ...] = KEYS) -> list[Binding]:
    """A screen's Bindings, made from its key table (the lab's by default)."""
    out = []
    for key in keys:
        display = _DISPLAY.get(key.keys)
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
