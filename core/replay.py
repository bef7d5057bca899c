"""A replayed capture as timelines of frames (DESIGN.md: one timeline, three sources).

`Replay` takes the bytes of a capture (a file read in chunks, or a live pcap stream
growing on stdin), runs the decoder (core/tcpscan.py) and the tracker (core/tracker.py),
and hands out:

- `timeline()`: every TCP segment of the capture in capture order, and
  `timeline(conn)`: the segments of one conversation. Both are core/frame.Timeline
  objects backed by the compact store: a Frame is made only when asked for
  (`__getitem__`), with both endpoints' inferred states and TCB values after it;
- `conversations()`: one `ConversationSummary` per conversation (the replay screen's
  connection list, `tcp-lab replay --conversations`);
- `json_lines()` / `text_lines()`: the headless output, formatted straight from the
  columns (the same text `core/output.frame_json` / `frame_text` give for the same Frame;
  tests hold them to it).

TCB values a capture shows (RFC 9293 section 3.3.1), absolute sequence numbers, None
where not observable. For an endpoint X and its peer P:

- ISS: the sequence number of X's SYN; IRS: that of P's SYN, once it reached X;
- SND.NXT: the sequence number after the last byte (or SYN/FIN) X sent;
- SND.UNA: the highest ACK that reached X from P (ISS before any);
- SND.WND: the window P last advertised to X (scaled); RCV.WND: the one X advertised;
- RCV.NXT: what X expects next: the end of what reached it from P, or the highest
  ACK it sent, whichever is further.

An endpoint in CLOSED or LISTEN has no connection (no TCB, RFC 9293 3.3.2): none shown.
An endpoint in TIME_WAIT shows a 2MSL timer: when Linux would end it (60 s after it entered
TIME_WAIT or last saw the peer's FIN again).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterator

from . import analysis as an
from .addr import addr_text
from .explain import render
from .frame import EndpointView, Explanation, Frame, Timer
from .inference import STATES, TIME_WAIT, TIME_WAIT_SECONDS
from .info import info_text
from .options import options_dict
from .segment import ACK, FIN, SYN, Segment, flag_names
from .states import State
from .store import META_ACE, META_FROM_SERVER, META_LOST, SegmentStore
from .tcpscan import TcpScanner
from .tracker import RECV_KEYS, SEND_KEYS, Conversation, Tracker

MASK32 = 0xFFFFFFFF
HALF = 0x80000000
ROLE_NAMES = ("client", "server")
#: States without a connection TCB (RFC 9293 3.3.2): no TCB values are shown for them.
_NO_TCB = (STATES.index(State.CLOSED), STATES.index(State.LISTEN))
MIDSTREAM_NOTE = "handshake not captured"
SYN_UNSEEN_NOTE = "SYN not captured"
#: How often (in rows of one conversation) the TCB values are remembered.
CHECKPOINT_EVERY = 64


def _gt(a: int, b: int) -> bool:
    return 0 < ((a - b) & MASK32) < HALF


def explanation_key(explain_code: int) -> str:
    """The catalogue key (core/texts_capture.py) of a row's explain code."""
    return f"cap:{SEND_KEYS[explain_code >> 8]}+{RECV_KEYS[explain_code & 0xFF]}"


def explanation_params(sender: int, states: int) -> dict[str, str]:
    """The parameters an explanation is rendered with (discrete values only, so rendered
    texts can be cached): who sent, who received, their states after the segment."""
    receiver = 1 - sender
    codes = (states >> 4, states & 0xF)
    return {
        "sender": ROLE_NAMES[sender],
        "receiver": ROLE_NAMES[receiver],
        "Sender": ROLE_NAMES[sender].capitalize(),
        "Receiver": ROLE_NAMES[receiver].capitalize(),
        "sender_zh": ("客户端", "服务端")[sender],
        "receiver_zh": ("客户端", "服务端")[receiver],
        "send_state": STATES[codes[sender]].value,
        "recv_state": STATES[codes[receiver]].value,
    }


