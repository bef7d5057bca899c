"""Exports of a timeline: a pcap Wireshark opens, a Mermaid sequence diagram, an SVG ladder.

All three are made from the frames of any timeline (core/frame.py): the simulation's, a
replayed capture's or a live one's. Pure: they return bytes or text; the screen and the
CLI write them to disk (atomically, tui/export_actions.py).

* `pcap_export`: one packet per segment as it left its sender (the simulation's "send"
  frames and injected old SYNs, or every captured "segment" frame), Ethernet + IPv4/IPv6 +
  TCP with correct checksums (core/pcapwrite.py). A simulated segment that carries data
  gets made-up but consistent payload bytes: byte k of a direction's stream is always the
  same character, so a retransmission carries exactly the bytes of the original, as
  RFC 9293 3.8.1 requires. A replayed capture keeps no payload, so its data is made up the
  same way (its headers, options and times are the capture's). Simulated addresses are
  RFC 5737 documentation ones already.
* `mermaid_export`: the ladder as a Mermaid `sequenceDiagram` (one arrow per segment,
  `-x` for a lost one, notes for app calls, timers and state changes).
* `svg_export`: the ladder as a standalone SVG for slides: the two timelines, one row per
  step, each segment an arrow from the step it left to the step it arrived (so crossing
  segments cross), state changes written beside each side.
"""

from __future__ import annotations

from html import escape
from typing import Sequence

from .frame import Frame, Timeline
from .info import info_text
from .pcapwrite import pcap_bytes, tcp_packet
from .segment import SYN

#: 2024-01-01 00:00:00 UTC: exported captures start here, so that the same run always gives
#: the same file (the lab's times are seconds since its start, never the wall clock).
EPOCH = 1_704_067_200.0

#: The bytes a simulated stream is made of, per direction (repeated).
PAYLOAD_TEXT = {
    "client": b"tcp-lab: bytes from the client's application. ",
    "server": b"tcp-lab: bytes from the server's application. ",
}

# Made-up but fixed MAC addresses (locally administered) for the two sides.
_MACS = {"client": bytes.fromhex("020000000001"), "server": bytes.fromhex("020000000002")}


def segment_frames(timeline: Timeline | Sequence[Frame]) -> list[Frame]:
    """The frames that put a segment on the wire, once per segment: "send" frames and the
    old duplicate SYNs injected by the user (simulation), or "segment" frames (captures)."""
    out = []
    for i in range(len(timeline)):
        f = timeline[i]
        if f.segment is None:
            continue
        if f.event in ("send", "segment") or (f.event == "fault" and f.fault == "old-syn"):
            out.append(f)
    return out


def payload_bytes(frame: Frame) -> bytes:
    """The payload of a frame's segment: the sender's stream text at the segment's place in
    its stream (relative sequence number 1 is the stream's first byte)."""
    seg = frame.segment
    assert seg is not None
    n = seg.length
    if n == 0:
        return b""
    text = PAYLOAD_TEXT.get(frame.sender or "client", PAYLOAD_TEXT["client"])
    rel = frame.seq_rel if frame.seq_rel is not None else seg.seq
    start = max(rel - (0 if seg.flags & SYN else 1), 0) % len(text)
    reps = (start + n) // len(text) + 1
    return (text * reps)[start : start + n]


def pcap_export(timeline: Timeline | Sequence[Frame], epoch: float = EPOCH) -> bytes:
    """The timeline's segments as a classic pcap (Ethernet), checksums correct."""
    packets: list[tuple[float, bytes]] = []
    for f in segment_frames(timeline):
        sender = f.sender or "client"
        receiver = "server" if sender == "client" else "client"
        frame_bytes = tcp_packet(
            f.segment,  # type: ignore[arg-type]
            payload_bytes(f),
            src_mac=_MACS[sender],
            dst_mac=_MACS[receiver],
            ip_id=f.no & 0xFFFF,
        )
        packets.append((epoch + f.time, frame_bytes))
    return pcap_bytes(packets)


# ================================================================ the ladder's lines ===


def _arrow_label(f: Frame) -> str:
    """The segment's Info column without the ports (flags, Seq, Ack, Win, Len, options)."""
    info = f.info
    if not info and f.segment is not None:
        seg = f.segment
        info = info_text(seg.sport, seg.dport, seg.flags, f.seq_rel or 0, f.ack_rel or 0, f.win_scaled or seg.win, seg.length, seg.options)
    return info_without_ports(info)


