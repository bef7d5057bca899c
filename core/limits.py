"""Bounded memory for long captures: how many segments and conversations a replay keeps.

A live capture (``tcp-lab sniff``, or ``tcpdump -U -w - | tcp-lab replay -``) can run for
an hour; its segment store (core/store.py) must not grow without end. Three limits, any of
them optional (`Limits`):

- ``max_segments``: segments kept in all (the memory bound: about 60-70 bytes a segment in
  the store, plus its conversation's objects);
- ``max_segments_per_conn``: segments kept per conversation;
- ``max_conns``: conversations kept.

What happens at a limit (`Compactor`). Nothing is spilled to disk: an hour of traffic would
only move the unbounded growth from memory to a temporary file, and the capture itself
can be kept whole with ``sniff --write FILE``; so the oldest data is dropped, and the
replay says so (`Notice`, `Evicted`):

- a conversation over its segment limit loses its **oldest segments**. Its counts, its
  first and last states, its duration, its summary stay exact: they are kept in the
  conversation, not recomputed from the rows. Its states keep being inferred exactly: the
  observer before the first kept segment is kept (`Conversation.base`), so hindsight
  (core/tracker.py `revise`) can still rewrite what is kept; it cannot reach segments
  already dropped (a FIN sent again whose first copy was dropped is not marked lost);
- over the conversation limit, whole conversations are **forgotten**: the oldest closed
  ones first (both endpoints CLOSED, LISTEN or TIME_WAIT; least recently active first),
  then, only if that is not enough, the least recently active open ones. A forgotten
  conversation's slot in `Tracker.conversations` becomes None (conversation numbers never
  change); a later segment of its 4-tuple starts a new conversation;
- over the total, closed conversations are forgotten (oldest first), then the oldest
  segments of the capture are dropped, whatever conversation they belong to.

Limits are checked when a batch of segments arrives (`Tracker.feed*`), before the batch is
added: rows are never dropped before the caller had the chance to show them, so headless
output (which prints each batch as it arrives) is complete. Dropping rows renumbers the
store's rows (the columns stay compact), so work is done in one pass over the store, and
only once what is over a limit reaches a quarter of it (for the per-conversation limit, a
quarter of the total limit, or of the store): a limit may be exceeded by that slack until
the next pass, and each pass costs a few tenths of a microsecond per row kept.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import accumulate, chain, compress, repeat
from operator import mul, sub
from typing import TYPE_CHECKING, Callable

from .inference import CLOSED, LISTEN, TIME_WAIT

if TYPE_CHECKING:
    from .tracker import Conversation, Tracker


@dataclass(frozen=True)
class Limits:
    """How much a replay keeps (None: no limit)."""

    max_segments: int | None = None
    max_segments_per_conn: int | None = None
    max_conns: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_segments", "max_segments_per_conn", "max_conns"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive whole number, not {value!r}")

    @property
    def active(self) -> bool:
        return self.max_segments is not None or self.max_segments_per_conn is not None or self.max_conns is not None


#: What a live capture keeps by default (tcp-lab sniff, tcp-lab replay - ): a million
#: segments in all (some 70-100 MB), a hundred thousand per conversation, ten thousand
#: conversations.
LIVE_LIMITS = Limits(max_segments=1_000_000, max_segments_per_conn=100_000, max_conns=10_000)
#: A capture file is read whole by default: its size bounds what it holds.
NO_LIMITS = Limits()

#: State codes in which an endpoint has no connection left (TIME_WAIT only waits).
_GONE_STATES = (CLOSED, LISTEN, TIME_WAIT)
#: States bytes (client << 4 | server) of a closed conversation.
CLOSED_STATE_BYTES = frozenset((c << 4) | s for c in _GONE_STATES for s in _GONE_STATES)


@dataclass
class Evicted:
    """What the limits took away so far."""

    conversations: int = 0  # conversations forgotten
    segments: int = 0  # segments dropped (rows removed from the store)
    passes: int = 0  # compaction passes

    def __bool__(self) -> bool:
        return bool(self.conversations or self.segments)


_TEXTS = {
    "trim": {
        "en": "kept the last {kept:,} segments of conversation {conn}; {dropped:,} older ones dropped",
        "zh": "会话 {conn} 只保留最近的 {kept:,} 个报文段，更早的 {dropped:,} 个已丢弃",
    },
    "trim_many": {
        "en": "dropped the {dropped:,} oldest segments of conversations longer than {limit:,} segments",
        "zh": "超过 {limit:,} 个报文段的会话丢弃了最早的 {dropped:,} 个报文段",
    },
    "fifo": {
        "en": "kept the last {kept:,} segments of the capture in memory; {dropped:,} older ones dropped",
        "zh": "内存中只保留捕获的最近 {kept:,} 个报文段，更早的 {dropped:,} 个已丢弃",
    },
    "forget_closed": {
        "en": "forgot the {count:,} oldest closed conversations ({kept:,} kept)",
        "zh": "已忘记最早结束的 {count:,} 个会话（保留 {kept:,} 个）",
    },
    "forget_open": {
        "en": "forgot {count:,} open conversations that had been idle longest ({kept:,} kept)",
        "zh": "已忘记空闲最久的 {count:,} 个未结束会话（保留 {kept:,} 个）",
    },
    "summary": {
        "en": "memory bound: {segments:,} segments dropped, {conversations:,} conversations forgotten",
        "zh": "内存上限：已丢弃 {segments:,} 个报文段，已忘记 {conversations:,} 个会话",
    },
}


@dataclass(frozen=True)
class Notice:
    """One thing the limits did, for the screen (one line) or stderr."""

    kind: str  # a key of _TEXTS
    values: dict = field(default_factory=dict)

    def text(self, lang: str = "en") -> str:
        texts = _TEXTS[self.kind]
        return texts.get(lang, texts["en"]).format(**self.values)

    def __str__(self) -> str:
        return self.text("en")


def summary_text(evicted: Evicted, lang: str = "en") -> str:
    """One line saying what the limits took away in all."""
    return Notice("summary", {"segments": evicted.segments, "conversations": evicted.conversations}).text(lang)


#: Notices a compactor keeps for whoever has not read them yet.
NOTICES_KEPT = 64


def _slack(limit: int) -> int:
    """How far over a limit the store may go before a pass (a pass costs time in
    proportion to the store, so it is worth doing only for a good share of it)."""
    return max(limit // 4, 1)


class Compactor:
    """Applies a tracker's limits (see the module docstring). The tracker calls `check()`
    before each batch and `touched(start_row)` after it."""

    def __init__(self, tracker: "Tracker", limits: Limits) -> None:
        self.tracker = tracker
        self.limits = limits
        self.evicted = Evicted()
        #: What the passes did, newest last (the oldest go past NOTICES_KEPT).
        self.notices: list[Notice] = []
        #: Notices dropped from the front of `notices` so far.
        self.notices_dropped = 0
        #: conversation id -> rows over the per-conversation limit (at the last look).
        self.over: dict[int, int] = {}
        #: Called before a conversation loses its first `k` rows: (conversation, k).
        self.on_trim: Callable[["Conversation", int], None] | None = None
        #: Called before a conversation is forgotten.
        self.on_forget: Callable[["Conversation"], None] | None = None
        #: Called after a pass with the old -> new row mapping (an array: new row, or -1).
        self.on_renumber: Callable[[array], None] | None = None

    # -- when -------------------------------------------------------------------------

    def touched(self, start_row: int) -> None:
        """After a batch: note the conversations now over the per-conversation limit."""
        per = self.limits.max_segments_per_conn
        if per is None:
            return
        tracker = self.tracker
        convs = tracker.conversations
        store = tracker.store
        if len(store.conv) == len(store.seq):
            ids = set(store.conv[start_row:])
        else:  # a summary tracker keeps no conversation column: look at them all
            ids = [c.id for c in convs if c is not None]
        over = self.over
        for cid in ids:
            conv = convs[cid]
            if conv is None:
                continue
            extra = len(conv.rows) - per
            if extra > 0:
                over[cid] = extra
            else:
                over.pop(cid, None)

    def due(self) -> bool:
        limits = self.limits
        tracker = self.tracker
        rows = len(tracker.store.seq)
        if limits.max_conns is not None and tracker.live > limits.max_conns + _slack(limits.max_conns):
            return True
        if limits.max_segments is not None and rows > limits.max_segments + _slack(limits.max_segments):
            return True
        if self.over:
            base = limits.max_segments if limits.max_segments is not None else rows
            if sum(self.over.values()) >= _slack(max(base, limits.max_segments_per_conn or 1)):
                return True
        return False

    def check(self) -> None:
        if self.due():
            self.run()

    # -- what -------------------------------------------------------------------------

    def run(self) -> None:
        """One pass: decide what goes, then drop it from the store and renumber."""
        tracker = self.tracker
        limits = self.limits
        store = tracker.store
        n = len(store.seq)
        drop = bytearray(n)  # 1: the row goes
        live = [c for c in tracker.conversations if c is not None]
        # Conversations over the count: the oldest closed ones, then the idlest open ones.
        if limits.max_conns is not None and len(live) > limits.max_conns:
            excess = len(live) - limits.max_conns
            live = self._forget_oldest(live, excess, drop, limits.max_conns)
        # Conversations over their own limit: their oldest rows.
        per = limits.max_segments_per_conn
        if per is not None:
            trimmed = []
            for conv in live:
                extra = len(conv.rows) - per
                if extra > 0:
                    self._trim(conv, extra, drop)
                    trimmed.append((conv, extra))
            self._trim_notices(trimmed, per)
        self.over.clear()
        # The total: closed conversations first, then the oldest rows of the capture.
        cap = limits.max_segments
        if cap is not None:
            total = sum(len(c.rows) for c in live)
            if total > cap:
                closed = sorted((c for c in live if c.state_byte in CLOSED_STATE_BYTES), key=_idle_key)
                gone = []
                for conv in closed:
                    if total <= cap:
                        break
                    total -= len(conv.rows)
                    gone.append(conv)
                if gone:
                    for conv in gone:
                        self._forget(conv, drop)
                    ids = {c.id for c in gone}
                    live = [c for c in live if c.id not in ids]
                    self.notices.append(Notice("forget_closed", {"count": len(gone), "kept": len(live)}))
            if total > cap:
                self._cut_oldest(live, total - cap, drop, n)
        self._renumber(drop)
        if len(self.notices) > NOTICES_KEPT:
            extra = len(self.notices) - NOTICES_KEPT
            del self.notices[:extra]
            self.notices_dropped += extra

    def _forget_oldest(self, live: list, excess: int, drop: bytearray, limit: int) -> list:
        closed = sorted((c for c in live if c.state_byte in CLOSED_STATE_BYTES), key=_idle_key)
        victims = closed[:excess]
        n_closed = len(victims)
        if len(victims) < excess:
            is_victim = {c.id for c in victims}
            opened = sorted((c for c in live if c.id not in is_victim), key=_idle_key)
            victims += opened[: excess - len(victims)]
        for conv in victims:
            self._forget(conv, drop)
        ids = {c.id for c in victims}
        kept = [c for c in live if c.id not in ids]
        if n_closed:
            self.notices.append(Notice("forget_closed", {"count": n_closed, "kept": len(kept)}))
        if len(victims) > n_closed:
            self.notices.append(Notice("forget_open", {"count": len(victims) - n_closed, "kept": len(kept)}))
        return kept

    def _cut_oldest(self, live: list, excess: int, drop: bytearray, n: int) -> None:
        """Drop the `excess` oldest rows still kept, whatever their conversation."""
        keep = drop.translate(_INVERT)
        counts = array("l", accumulate(keep))
        cut = bisect_left(counts, excess) + 1  # rows below `cut` go
        dropped = 0
        for conv in live:
            k = bisect_left(conv.rows, cut)
            if k:
                self._trim(conv, k, drop)
                dropped += k
        kept = sum(len(c.rows) for c in live)
        self.notices.append(Notice("fifo", {"kept": kept, "dropped": dropped}))

    def _trim_notices(self, trimmed: list, per: int) -> None:
        if not trimmed:
            return
        if len(trimmed) <= 3:
            for conv, _ in trimmed:
                self.notices.append(Notice("trim", {"kept": len(conv.rows), "conn": conv.id, "dropped": conv.dropped}))
        else:
            self.notices.append(
                Notice("trim_many", {"count": len(trimmed), "dropped": sum(k for _, k in trimmed), "limit": per})
            )

    # -- how --------------------------------------------------------------------------

    def _trim(self, conv: "Conversation", k: int, drop: bytearray) -> None:
        """Drop the first `k` rows of a conversation (its base observer moves past them)."""
        if k <= 0:
            return
        tracker = self.tracker
        if self.on_trim is not None:
            self.on_trim(conv, k)
        tracker.rebase_observer(conv, k)
        rows = conv.rows
        for r in rows[:k]:
            drop[r] = 1
        conv.late_fields(rows[:k], tracker.store)
        del rows[:k]
        conv.dropped += k

    def _forget(self, conv: "Conversation", drop: bytearray) -> None:
        if self.on_forget is not None:
            self.on_forget(conv)
        for r in conv.rows:
            drop[r] = 1
        self.tracker.forget(conv)
        self.evicted.conversations += 1

    def _renumber(self, drop: bytearray) -> None:
        """Remove the dropped rows from the store and renumber everything that names a row."""
        tracker = self.tracker
        store = tracker.store
        n = len(drop)
        keep = drop.translate(_INVERT)
        kept = sum(keep)
        self.evicted.passes += 1
        if kept == n:
            return
        # old row -> new row (-1 for a dropped one): (rows kept up to it) * kept - 1
        new = array("l", map(sub, map(mul, accumulate(keep), keep), repeat(1, n)))
        # Columns, in place (references to them stay valid).
        for col in store.columns():
            if len(col) == n:
                col[:] = array(col.typecode, compress(col, keep))
        if len(store.opt_end) == n:
            pool = store.opt_pool
            ends = store.opt_end
            pieces = [pool[s:e] for s, e, k in zip(chain((0,), ends), ends, keep) if k]
            pool[:] = b"".join(pieces)
            ends[:] = array("I", accumulate(map(len, pieces)))
        for name in ("urg", "dupack", "rel_override"):
            old = getattr(store, name)
            if old:
                setattr(store, name, {new[r]: v for r, v in old.items() if new[r] >= 0})
        for conv in tracker.conversations:
            if conv is not None:
                conv.renumber(new)
        if tracker.revised:
            tracker.revised = {new[r] for r in tracker.revised if new[r] >= 0}
        tracker.rows_dropped += n - kept
        self.evicted.segments += n - kept
        if self.on_renumber is not None:
            self.on_renumber(new)


def _idle_key(conv: "Conversation") -> tuple[float, int]:
    return (conv.last_ts, conv.id)


_INVERT = bytes.maketrans(b"\x00\x01", b"\x01\x00")


def resolve_limits(
    live: bool,
    max_segments: int | None = None,
    max_segments_per_conn: int | None = None,
    max_conns: int | None = None,
) -> Limits:
    """The limits a command runs with: each one as given (0: no limit), else the live
    default for a live capture or a stream (`live`), else none."""
    defaults = LIVE_LIMITS if live else NO_LIMITS

    def pick(given: int | None, default: int | None) -> int | None:
        if given is None:
            return default
        return given or None

    return Limits(
        pick(max_segments, defaults.max_segments),
        pick(max_segments_per_conn, defaults.max_segments_per_conn),
        pick(max_conns, defaults.max_conns),
    )
