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
import struct
import weakref
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from itertools import chain, islice
from typing import Callable, Iterable, Iterator

from . import analysis as an
from .addr import addr_text
from .explain import render
from .frame import EndpointView, Explanation, Frame, Timer
from .inference import STATES, TIME_WAIT, TIME_WAIT_SECONDS
from .info import flags_text, info_text, options_json_info
from .limits import Evicted, Limits, Notice, summary_text
from .partition import PartitionScanner
from .segment import ACK, FIN, SYN, Segment, flag_names
from .states import State
from .store import META_ACE, META_FROM_SERVER, META_LOST, SegmentStore
from .tcpscan import TcpScanner
from .tracker import EXPLAIN_CROSSED, RECV_KEYS, SEND_KEYS, Conversation, Tracker

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
    key = f"cap:{SEND_KEYS[(explain_code >> 8) & 0x3F]}+{RECV_KEYS[explain_code & 0xFF]}"
    if explain_code & EXPLAIN_CROSSED:
        key += "+crossed"
    return key


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

    def __init__(
        self,
        title: str = "capture",
        summary_only: bool = False,
        limits: Limits | None = None,
        *,
        max_segments: int | None = None,
        max_segments_per_conn: int | None = None,
        max_conns: int | None = None,
        partition: int | None = None,
    ) -> None:
        """With `summary_only`, only the conversations and their counts and final states
        are kept (no rows, no timelines): what `--conversations` needs, several times
        faster. With `partition` too (0 or 1), only the conversations of that half of
        the capture (core/partition.py) are tracked, while the scanner's counts and
        problems stay those of the whole capture: two processes can share the work
        (tui/conv_parallel.py); `scanner.order` gives each tracked row's place in the
        capture.

        Memory is bounded by `limits` (core/limits.py), or by the three keywords: at most
        `max_segments` segments in all, `max_segments_per_conn` per conversation,
        `max_conns` conversations (None: no limit, the default; `limits.LIVE_LIMITS` is
        what a live capture uses). What the limits took away: `evicted`,
        `take_notices()`, `memory_note()`."""
        self.title = title
        if limits is None:
            limits = Limits(max_segments, max_segments_per_conn, max_conns)
        if partition is not None:
            if not summary_only or limits.active:
                raise ValueError("a partition is for summary replays without memory limits")
            self.scanner: TcpScanner = PartitionScanner(partition)
        else:
            self.scanner = TcpScanner(keyed=True, lean=summary_only)
        self.tracker = Tracker(summary_only=summary_only, limits=limits)
        self.limits = limits
        self.store = self.tracker.store
        self._tcb_cache: dict[int, list[_Tcb]] = {}
        #: The TCB values before a trimmed conversation's first kept row.
        self._tcb_base: dict[int, _Tcb] = {}
        self._revised: set[int] = set()
        self._tcb_versions: dict[int, int] = {}
        self._explain_cache: dict[tuple[int, int, int, str], str] = {}
        self._writers: "weakref.WeakSet[_JsonWriter]" = weakref.WeakSet()
        self._notices_seen = 0
        compactor = self.tracker.compactor
        if compactor is not None:
            compactor.on_trim = self._on_trim
            compactor.on_forget = self._on_forget
            compactor.on_renumber = self._on_renumber

    # -- bounded memory (core/limits.py) -----------------------------------------------

    @property
    def evicted(self) -> Evicted:
        """What the limits took away so far (all zero without limits)."""
        compactor = self.tracker.compactor
        return compactor.evicted if compactor is not None else Evicted()

    @property
    def segments_tracked(self) -> int:
        """Segments tracked since the start (the store keeps fewer once some are dropped)."""
        return self.tracker.tracked

    @property
    def rows_dropped(self) -> int:
        """Store rows removed so far: row numbers shift down by that much in all (a
        writer that printed every row before the last `feed` resumes at
        ``len(replay) - added``)."""
        return self.tracker.rows_dropped

    def take_notices(self) -> list[Notice]:
        """What the limits did since the last call, one `Notice` each (`.text(lang)`
        gives the line to show)."""
        compactor = self.tracker.compactor
        if compactor is None:
            return []
        seen = max(self._notices_seen - compactor.notices_dropped, 0)
        out = compactor.notices[seen:]
        self._notices_seen = compactor.notices_dropped + len(compactor.notices)
        return out

    def memory_note(self, lang: str = "en") -> str | None:
        """One line saying what the limits took away in all, or None if nothing."""
        evicted = self.evicted
        return summary_text(evicted, lang) if evicted else None

    def conversation(self, conn: int) -> Conversation | None:
        """Conversation `conn`, or None if it was forgotten to bound memory."""
        return self.tracker.conversations[conn]

    def _on_trim(self, conv: Conversation, k: int) -> None:
        if self.tracker.summary_only:
            return
        base = self._tcb(conv, k - 1)
        base.pos = -1
        self._tcb_base[conv.id] = base
        self._tcb_cache[conv.id] = [base.copy()]

    def _on_forget(self, conv: Conversation) -> None:
        self._tcb_cache.pop(conv.id, None)
        self._tcb_base.pop(conv.id, None)
        for writer in list(self._writers):
            writer.forget((conv.id,))

    def _on_renumber(self, new: array) -> None:
        if self._revised:
            self._revised = {new[r] for r in self._revised if new[r] >= 0}

    # -- input -------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> int:
        """Take the next bytes of the capture; returns how many segments they added."""
        return self._track(self.scanner.feed(chunk))

    def _track(self, items: list[tuple], flat: bool = False) -> int:
        tracker = self.tracker
        if flat:
            added = tracker.feed(items)
        elif tracker.summary_only:
            added = tracker.feed_lean(items)
        else:
            added = tracker.feed_keyed(items)
        if self.tracker.revised:
            revised = self.tracker.take_revised()
            if not self.tracker.summary_only:
                for row in revised:
                    self._tcb_cache.pop(self.store.conv[row], None)
                self._revised |= revised
        return added

    def take_revised(self) -> set[int]:
        """Rows (store indexes) whose states hindsight rewrote since the last call: a live
        view repaints them (a SYN answered by RST, a FIN sent again ...)."""
        out = self._revised
        self._revised = set()
        return out

    def feed_segments(self, items: list[tuple]) -> int:
        """Track already-decoded flat segment tuples (a live sniffer's: (frame_no, ts,
        wirelen, *core.decode.Decoded))."""
        return self._track(items, flat=True)

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

    def _tcb_start(self, conv: Conversation) -> _Tcb:
        """The TCB values before the conversation's first kept row (a new object)."""
        base = self._tcb_base.get(conv.id)
        return base.copy() if base is not None else _Tcb(_initial_states(conv))

    def _tcb(self, conv: Conversation, pos: int) -> _Tcb:
        """The TCB values after the conversation's row at position `pos` (cached; -1:
        before its first kept row)."""
        checkpoints = self._tcb_cache.get(conv.id)
        if checkpoints is None:
            checkpoints = [self._tcb_start(conv)]
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
        """A summary of every conversation kept (forgotten ones are left out)."""
        return [self.summary(conv) for conv in self.tracker.conversations if conv is not None]

    def summary(self, conv: Conversation, first_ts: float | None = None) -> ConversationSummary:
        """The summary of `conv`; its start is relative to `first_ts` (default: the time
        of this replay's first segment)."""
        last = conv.state_byte
        first = self.first_ts if first_ts is None else first_ts
        return ConversationSummary(
            conn=conv.id,
            client_addr=addr_text(conv.addr[0]),
            client_port=conv.port[0],
            server_addr=addr_text(conv.addr[1]),
            server_port=conv.port[1],
            ip_version=conv.ip_version,
            packets=conv.packets,
            bytes=conv.payload,
            wire_bytes=conv.wire,
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
        return self.json_writer(lang).lines(start, stop, conn)

    def json_chunks(self, start: int = 0, stop: int | None = None, conn: int | None = None, lang: str | None = None) -> Iterator[bytes]:
        """The same records as `json_lines`, UTF-8 encoded, "\\n"-terminated and joined
        into chunks of a few thousand lines (what the command line writes)."""
        return self.json_writer(lang).chunks(start, stop, conn)

    def json_writer(self, lang: str | None = None) -> "_JsonWriter":
        """A JSON writer that keeps its running state between calls (for a growing
        capture: call `lines(start, stop, conn)` with each new range of rows)."""
        writer = _JsonWriter(self, lang)
        if self.tracker.compactor is not None:
            self._writers.add(writer)
        return writer

    def text_chunks(self, start: int = 0, stop: int | None = None, conn: int | None = None) -> Iterator[bytes]:
        """`text_lines`, UTF-8 encoded, "\\n"-terminated, joined into chunks."""
        batch: list[str] = []
        for line in self.text_lines(start, stop, conn):
            batch.append(line)
            if len(batch) >= 2000:
                batch.append("")
                yield "\n".join(batch).encode()
                batch = []
        if batch:
            batch.append("")
            yield "\n".join(batch).encode()

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
    """The segments of one conversation (a core/frame.Timeline): those kept, once the
    replay's limits dropped its oldest ones (`dropped` says how many; index 0 is then the
    conversation's segment number `dropped`)."""

    def __init__(self, replay: Replay, conn: int) -> None:
        if not 0 <= conn < len(replay.tracker.conversations):
            raise IndexError(f"no conversation {conn}")
        conv = replay.tracker.conversations[conn]
        if conv is None:
            raise IndexError(f"conversation {conn} was forgotten to bound memory (see --max-conns)")
        self.replay = replay
        self.conn = conn
        self.conv = conv
        self.title = f"{replay.title} #{conn}"

    @property
    def dropped(self) -> int:
        """The conversation's oldest segments dropped to bound memory (not in the timeline)."""
        return self.conv.dropped

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


class _JsonWriter:
    """Formats JSON Lines straight from the columns, as UTF-8 bytes: one loop, running TCB
    values per conversation (the same rules as `_Tcb`), pieces that depend only on the
    conversation, its sender and flags, or its states made once. The usual row (both
    endpoints synchronized, all TCB values known, timestamps as the only option, no
    analysis flag) is one precompiled format; any other row goes through the general
    code. Tests hold every line to `core/output.frame_json`.

    Bytes, not str: a line holding "→" is a two-bytes-per-character str, and joining and
    encoding a million of those costs more than formatting them."""

    #: Format the usual row with its precompiled line (tests switch it off to hold it to
    #: the general code).
    USUAL = True

    def __init__(self, replay: Replay, lang: str | None) -> None:
        self.replay = replay
        self.lang = lang
        #: conversation id -> its running state (see `_start`).
        self.convs: dict[int, list] = {}
        self.explain_json: dict[tuple[int, int, int], bytes] = {}

    def forget(self, cids) -> None:
        """Drop the running state of conversations the replay forgot (bounded memory)."""
        for cid in cids:
            self.convs.pop(cid, None)

    def _start(self, cid: int, row: int) -> list:
        """Per-conversation state for a conversation first met at `row`:

        [0], [1] per sender role: (sender's running values, receiver's), where the running
            values of a role are a list [iss, snd_nxt, max_ack, win, r_iss, r_end, r_ack,
            r_win, tw_at] (what it sent, then what reached it: the fields of `_Tcb`);
        [2] the states byte after the last row written;
        [3] Wireshark's flows (base sequence numbers, for relative numbers);
        [4], [5] the client's and the server's running values;
        [6] per sender role, ACE and flags: (the JSON from "conn" to "seq": , the Info
            column from the ports to "Seq=");
        [7] per states byte: (client object up to "iss": , server object up to it);
        [8] (client object's end, server object's end): a note, if any, and "}";
        [9] per role: the endpoint object's start up to its state name;
        [10] per sender role: the Info column's ports;
        [11] per sender role: '"src": ..., "dport": N'."""
        replay = self.replay
        conv = replay.tracker.conversations[cid]
        pos = bisect_left(conv.rows, row)
        tcb = replay._tcb(conv, pos - 1) if pos else replay._tcb_start(conv)
        c, s = (
            [tcb.iss[r], tcb.snd_nxt[r], tcb.max_ack[r], tcb.win[r], tcb.r_iss[r], tcb.r_end[r], tcb.r_ack[r],
             tcb.r_win[r], tcb.tw_at[r]]
            for r in (0, 1)
        )  # fmt: skip
        caddr = addr_text(conv.addr[0]).encode()
        saddr = addr_text(conv.addr[1]).encode()
        cnote, snote = _notes(conv)
        cport, sport = conv.port
        return [
            (c, s),
            (s, c),
            (tcb.states[0] << 4) | tcb.states[1],
            conv.an.flows,
            c,
            s,
            {},
            {},
            (
                b', "note": %s}' % json.dumps(cnote).encode() if cnote else b"}",
                b', "note": %s}' % json.dumps(snote).encode() if snote else b"}",
            ),
            (b'{"addr": "%s", "port": %d, "state": "' % (caddr, cport), b'{"addr": "%s", "port": %d, "state": "' % (saddr, sport)),
            (b"%d \xe2\x86\x92 %d [" % (cport, sport), b"%d \xe2\x86\x92 %d [" % (sport, cport)),
            (
                b'"src": "%s", "sport": %d, "dst": "%s", "dport": %d' % (caddr, cport, saddr, sport),
                b'"src": "%s", "sport": %d, "dst": "%s", "dport": %d' % (saddr, sport, caddr, cport),
            ),
        ]

    def _heads(self, cid: int, cs: list, sender: int, flags: int, ace: int) -> tuple[bytes, bytes]:
        """cs[6]'s entry for (sender, ACE shown, flags)."""
        fj = _FLAGS_JSON_BYTES.get(flags)
        if fj is None:
            fj = _FLAGS_JSON_BYTES[flags] = json.dumps(list(flag_names(flags))).encode()
        role = _ROLE_BYTES[sender]
        out = (
            b'"conn": %d, "who": "%s", "from": "%s", %s, "flags": %s, "seq": ' % (cid, role, role, cs[11][sender], fj),
            cs[10][sender] + (flags_text(flags, bool(ace)) + "] Seq=").encode(),
        )
        cs[6][(sender << 16) | (ace << 10) | flags] = out
        return out

    def _state_heads(self, cs: list, st: int) -> tuple[bytes, bytes]:
        """cs[7]'s entry for a states byte."""
        heads = cs[9]
        out = (
            heads[0] + _STATE_BYTES[st >> 4] + b'", "iss": ',
            heads[1] + _STATE_BYTES[st & 0xF] + b'", "iss": ',
        )
        cs[7][st] = out
        return out

    def chunks(self, start: int, stop: int | None, conn: int | None, lines_per_chunk: int = 2000) -> Iterator[bytes]:
        """The lines of rows [start, stop), "\\n"-terminated, joined into chunks."""
        batch: list[bytes] = []
        append = batch.append
        for line in self.byte_lines(start, stop, conn):
            append(line)
            if len(batch) >= lines_per_chunk:
                append(b"")
                yield b"\n".join(batch)
                batch = []
                append = batch.append
        if batch:
            append(b"")
            yield b"\n".join(batch)

    def lines(self, start: int, stop: int | None, conn: int | None) -> Iterator[str]:
        for line in self.byte_lines(start, stop, conn):
            yield line.decode()

    def byte_lines(self, start: int, stop: int | None, conn: int | None) -> Iterator[bytes]:
        replay = self.replay
        store = replay.store
        first = replay.first_ts
        n = len(store)
        stop = n if stop is None else min(stop, n)
        if start >= stop:
            return
        convs = self.convs
        start_conv = self._start
        heads_for = self._heads
        state_heads_for = self._state_heads
        lang = self.lang
        explain_json = self.explain_json
        rel_override = store.rel_override
        dupacks = store.dupack
        pool = store.opt_pool
        opt_end = store.opt_end
        ts_unpack = _TS_OPTION.unpack_from
        ts_kind = b"\x01\x01\x08\x0a"
        tcb_states = _TCB_STATES
        analysis_cache = _ANALYSIS_BYTES
        tw_code = TIME_WAIT
        tw_len = TIME_WAIT_SECONDS
        usual = _USUAL_LINE
        usual_bare = _USUAL_LINE_BARE
        usual_ok = self.USUAL
        general = self._general
        end_bytes = b"}"
        M = MASK32
        H = 0x80000000
        cols = (
            store.frame, store.ts, store.conv, store.seq, store.ack, store.flags, store.win, store.length,
            store.meta, store.analysis, store.states, store.explain,
        )  # fmt: skip
        if conn is None:
            # From the start, iterate the columns as they are; from further on, copy the
            # rows wanted (an iterator would step over every row before `start`: a live
            # capture written batch by batch would cost more with every batch).
            if start:
                part: Callable = lambda col: col[start:stop]  # noqa: E731
            else:
                part = lambda col: islice(col, 0, stop)  # noqa: E731
            ostarts = chain((opt_end[start - 1] if start else 0,), part(opt_end))
            items: Iterable[tuple] = zip(range(start, stop), ostarts, part(opt_end), *(part(col) for col in cols))
        else:
            convs_all = replay.tracker.conversations
            if not 0 <= conn < len(convs_all) or convs_all[conn] is None:
                return
            rows = convs_all[conn].rows
            wanted = islice(rows, bisect_left(rows, start), bisect_left(rows, stop))
            items = ((r, opt_end[r - 1] if r else 0, opt_end[r], *(col[r] for col in cols)) for r in wanted)
        for row, ostart, oend, frame, ts, cid, seq, ack, flags, win, length, meta, bits, st, explain in items:
            cs = convs.get(cid)
            if cs is None:
                cs = convs[cid] = start_conv(cid, row)
            sender = meta & 1
            snd, rcv = cs[sender]
            # Window, relative numbers.
            if meta & 0x1E:
                win_scaled = win << (((meta & 0x1E) >> 1) - 1)
            else:
                win_scaled = win
            if rel_override and row in rel_override:
                sbase, abase = rel_override[row]
            else:
                bases = cs[3]
                sbase = bases[sender].base_seq
                abase = bases[1 - sender].base_seq
            # Running TCB values (_Tcb.advance, inlined).
            if flags & 3:
                end = (seq + length + (1 if flags & 2 else 0) + (flags & 1)) & M
                if flags & 2 and snd[0] is None:
                    snd[0] = seq
            else:
                end = (seq + length) & M
            v = snd[1]
            if v is None or 0 < ((end - v) & M) < H:
                snd[1] = end
            if flags & 0x10:
                ack_rel = (ack - abase) & M
                v = snd[2]
                if v is None or 0 < ((ack - v) & M) < H:
                    snd[2] = ack
            else:
                ack_rel = ack
            snd[3] = win_scaled
            if not meta & 0x40:  # delivered (META_LOST unset)
                if flags & 2 and rcv[4] is None:
                    rcv[4] = seq
                v = rcv[5]
                if v is None or 0 < ((end - v) & M) < H:
                    rcv[5] = end
                if flags & 0x10:
                    v = rcv[6]
                    if v is None or 0 < ((ack - v) & M) < H:
                        rcv[6] = ack
                rcv[7] = win_scaled
            old = cs[2]
            if st != old or flags & 1:
                cs[2] = st
                c = cs[4]
                s = cs[5]
                if st >> 4 == tw_code:
                    if old >> 4 != tw_code or (sender == 1 and not meta & 0x40 and flags & 1):
                        c[8] = ts
                else:
                    c[8] = None
                if st & 0xF == tw_code:
                    if old & 0xF != tw_code or (sender == 0 and not meta & 0x40 and flags & 1):
                        s[8] = ts
                else:
                    s[8] = None
            if lang is not None:
                key = (explain, sender, st)
                end_bytes = explain_json.get(key)
                if end_bytes is None:
                    end_bytes = explain_json[key] = b', "explain": %s}' % json.dumps(
                        replay.explain_text(row, lang), ensure_ascii=False
                    ).encode()
            olen = oend - ostart
            if flags & 0x30 == 0x10 and st in tcb_states and (olen == 12 or not olen) and usual_ok:
                if olen:
                    kind, tsval, tsecr = ts_unpack(pool, ostart)
                else:
                    kind = ts_kind
                if kind == ts_kind:
                    # The usual row: one format.
                    heads = cs[6].get((sender << 16) | ((meta & 0x20) << 5) | flags)
                    if heads is None:
                        heads = heads_for(cid, cs, sender, flags, (meta & 0x20) >> 5)
                    sheads = cs[7].get(st)
                    if sheads is None:
                        sheads = state_heads_for(cs, st)
                    if bits:
                        dup = dupacks.get(row)
                        if dup is None:
                            labels = analysis_cache.get(bits)
                            if labels is None:
                                labels = analysis_cache[bits] = (
                                    json.dumps(list(an.labels(bits))).encode(), an.info_prefix(bits).encode()
                                )
                        else:
                            labels = (json.dumps(list(an.labels(bits, *dup))).encode(), an.info_prefix(bits, *dup).encode())
                    else:
                        labels = _NO_LABELS
                    c = cs[4]
                    s = cs[5]
                    t_rel = ts - first
                    if t_rel >= 0.0001:
                        time_text = (b"%.6f" % t_rel).rstrip(b"0")
                        if time_text[-1] == 46:  # "5." -> "5.0", as repr() writes it
                            time_text += b"0"
                    else:
                        time_text = b"%a" % round(t_rel, 6)
                    tails = cs[8]
                    if c[8] is None and s[8] is None:
                        ctail, stail = tails
                    else:
                        ctail = tails[0] if c[8] is None else b', "timers": {"2msl": %a}%s' % (round(c[8] + tw_len - first, 6), tails[0])
                        stail = tails[1] if s[8] is None else b', "timers": {"2msl": %a}%s' % (round(s[8] + tw_len - first, 6), tails[1])
                    c_iss = c[0]
                    c_ack = c[6]
                    c_mine = c[2]
                    c_end = c[5]
                    s_iss = s[0]
                    s_ack = s[6]
                    s_mine = s[2]
                    s_end = s[5]
                    seq_rel = (seq - sbase) & M
                    try:
                        if olen:
                            yield usual % (
                                frame, time_text, heads[0], seq_rel, ack_rel, seq, ack, length, win, win_scaled,
                                tsval, tsecr, labels[0], labels[1], heads[1], seq_rel, ack_rel, win_scaled, length,
                                tsval, tsecr,
                                sheads[0], c_iss, c[4], c_iss if c_ack is None else c_ack, c[1], c[7],
                                c_mine if c_end is None or (c_mine is not None and 0 < ((c_mine - c_end) & M) < H) else c_end,
                                c[3], ctail,
                                sheads[1], s_iss, s[4], s_iss if s_ack is None else s_ack, s[1], s[7],
                                s_mine if s_end is None or (s_mine is not None and 0 < ((s_mine - s_end) & M) < H) else s_end,
                                s[3], stail, end_bytes,
                            )  # fmt: skip
                        else:
                            yield usual_bare % (
                                frame, time_text, heads[0], seq_rel, ack_rel, seq, ack, length, win, win_scaled,
                                labels[0], labels[1], heads[1], seq_rel, ack_rel, win_scaled, length,
                                sheads[0], c_iss, c[4], c_iss if c_ack is None else c_ack, c[1], c[7],
                                c_mine if c_end is None or (c_mine is not None and 0 < ((c_mine - c_end) & M) < H) else c_end,
                                c[3], ctail,
                                sheads[1], s_iss, s[4], s_iss if s_ack is None else s_ack, s[1], s[7],
                                s_mine if s_end is None or (s_mine is not None and 0 < ((s_mine - s_end) & M) < H) else s_end,
                                s[3], stail, end_bytes,
                            )  # fmt: skip
                        continue
                    except TypeError:  # a TCB value not known yet (None): the general code
                        pass
            yield general(row, cs, frame, ts, cid, seq, ack, flags, win, length, meta, bits, st, (seq - sbase) & M,
                          ack_rel, win_scaled, ostart, oend, end_bytes)  # fmt: skip

    def _general(
        self, row, cs, frame, ts, cid, seq, ack, flags, win, length, meta, bits, st, seq_rel, ack_rel, win_scaled,
        ostart, oend, end_bytes,
    ) -> bytes:  # fmt: skip
        """Any row: the line as `core/output.frame_json` writes it."""
        store = self.replay.store
        first = self.replay.first_ts
        sender = meta & 1
        # Options: the JSON object and the Info column's text.
        if oend == ostart:
            opts_json = b"{}"
            opts_info = b""
        else:
            opts_json, opts_info = options_json_info(bytes(store.opt_pool[ostart:oend]), cs[3][1 - sender].base_seq)
        # Analysis and the Info column.
        if bits:
            dup = store.dupack.get(row)
            if dup:
                analysis = json.dumps(list(an.labels(bits, *dup))).encode()
                prefix = an.info_prefix(bits, *dup).encode()
            else:
                analysis = json.dumps(list(an.labels(bits))).encode()
                prefix = an.info_prefix(bits).encode()
        else:
            analysis = b"[]"
            prefix = b""
        ftext = (flags_text(flags, bool(meta & META_ACE)) + "] Seq=").encode()
        ports = cs[10][sender]
        if flags & 0x10:
            info = b"%s%s%s%d Ack=%d Win=%d" % (prefix, ports, ftext, seq_rel, ack_rel, win_scaled)
        else:
            info = b"%s%s%s%d Win=%d" % (prefix, ports, ftext, seq_rel, win_scaled)
        if flags & 0x20:
            info = b"%s Urg=%d" % (info, store.urg.get(row, 0))
        c_body = _endpoint_body(cs[4], first) if st >> 4 not in _NO_TCB else b'"'
        s_body = _endpoint_body(cs[5], first) if st & 0xF not in _NO_TCB else b'"'
        t_rel = ts - first
        if t_rel >= 0.0001:
            time_text = (b"%.6f" % t_rel).rstrip(b"0")
            if time_text[-1] == 46:
                time_text += b"0"
        else:
            time_text = b"%a" % round(t_rel, 6)
        fj = _FLAGS_JSON_BYTES.get(flags)
        if fj is None:
            fj = _FLAGS_JSON_BYTES[flags] = json.dumps(list(flag_names(flags))).encode()
        role = _ROLE_BYTES[sender]
        heads = cs[9]
        tails = cs[8]
        return (
            b'{"no": %d, "time": %s, "event": "segment", "conn": %d, "who": "%s", "from": "%s", %s, '
            b'"flags": %s, "seq": %d, "ack": %d, "seq_raw": %d, "ack_raw": %d, "len": %d, "win": %d, '
            b'"win_scaled": %d, "options": %s, "analysis": %s, "info": "%s Len=%d%s", '
            b'"client": %s%s%s%s, "server": %s%s%s%s%s'
            % (
                frame, time_text, cid, role, role, cs[11][sender], fj, seq_rel, ack_rel, seq, ack, length, win,
                win_scaled, opts_json, analysis, info, length, opts_info,
                heads[0], _STATE_BYTES[st >> 4], c_body, tails[0],
                heads[1], _STATE_BYTES[st & 0xF], s_body, tails[1], end_bytes,
            )
        )  # fmt: skip


_TCB_NAMES_B = (b"iss", b"irs", b"snd_una", b"snd_nxt", b"snd_wnd", b"rcv_nxt", b"rcv_wnd")
_TCB_FORMAT = b'", "iss": %d, "irs": %d, "snd_una": %d, "snd_nxt": %d, "snd_wnd": %d, "rcv_nxt": %d, "rcv_wnd": %d'
#: The usual row (see _JsonWriter).
_USUAL_LINE = (
    b'{"no": %d, "time": %s, "event": "segment", %s%d, "ack": %d, "seq_raw": %d, "ack_raw": %d, "len": %d, '
    b'"win": %d, "win_scaled": %d, "options": {"tsval": %d, "tsecr": %d}, "analysis": %s, '
    b'"info": "%s%s%d Ack=%d Win=%d Len=%d TSval=%d TSecr=%d", '
    b'"client": %s%d, "irs": %d, "snd_una": %d, "snd_nxt": %d, "snd_wnd": %d, "rcv_nxt": %d, "rcv_wnd": %d%s, '
    b'"server": %s%d, "irs": %d, "snd_una": %d, "snd_nxt": %d, "snd_wnd": %d, "rcv_nxt": %d, "rcv_wnd": %d%s%s'
)
#: The same for a segment without options.
_USUAL_LINE_BARE = (
    _USUAL_LINE.replace(b'"options": {"tsval": %d, "tsecr": %d}', b'"options": {}')
    .replace(b" Len=%d TSval=%d TSecr=%d", b" Len=%d")
)
#: States bytes of the usual row: both endpoints have a TCB (neither CLOSED nor LISTEN).
_TCB_STATES = frozenset(
    (c << 4) | s for c in range(len(STATES)) for s in range(len(STATES)) if c not in _NO_TCB and s not in _NO_TCB
)  # fmt: skip
#: A state's name as JSON string content.
_STATE_BYTES = tuple(state.value.encode() for state in STATES)
#: No analysis flag: the JSON list and the Info prefix.
_NO_LABELS = (b"[]", b"")
#: Analysis bits (no duplicate-ACK numbers) -> (JSON list, Info prefix).
_ANALYSIS_BYTES: dict[int, tuple[bytes, bytes]] = {}
_TS_OPTION = struct.Struct("!4sII")
_TS_PAIR = struct.Struct("!II")


def _endpoint_body(v: list, first: float) -> bytes:
    """The TCB part of an endpoint object, after its state name (see `_Tcb.view`), from
    its running values (see _JsonWriter._start)."""
    iss = v[0]
    r_ack = v[6]
    r_end = v[5]
    mine = v[2]
    if r_end is None or (mine is not None and 0 < ((mine - r_end) & MASK32) < 0x80000000):
        rcv_nxt = mine
    else:
        rcv_nxt = r_end
    values = (iss, v[4], r_ack if r_ack is not None else iss, v[1], v[7], rcv_nxt, v[3])
    if None not in values:
        body = _TCB_FORMAT % values
    else:
        body = b'"' + b"".join([b', "%s": %d' % (name, value) for name, value in zip(_TCB_NAMES_B, values) if value is not None])
    tw = v[8]
    if tw is not None:
        body += b', "timers": {"2msl": %a}' % round(tw + TIME_WAIT_SECONDS - first, 6)
    return body


_ROLE_BYTES = (b"client", b"server")
_FLAGS_JSON_BYTES: dict[int, bytes] = {}
