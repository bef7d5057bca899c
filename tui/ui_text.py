"""The screen's own words (pane titles, labels, messages) in English and Chinese.

Explanations of frames come from the core catalogues (core/explain.py); this table holds
only what the screen itself writes around them. Protocol names (SYN, ACK, SND.NXT, state
names) stay as they are in both languages: they are what students meet in RFCs and tools.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "client": {"en": "Client", "zh": "客户端"},
    "server": {"en": "Server", "zh": "服务端"},
    "ladder": {"en": "Ladder (client ⇄ server, time runs down)", "zh": "时序图（客户端 ⇄ 服务端，时间向下）"},
    "log": {"en": "Segments", "zh": "报文段"},
    "explanation": {"en": "What happened and why", "zh": "发生了什么，为什么"},
    "timers": {"en": "timers", "zh": "定时器"},
    "no_timers": {"en": "no timer running", "zh": "没有运行中的定时器"},
    "history": {"en": "went through", "zh": "经历"},
    "timer_fires": {"en": "{timer} timer fires", "zh": "{timer} 定时器到期"},
    "fault_note": {"en": "fault armed: {fault}", "zh": "已设置故障：{fault}"},
    "step": {"en": "step {n} of {total}", "zh": "第 {n} 步，共 {total} 步"},
    "step_only": {"en": "step {n}", "zh": "第 {n} 步"},
    "before_start": {"en": "start", "zh": "开始"},
    "seq_relative": {"en": "relative seq", "zh": "相对序号"},
    "seq_absolute": {"en": "absolute seq", "zh": "绝对序号"},
    "start_hint": {
        "en": "Press n, space or → to take the first step; ? shows every key.",
        "zh": "按 n、空格或 → 走第一步；按 ? 查看所有按键。",
    },
    "goal": {"en": "Goal", "zh": "目标"},
    "end_reached": {
        "en": "Nothing more happens on its own. Fire a timer (t), make an app call ([ client, ] server) or choose another scenario (s).",
        "zh": "不会再自动发生任何事。可以触发定时器（t）、调用应用接口（[ 客户端，] 服务端）或选择其他场景（s）。",
    },
    "no_timer": {"en": "No timer is running.", "zh": "没有运行中的定时器。"},
    "forked": {
        "en": "The future after step {n} was replaced by your action.",
        "zh": "第 {n} 步之后的内容已被你的操作替换。",
    },
    "fault_armed": {"en": "The next segment will be {what}.", "zh": "下一个报文段将被{what}。"},
    "drop": {"en": "drop", "zh": "丢弃"},
    "duplicate": {"en": "duplicate", "zh": "复制"},
    "delay": {"en": "delay", "zh": "延迟"},
    "old-syn": {"en": "old SYN", "zh": "旧的重复 SYN"},
    "seq_now_abs": {"en": "Absolute sequence numbers.", "zh": "显示绝对序号。"},
    "seq_now_rel": {"en": "Sequence numbers relative to each ISN.", "zh": "显示相对于各自 ISN 的序号。"},
    "playing": {"en": "Playing: one step a second (a pauses).", "zh": "自动播放：每秒一步（按 a 暂停）。"},
    "paused": {"en": "Paused.", "zh": "已暂停。"},
    "call_title": {"en": "{side} app call", "zh": "{side}应用调用"},
    "choose_scenario": {"en": "Choose a scenario", "zh": "选择场景"},
    "filter_hint": {"en": "type to filter by title or goal", "zh": "输入文字按标题或目标筛选"},
}


def ui(key: str, lang: str = "en") -> str:
    """The screen's text for `key` in `lang`, English when there is no translation."""
    entry = TEXTS[key]
    return entry.get(lang) or entry["en"]