def info_without_ports(info: str) -> str:
    """Wireshark's Info column without "sport → dport" (analysis labels kept in front)."""
    prefix_end = 0
    # Analysis labels ("[TCP Retransmission] ") come before the ports: keep them.
    labels = ""
    while info.startswith("[", prefix_end):
        close = info.find("] ", prefix_end)
        if close < 0:
            break
        labels += info[prefix_end : close + 2]
        prefix_end = close + 2
    rest = info[prefix_end:]
    marker = rest.find(" [")
    body = rest[marker + 1 :] if marker >= 0 else rest
    return (labels + body).strip()


def _lost_rows(timeline: Timeline | Sequence[Frame]) -> set[int]:
    return {timeline[i].row for i in range(len(timeline)) if timeline[i].event == "drop" and timeline[i].row is not None}


def _state_changes(prev: Frame | None, f: Frame) -> list[tuple[str, str]]:
    out = []
    for role in ("client", "server"):
        new = f.endpoint(role).state  # type: ignore[arg-type]
        old = prev.endpoint(role).state if prev is not None else None  # type: ignore[arg-type]
        if prev is None:
            if new.value != "CLOSED":
                out.append((role, new.value))
        elif new is not old:
            out.append((role, new.value))
    return out


def _mermaid_text(text: str) -> str:
    """Escape what Mermaid's message syntax gives a meaning to (# and ;)."""
    return text.replace("#", "#35;").replace(";", "#59;")


def mermaid_export(timeline: Timeline | Sequence[Frame], title: str | None = None) -> str:
    """The ladder as Mermaid `sequenceDiagram` text (paste it into any Mermaid renderer)."""
    n = len(timeline)
    lines = ["sequenceDiagram"]
    if title:
        lines.append(f"    title {_mermaid_text(title)}")
    if n:
        first = timeline[0]
        lines.append(f"    participant C as Client {first.client.addr}:{first.client.port}")
        lines.append(f"    participant S as Server {first.server.addr}:{first.server.port}")
    else:
        lines += ["    participant C as Client", "    participant S as Server"]
    lost = _lost_rows(timeline)
    side = {"client": "left of C", "server": "right of S"}
    prev: Frame | None = None
    for i in range(n):
        f = timeline[i]
        if f.segment is not None and (f.event in ("send", "segment") or (f.event == "fault" and f.fault == "old-syn")):
            a, b = ("C", "S") if f.sender == "client" else ("S", "C")
            arrow = "-x" if f.row in lost else "->>"
            label = _arrow_label(f)
            if f.event == "fault":
                label += " (old duplicate SYN)"
            elif f.row in lost:
                label += " (lost)"
            lines.append(f"    {a}{arrow}{b}: {_mermaid_text(label)}")
        changes = dict(_state_changes(prev, f))
        if f.event in ("app", "timer") and f.who:
            what = f"{f.call}()" if f.event == "app" else f"{(f.timer or '').upper()} timer fires"
            new = changes.pop(f.who, None)
            lines.append(f"    Note {side[f.who]}: {what}" + (f" → {new}" if new else ""))
        for role, state in changes.items():
            lines.append(f"    Note {side[role]}: {state}")
        prev = f
    return "\n".join(lines) + "\n"


# ======================================================================== SVG ladder ===

_ROW = 26
_TOP = 96
_WIDTH = 960
_X = {"client": 250, "server": 710}
_COLOURS = {"client": "#1f6feb", "server": "#1a7f37", "lost": "#cf222e", "muted": "#57606a", "state": "#9a6700"}


