"""Wireshark's TCP analysis flags, computed the way Wireshark 4.0 computes them.

This is a port of `tcp_analyze_sequence_number()` and the parts of `dissect_tcp()` around
it (epan/dissectors/packet-tcp.c, Wireshark 4.0.17): the same per-direction variables
(`nextseq`, `maxseqtobeacked`, `lastack`, `window`, `dupacknum` ...), the same initial values
(0 meaning "not seen yet", a window of 0xFFFFFFFF), the same checks in the same order, with
the same early exits. Sequence numbers are the raw 32-bit values, compared as Wireshark's
GT_SEQ/LT_SEQ do (signed 32-bit differences); times are seconds (floats).

Only what changes a flag is kept: of Wireshark's list of unacknowledged segments (which feeds
its RTT, RTO and bytes-in-flight figures) only the length matters, because past 10,000
entries Wireshark stops adding one to `nextseq` for a SYN or FIN.

A passive observer's view, not an endpoint's: these flags say what the *capture* shows
(a segment that repeats sequence space already seen, an ACK number seen before ...), which
is why tcp-lab shows them beside, not instead of, the inferred states (core/inference.py).
"""

from __future__ import annotations

import heapq

from .segment import ACK, FIN, RST, SYN

# Analysis flags (Wireshark's TCP_A_* values are different; these are ours, one bit each).
RETRANSMISSION = 0x0001
FAST_RETRANSMISSION = 0x0002
SPURIOUS_RETRANSMISSION = 0x0004
OUT_OF_ORDER = 0x0008
LOST_PACKET = 0x0010
ACK_LOST_PACKET = 0x0020
WINDOW_UPDATE = 0x0040
WINDOW_FULL = 0x0080
KEEP_ALIVE = 0x0100
KEEP_ALIVE_ACK = 0x0200
DUPLICATE_ACK = 0x0400
ZERO_WINDOW = 0x0800
ZERO_WINDOW_PROBE = 0x1000
ZERO_WINDOW_PROBE_ACK = 0x2000
REUSED_PORTS = 0x4000

#: Labels as Wireshark words them (its Info prefixes without the brackets).
LABELS: dict[int, str] = {
    REUSED_PORTS: "TCP Port numbers reused",
    RETRANSMISSION: "TCP Retransmission",
    FAST_RETRANSMISSION: "TCP Fast Retransmission",
    SPURIOUS_RETRANSMISSION: "TCP Spurious Retransmission",
    OUT_OF_ORDER: "TCP Out-Of-Order",
    LOST_PACKET: "TCP Previous segment not captured",
    ACK_LOST_PACKET: "TCP ACKed unseen segment",
    WINDOW_UPDATE: "TCP Window Update",
    WINDOW_FULL: "TCP Window Full",
    KEEP_ALIVE: "TCP Keep-Alive",
    KEEP_ALIVE_ACK: "TCP Keep-Alive ACK",
    DUPLICATE_ACK: "TCP Dup ACK",
    ZERO_WINDOW_PROBE: "TCP ZeroWindowProbe",
    ZERO_WINDOW: "TCP ZeroWindow",
    ZERO_WINDOW_PROBE_ACK: "TCP ZeroWindowProbeAck",
}

#: The order in which tcp_print_sequence_number_analysis() prints the flags. Each one is
#: *prepended* to the Info column, so the Info column shows them in the reverse order.
PRINT_ORDER: tuple[int, ...] = (
    REUSED_PORTS,
    RETRANSMISSION,
    FAST_RETRANSMISSION,
    SPURIOUS_RETRANSMISSION,
    OUT_OF_ORDER,
    LOST_PACKET,
    ACK_LOST_PACKET,
    WINDOW_UPDATE,
    WINDOW_FULL,
    KEEP_ALIVE,
    KEEP_ALIVE_ACK,
    DUPLICATE_ACK,
    ZERO_WINDOW_PROBE,
    ZERO_WINDOW,
    ZERO_WINDOW_PROBE_ACK,
)
#: The order in which the labels appear in the Info column (and in tcp-lab's `analysis`).
INFO_ORDER: tuple[int, ...] = tuple(reversed(PRINT_ORDER))

MASK32 = 0xFFFFFFFF
#: Wireshark's TCP_MAX_UNACKED_SEGMENTS (packet-tcp.h).
MAX_UNACKED_SEGMENTS = 10000
#: Fast retransmission: within 20 ms of the last duplicate ACK (packet-tcp.c).
FAST_RETRANSMISSION_WINDOW = 0.020
#: Out-of-order threshold when no first RTT is known yet: 3 ms (packet-tcp.c).
OOO_DEFAULT_THRESHOLD = 0.003

_SYN_FIN_RST = SYN | FIN | RST
_SYN_FIN = SYN | FIN


