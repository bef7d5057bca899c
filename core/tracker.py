"""The passive tracker: captured TCP segments in, conversations and inferred states out.

For each segment, in capture order (what `dissect_tcp()` in Wireshark 4.0's
packet-tcp.c does, then what tcp-lab adds):

1. Find its conversation: one per 4-tuple, numbered from 0 in order of first appearance,
   exactly like Wireshark's tcp.stream. A SYN (without ACK) whose sequence number differs
   from the one that side started with opens a new conversation on the same 4-tuple
   ("TCP Port numbers reused"): a new connection reusing the ports of a closed one (or
   one still in TIME_WAIT: RFC 9293 section 3.4.2, RFC 6191).
2. Work out the relative sequence numbers the way Wireshark does: each side's base is
   its SYN's sequence number, or one less than its first sequence number or the first
   ACK number acknowledging it when no SYN was captured.
3. Wireshark's analysis flags (core/analysis.py) and window scaling (a WS option on both
   SYNs scales later windows; a SYN without one means no scaling, "-2"; no SYN seen
   means unknown, "-1", and the raw value is shown).
4. The inferred state of both endpoints after the segment (core/inference.py): the
   sender's transition for sending it, then the receiver's for receiving it. Which side
   is the client: the one that sent the first SYN; with no SYN captured, the side with
   the higher port, marked as a guess.
5. One row in the store (core/store.py).

When a later segment proves an earlier one never reached its receiver (the same SYN or
FIN sent again, FINs that crossed, a SYN answered by RST), the conversation's states are
inferred again with that knowledge and its stored rows rewritten (`Conversation.revise`).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from itertools import accumulate, islice
from operator import itemgetter
from typing import Any, Callable, Iterable

from . import analysis as an
from .analysis import ConvAnalysis, analyze
from .inference import (
    CLIENT,
    CLOSED,
    ESTABLISHED,
    GONE,
    LISTEN,
    LOST,
    RECEIVE,
    SEND,
    SERVER,
    SYN_SENT,
    Observer,
)
from .info import OptionEffects, options_text
from .segment import ACK, AE, CWR, ECE, FIN, RST, SYN
from .limits import Compactor, Limits
from .store import META_ACE, META_FROM_SERVER, META_LOST, SegmentStore
from .tcpscan import flat_to_keyed, flat_to_lean, split_key

MASK32 = 0xFFFFFFFF

#: Explanation rule keys, indexed: a row's `explain` is send index << 8 | receive index.
SEND_KEYS: tuple[str, ...] = tuple(sorted({rule.key for rule in SEND.values()}))
RECV_KEYS: tuple[str, ...] = tuple(sorted({rule.key for rule in RECEIVE.values()}))
SEND_INDEX = {key: i for i, key in enumerate(SEND_KEYS)}
RECV_INDEX = {key: i for i, key in enumerate(RECV_KEYS)}
#: Receive index of a segment that never arrived, and of one that arrives later.
RECV_LOST_INDEX = RECV_INDEX["recv.lost"]
RECV_LATE_INDEX = RECV_INDEX["recv.in_flight"]
RECV_GONE_INDEX = RECV_INDEX["recv.gone"]
#: Bit of a row's explain code: a segment sent earlier by the other side (and crossed on
#: the wire) reached this row's sender just after it sent this one.
EXPLAIN_CROSSED = 0x4000

def _steady_codes() -> tuple[int, int, int, int, int]:
    """Explain codes of the fast path's segments: data, ACK, data again, keep-alive
    (no data), keep-alive (one byte); the same in every state the fast path applies to."""
    from .inference import ESTABLISHED as E
    from .inference import RECV_ACK, RECV_DATA, SEND_ACK, SEND_DATA, SEND_DATA_AGAIN, SEND_KEEPALIVE

    def code(event: str, recv: str) -> int:
        return (SEND_INDEX[SEND[(E, event)].key] << 8) | RECV_INDEX[RECEIVE[(E, recv)].key]

    return (
        code(SEND_DATA, RECV_DATA),
        code(SEND_ACK, RECV_ACK),
        code(SEND_DATA_AGAIN, RECV_DATA),
        code(SEND_KEEPALIVE, RECV_ACK),
        code(SEND_KEEPALIVE, RECV_DATA),
    )


_STEADY_CODES = _steady_codes()


_ACC_ECN_SETUP = AE | CWR | ECE
#: Snapshots kept per conversation (see Conversation.snapshots).
SNAPSHOTS = 4
#: Placeholder until a conversation gets its own observer (Tracker._new_conversation).
_NO_OBSERVER = Observer()
_SYN_ACK = SYN | ACK
#: The fields of a keyed segment tuple (core/tcpscan.KEYED_FIELDS) the store keeps as they are.
_FRAME, _TS, _SEQ, _ACK, _FLAGS, _WIN, _LEN, _OPTIONS = (itemgetter(i) for i in (0, 1, 4, 5, 6, 7, 8, 9))
#: The same fields of a lean keyed tuple (core/tcpscan.LEAN_FIELDS).
_L_TS, _L_SEQ, _L_ACK, _L_FLAGS, _L_LEN = (itemgetter(i) for i in (0, 3, 4, 5, 6))
#: Options holding only the timestamps, as Linux sends them (NOP, NOP, TS): nothing in them
#: changes the analysis (no window scale, no Accurate ECN).
_TS_ONLY = b"\x01\x01\x08\x0a"


class Conversation:
    """One TCP connection seen in the capture (Wireshark's tcp.stream): its two
    endpoints, its rows in the store, the analysis and inference state, and the counts a
    conversation list shows."""

    __slots__ = (
        "id",
        "ip_version",
        "addr",
        "port",
        "client_guess",
        "start",
        "rows",
        "an",
        "observer",
        "flows",
        "counts",
        "state_byte",
        "steady",
        "sides",
        "bases_done",
        "first_ts",
        "last_ts",
        "first_states",
        "server_initial",
        "overrides",
        "reused_by",
        "reuses",
        "snapshots",
        "late",
        "ctl_rows",
        "pairs",
        "ace",
        "dropped",
        "base",
        "first_frame",
    )

    def __init__(self, cid: int, ip_version: int, addr: tuple[bytes, bytes], port: tuple[int, int]) -> None:
        self.id = cid
        self.ip_version = ip_version
        #: (client address, server address), packed bytes.
        self.addr = addr
        #: (client port, server port).
        self.port = port
        #: True when no SYN told which side opened: the client is the higher port.
        self.client_guess = False
        #: How the capture meets the connection: "syn" (from the first SYN), "synack"
        #: (SYN not captured), "midstream" (handshake not captured).
        self.start = "syn"
        self.rows = array("I")
        self.an = ConvAnalysis()
        #: Wireshark's two flows, indexed by role: flows[CLIENT] is client -> server.
        self.flows = self.an.flows
        #: Per sender role: (its flow, the other flow).
        self.pairs = ((self.flows[0], self.flows[1]), (self.flows[1], self.flows[0]))
        #: Accurate ECN is in use (the Info column shows ACE=n): kept equal to
        #: `an.acc_ecn_option or (an.acc_ecn_syn and an.acc_ecn_synack)`.
        self.ace = False
        #: [segments sent by the client, by the server, payload bytes sent by the client,
        #: by the server, frame bytes on the wire sent by the client, by the server (as
        #: tshark's conv,tcp counts them)].
        self.counts = [0, 0, 0, 0, 0, 0]
        #: True once both of Wireshark's base sequence numbers are known.
        self.bases_done = False
        self.set_observer(_NO_OBSERVER)
        self.first_ts = 0.0
        #: The capture's frame number of its first segment (0 when not known: the
        #: conversation table's lean tuples carry no frame number).
        self.first_frame = 0
        self.last_ts = 0.0
        self.first_states: tuple[int, int] = (CLOSED, LISTEN)
        #: The server's state before the first segment (LISTEN, or CLOSED once refused).
        self.server_initial = LISTEN
        #: Rows that did not reach their receiver: row -> LOST, or the row at which they
        #: arrived after all (a FIN that crossed the peer's).
        self.overrides: dict[int, int] = {}
        #: The observer (frozen, Observer.freeze) before each of the last few rows that
        #: carried SYN, FIN or RST: (row, frozen). A revision starts from the latest one
        #: before the rows it changes, or from the start.
        self.snapshots: list[tuple[int, tuple]] = []
        #: Late deliveries: row at which they arrived -> the rows that arrived then.
        self.late: dict[int, list[int]] = {}
        #: (role, SYN / SYN|ACK / FIN, sequence number) -> the last row carrying it (-1:
        #: a row dropped to bound memory).
        self.ctl_rows: dict[tuple[int, int, int], int] = {}
        self.reused_by: int | None = None  # the conversation that reused its ports
        self.reuses: int | None = None  # the conversation whose ports it reused
        #: Segments dropped from the front to bound memory (core/limits.py): `rows[0]` is
        #: the conversation's segment number `dropped` (counting from 0).
        self.dropped = 0
        #: The observer (frozen) before `rows[0]` once segments were dropped, else None
        #: (then it is `initial_observer()`).
        self.base: tuple | None = None

    def set_observer(self, observer: Observer) -> None:
        """Use `observer` from now on (the hot loop reads its parts directly)."""
        observer.refresh_steady()
        self.observer = observer
        self.steady = observer.steady
        self.sides = observer.sides
        #: The states after the last segment: client code << 4 | server code.
        self.state_byte = (observer.sides[0].state << 4) | observer.sides[1].state

    @property
    def packets(self) -> tuple[int, int]:
        """Segments sent by the client, by the server."""
        return self.counts[0], self.counts[1]

    @property
    def payload(self) -> tuple[int, int]:
        """Payload bytes sent by the client, by the server."""
        return self.counts[2], self.counts[3]

    @property
    def wire(self) -> tuple[int, int]:
        """Frame bytes on the wire sent by the client, by the server."""
        return self.counts[4], self.counts[5]

    @property
    def midstream(self) -> bool:
        return self.start == "midstream"

    def base_observer(self) -> Observer:
        """The observer before `rows[0]` (a revision with no snapshot starts there)."""
        if self.base is not None:
            return Observer.thaw(self.base)
        return self.initial_observer()

    def late_fields(self, rows: Iterable[int], store: SegmentStore) -> None:
        """Rows about to be dropped that arrived late at a row that stays: keep what their
        delivery needs, (role, flags, seq, ack, length), in `late` instead of the row."""
        overrides = self.overrides
        for r in rows:
            arrival = overrides.get(r)
            if arrival is not None and arrival >= 0:
                later = self.late.get(arrival)
                if later is not None and r in later:
                    later[later.index(r)] = (
                        1 if store.meta[r] & META_FROM_SERVER else 0,
                        store.flags[r],
                        store.seq[r],
                        store.ack[r],
                        store.length[r],
                    )

    def renumber(self, new: array) -> None:
        """Store rows were renumbered (`new[old]`: the new row, -1 if dropped)."""
        self.rows = array("I", map(new.__getitem__, self.rows))
        self.snapshots = [(new[r], frozen) for r, frozen in self.snapshots if new[r] >= 0]
        # A copy whose row was dropped stays known as -1 (hindsight cannot reach it).
        self.ctl_rows = {key: (new[r] if r >= 0 else -1) for key, r in self.ctl_rows.items()}
        if self.overrides:
            self.overrides = {new[r]: (how if how < 0 else new[how]) for r, how in self.overrides.items() if new[r] >= 0}
        if self.late:
            self.late = {
                new[r]: [lr if lr.__class__ is tuple else new[lr] for lr in later]
                for r, later in self.late.items()
                if new[r] >= 0
            }

    def initial_observer(self) -> Observer:
        """The observer before the first segment, as this conversation starts."""
        if self.start == "midstream":
            return Observer(ESTABLISHED, ESTABLISHED, midstream=True)
        if self.start == "synack":
            return Observer(SYN_SENT, self.server_initial)
        return Observer(CLOSED, self.server_initial)


class Tracker:
    """Feed captured segments in capture order; read conversations and the store.

    `feed(items)` takes flat segment tuples as core/tcpscan.py hands them out
    (``TcpScanner(flat=True)``): (frame_no, ts, wirelen, ip_version, src, dst, sport,
    dport, seq, ack, flags, win, length, options, urg), addresses packed.
    """

    #: Use the inline fast path for the commonest analysis case (tests switch it off to
    #: check it against analysis.analyze()).
    FAST_ANALYSIS = True
    #: Use the inline fast path for segments that change no state (Observer.step_steady
    #: inlined; tests switch it off to check it against Observer.step).
    FAST_STATES = True

    def __init__(self, store: SegmentStore | None = None, summary_only: bool = False, limits: Limits | None = None) -> None:
        """With `summary_only`, keep conversations and their final states only (no rows,
        no analysis): what `tcp-lab replay --conversations` needs, several times faster.
        `limits` bound what is kept (core/limits.py; None: everything)."""
        self.summary_only = summary_only
        self.store = store if store is not None else SegmentStore()
        #: Indexed by conversation number; None for a conversation forgotten to bound memory.
        self.conversations: list[Conversation | None] = []
        #: Conversations kept (not forgotten).
        self.live = 0
        #: Segments tracked since the start, and rows dropped from the store since then
        #: (the store holds `tracked - rows_dropped` rows).
        self.tracked = 0
        self.rows_dropped = 0
        #: Times hindsight needed a segment already dropped to bound memory (it then
        #: rewrites only what is kept; the states may differ from an unbounded replay's).
        self.hindsight_lost = 0
        self.limits = limits if limits is not None and limits.active else None
        self.compactor = Compactor(self, self.limits) if self.limits is not None else None
        self._lookup: dict[tuple[bytes, bytes, int, int], tuple[Conversation, int]] = {}
        #: Capture time of the first segment (times are shown relative to it).
        self.first_ts: float | None = None
        #: Rows whose states were rewritten by a revision since the last `take_revised`.
        self.revised: set[int] = set()

    def __len__(self) -> int:
        return len(self.store)

    # -- conversations -----------------------------------------------------------------

    def _new_conversation(self, key: bytes, flags: int, ts: float, frame: int = 0) -> tuple[Conversation, int]:
        """A new conversation whose first segment has the 4-tuple `key` (source first);
        returns it and the sender's role."""
        ipv, src, dst, sport, dport = split_key(key)
        syn = flags & _SYN_ACK
        guess = False
        if syn == SYN:
            sender_role = CLIENT
            start = "syn"
        elif syn == _SYN_ACK:
            sender_role = SERVER
            start = "synack"
        else:
            # No SYN: the higher port is the client (ephemeral ports are high), a guess.
            sender_role = CLIENT if sport >= dport else SERVER
            guess = True
            start = "midstream"
        if sender_role == CLIENT:
            conv = Conversation(len(self.conversations), ipv, (src, dst), (sport, dport))
        else:
            conv = Conversation(len(self.conversations), ipv, (dst, src), (dport, sport))
        conv.client_guess = guess
        conv.start = start
        conv.set_observer(conv.initial_observer())
        conv.first_states = conv.observer.states
        conv.first_ts = ts
        conv.first_frame = frame
        conv.last_ts = ts
        rev_key = key[len(key) // 2 - 2 : -4] + key[: len(key) // 2 - 2] + key[-2:] + key[-4:-2]
        self._lookup[key] = (conv, sender_role)
        self._lookup[rev_key] = (conv, 1 - sender_role)
        self.conversations.append(conv)
        self.live += 1
        return conv, sender_role

    def forget(self, conv: Conversation) -> None:
        """Forget a conversation (core/limits.py): its number stays taken, its slot in
        `conversations` becomes None, its 4-tuple starts a new conversation next time.
        The caller drops its rows from the store."""
        lookup = self._lookup
        for sender in (0, 1):
            key = self._key(conv, sender)
            hit = lookup.get(key)
            if hit is not None and hit[0] is conv:
                del lookup[key]
        self.conversations[conv.id] = None
        self.live -= 1

    @staticmethod
    def _key(conv: Conversation, sender: int) -> bytes:
        """The lookup key of a conversation's segments sent by `sender`."""
        a, b = conv.addr[sender], conv.addr[1 - sender]
        return a + b + conv.port[sender].to_bytes(2, "big") + conv.port[1 - sender].to_bytes(2, "big")

    def rebase_observer(self, conv: Conversation, k: int) -> None:
        """Before a conversation loses its first `k` rows: its base becomes the observer
        before `rows[k]` (worked out from the latest snapshot before it, or the old base)."""
        rows = conv.rows
        if k >= len(rows):
            conv.base = conv.observer.freeze()
            conv.snapshots.clear()
            return
        target = rows[k]
        start = 0
        observer = None
        for snap_row, frozen in reversed(conv.snapshots):
            if snap_row <= target:
                start = bisect_left(rows, snap_row)
                observer = Observer.thaw(frozen)
                break
        if observer is None:
            observer = conv.base_observer()
        self._replay_rows(conv, observer, start, k, write=False, snapshot=False)
        conv.base = observer.freeze()
        conv.snapshots = [(r, f) for r, f in conv.snapshots if r >= target]

    # -- the loop ----------------------------------------------------------------------

    def _conversation_for(self, hit, key, seq, flags, ts, frame=0) -> tuple[Conversation, int, int]:
        """The conversation of a segment that opens one or carries SYN (the slow path):
        a new conversation, or Wireshark's port-reuse and SYN/ACK checks. Returns the
        conversation, the sender's role and the analysis bits already known."""
        bits = 0
        if hit is None:
            conv, role = self._new_conversation(key, flags, ts, frame)
        else:
            conv, role = hit
        syn_ack = flags & _SYN_ACK
        if syn_ack == SYN:
            fwd = conv.flows[role]
            if fwd.base_set:
                if seq != fwd.base_seq:
                    # A new connection on the same 4-tuple (Wireshark: new conversation,
                    # TCP_A_REUSED_PORTS).
                    old = conv
                    conv, role = self._new_conversation(key, flags, ts, frame)
                    old.reused_by = conv.id
                    conv.reuses = old.id
                    bits = an.REUSED_PORTS
                else:
                    # The same SYN again: restore nextseq (Wireshark issue 17616).
                    fwd.nextseq = fwd.maxseqtobeacked
            conv.an.acc_ecn_syn = flags & _ACC_ECN_SETUP == _ACC_ECN_SETUP
        elif syn_ack == _SYN_ACK:
            fwd = conv.flows[role]
            if fwd.base_set and seq != fwd.base_seq:
                self._rebase(conv, role, seq)
                bits = an.REUSED_PORTS
            conv.an.acc_ecn_synack = (flags & (AE | CWR)) == CWR or (flags & (AE | ECE)) == AE
        cana = conv.an
        conv.ace = cana.acc_ecn_option or (cana.acc_ecn_syn and cana.acc_ecn_synack)
        return conv, role, bits

    def feed(self, items: Iterable[tuple]) -> int:
        """Track segments given as flat tuples (core/tcpscan.FLAT_FIELDS); returns how
        many were tracked. `feed_keyed` and `feed_lean` take the replay's faster forms."""
        if self.summary_only:
            return self.feed_lean(flat_to_lean(items))
        return self.feed_keyed(flat_to_keyed(items))

    def feed_lean(self, items: Iterable[tuple]) -> int:
        """Track segments given as lean keyed tuples (core/tcpscan.LEAN_FIELDS, what
        ``TcpScanner(keyed=True, lean=True)`` hands out): summary trackers only."""
        if not self.summary_only:
            raise ValueError("lean segment tuples carry too little for a full tracker")
        if not isinstance(items, list):
            items = list(items)
        if not items:
            return 0
        return self._feed_batch(items, items[0][0], self._feed_summary)

    def feed_keyed(self, items: Iterable[tuple]) -> int:
        """Track segments given as keyed tuples (core/tcpscan.KEYED_FIELDS, what
        ``TcpScanner(keyed=True)`` hands out), in capture order; returns how many were
        tracked (one store row each, unless the tracker only keeps summaries)."""
        if not isinstance(items, list):
            items = list(items)
        if not items:
            return 0
        if self.summary_only:
            return self.feed_lean([(it[1], it[2], it[3], it[4], it[5], it[6], it[8]) for it in items])
        return self._feed_batch(items, items[0][1], self._feed_full)

    def _feed_batch(self, items: list[tuple], first_ts: float, loop: Callable[[list[tuple]], int]) -> int:
        """One batch through `loop` (`_feed_summary` or `_feed_full`): the capture's first
        time noted, the memory limits checked before the batch and told what it added."""
        if self.first_ts is None:
            self.first_ts = first_ts
        compactor = self.compactor
        if compactor is not None:
            compactor.check()
        added = loop(items)
        self.tracked += added
        if compactor is not None:
            compactor.touched(len(self.store.seq) - added)
        return added

    def _feed_full(self, items: list[tuple]) -> int:
        """The loop of `feed_keyed`."""
        store = self.store
        row = start_row = len(store.frame)
        # The columns that keep a segment's own fields, filled in C loops first (the loop
        # below, and hindsight, read the rows of this batch back from them).
        store.frame.extend(map(_FRAME, items))
        store.ts.extend(map(_TS, items))
        store.seq.extend(map(_SEQ, items))
        store.ack.extend(map(_ACK, items))
        store.flags.extend(map(_FLAGS, items))
        store.win.extend(map(_WIN, items))
        store.length.extend(map(_LEN, items))
        pool = store.opt_pool
        store.opt_end.extend(islice(accumulate(map(len, map(_OPTIONS, items)), initial=len(pool)), 1, None))
        pool += b"".join(map(_OPTIONS, items))
        # The columns the loop works out.
        s_conv = store.conv.append
        s_meta = store.meta.append
        s_an = store.analysis.append
        s_states = store.states.append
        s_explain = store.explain.append
        urg_map = store.urg
        dupack_map = store.dupack
        lookup_get = self._lookup.get
        send_index = SEND_INDEX
        recv_index = RECV_INDEX
        code_data, code_ack, code_again, code_keepalive, code_keepalive_data = _STEADY_CODES
        conversation_for = self._conversation_for
        hindsight = self._hindsight
        fast_analysis = self.FAST_ANALYSIS
        fast_states = self.FAST_STATES
        WINDOW_FULL = an.WINDOW_FULL
        ACK_LOST_PACKET = an.ACK_LOST_PACKET
        SPURIOUS = an.SPURIOUS_RETRANSMISSION
        add_unacked = an.add_unacked
        drop_acked = an.drop_acked
        ts_only = _TS_ONLY
        M = MASK32
        H = 0x80000000
        for frame, ts, wirelen, key, seq, ack, flags, win, length, options, urg in items:
            hit = lookup_get(key)
            if hit is None or flags & 2:
                conv, role, bits = conversation_for(hit, key, seq, flags, ts, frame)
            else:
                conv, role = hit
                bits = 0
            fwd, rev = conv.pairs[role]
            if not conv.bases_done:
                # Base sequence numbers (packet-tcp.c "initialize base_seq numbers").
                if not fwd.base_set:
                    if flags & 2:
                        fwd.base_seq = seq
                        fwd.saw_syn = 2 if flags & 0x10 else 1
                    else:
                        fwd.base_seq = (seq - 1) & M
                    fwd.base_set = True
                if not rev.base_set and flags & 0x10:
                    rev.base_seq = (ack - 1) & M
                    rev.base_set = True
                conv.bases_done = rev.base_set and fwd.base_set
            nextseq = fwd.nextseq
            if (
                seq == nextseq
                and not flags & 7
                and nextseq
                and win
                and rev.window
                and (length or ack != fwd.lastack)
                and not bits
                and fast_analysis
            ):
                # analysis.analyze() for in-order data or a new ACK, where its other checks
                # cannot fire (tests hold the two to the same results).
                dup_num = 0
                lastack = fwd.lastack
                if length:
                    end = (seq + length) & M
                    rscale = rev.win_scale
                    if rscale != -1:
                        shift = 0 if rev.is_first_ack or rscale == -2 else rscale
                        if end == ((rev.lastack + (rev.window << shift)) & M):
                            bits = WINDOW_FULL
                    if ack != lastack:
                        fwd.lastnondupack = frame
                        fwd.dupacknum = 0
                    rev_max = rev.maxseqtobeacked
                    if rev_max and flags & 0x10 and 0 < ((ack - rev_max) & M) <= H:
                        if ((rev_max - rev.nextseq) & M) >= H:
                            rev.maxseqtobeacked = rev.nextseq
                            bits |= ACK_LOST_PACKET
                        else:
                            if rev.dupacknum == 0:
                                bits |= ACK_LOST_PACKET
                            rev.dupacknum = -1
                    rev_lastack = rev.lastack
                    if rev_lastack and ((rev_lastack - end) & M) <= H:
                        bits |= SPURIOUS
                    unacked = fwd.unacked
                    if len(unacked) < 10000:
                        if fwd.unacked_sorted and (not unacked or 0 < ((end - unacked[-1]) & M) <= H):
                            unacked.append(end)
                        else:
                            add_unacked(fwd, end)
                    if 0 < ((end - nextseq) & M) <= H:
                        fwd.nextseq = nextseq = end
                        fwd.nextseqtime = ts
                    m = fwd.maxseqtobeacked
                    if seq == m or not m:
                        fwd.maxseqtobeacked = nextseq
                else:
                    # A new ACK without data (ack != lastack here).
                    fwd.lastnondupack = frame
                    fwd.dupacknum = 0
                    rev_max = rev.maxseqtobeacked
                    if rev_max and flags & 0x10 and 0 < ((ack - rev_max) & M) <= H:
                        if ((rev_max - rev.nextseq) & M) >= H:
                            rev.maxseqtobeacked = rev.nextseq
                            bits |= ACK_LOST_PACKET
                        else:
                            if rev.dupacknum == 0:
                                bits |= ACK_LOST_PACKET
                            rev.dupacknum = -1
                    m = fwd.maxseqtobeacked
                    if seq == m or not m:
                        fwd.maxseqtobeacked = nextseq
                fwd.window = win
                fwd.lastack = ack
                fwd.lastacktime = ts
                fwd.lastsegmentflags = bits
                unacked = rev.unacked
                if unacked:
                    if rev.unacked_sorted:
                        if ((ack - unacked[0]) & M) < H:
                            k = 1
                            n = len(unacked)
                            while k < n and ((ack - unacked[k]) & M) < H:
                                k += 1
                            del unacked[:k]
                    else:
                        drop_acked(rev, ack)
            else:
                bits, dup_num, dup_frame = analyze(fwd, rev, conv.an, seq, ack, length, flags, win, ts, frame, bits)
            # Window scaling (SYNs are never scaled), the first RTT, is_first_ack.
            if flags & 2:
                win_scaled = win
                meta = role
            else:
                shift = fwd.win_scale
                if shift >= 0:
                    win_scaled = win << shift
                    meta = role | ((shift + 1) << 1)
                else:
                    win_scaled = win
                    meta = role
                if conv.ace:
                    meta |= META_ACE
                if flags & 0x10:
                    if fwd.is_first_ack:
                        fwd.is_first_ack = False
                    cana = conv.an
                    if cana.ts_mru_syn and not cana.ts_first_rtt:
                        cana.ts_first_rtt = ts - cana.ts_mru_syn
            if options and (len(options) != 12 or options[:4] != ts_only):
                effects = OptionEffects()
                options_text(options, rev.base_seq, effects)
                if effects.ws_shift is not None:
                    fwd.win_scale = effects.ws_shift
                if effects.acc_ecn:
                    conv.an.acc_ecn_option = True
                    conv.ace = True
            if not flags & 7 and conv.steady[role] and fast_states:
                # The fast path: data or an ACK that changes neither state
                # (Observer.step_steady, inlined).
                snd = conv.sides[role]
                end = (seq + length) & M
                nxt = snd.snd_nxt
                snd.rcv_wnd = win_scaled
                if nxt is None or 0 < ((end - nxt) & M) < H:
                    snd.snd_nxt = end
                    explain = code_data if length else code_ack
                elif length:
                    explain = code_keepalive_data if length == 1 and end == nxt else code_again
                elif seq == (nxt - 1) & M:
                    explain = code_keepalive
                else:
                    explain = code_ack
                s_conv(conv.id)
                s_meta(meta)
                s_an(bits)
                s_states(conv.state_byte)
                s_explain(explain)
                if dup_num:
                    dupack_map[row] = (dup_num, dup_frame)
                conv.rows.append(row)
            else:
                if flags & 2:
                    cana = conv.an
                    if not flags & 0x10:
                        cana.ts_mru_syn = ts
                    fwd.is_first_ack = True
                    # verify_tcp_window_scaling()
                    if fwd.win_scale == -1:
                        fwd.win_scale = -2
                        rev.win_scale = -2
                    elif flags & 0x10 and rev.win_scale == -2:
                        fwd.win_scale = -2
                observer = conv.observer
                before = conv.state_byte
                if flags & 7:
                    snapshots = conv.snapshots
                    snapshots.append((row, observer.freeze()))
                    if len(snapshots) > SNAPSHOTS:
                        del snapshots[0]
                step = observer.step(role, flags, seq, ack, length, win_scaled, ts)
                sides = observer.sides
                states = (sides[0].state << 4) | sides[1].state
                conv.state_byte = states
                explain = (send_index[step.send.key] << 8) | recv_index[step.recv.key]
                evidence = step.evidence
                s_conv(conv.id)
                s_meta(meta)
                s_an(bits)
                s_states(states)
                s_explain(explain)
                if dup_num:
                    dupack_map[row] = (dup_num, dup_frame)
                rows = conv.rows
                if not rows and not conv.dropped:
                    conv.first_states = (states >> 4, states & 0xF)
                rows.append(row)
                if flags & 7 or evidence is not None:
                    hindsight(conv, row, role, flags, seq, evidence, before, explain)
            if urg:
                urg_map[row] = urg
            counts = conv.counts
            counts[role] += 1
            counts[2 + role] += length
            counts[4 + role] += wirelen
            conv.last_ts = ts
            row += 1
        return row - start_row

    def _feed_summary(self, items: list[tuple]) -> int:
        """The loop for conversation summaries (tcp-lab replay --conversations): the same
        conversations, counts, inferred states and hindsight as the full loop, without
        Wireshark's analysis flags, window scaling and options. The store keeps only the
        columns hindsight needs (ts, seq, ack, flags, length, meta); the others stay
        empty. Final states equal the full tracker's by construction: the observer's
        states never depend on the window (only whether an RST outside the expected
        sequence number draws a challenge ACK or is ignored does, and neither changes a
        state), so revisions replay the rows with a window of 0."""
        store = self.store
        row = start_row = len(store.seq)
        store.ts.extend(map(_L_TS, items))
        store.seq.extend(map(_L_SEQ, items))
        store.ack.extend(map(_L_ACK, items))
        store.flags.extend(map(_L_FLAGS, items))
        store.length.extend(map(_L_LEN, items))
        s_meta = store.meta.append
        lookup_get = self._lookup.get
        send_index = SEND_INDEX
        recv_index = RECV_INDEX
        conversation_for = self._conversation_for
        M = MASK32
        fast_states = self.FAST_STATES
        for ts, wirelen, key, seq, ack, flags, length in items:
            hit = lookup_get(key)
            if hit is not None and not flags & 7:
                conv, role = hit
                if conv.steady[role] and conv.bases_done and fast_states:
                    # Only SND.NXT moves (and RCV.WND, which no state depends on).
                    snd = conv.sides[role]
                    end = (seq + length) & M
                    nxt = snd.snd_nxt
                    if nxt is None or 0 < ((end - nxt) & M) < 0x80000000:
                        snd.snd_nxt = end
                    s_meta(role)
                    conv.rows.append(row)
                    counts = conv.counts
                    counts[role] += 1
                    counts[2 + role] += length
                    counts[4 + role] += wirelen
                    conv.last_ts = ts
                    row += 1
                    continue
            elif hit is None or flags & 2:
                conv, role, _ = conversation_for(hit, key, seq, flags, ts)
            else:
                conv, role = hit
            if not conv.bases_done:
                self._bases(conv, role, flags, seq, ack)
            if not flags & 7 and conv.steady[role] and fast_states:
                snd = conv.sides[role]
                end = (seq + length) & M
                nxt = snd.snd_nxt
                if nxt is None or 0 < ((end - nxt) & M) < 0x80000000:
                    snd.snd_nxt = end
                states = conv.state_byte
                evidence = None
            else:
                before = conv.state_byte
                if flags & 7:
                    snapshots = conv.snapshots
                    snapshots.append((row, conv.observer.freeze()))
                    if len(snapshots) > SNAPSHOTS:
                        del snapshots[0]
                step = conv.observer.step(role, flags, seq, ack, length, 0, ts)
                sides = conv.observer.sides
                states = (sides[0].state << 4) | sides[1].state
                conv.state_byte = states
                explain = (send_index[step.send.key] << 8) | recv_index[step.recv.key]
                evidence = step.evidence
            s_meta(role)
            rows = conv.rows
            if not rows and not conv.dropped:
                conv.first_states = (states >> 4, states & 0xF)
            rows.append(row)
            if evidence is not None or flags & 7:
                self._hindsight(conv, row, role, flags, seq, evidence, before, explain)
            counts = conv.counts
            counts[role] += 1
            counts[2 + role] += length
            counts[4 + role] += wirelen
            conv.last_ts = ts
            row += 1
        return row - start_row

    def _bases(self, conv: Conversation, role: int, flags: int, seq: int, ack: int) -> None:
        """Wireshark's base sequence numbers, for the port-reuse check of later SYNs."""
        flows = conv.flows
        fwd = flows[role]
        if not fwd.base_set:
            fwd.base_seq = seq if flags & SYN else (seq - 1) & MASK32
            fwd.base_set = True
        rev = flows[1 - role]
        if flags & ACK and not rev.base_set:
            rev.base_seq = (ack - 1) & MASK32
            rev.base_set = True
        conv.bases_done = fwd.base_set and rev.base_set

    # -- Wireshark's SYN/ACK rebase ------------------------------------------------------

    def _rebase(self, conv: Conversation, role: int, seq: int) -> None:
        """A SYN/ACK with another ISN on a known conversation: Wireshark moves that side's
        base to it (issue 16944). Earlier rows keep the bases they were shown with."""
        store = self.store
        flows = conv.an.flows
        for r in conv.rows:
            if r not in store.rel_override:
                sender = 1 if store.meta[r] & META_FROM_SERVER else 0
                store.rel_override[r] = (flows[sender].base_seq, flows[1 - sender].base_seq)
        flows[role].base_seq = seq

    # -- hindsight ----------------------------------------------------------------------

    def _hindsight(
        self,
        conv: Conversation,
        row: int,
        role: int,
        flags: int,
        seq: int,
        evidence: str | None,
        before: int,
        explain: int,
    ) -> None:
        """Look back when a segment shows that an earlier one did not arrive (or that the
        server was not listening), and infer the conversation again if so. `before` is
        the states byte before this row, `explain` the row's explain code."""
        store = self.store
        rows = conv.rows
        overrides: dict[int, int] = {}
        server_initial = conv.server_initial
        if flags & RST:
            # A SYN answered by RST from its receiver, who never sent a SYN/ACK: nothing
            # listened there (RFC 9293 3.10.7.1); the server was CLOSED all along.
            if role == SERVER and conv.start == "syn" and conv.server_initial == LISTEN:
                if (explain >> 8) & 0x3F == SEND_INDEX["send.rst_refused"]:
                    server_initial = CLOSED
            # A bare RST (no ACK bit) whose sequence number is the ACK number of the
            # segment it answers is what a host sends for a connection it does not have
            # (RFC 9293 3.10.7.1: <SEQ=SEG.ACK><CTL=RST>). If we thought it still had one,
            # it had dropped it silently (an orphaned FIN_WAIT_2 timing out on Linux ...)
            # before that segment arrived.
            if not flags & ACK and len(rows) < 2 and conv.dropped:
                self.hindsight_lost += 1  # the segment it answers was dropped
            if not flags & ACK and len(rows) >= 2:
                prev = rows[-2]
                sender_before = (before >> 4) if role == CLIENT else (before & 0xF)
                if (
                    (1 if store.meta[prev] & META_FROM_SERVER else 0) != role
                    and store.flags[prev] & ACK
                    and store.ack[prev] == seq
                    and sender_before not in (CLOSED, LISTEN)
                    and prev not in conv.overrides
                ):
                    overrides[prev] = GONE
        elif (flags & _SYN_ACK == SYN or flags & _SYN_ACK == _SYN_ACK) and evidence != "syn crossed":
            # The same SYN (or SYN/ACK) again: if the other side answered nothing since
            # the last copy, that copy was lost; if it answered, its answer was lost.
            prev = self._previous_copy(conv, row, role, seq, flags & _SYN_ACK)
            if prev is not None:
                # An answer acknowledges that SYN: SEG.ACK = its sequence number + 1.
                want = (seq + 1) & MASK32
                answers = [
                    r
                    for r in rows[bisect_left(rows, prev) + 1 : -1]
                    if (1 if store.meta[r] & META_FROM_SERVER else 0) != role
                    and store.flags[r] & ACK
                    and store.ack[r] == want
                ]
                if not answers:
                    if not store.meta[prev] & META_LOST:
                        overrides[prev] = LOST
                else:
                    for r in answers:
                        if not store.meta[r] & META_LOST:
                            overrides[r] = LOST
        if evidence in ("ack of fin lost", "ack of fin crossed"):
            # The same FIN again after the peer acknowledged it: those ACKs were lost, or
            # (sent just before) still on their way, reaching it only after this copy left.
            prev = self._previous_copy(conv, row, role, seq, FIN)
            if prev is not None:
                fin_seq = conv.observer.sides[role].fin_seq
                window = conv.observer.crossing_window
                now = store.ts[row]
                for r in rows[bisect_left(rows, prev) + 1 : -1]:
                    if (1 if store.meta[r] & META_FROM_SERVER else 0) != role and store.flags[r] & ACK and fin_seq is not None:
                        if 0 < ((store.ack[r] - fin_seq) & MASK32) < 0x80000000 and r not in conv.overrides:
                            # Sent within the crossing window: still on its way; older: lost.
                            overrides[r] = row if now - store.ts[r] < window else LOST
        elif evidence == "fin crossed":
            # Its FIN left before the peer's FIN arrived: the peer's FIN reached it here.
            self._previous_copy(conv, row, role, seq, FIN)
            peer_fin_seq = conv.observer.sides[1 - role].fin_seq
            peer_fin = conv.ctl_rows.get((1 - role, FIN, peer_fin_seq)) if peer_fin_seq is not None else None
            if peer_fin == -1:
                self.hindsight_lost += 1
                peer_fin = None
            if peer_fin is not None and peer_fin not in conv.overrides:
                overrides[peer_fin] = row
        elif evidence == "syn crossed":
            # Its SYN left before the peer's SYN arrived: the peer's SYN reached it here.
            self._previous_copy(conv, row, role, seq, SYN)
            peer_iss = conv.observer.sides[1 - role].iss
            peer_syn = conv.ctl_rows.get((1 - role, SYN, peer_iss)) if peer_iss is not None else None
            if peer_syn == -1:
                self.hindsight_lost += 1
                peer_syn = None
            if peer_syn is not None and peer_syn not in conv.overrides:
                overrides[peer_syn] = row
        elif flags & FIN and evidence is None:
            prev = self._previous_copy(conv, row, role, seq, FIN)
            if prev is not None:
                fin_seq = conv.observer.sides[role].fin_seq
                acked = False
                for r in rows[bisect_left(rows, prev) + 1 : -1]:
                    if (1 if store.meta[r] & META_FROM_SERVER else 0) != role and store.flags[r] & ACK and fin_seq is not None:
                        if 0 < ((store.ack[r] - fin_seq) & MASK32) < 0x80000000:
                            acked = True
                if not acked and not store.meta[prev] & META_LOST:
                    overrides[prev] = LOST
        if overrides or server_initial != conv.server_initial:
            self.revise(conv, overrides, server_initial)

    def _previous_copy(self, conv: Conversation, row: int, role: int, seq: int, kind: int) -> int | None:
        """The row of the last earlier segment from `role` carrying the same SYN, SYN/ACK
        or FIN (same sequence number for SYNs; same FIN position for FINs); remembers this
        row as the last one for the next call."""
        if kind == FIN:
            key = (role, FIN, (seq + self.store.length[row]) & MASK32)
        else:
            key = (role, kind, seq)
        ctl = conv.ctl_rows
        prev = ctl.get(key)
        ctl[key] = row
        if prev == -1:  # that copy was dropped to bound memory
            self.hindsight_lost += 1
            return None
        return prev if prev != row else None

    def revise(self, conv: Conversation, overrides: dict[int, int], server_initial: int | None = None) -> None:
        """Infer the conversation's states again, from the earliest row concerned, with
        `overrides` (row -> LOST or the row it arrived at) added, and rewrite its rows."""
        store = self.store
        late = conv.late
        for r, how in overrides.items():
            old = conv.overrides.get(r)
            if old is not None and old >= 0:
                late[old].remove(r)
            conv.overrides[r] = how
            if how == LOST:
                store.meta[r] |= META_LOST
            elif how >= 0:
                late.setdefault(how, []).append(r)
        rows = conv.rows
        summary = self.summary_only  # no states or explain columns to rewrite
        if server_initial is not None and server_initial != conv.server_initial:
            conv.server_initial = server_initial
            earliest = -1  # from the very start
            if conv.dropped:
                self.hindsight_lost += 1  # the start was dropped: from what is kept
        else:
            earliest = min(overrides)
        # Start from the last snapshot taken before the earliest row concerned, else from
        # the start of the conversation (or of what is kept of it).
        first = 0
        observer = None
        snapshots = conv.snapshots
        while snapshots and snapshots[-1][0] > earliest:
            snapshots.pop()
        if snapshots:
            snap_row, frozen = snapshots[-1]
            first = bisect_left(rows, snap_row)
            observer = Observer.thaw(frozen)
            snapshots.pop()  # taken again below, before that row
        if observer is None:
            observer = conv.base_observer()
        self._replay_rows(conv, observer, first, len(rows), write=not summary, snapshot=True)
        conv.set_observer(observer)

    def _replay_rows(
        self, conv: Conversation, observer: Observer, first: int, stop: int, write: bool, snapshot: bool
    ) -> None:
        """Apply the conversation's rows at positions [first, stop) to `observer`, with its
        overrides (lost and late segments); with `snapshot`, take snapshots before control
        rows; with `write`, rewrite their states and explain codes in the store (and note
        them in `revised`)."""
        store = self.store
        rows = conv.rows
        late = conv.late
        overrides = conv.overrides
        snapshots = conv.snapshots
        summary = self.summary_only
        for i in range(first, stop):
            r = rows[i]
            flags = store.flags[r]
            role = 1 if store.meta[r] & META_FROM_SERVER else 0
            if flags & 7 and snapshot:
                snapshots.append((r, observer.freeze()))
                if len(snapshots) > SNAPSHOTS:
                    del snapshots[0]
            how = overrides.get(r)
            step = observer.step(
                role, flags, store.seq[r], store.ack[r], store.length[r], 0 if summary else store.win_scaled(r), store.ts[r],
                delivered=how is None,
            )
            if step.recv is not None:
                recv_index = RECV_INDEX[step.recv.key]
            elif how == GONE:
                # The receiver had dropped the connection before this arrived.
                observer.gone(1 - role)
                observer.deliver(role, flags, store.seq[r], store.ack[r], store.length[r], store.ts[r])
                recv_index = RECV_GONE_INDEX
            else:
                recv_index = RECV_LOST_INDEX if how == LOST else RECV_LATE_INDEX
            explain = (SEND_INDEX[step.send.key] << 8) | recv_index
            for lr in late.get(r, ()):
                # A segment that crossed this one on the wire reaches its sender now.
                if lr.__class__ is tuple:  # its row was dropped: its fields were kept
                    lrole, lflags, lseq, lack, llen = lr
                else:
                    lrole = 1 if store.meta[lr] & META_FROM_SERVER else 0
                    lflags, lseq, lack, llen = store.flags[lr], store.seq[lr], store.ack[lr], store.length[lr]
                observer.deliver(lrole, lflags, lseq, lack, llen, store.ts[r])
                explain |= EXPLAIN_CROSSED
            if write:
                sides = observer.sides
                store.states[r] = (sides[0].state << 4) | sides[1].state
                store.explain[r] = explain
                self.revised.add(r)
            if i == 0 and conv.dropped == 0:
                sides = observer.sides
                conv.first_states = (sides[0].state, sides[1].state)

    def take_revised(self) -> set[int]:
        """Rows rewritten by revisions since the last call (a live view repaints them)."""
        out = self.revised
        self.revised = set()
        return out