class _Tcb:
    """Running TCB values of both endpoints of one conversation, advanced row by row."""

    __slots__ = ("iss", "snd_nxt", "max_ack", "win", "r_iss", "r_end", "r_ack", "r_win", "tw_at", "states", "pos")

    def __init__(self, initial_states: tuple[int, int]) -> None:
        # Per role: what it sent ...
        self.iss: list[int | None] = [None, None]
        self.snd_nxt: list[int | None] = [None, None]
        self.max_ack: list[int | None] = [None, None]
        self.win: list[int | None] = [None, None]
        # ... and what reached it from the other side.
        self.r_iss: list[int | None] = [None, None]
        self.r_end: list[int | None] = [None, None]
        self.r_ack: list[int | None] = [None, None]
        self.r_win: list[int | None] = [None, None]
        self.tw_at: list[float | None] = [None, None]
        self.states = initial_states
        self.pos = -1  # position (in the conversation's rows) of the last row applied

    def copy(self) -> "_Tcb":
        other = _Tcb.__new__(_Tcb)
        for name in ("iss", "snd_nxt", "max_ack", "win", "r_iss", "r_end", "r_ack", "r_win", "tw_at"):
            setattr(other, name, list(getattr(self, name)))
        other.states = self.states
        other.pos = self.pos
        return other

    def advance(self, store: SegmentStore, row: int) -> None:
        meta = store.meta[row]
        s = 1 if meta & META_FROM_SERVER else 0
        p = 1 - s
        flags = store.flags[row]
        seq = store.seq[row]
        end = (seq + store.length[row] + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)) & MASK32
        win = store.win_scaled(row)
        if flags & SYN and self.iss[s] is None:
            self.iss[s] = seq
        nxt = self.snd_nxt[s]
        if nxt is None or _gt(end, nxt):
            self.snd_nxt[s] = end
        ack = store.ack[row]
        if flags & ACK:
            m = self.max_ack[s]
            if m is None or _gt(ack, m):
                self.max_ack[s] = ack
        self.win[s] = win
        delivered = not meta & META_LOST
        if delivered:
            if flags & SYN and self.r_iss[p] is None:
                self.r_iss[p] = seq
            e = self.r_end[p]
            if e is None or _gt(end, e):
                self.r_end[p] = end
            if flags & ACK:
                a = self.r_ack[p]
                if a is None or _gt(ack, a):
                    self.r_ack[p] = ack
            self.r_win[p] = win
        st = store.states[row]
        new = (st >> 4, st & 0xF)
        ts = store.ts[row]
        for role in (0, 1):
            if new[role] == TIME_WAIT:
                if self.states[role] != TIME_WAIT or (role == p and delivered and flags & FIN):
                    self.tw_at[role] = ts
            else:
                self.tw_at[role] = None
        self.states = new

    def view(self, role: int, addr: str, port: int, first_ts: float, note: str | None) -> EndpointView:
        state = self.states[role]
        if state in _NO_TCB:
            return EndpointView(addr, port, STATES[state], note=note)
        iss = self.iss[role]
        r_ack = self.r_ack[role]
        snd_una = r_ack if r_ack is not None else iss
        r_end = self.r_end[role]
        mine = self.max_ack[role]
        if r_end is None or (mine is not None and _gt(mine, r_end)):
            rcv_nxt = mine
        else:
            rcv_nxt = r_end
        timers: tuple[Timer, ...] = ()
        tw = self.tw_at[role]
        if tw is not None:
            timers = (Timer("2msl", tw + TIME_WAIT_SECONDS - first_ts),)
        return EndpointView(
            addr,
            port,
            STATES[state],
            iss=iss,
            irs=self.r_iss[role],
            snd_una=snd_una,
            snd_nxt=self.snd_nxt[role],
            snd_wnd=self.r_win[role],
            rcv_nxt=rcv_nxt,
            rcv_wnd=self.win[role],
            timers=timers,
            note=note,
        )


def _notes(conv: Conversation) -> tuple[str | None, str | None]:
    if conv.start == "midstream":
        return MIDSTREAM_NOTE, MIDSTREAM_NOTE
    if conv.start == "synack":
        return SYN_UNSEEN_NOTE, None
    return None, None