def labels(bits: int, dupack_num: int = 0, dupack_frame: int = 0) -> tuple[str, ...]:
    """The analysis labels of a segment in Info-column order ("TCP Dup ACK 3#1" style for
    duplicate ACKs, as the Info column prints it without brackets)."""
    if not bits:
        return ()
    out = []
    for bit in INFO_ORDER:
        if bits & bit:
            if bit == DUPLICATE_ACK:
                if dupack_num:
                    out.append(f"TCP Dup ACK {dupack_frame}#{dupack_num}")
            else:
                out.append(LABELS[bit])
    return tuple(out)


_PREFIX_CACHE: dict[tuple[int, int, int], str] = {}


def info_prefix(bits: int, dupack_num: int = 0, dupack_frame: int = 0) -> str:
    """The text Wireshark prepends to the Info column: "[TCP Retransmission] " ..."""
    if not bits:
        return ""
    key = (bits, dupack_num, dupack_frame)
    text = _PREFIX_CACHE.get(key)
    if text is None:
        text = "".join(f"[{label}] " for label in labels(bits, dupack_num, dupack_frame))
        if len(_PREFIX_CACHE) < 4096:
            _PREFIX_CACHE[key] = text
    return text


class Flow:
    """One direction of a conversation as Wireshark's analysis tracks it (tcp_flow_t plus
    its tcp_analyze_seq_flow_info_t). Sequence values are raw; 0 means "not seen yet"."""

    __slots__ = (
        "base_seq",
        "base_set",
        "saw_syn",
        "nextseq",
        "nextseqtime",
        "maxseqtobeacked",
        "lastack",
        "lastacktime",
        "lastnondupack",
        "dupacknum",
        "window",
        "win_scale",
        "lastsegmentflags",
        "is_first_ack",
        "unacked",
        "unacked_sorted",
        "unacked_ref",
    )

    def __init__(self) -> None:
        self.base_seq = 0
        self.base_set = False
        #: Wireshark's TCP_S_SAW_SYN / TCP_S_SAW_SYNACK, here 1 / 2 (0: neither).
        self.saw_syn = 0
        self.nextseq = 0
        self.nextseqtime = 0.0
        self.maxseqtobeacked = 0
        self.lastack = 0
        self.lastacktime = 0.0
        self.lastnondupack = 0
        self.dupacknum = 0
        #: The last raw window field seen in this direction (G_MAXUINT32 until then).
        self.window = MASK32
        #: Window scale shift: -1 unknown, -2 "no scaling used", 0..14 the WS option.
        self.win_scale = -1
        self.lastsegmentflags = 0
        self.is_first_ack = False
        #: The end sequence numbers of segments sent and not yet acknowledged, oldest
        #: first. Only their number matters (Wireshark stops counting at 10,000 and then
        #: no longer adds one for a SYN or FIN to nextseq).
        self.unacked: list[int] = []
        #: True while `unacked` is in increasing sequence order (then acknowledged ones
        #: are a prefix and pop off the left).
        self.unacked_sorted = True
        #: Reference point of the heap form (see add_unacked).
        self.unacked_ref = 0


class ConvAnalysis:
    """The per-conversation part of Wireshark's analysis state (struct tcp_analysis)."""

    __slots__ = ("flows", "ts_first_rtt", "ts_mru_syn", "acc_ecn_syn", "acc_ecn_synack", "acc_ecn_option")

    def __init__(self) -> None:
        self.flows = (Flow(), Flow())
        self.ts_first_rtt = 0.0
        self.ts_mru_syn = 0.0
        self.acc_ecn_syn = False
        self.acc_ecn_synack = False
        self.acc_ecn_option = False


# Sequence comparisons exactly as packet-tcp.h defines them (casts to gint32):
#   GT_SEQ(x, y) = (gint32)(y - x) < 0   <=>  0 < (x - y) mod 2**32 <= 2**31
#   LT_SEQ(x, y) = (gint32)(x - y) < 0   <=>  (x - y) mod 2**32 >= 2**31
#   LE_SEQ(x, y) = (gint32)(x - y) <= 0  <=>  (y - x) mod 2**32 <= 2**31
# They are written out inline below (a function call per comparison costs more than the
# comparison); each use says which one it is.
HALF = 0x80000000


