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
from typing import Any, Iterable

from . import analysis as an
from .analysis import ConvAnalysis, analyze
from .inference import (
    CLIENT,
    CLOSED,
    ESTABLISHED,
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
from .store import META_ACE, META_FROM_SERVER, META_LOST, SegmentStore

MASK32 = 0xFFFFFFFF

#: Explanation rule keys, indexed: a row's `explain` is send index << 8 | receive index.
SEND_KEYS: tuple[str, ...] = tuple(sorted({rule.key for rule in SEND.values()}))
RECV_KEYS: tuple[str, ...] = tuple(sorted({rule.key for rule in RECEIVE.values()}))
SEND_INDEX = {key: i for i, key in enumerate(SEND_KEYS)}
RECV_INDEX = {key: i for i, key in enumerate(RECV_KEYS)}
#: Receive index of a segment that never arrived, and of one that arrives later.
RECV_LOST_INDEX = RECV_INDEX["recv.lost"]
RECV_LATE_INDEX = RECV_INDEX["recv.in_flight"]
SEND_CROSSED_INDEX = SEND_INDEX["send.fin_crossed"]

_ACC_ECN_SETUP = AE | CWR | ECE
_SYN_ACK = SYN | ACK


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
        "packets",
        "payload",
        "wire",
        "first_ts",
        "last_ts",
        "first_states",
        "server_initial",
        "overrides",
        "snapshots",
        "reused_by",
        "reuses",
        "keys",
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
        self.an = ConvAnalysis()  # flows indexed by role: an.flows[CLIENT] is client -> server
        self.observer = Observer()
        self.packets = [0, 0]  # segments sent by the client, by the server
        self.payload = [0, 0]  # payload bytes sent by each
        self.wire = [0, 0]  # frame bytes on the wire sent by each (as tshark's conv,tcp)
        self.first_ts = 0.0
        self.last_ts = 0.0
        self.first_states: tuple[int, int] = (CLOSED, LISTEN)
        #: The server's state before the first segment (LISTEN, or CLOSED once refused).
        self.server_initial = LISTEN
        #: Rows that did not reach their receiver: row -> LOST, or the row at which they
        #: arrived after all (a FIN that crossed the peer's).
        self.overrides: dict[int, int] = {}
        #: Observer copies taken before rows that carry SYN, FIN or RST: (row, Observer),
        #: to infer the conversation again from there (`revise`).
        self.snapshots: list[tuple[int, Observer]] = []
        self.reused_by: int | None = None  # the conversation that reused its ports
        self.reuses: int | None = None  # the conversation whose ports it reused
        #: Its two keys in the tracker's lookup table.
        self.keys: tuple[Any, Any] = ((), ())

    @property
    def midstream(self) -> bool:
        return self.start == "midstream"

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

    def __init__(self, store: SegmentStore | None = None) -> None:
        self.store = store if store is not None else SegmentStore()
        self.conversations: list[Conversation] = []
        self._lookup: dict[tuple[bytes, bytes, int, int], tuple[Conversation, int]] = {}
        #: Capture time of the first segment (times are shown relative to it).
        self.first_ts: float | None = None
        #: Rows whose states were rewritten by a revision since the last `take_revised`.
        self.revised: set[int] = set()

    def __len__(self) -> int:
        return len(self.store)

    # -- conversations -----------------------------------------------------------------

    def _new_conversation(
        self, ip_version: int, src: bytes, dst: bytes, sport: int, dport: int, flags: int
    ) -> tuple[Conversation, int]:
        """A new conversation whose first segment goes src -> dst; returns it and the
        sender's role."""
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
            conv = Conversation(len(self.conversations), ip_version, (src, dst), (sport, dport))
        else:
            conv = Conversation(len(self.conversations), ip_version, (dst, src), (dport, sport))
        conv.client_guess = guess
        conv.start = start
        conv.observer = conv.initial_observer()
        fwd_key = (src, dst, sport, dport)
        rev_key = (dst, src, dport, sport)
        conv.keys = (fwd_key, rev_key)
        self._lookup[fwd_key] = (conv, sender_role)
        self._lookup[rev_key] = (conv, 1 - sender_role)
        self.conversations.append(conv)
        return conv, sender_role

    # -- the loop ----------------------------------------------------------------------

    def feed(self, items: Iterable[tuple]) -> int:
        """Track segments (flat tuples, see the class docstring); returns how many rows
        were added."""
        store = self.store
        lookup = self._lookup
        s_frame = store.frame.append
        s_ts = store.ts.append
        s_conv = store.conv.append
        s_seq = store.seq.append
        s_ack = store.ack.append
        s_flags = store.flags.append
        s_win = store.win.append
        s_len = store.length.append
        s_opt_end = store.opt_end.append
        s_meta = store.meta.append
        s_an = store.analysis.append
        s_states = store.states.append
        s_explain = store.explain.append
        pool = store.opt_pool
        urg_map = store.urg
        dupack_map = store.dupack
        send_index = SEND_INDEX
        recv_index = RECV_INDEX
        row = len(store)
        start_row = row
        for item in items:
            (frame, ts, wirelen, ipv, src, dst, sport, dport, seq, ack, flags, win, length, options, urg) = item
            if self.first_ts is None:
                self.first_ts = ts
            hit = lookup.get((src, dst, sport, dport))
            if hit is None:
                conv, role = self._new_conversation(ipv, src, dst, sport, dport, flags)
                conv.first_ts = ts
            else:
                conv, role = hit
            bits = 0
            syn_ack = flags & _SYN_ACK
            if syn_ack == SYN:
                fwd = conv.an.flows[role]
                if fwd.base_set:
                    if seq != fwd.base_seq:
                        # A new connection on the same 4-tuple (Wireshark: new conversation,
                        # TCP_A_REUSED_PORTS).
                        old = conv
                        conv, role = self._new_conversation(ipv, src, dst, sport, dport, flags)
                        conv.first_ts = ts
                        old.reused_by = conv.id
                        conv.reuses = old.id
                        bits = an.REUSED_PORTS
                    else:
                        # The same SYN again: restore nextseq (Wireshark issue 17616).
                        fwd.nextseq = fwd.maxseqtobeacked
                conv.an.acc_ecn_syn = flags & _ACC_ECN_SETUP == _ACC_ECN_SETUP
            elif syn_ack == _SYN_ACK:
                fwd = conv.an.flows[role]
                if fwd.base_set and seq != fwd.base_seq:
                    self._rebase(conv, role, seq)
                    bits = an.REUSED_PORTS
                conv.an.acc_ecn_synack = (flags & (AE | CWR)) == CWR or (flags & (AE | ECE)) == AE
            cana = conv.an
            fwd = cana.flows[role]
            rev = cana.flows[1 - role]
            # Base sequence numbers (packet-tcp.c "initialize base_seq numbers").
            if not fwd.base_set:
                if flags & SYN:
                    fwd.base_seq = seq
                    fwd.saw_syn = 2 if flags & ACK else 1
                else:
                    fwd.base_seq = (seq - 1) & MASK32
                fwd.base_set = True
            if not rev.base_set and flags & ACK:
                rev.base_seq = (ack - 1) & MASK32
                rev.base_set = True
            bits, dup_num, dup_frame = analyze(fwd, rev, cana, seq, ack, length, flags, win, ts, frame, bits)
            # Window scaling (SYNs are never scaled).
            meta = META_FROM_SERVER if role else 0
            if flags & SYN:
                win_scaled = win
            else:
                shift = fwd.win_scale
                if shift >= 0:
                    win_scaled = win << shift
                    meta |= (shift + 1) << 1
                else:
                    win_scaled = win
                if (cana.acc_ecn_syn and cana.acc_ecn_synack) or cana.acc_ecn_option:
                    meta |= META_ACE
            if flags & SYN:
                if not flags & ACK:
                    cana.ts_mru_syn = ts
                fwd.is_first_ack = True
            elif flags & ACK:
                if cana.ts_mru_syn and not cana.ts_first_rtt:
                    cana.ts_first_rtt = ts - cana.ts_mru_syn
                fwd.is_first_ack = False
            if options:
                if len(options) != 12 or options[:4] != b"\x01\x01\x08\x0a":
                    effects = OptionEffects()
                    options_text(options, rev.base_seq, effects)
                    if effects.ws_shift is not None:
                        fwd.win_scale = effects.ws_shift
                    if effects.acc_ecn:
                        cana.acc_ecn_option = True
                pool += options
            if flags & SYN:
                # verify_tcp_window_scaling()
                if fwd.win_scale == -1:
                    fwd.win_scale = -2
                    rev.win_scale = -2
                elif flags & ACK and rev.win_scale == -2:
                    fwd.win_scale = -2
            # Inferred states.
            observer = conv.observer
            if flags & (SYN | FIN | RST):
                conv.snapshots.append((row, observer.copy()))
            step = observer.step(role, flags, seq, ack, length, win_scaled, ts)
            sides = observer.sides
            client_state = sides[0].state
            server_state = sides[1].state
            # Store the row.
            s_frame(frame)
            s_ts(ts)
            s_conv(conv.id)
            s_seq(seq)
            s_ack(ack)
            s_flags(flags)
            s_win(win)
            s_len(length)
            s_opt_end(len(pool))
            s_meta(meta)
            s_an(bits)
            s_states((client_state << 4) | server_state)
            s_explain((send_index[step.send.key] << 8) | recv_index[step.recv.key])
            if urg:
                urg_map[row] = urg
            if dup_num:
                dupack_map[row] = (dup_num, dup_frame)
            conv.rows.append(row)
            if not conv.packets[0] and not conv.packets[1]:
                conv.first_states = (client_state, server_state)
            conv.packets[role] += 1
            conv.payload[role] += length
            conv.wire[role] += wirelen
            conv.last_ts = ts
            if step.evidence is not None or flags & (SYN | FIN | RST):
                self._hindsight(conv, row, role, flags, seq, step.evidence)
            row += 1
        return row - start_row

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

    def _hindsight(self, conv: Conversation, row: int, role: int, flags: int, seq: int, evidence: str | None) -> None:
        """Look back when a segment shows that an earlier one did not arrive (or that the
        server was not listening), and infer the conversation again if so."""
        store = self.store
        rows = conv.rows
        overrides: dict[int, int] = {}
        server_initial = conv.server_initial
        if flags & RST:
            # A SYN answered by RST from its receiver, who never sent a SYN/ACK: nothing
            # listened there (RFC 9293 3.10.7.1); the server was CLOSED all along.
            if role == SERVER and conv.start == "syn" and conv.server_initial == LISTEN:
                if store.explain[row] >> 8 == SEND_INDEX["send.rst_refused"]:
                    server_initial = CLOSED
        elif flags & _SYN_ACK == SYN or flags & _SYN_ACK == _SYN_ACK:
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
        if evidence == "ack of fin lost":
            # The same FIN again after the peer acknowledged it: those ACKs were lost.
            prev = self._previous_copy(conv, row, role, seq, FIN)
            if prev is not None:
                fin_seq = conv.observer.sides[role].fin_seq
                for r in rows[bisect_left(rows, prev) + 1 : -1]:
                    if (1 if store.meta[r] & META_FROM_SERVER else 0) != role and store.flags[r] & ACK and fin_seq is not None:
                        if 0 < ((store.ack[r] - fin_seq) & MASK32) < 0x80000000 and not store.meta[r] & META_LOST:
                            overrides[r] = LOST
        elif evidence == "fin crossed":
            # Its FIN left before the peer's FIN arrived: the peer's FIN reached it here.
            peer_fin = self._last_fin(conv, row, 1 - role)
            if peer_fin is not None:
                overrides[peer_fin] = row
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
        or FIN (same sequence number for SYNs; same FIN position for FINs)."""
        store = self.store
        rows = conv.rows
        length = store.length[row]
        for r in reversed(rows[:-1]):
            if (store.meta[r] & META_FROM_SERVER) != (META_FROM_SERVER if role else 0):
                continue
            f = store.flags[r]
            if kind == FIN:
                if f & FIN and ((store.seq[r] + store.length[r]) & MASK32) == ((seq + length) & MASK32):
                    return r
            elif f & _SYN_ACK == kind and store.seq[r] == seq:
                return r
        return None

    def _last_fin(self, conv: Conversation, row: int, role: int) -> int | None:
        store = self.store
        want = META_FROM_SERVER if role else 0
        for r in reversed(conv.rows[:-1]):
            if (store.meta[r] & META_FROM_SERVER) == want and store.flags[r] & FIN:
                return r
        return None

    def revise(self, conv: Conversation, overrides: dict[int, int], server_initial: int | None = None) -> None:
        """Infer the conversation's states again, from the earliest row concerned, with
        `overrides` (row -> LOST or the row it arrived at) added, and rewrite its rows."""
        store = self.store
        conv.overrides.update(overrides)
        for r, how in overrides.items():
            if how == LOST:
                store.meta[r] |= META_LOST
        rows = conv.rows
        if server_initial is not None and server_initial != conv.server_initial:
            conv.server_initial = server_initial
            first = 0
            observer = conv.initial_observer()
        else:
            earliest = min(overrides) if overrides else rows[0]
            first = 0
            observer = conv.initial_observer()
            for r, snap in reversed(conv.snapshots):
                if r <= earliest:
                    first = bisect_left(rows, r)
                    observer = snap.copy()
                    break
        # Drop the snapshots from there on; they are taken again below.
        conv.snapshots = [(r, o) for r, o in conv.snapshots if r < rows[first]]
        late: dict[int, list[int]] = {}
        for r, how in conv.overrides.items():
            if how != LOST:
                late.setdefault(how, []).append(r)
        for i in range(first, len(rows)):
            r = rows[i]
            flags = store.flags[r]
            role = 1 if store.meta[r] & META_FROM_SERVER else 0
            if flags & (SYN | FIN | RST):
                conv.snapshots.append((r, observer.copy()))
            how = conv.overrides.get(r)
            step = observer.step(
                role, flags, store.seq[r], store.ack[r], store.length[r], store.win_scaled(r), store.ts[r],
                delivered=how is None,
            )
            if step.recv is not None:
                recv_index = RECV_INDEX[step.recv.key]
            else:
                recv_index = RECV_LOST_INDEX if how == LOST else RECV_LATE_INDEX
            send_index = SEND_INDEX[step.send.key]
            for lr in late.get(r, ()):
                # A segment that crossed this one on the wire reaches its sender now.
                lrole = 1 if store.meta[lr] & META_FROM_SERVER else 0
                observer.deliver(lrole, store.flags[lr], store.seq[lr], store.ack[lr], store.length[lr], store.ts[r])
                if store.flags[lr] & FIN:
                    send_index = SEND_CROSSED_INDEX
            sides = observer.sides
            store.states[r] = (sides[0].state << 4) | sides[1].state
            store.explain[r] = (send_index << 8) | recv_index
            self.revised.add(r)
            if i == 0:
                conv.first_states = (sides[0].state, sides[1].state)
        conv.observer = observer

    def take_revised(self) -> set[int]:
        """Rows rewritten by revisions since the last call (a live view repaints them)."""
        out = self.revised
        self.revised = set()
        return out
