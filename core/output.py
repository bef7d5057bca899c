"""Headless writers: a Frame as a JSON object or a text line (DESIGN.md, "Headless output").

This is the stable interface for scripts and tests. Keys present in every frame: no, time,
event, conn, client, server (and who when a side acted). Frames that carry a segment add
from, src, sport, dst, dport, flags, seq, ack, seq_raw, ack_raw, len, win, win_scaled,
options, analysis and info.
"""

from __future__ import annotations

import json
from typing import Any

from .explain import render
from .frame import EndpointView, Frame
from .options import options_dict
from .segment import flag_names


def endpoint_dict(view: EndpointView) -> dict[str, Any]:
    out: dict[str, Any] = {"addr": view.addr, "port": view.port, "state": view.state.value}
    for name in ("iss", "irs", "snd_una", "snd_nxt", "snd_wnd", "rcv_nxt", "rcv_wnd"):
        value = getattr(view, name)
        if value is not None:
            out[name] = value
    if view.timers:
        out["timers"] = {t.name: round(t.deadline, 6) for t in view.timers}
    if view.note:
        out["note"] = view.note
    return out


def frame_dict(frame: Frame, lang: str | None = None) -> dict[str, Any]:
    """The JSON object for one frame. With `lang`, adds "explain" in that language."""
    out: dict[str, Any] = {
        "no": frame.no,
        "time": round(frame.time, 6),
        "event": frame.event,
        "conn": frame.conn,
    }
    if frame.who is not None:
        out["who"] = frame.who
    if frame.call is not None:
        out["call"] = frame.call
    if frame.timer is not None:
        out["timer"] = frame.timer
    if frame.fault is not None:
        out["fault"] = frame.fault
    seg = frame.segment
    if seg is not None:
        out["from"] = frame.sender
        out["src"] = seg.src
        out["sport"] = seg.sport
        out["dst"] = seg.dst
        out["dport"] = seg.dport
        out["flags"] = list(flag_names(seg.flags))
        out["seq"] = frame.seq_rel if frame.seq_rel is not None else seg.seq
        out["ack"] = frame.ack_rel if frame.ack_rel is not None else seg.ack
        out["seq_raw"] = seg.seq
        out["ack_raw"] = seg.ack
        out["len"] = seg.length
        out["win"] = seg.win
        out["win_scaled"] = frame.win_scaled if frame.win_scaled is not None else seg.win
        out["options"] = options_dict(seg.options)
        out["analysis"] = list(frame.analysis)
        out["info"] = frame.info
    out["client"] = endpoint_dict(frame.client)
    out["server"] = endpoint_dict(frame.server)
    if lang is not None and frame.explain is not None:
        out["explain"] = render(frame.explain, lang)
    return out


def frame_json(frame: Frame, lang: str | None = None) -> str:
    """One JSON Lines record (no trailing newline)."""
    return json.dumps(frame_dict(frame, lang), ensure_ascii=False, separators=(", ", ": "))


def frame_text(frame: Frame) -> str:
    """One human-readable line per frame: number, time, what happened, both states."""
    if frame.segment is not None:
        arrow = "client → server" if frame.sender == "client" else "server → client"
        if frame.event == "segment":
            what = f"{arrow}  {frame.info}"
        else:
            what = f"{frame.event:<7} {arrow}  {frame.info}"
    elif frame.event == "app":
        what = f"app     {frame.who}.{frame.call}"
    elif frame.event == "timer":
        what = f"timer   {frame.who} {frame.timer} fires"
    else:
        what = f"{frame.event:<7} {frame.fault or ''}".rstrip()
    states = f"client {frame.client.state.value:<11} server {frame.server.state.value}"
    return f"{frame.no:>5} {frame.time:>11.6f}  {states:<38} {what}"