def analyze(
    fwd: Flow,
    rev: Flow,
    conv: ConvAnalysis,
    seq: int,
    ack: int,
    seglen: int,
    flags: int,
    window: int,
    ts: float,
    frame: int,
    bits: int = 0,
) -> tuple[int, int, int]:
    """tcp_analyze_sequence_number(): the analysis flags of one segment, in order.

    `fwd` is the flow of the segment's sender, `rev` the other one; `seq`/`ack` raw,
    `window` the raw window field, `ts` the capture time, `frame` the frame number, `bits`
    flags already set (REUSED_PORTS). Returns (bits, dupack_num, dupack_frame) and updates
    both flows as Wireshark does.
    """
    dupack_num = 0
    dupack_frame = 0
    fwd_nextseq = fwd.nextseq
    rev_window = rev.window
    ctl = flags & _SYN_FIN_RST

    # The checks below jump to "finished_fwd" with a goto in packet-tcp.c; here a loop
    # that runs once and breaks does the same.
    while True:
        # ZERO WINDOW PROBE: 1 byte at the next expected sequence number while the other
        # side advertises a zero window.
        if seglen == 1 and seq == fwd_nextseq and rev_window == 0:
            bits |= ZERO_WINDOW_PROBE
            break

        # ZERO WINDOW: a window of 0 without SYN/FIN/RST.
        if window == 0 and not ctl:
            bits |= ZERO_WINDOW

        # LOST PACKET: GT_SEQ(seq, nextseq), the segment starts beyond the highest
        # sequence number seen (RST segments are not checked).
        if fwd_nextseq and 0 < ((seq - fwd_nextseq) & MASK32) <= HALF and not flags & RST:
            bits |= LOST_PACKET

        # KEEP ALIVE: 0 or 1 byte starting one byte before the next expected number.
        if seglen <= 1 and seq == ((fwd_nextseq - 1) & MASK32) and not ctl:
            bits |= KEEP_ALIVE

        same_seq_ack = seglen == 0 and seq == fwd_nextseq and ack == fwd.lastack and not ctl
        # WINDOW UPDATE: no data, same SEQ/ACK, a new non-zero window.
        if same_seq_ack and window and window != fwd.window:
            bits |= WINDOW_UPDATE

        # WINDOW FULL: data that reaches the right edge of the other side's window.
        if seglen > 0 and rev.win_scale != -1 and not ctl:
            shift = 0 if rev.is_first_ack or rev.win_scale == -2 else rev.win_scale
            if ((seq + seglen) & MASK32) == ((rev.lastack + (rev_window << shift)) & MASK32):
                bits |= WINDOW_FULL

        if same_seq_ack and window == fwd.window:
            # KEEP ALIVE ACK: repeats the last ACK after a keep-alive from the other side.
            if window and rev.lastsegmentflags & KEEP_ALIVE:
                bits |= KEEP_ALIVE_ACK
                break
            # ZERO WINDOW PROBE ACK: repeats the zero window after a probe.
            if window == 0 and rev.lastsegmentflags & ZERO_WINDOW_PROBE:
                bits |= ZERO_WINDOW_PROBE_ACK
                break
            # DUPLICATE ACK: same window, SEQ and ACK as before, no data.
            if window:
                if fwd.dupacknum == -1:
                    fwd.dupacknum = 1
                else:
                    fwd.dupacknum += 1
                bits |= DUPLICATE_ACK
                dupack_num = fwd.dupacknum
                dupack_frame = fwd.lastnondupack
        break

    # finished_fwd: a new ACK number resets the duplicate-ACK count.
    if ack != fwd.lastack:
        fwd.lastnondupack = frame
        fwd.dupacknum = 0

    # ACKED LOST PACKET: GT_SEQ(ack, maxseqtobeacked), this ACKs beyond what the other
    # side is seen to have sent.
    rev_max = rev.maxseqtobeacked
    if rev_max and flags & ACK and 0 < ((ack - rev_max) & MASK32) <= HALF:
        if ((rev_max - rev.nextseq) & MASK32) >= HALF:  # LT_SEQ(maxseqtobeacked, nextseq)
            rev.maxseqtobeacked = rev.nextseq
            bits |= ACK_LOST_PACKET
        else:
            if rev.dupacknum == 0:
                bits |= ACK_LOST_PACKET
            rev.dupacknum = -1

    # RETRANSMISSION / FAST RETRANSMISSION / OUT-OF-ORDER / SPURIOUS: a segment with data,
    # SYN or FIN that does not advance the sequence number.
    syn_fin = flags & _SYN_FIN
    if seglen > 0 or syn_fin:
        # LT_SEQ(seq, nextseq)
        seq_not_advanced = bool(fwd_nextseq) and ((seq - fwd_nextseq) & MASK32) >= HALF
        while not bits & KEEP_ALIVE:
            # More than one byte right after a possible zero-window probe is new data.
            if seglen > 1 and ((fwd_nextseq - 1) & MASK32) == seq:
                seq_not_advanced = False
            # SPURIOUS: LE_SEQ(seq + seglen, lastack of the other side), every byte of it
            # was already acknowledged.
            if seglen > 0 and rev.lastack and ((rev.lastack - seq - seglen) & MASK32) <= HALF:
                bits |= SPURIOUS_RETRANSMISSION
                break
            # FAST RETRANSMISSION (tcp_fastrt_precedence is TRUE by default, so it is
            # tried first): two or more duplicate ACKs asked for this sequence number,
            # and it follows the last of them within 20 ms.
            t = ts - rev.lastacktime
            if seq_not_advanced and rev.dupacknum >= 2 and rev.lastack == seq and 0 <= t < FAST_RETRANSMISSION_WINDOW:
                bits |= FAST_RETRANSMISSION
                break
            # OUT-OF-ORDER: shortly (first RTT, else 3 ms) after the highest segment, and
            # not simply a repeat of the last one.
            t = ts - fwd.nextseqtime
            thres = conv.ts_first_rtt if conv.ts_first_rtt else OOO_DEFAULT_THRESHOLD
            if (
                seq_not_advanced
                and 0 <= t < thres
                and fwd_nextseq != ((seq + seglen + (1 if syn_fin else 0)) & MASK32)
            ):
                bits |= OUT_OF_ORDER
                break
            if seq_not_advanced:
                bits |= RETRANSMISSION
            break

    # finished_checking_retransmission_type: the end of this segment, remembered in the
    # list of unacknowledged segments while that holds fewer than 10,000 (only then does a
    # SYN or FIN count one more, exactly as packet-tcp.c does).
    nextseq = (seq + seglen) & MASK32
    if seglen or syn_fin:
        unacked = fwd.unacked
        if len(unacked) < MAX_UNACKED_SEGMENTS:
            if syn_fin:
                nextseq = (nextseq + 1) & MASK32
            add_unacked(fwd, nextseq)
    # GT_SEQ(nextseq, fwd nextseq): the highest sequence number seen so far (a zero
    # window probe does not count).
    if not fwd_nextseq or 0 < ((nextseq - fwd_nextseq) & MASK32) <= HALF:
        if not bits & ZERO_WINDOW_PROBE:
            fwd.nextseq = nextseq
            fwd.nextseqtime = ts
    # The highest contiguous sequence number, for ACKED LOST PACKET.
    if seq == fwd.maxseqtobeacked or not fwd.maxseqtobeacked:
        if not bits & ZERO_WINDOW_PROBE:
            fwd.maxseqtobeacked = fwd.nextseq

    fwd.window = window
    fwd.lastack = ack
    fwd.lastacktime = ts
    fwd.lastsegmentflags = bits

    # Segments of the other direction that this ACK number covers leave the unacknowledged
    # list: packet-tcp.c keeps a segment only while GT_SEQ(end, ack), i.e. it drops it when
    # (ack - end) mod 2**32 < 2**31. It does this for every segment, ACK bit or not.
    unacked = rev.unacked
    if unacked:
        if rev.unacked_sorted:
            if ((ack - unacked[0]) & MASK32) < HALF:
                drop_acked_prefix(unacked, ack)
        else:
            drop_acked(rev, ack)
    return bits, dupack_num, dupack_frame