def svg_export(timeline: Timeline | Sequence[Frame], title: str = "tcp-lab", max_rows: int = 2000) -> str:
    """The ladder as a standalone SVG document (one row per step, at most `max_rows`)."""
    n = min(len(timeline), max_rows)
    frames = [timeline[i] for i in range(n)]
    height = _TOP + _ROW * (n + 1) + 30
    out: list[str] = []
    add = out.append
    add(f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{height}" viewBox="0 0 {_WIDTH} {height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="12">')
    add(f"<title>{escape(title)}</title>")
    add('<defs>')
    for name, colour in _COLOURS.items():
        add(f'<marker id="head-{name}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>')
    add("</defs>")
    add(f'<rect width="{_WIDTH}" height="{height}" fill="#ffffff"/>')
    add(f'<text x="{_WIDTH // 2}" y="28" text-anchor="middle" font-size="16" font-weight="bold">{escape(title)}</text>')
    if frames:
        first = frames[0]
        for role in ("client", "server"):
            view = first.endpoint(role)  # type: ignore[arg-type]
            name = "Client" if role == "client" else "Server"
            add(f'<text x="{_X[role]}" y="60" text-anchor="middle" font-weight="bold" fill="{_COLOURS[role]}">{name}</text>')
            add(f'<text x="{_X[role]}" y="76" text-anchor="middle" fill="{_COLOURS["muted"]}">{escape(_host(view.addr, view.port))}</text>')
    bottom = _TOP + _ROW * (n + 1)
    for role in ("client", "server"):
        add(f'<line x1="{_X[role]}" y1="{_TOP - 10}" x2="{_X[role]}" y2="{bottom}" stroke="#8c959f" stroke-width="2"/>')
    # Where each segment's row arrives (simulation: deliver/drop frame; capture: same frame).
    arrival: dict[int, tuple[int, str]] = {}
    for i, f in enumerate(frames):
        if f.row is not None and f.event in ("deliver", "drop"):
            arrival.setdefault(f.row, (i, f.event))
    prev: Frame | None = None
    for i, f in enumerate(frames):
        y = _TOP + _ROW * i
        add(f'<text x="12" y="{y + 4}" fill="{_COLOURS["muted"]}">#{f.no}</text>')
        add(f'<text x="48" y="{y + 4}" fill="{_COLOURS["muted"]}">{f.time:.3f}s</text>')
        is_wire = f.segment is not None and (f.event in ("send", "segment") or (f.event == "fault" and f.fault == "old-syn"))
        if is_wire:
            sender = f.sender or "client"
            receiver = "server" if sender == "client" else "client"
            end_i, kind = arrival.get(f.row, (i, "deliver")) if f.event != "segment" else (i, "deliver")
            x1, x2 = _X[sender], _X[receiver]
            y2 = _TOP + _ROW * end_i if end_i > i else y + int(_ROW * 0.7)
            lost = kind == "drop"
            colour = _COLOURS["lost"] if lost else _COLOURS[sender]
            if lost:
                xm = x1 + (x2 - x1) * 0.75
                ym = y + (y2 - y) * 0.75
                add(f'<line x1="{x1}" y1="{y}" x2="{xm:.1f}" y2="{ym:.1f}" stroke="{colour}" stroke-width="1.6" stroke-dasharray="6 4"/>')
                add(f'<text x="{xm:.1f}" y="{ym + 5:.1f}" text-anchor="middle" font-size="16" fill="{colour}">✕</text>')
            else:
                marker = "lost" if lost else sender
                add(f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y2}" stroke="{colour}" stroke-width="1.6" marker-end="url(#head-{marker})"/>')
            label = _arrow_label(f) + (" (lost)" if lost else "")
            xt = (x1 + x2) / 2
            add(f'<text x="{xt:.1f}" y="{y - 3}" text-anchor="middle" fill="{colour}">{escape(label)}</text>')
        elif f.event == "app" and f.who:
            add(_side_note(f.who, y, f"{f.call}()", _COLOURS["muted"]))
        elif f.event == "timer" and f.who:
            add(_side_note(f.who, y, f"{(f.timer or '').upper()} timer fires", _COLOURS["lost"]))
        elif f.event == "fault" and f.segment is None:
            add(f'<text x="{_WIDTH // 2}" y="{y + 4}" text-anchor="middle" font-style="italic" fill="{_COLOURS["muted"]}">fault armed: {escape(f.fault or "")}</text>')
        for role, state in _state_changes(prev, f):
            add(_state_label(role, y, state))
        prev = f
    if len(timeline) > n:
        add(f'<text x="{_WIDTH // 2}" y="{bottom + 20}" text-anchor="middle" fill="{_COLOURS["muted"]}">… {len(timeline) - n} more steps not drawn</text>')
    add("</svg>")
    return "\n".join(out) + "\n"


def _host(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def _side_note(role: str, y: int, text: str, colour: str) -> str:
    if role == "client":
        return f'<text x="{_X["client"] - 12}" y="{y - 8}" text-anchor="end" font-style="italic" fill="{colour}">{escape(text)}</text>'
    return f'<text x="{_X["server"] + 12}" y="{y - 8}" font-style="italic" fill="{colour}">{escape(text)}</text>'


def _state_label(role: str, y: int, state: str) -> str:
    colour = _COLOURS["state"]
    if role == "client":
        return f'<text x="{_X["client"] - 12}" y="{y + 5}" text-anchor="end" font-weight="bold" fill="{colour}">{state}</text>'
    return f'<text x="{_X["server"] + 12}" y="{y + 5}" font-weight="bold" fill="{colour}">{state}</text>'