@dataclass(frozen=True)
class ConversationSummary:
    """One line of the connection list: a conversation of the capture."""

    conn: int
    client_addr: str
    client_port: int
    server_addr: str
    server_port: int
    ip_version: int
    packets: tuple[int, int]  # segments client -> server, server -> client
    bytes: tuple[int, int]  # payload bytes client -> server, server -> client
    wire_bytes: tuple[int, int]  # frame bytes each way, as tshark's conv,tcp counts them
    first_states: tuple[State, State]  # (client, server) after the first segment
    last_states: tuple[State, State]  # (client, server) after the last segment
    start: float  # time of the first segment, relative to the capture's first
    duration: float
    client_guess: bool  # no SYN captured: the client is the side with the higher port
    handshake: str  # "syn", "synack" (SYN not captured), "midstream"
    reused_by: int | None  # the conversation that reused its 4-tuple (its ports)

    @property
    def tuple_text(self) -> str:
        return f"{_endpoint_text(self.client_addr, self.client_port)} <-> {_endpoint_text(self.server_addr, self.server_port)}"


def _endpoint_text(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


class Replay:
    """A capture being replayed: feed it bytes, read timelines and conversations."""

    def __init__(self, title: str = "capture") -> None:
        self.title = title
        self.scanner = TcpScanner(flat=True)
        self.tracker = Tracker()
        self.store = self.tracker.store
        self._tcb_cache: dict[int, list[_Tcb]] = {}
        self._tcb_versions: dict[int, int] = {}
        self._explain_cache: dict[tuple[int, int, int, str], str] = {}

    # -- input -------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> int:
        """Take the next bytes of the capture; returns how many segments they added."""
        added = self.tracker.feed(self.scanner.feed(chunk))
        if self.tracker.revised:
            for row in self.tracker.take_revised():
                self._tcb_cache.pop(self.store.conv[row], None)
        return added

    def feed_segments(self, items: list[tuple]) -> int:
        """Track already-decoded flat segment tuples (a live sniffer's)."""
        return self.tracker.feed(items)

    def finish(self) -> None:
        """End of input (reports a capture cut short in `problems`)."""
        self.scanner.finish()

    @property
    def problems(self):
        return self.scanner.problems

    @property
    def skipped(self):
        return self.scanner.skipped

    @property
    def frames(self) -> int:
        return self.scanner.frames

    def __len__(self) -> int:
        return len(self.store)

    # -- rows --------------------------------------------------------------------------

    @property
    def first_ts(self) -> float:
        return self.tracker.first_ts or 0.0

    def relative(self, row: int) -> tuple[int, int]:
        """(seq, ack) of a row as Wireshark shows them: relative to each side's base; the
        ACK field stays raw when the ACK bit is off."""
        store = self.store
        ov = store.rel_override.get(row)
        if ov is None:
            conv = self.tracker.conversations[store.conv[row]]
            sender = 1 if store.meta[row] & META_FROM_SERVER else 0
            flows = conv.an.flows
            sbase = flows[sender].base_seq
            abase = flows[1 - sender].base_seq
        else:
            sbase, abase = ov
        seq = (store.seq[row] - sbase) & MASK32
        ack = store.ack[row]
        if store.flags[row] & ACK:
            ack = (ack - abase) & MASK32
        return seq, ack

    def info(self, row: int) -> str:
        """Wireshark's Info column for a row (core/info.py)."""
        store = self.store
        conv = self.tracker.conversations[store.conv[row]]
        sender = 1 if store.meta[row] & META_FROM_SERVER else 0
        seq_rel, ack_rel = self.relative(row)
        dup = store.dupack.get(row)
        prefix = an.info_prefix(store.analysis[row], *dup) if dup else an.info_prefix(store.analysis[row])
        return info_text(
            conv.port[sender],
            conv.port[1 - sender],
            store.flags[row],
            seq_rel,
            ack_rel,
            store.win_scaled(row),
            store.length[row],
            store.options(row),
            store.urg.get(row, 0),
            prefix,
            conv.an.flows[1 - sender].base_seq,
            bool(store.meta[row] & META_ACE),
        )

    def analysis_labels(self, row: int) -> tuple[str, ...]:
        dup = self.store.dupack.get(row)
        return an.labels(self.store.analysis[row], *dup) if dup else an.labels(self.store.analysis[row])

    def explanation(self, row: int) -> Explanation:
        store = self.store
        sender = 1 if store.meta[row] & META_FROM_SERVER else 0
        return Explanation(explanation_key(store.explain[row]), explanation_params(sender, store.states[row]))

    def explain_text(self, row: int, lang: str) -> str:
        """The rendered explanation of a row, cached by what it depends on."""
        store = self.store
        key = (store.explain[row], store.meta[row] & META_FROM_SERVER, store.states[row], lang)
        text = self._explain_cache.get(key)
        if text is None:
            text = render(self.explanation(row), lang)
            self._explain_cache[key] = text
        return text

    def _tcb(self, conv: Conversation, pos: int) -> _Tcb:
        """The TCB values after the conversation's row at position `pos` (cached)."""
        checkpoints = self._tcb_cache.get(conv.id)
        if checkpoints is None:
            checkpoints = [_Tcb(_initial_states(conv))]
            self._tcb_cache[conv.id] = checkpoints
        k = min((pos + 1) // CHECKPOINT_EVERY, len(checkpoints) - 1)
        tcb = checkpoints[k].copy()
        store = self.store
        rows = conv.rows
        while tcb.pos < pos:
            tcb.pos += 1
            tcb.advance(store, rows[tcb.pos])
            if (tcb.pos + 1) % CHECKPOINT_EVERY == 0 and (tcb.pos + 1) // CHECKPOINT_EVERY == len(checkpoints):
                checkpoints.append(tcb.copy())
        return tcb

    def frame(self, row: int, pos: int | None = None, index: int | None = None) -> Frame:
        """The Frame of a store row. `pos` is its position in its conversation (found if
        not given); `index` the Frame's `row` (its place in the timeline asking)."""
        store = self.store
        conv = self.tracker.conversations[store.conv[row]]
        if pos is None:
            from bisect import bisect_left

            pos = bisect_left(conv.rows, row)
        sender = 1 if store.meta[row] & META_FROM_SERVER else 0
        tcb = self._tcb(conv, pos)
        caddr = addr_text(conv.addr[0])
        saddr = addr_text(conv.addr[1])
        cnote, snote = _notes(conv)
        first = self.first_ts
        client = tcb.view(0, caddr, conv.port[0], first, cnote)
        server = tcb.view(1, saddr, conv.port[1], first, snote)
        src, dst = (caddr, saddr) if sender == 0 else (saddr, caddr)
        segment = Segment(
            src,
            conv.port[sender],
            dst,
            conv.port[1 - sender],
            store.seq[row],
            store.ack[row],
            store.flags[row],
            store.win[row],
            store.length[row],
            store.options(row),
        )
        seq_rel, ack_rel = self.relative(row)
        role = ROLE_NAMES[sender]
        return Frame(
            no=store.frame[row],
            time=store.ts[row] - first,
            event="segment",
            client=client,
            server=server,
            who=role,
            conn=conv.id,
            segment=segment,
            sender=role,
            seq_rel=seq_rel,
            ack_rel=ack_rel,
            win_scaled=store.win_scaled(row),
            row=row if index is None else index,
            info=self.info(row),
            analysis=self.analysis_labels(row),
            explain=self.explanation(row),
        )

    # -- timelines and summaries -------------------------------------------------------

    def timeline(self, conn: int | None = None) -> "CaptureTimeline | ConversationTimeline":
        """All segments in capture order, or those of conversation `conn`."""
        if conn is None:
            return CaptureTimeline(self)
        return ConversationTimeline(self, conn)

    def conversations(self) -> list[ConversationSummary]:
        return [self.summary(conv) for conv in self.tracker.conversations]

    def summary(self, conv: Conversation) -> ConversationSummary:
        store = self.store
        last = store.states[conv.rows[-1]] if len(conv.rows) else 0
        first = self.first_ts
        return ConversationSummary(
            conn=conv.id,
            client_addr=addr_text(conv.addr[0]),
            client_port=conv.port[0],
            server_addr=addr_text(conv.addr[1]),
            server_port=conv.port[1],
            ip_version=conv.ip_version,
            packets=(conv.packets[0], conv.packets[1]),
            bytes=(conv.payload[0], conv.payload[1]),
            wire_bytes=(conv.wire[0], conv.wire[1]),
            first_states=(STATES[conv.first_states[0]], STATES[conv.first_states[1]]),
            last_states=(STATES[last >> 4], STATES[last & 0xF]),
            start=conv.first_ts - first,
            duration=conv.last_ts - conv.first_ts,
            client_guess=conv.client_guess,
            handshake=conv.start,
            reused_by=conv.reused_by,
        )

    # -- headless output -----------------------------------------------------------------

    def json_lines(self, start: int = 0, stop: int | None = None, conn: int | None = None, lang: str | None = None) -> Iterator[str]:
        """JSON Lines records of rows [start, stop) (of conversation `conn` only, if given),
        each exactly `core/output.frame_json(frame, lang)` for the same Frame."""
        return _JsonWriter(self, lang).lines(start, stop, conn)

    def json_writer(self, lang: str | None = None) -> "_JsonWriter":
        """A JSON writer that keeps its running state between calls (for a growing
        capture: call `lines(start, stop, conn)` with each new range of rows)."""
        return _JsonWriter(self, lang)

    def text_lines(self, start: int = 0, stop: int | None = None, conn: int | None = None) -> Iterator[str]:
        """Text lines of rows [start, stop), each exactly `core/output.frame_text(frame)`."""
        store = self.store
        convs = self.tracker.conversations
        first = self.first_ts
        stop = len(store) if stop is None else stop
        for row in range(start, stop):
            cid = store.conv[row]
            if conn is not None and cid != conn:
                continue
            st = store.states[row]
            arrow = "server → client" if store.meta[row] & META_FROM_SERVER else "client → server"
            states = f"client {STATES[st >> 4].value:<11} server {STATES[st & 0xF].value}"
            yield f"{store.frame[row]:>5} {store.ts[row] - first:>11.6f}  {states:<38} {arrow}  {self.info(row)}"
        del convs


def _initial_states(conv: Conversation) -> tuple[int, int]:
    obs = conv.initial_observer()
    return obs.sides[0].state, obs.sides[1].state


class CaptureTimeline:
    """Every TCP segment of the capture, in capture order (a core/frame.Timeline)."""

    def __init__(self, replay: Replay) -> None:
        self.replay = replay
        self.title = replay.title

    def __len__(self) -> int:
        return len(self.replay.store)

    def __getitem__(self, index: int) -> Frame:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(index)
        return self.replay.frame(index, index=index)


class ConversationTimeline:
    """The segments of one conversation (a core/frame.Timeline)."""

    def __init__(self, replay: Replay, conn: int) -> None:
        if not 0 <= conn < len(replay.tracker.conversations):
            raise IndexError(f"no conversation {conn}")
        self.replay = replay
        self.conn = conn
        self.conv = replay.tracker.conversations[conn]
        self.title = f"{replay.title} #{conn}"

    def __len__(self) -> int:
        return len(self.conv.rows)

    def __getitem__(self, index: int) -> Frame:
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(index)
        return self.replay.frame(self.conv.rows[index], pos=index, index=index)


# ---------------------------------------------------------------------------------------
# The fast JSON writer

_FLAGS_JSON: dict[int, str] = {}
_OPTS_TS = b"\x01\x01\x08\x0a"


def _flags_json(flags: int) -> str:
    text = _FLAGS_JSON.get(flags)
    if text is None:
        text = json.dumps(list(flag_names(flags)))
        _FLAGS_JSON[flags] = text
    return text


def _options_json(raw: bytes) -> str:
    if not raw:
        return "{}"
    if len(raw) == 12 and raw[:4] == _OPTS_TS:
        return '{"tsval": %d, "tsecr": %d}' % (
            (raw[4] << 24) | (raw[5] << 16) | (raw[6] << 8) | raw[7],
            (raw[8] << 24) | (raw[9] << 16) | (raw[10] << 8) | raw[11],
        )
    return json.dumps(options_dict(raw), ensure_ascii=False, separators=(", ", ": "))


class _JsonWriter:
    """Formats JSON Lines straight from the columns, with running TCB values per
    conversation (the same `_Tcb` the timelines use)."""

    def __init__(self, replay: Replay, lang: str | None) -> None:
        self.replay = replay
        self.lang = lang
        self.tcbs: dict[int, _Tcb] = {}
        self.addr_cache: dict[int, tuple[str, str, str, str, str]] = {}

    def lines(self, start: int, stop: int | None, conn: int | None) -> Iterator[str]:
        replay = self.replay
        store = replay.store
        convs = replay.tracker.conversations
        first = replay.first_ts
        stop = len(store) if stop is None else stop
        tcbs = self.tcbs
        lang = self.lang
        dumps = json.dumps
        for row in range(start, stop):
            cid = store.conv[row]
            if conn is not None and cid != conn:
                continue
            conv = convs[cid]
            tcb = tcbs.get(cid)
            if tcb is None:
                # Start from the conversation's beginning (or a cached checkpoint).
                from bisect import bisect_left

                pos = bisect_left(conv.rows, row)
                tcb = replay._tcb(conv, pos - 1) if pos else _Tcb(_initial_states(conv))
                tcbs[cid] = tcb
            tcb.pos += 1
            tcb.advance(store, row)
            head = self.addr_cache.get(cid)
            if head is None:
                caddr = addr_text(conv.addr[0])
                saddr = addr_text(conv.addr[1])
                cnote, snote = _notes(conv)
                head = (caddr, saddr, cnote, snote, "")
                self.addr_cache[cid] = head
            caddr, saddr, cnote, snote, _ = head
            meta = store.meta[row]
            sender = 1 if meta & META_FROM_SERVER else 0
            role = ROLE_NAMES[sender]
            seq_rel, ack_rel = replay.relative(row)
            flags = store.flags[row]
            win_scaled = store.win_scaled(row)
            dup = store.dupack.get(row)
            bits = store.analysis[row]
            if bits:
                labels = an.labels(bits, *dup) if dup else an.labels(bits)
                analysis = dumps(list(labels))
            else:
                analysis = "[]"
            src, dst = (caddr, saddr) if sender == 0 else (saddr, caddr)
            parts = [
                '{"no": %d, "time": %r, "event": "segment", "conn": %d, "who": "%s", "from": "%s", '
                '"src": "%s", "sport": %d, "dst": "%s", "dport": %d, "flags": %s, "seq": %d, "ack": %d, '
                '"seq_raw": %d, "ack_raw": %d, "len": %d, "win": %d, "win_scaled": %d, "options": %s, '
                '"analysis": %s, "info": "%s", "client": %s, "server": %s'
                % (
                    store.frame[row],
                    round(store.ts[row] - first, 6),
                    cid,
                    role,
                    role,
                    src,
                    conv.port[sender],
                    dst,
                    conv.port[1 - sender],
                    _flags_json(flags),
                    seq_rel,
                    ack_rel,
                    store.seq[row],
                    store.ack[row],
                    store.length[row],
                    store.win[row],
                    win_scaled,
                    _options_json(store.options(row)),
                    analysis,
                    replay.info(row),
                    _endpoint_json(tcb, 0, caddr, conv.port[0], first, cnote),
                    _endpoint_json(tcb, 1, saddr, conv.port[1], first, snote),
                )
            ]
            if lang is not None:
                parts.append(', "explain": ')
                parts.append(dumps(replay.explain_text(row, lang), ensure_ascii=False))
            parts.append("}")
            yield "".join(parts)


def _endpoint_json(tcb: _Tcb, role: int, addr: str, port: int, first_ts: float, note: str | None) -> str:
    state = tcb.states[role]
    out = '{"addr": "%s", "port": %d, "state": "%s"' % (addr, port, STATES[state].value)
    if state not in _NO_TCB:
        view = tcb.view(role, addr, port, first_ts, None)
        for name in ("iss", "irs", "snd_una", "snd_nxt", "snd_wnd", "rcv_nxt", "rcv_wnd"):
            value = getattr(view, name)
            if value is not None:
                out += ', "%s": %d' % (name, value)
        if view.timers:
            out += ', "timers": {%s}' % ", ".join('"%s": %r' % (t.name, round(t.deadline, 6)) for t in view.timers)
    if note:
        out += ', "note": %s' % json.dumps(note)
    return out + "}"