def drop_acked_prefix(unacked: list[int], ack: int) -> None:
    """Remove the leading segments `ack` covers from a sorted unacknowledged list."""
    k = 1
    n = len(unacked)
    while k < n and ((ack - unacked[k]) & MASK32) < HALF:
        k += 1
    del unacked[:k]


def add_unacked(flow: Flow, end: int) -> None:
    """Remember a segment ending at `end` as not yet acknowledged.

    The list stays in sending order while that is also sequence order (the usual case:
    acknowledged segments are then a prefix). Once a segment ends below the last one (a
    retransmission), it becomes a heap keyed by distance from a reference point, so that
    removing what an ACK covers stays cheap whatever the capture holds."""
    unacked = flow.unacked
    if flow.unacked_sorted:
        if not unacked or 0 < ((end - unacked[-1]) & MASK32) <= HALF:
            unacked.append(end)
            return
        # Switch to a heap of (end - ref) mod 2**32, ref well below the oldest segment.
        flow.unacked_sorted = False
        flow.unacked_ref = (unacked[0] - (1 << 30)) & MASK32
        ref = flow.unacked_ref
        unacked[:] = [(e - ref) & MASK32 for e in unacked]
        heapq.heapify(unacked)
    heapq.heappush(unacked, (end - flow.unacked_ref) & MASK32)


def drop_acked(flow: Flow, ack: int) -> None:
    """Remove from an unsorted (heap) unacknowledged list every segment `ack` covers
    (packet-tcp.c drops a segment unless GT_SEQ(end, ack))."""
    heap = flow.unacked
    ref = flow.unacked_ref
    pop = heapq.heappop
    while heap and ((ack - heap[0] - ref) & MASK32) < HALF:
        pop(heap)
