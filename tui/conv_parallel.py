"""`tcp-lab replay FILE --conversations` on two cores: the conversation table of a big
capture file, worked out by this process and one forked helper at once.

Each conversation's counts and states depend on its own segments only (core/tracker.py:
one conversation per 4-tuple, port reuse on the same 4-tuple, hindsight and revisions
within a conversation), so the capture's conversations are split in two halves by their
4-tuple (core/partition.py). Both processes read the whole file; this one tracks half 0,
the helper half 1. Reading everything here keeps every message as it is without the
helper: a damaged or empty file, a capture cut short, packets left out, ``--conn N`` out
of range are all known from this process's own reading, and the helper's work is thrown
away then. The helper sends back, through a pipe, what the table shows of each of its
conversations (pickled) and its counts of the whole capture; they must equal this
process's counts (same bytes read, same segments, frames, skipped packets and problems:
a file still being written may differ between the two readings), else the table is
worked out again in one process. So is it when the helper fails in any way (it cannot
start, dies, hangs, sends something else): the helper never writes to the terminal, and a
failure never shows, it only costs time.

The two halves are numbered back in order of first appearance, the order one tracker
numbers them in (Wireshark's tcp.stream): each conversation's first segment's place in
the capture (`PartitionScanner.order`) sorts them, and ``reused_by`` (a conversation
number) is renumbered with them.

Only for regular files of at least `MIN_BYTES` (below that a fork costs more than it
saves), on a machine with two CPUs or more for this process, from a process running one
thread (forking with threads running is unsafe), and when a CPU is free right now
(`cpu_free`): both processes read the whole file, so the two halves cost about a third
more CPU time than one process; with every other CPU busy (a build, a test run) the
helper would only take turns with this process and the run would end later than alone.
Standard input and runs with memory limits take the stream path (tui/cmd_replay.py) and
never come here.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import stat
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from typing import IO, Any

from tcp_lab.core.replay import Replay

#: Files smaller than this are read in one process.
MIN_BYTES = 8 << 20
#: How long to wait for the helper once this process is done: this many times as long as
#: this process took, and at least `MIN_WAIT` seconds (a busy machine may run it late).
WAIT_FACTOR = 4.0
MIN_WAIT = 20.0
#: Look for a free CPU before forking (tests switch it off to force the two processes).
CHECK_IDLE = True
#: Where Linux says how many tasks are ready to run ("0.52 0.58 0.59 2/311 4242": 2).
LOADAVG = "/proc/loadavg"
#: The half this process tracks, and the helper's.
MINE, HELPERS = 0, 1

#: What the last `Helper.start` / `Helper.table` decided, for tests and benchmarks: "single"
#: (not eligible), "single: no free CPU", "parallel" (the helper's half was used), or
#: "fallback: <why>".
last_path = ""


class ConvRecord:
    """One conversation of the table, with the fields the text and JSON tables read (the
    same names as core/tracker.Conversation, which `Replay.summary` accepts too)."""

    __slots__ = (
        "id",
        "ip_version",
        "addr",
        "port",
        "client_guess",
        "start",
        "counts",
        "first_states",
        "state_byte",
        "first_ts",
        "last_ts",
        "reused_by",
    )

    @property
    def packets(self) -> tuple[int, int]:
        return self.counts[0], self.counts[1]

    @property
    def payload(self) -> tuple[int, int]:
        return self.counts[2], self.counts[3]

    @property
    def wire(self) -> tuple[int, int]:
        return self.counts[4], self.counts[5]


def fields_of(conversations: Iterable[Any], order: Sequence[int]) -> list[tuple]:
    """What the table needs of each of a summary tracker's `conversations`, with the
    place in the capture of its first segment first (`order[row]`: the place of the
    tracker's row `row`): (order, id, reused_by, ip_version, addr, port, client_guess,
    start, counts, first_states, state_byte, first_ts, last_ts)."""
    return [
        (
            order[c.rows[0]], c.id, c.reused_by, c.ip_version, c.addr, c.port, c.client_guess, c.start,
            tuple(c.counts), tuple(c.first_states), c.state_byte, c.first_ts, c.last_ts,
        )  # fmt: skip
        for c in conversations
        if c is not None
    ]


def _fields(replay: Replay) -> list[tuple]:
    return fields_of(replay.tracker.conversations, replay.scanner.order)  # type: ignore[attr-defined]


def _counts(replay: Replay) -> tuple:
    """What both readings of the capture must agree on (a file still being written may
    differ: more records, or a record cut short elsewhere)."""
    scanner = replay.scanner
    return (
        scanner.segments,
        scanner.frames,
        scanner.format,
        tuple((p.offset, p.message) for p in scanner.problems),
        tuple(sorted(scanner.skipped.items())),
    )


def cpu_free() -> bool:
    """Whether a CPU is free for the helper right now: fewer other tasks ready to run than
    the machine has CPUs besides the one this process runs on (Linux's count of running
    tasks in /proc/loadavg, the lowest of a few looks a millisecond apart, since a task
    may run for an instant). True when that cannot be known."""
    cpus = os.cpu_count() or 1
    low = None
    try:
        for look in range(4):
            if look:
                time.sleep(0.001)
            with open(LOADAVG, "rb") as f:
                running = int(f.read().split()[3].split(b"/")[0])
            low = running if low is None else min(low, running)
            if low - 1 < cpus - 1:  # this process is one of the running tasks
                return True
    except (OSError, ValueError, IndexError):
        return True
    return False


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class Helper:
    """The forked helper tracking half `HELPERS` of a capture file's conversations."""

    def __init__(self, pid: int, pipe: int) -> None:
        self.pid = pid
        self.pipe = pipe
        self.started = time.monotonic()
        self.reaped = False

    @classmethod
    def start(cls, f: IO[bytes], title: str, chunk: int, min_bytes: int | None = None) -> "Helper | None":
        """Fork a helper reading the open capture file `f` (with os.pread: the file's
        offset stays this process's) in chunks of `chunk` bytes, if that is worth it and
        safe; None otherwise (then read it all here, as usual)."""
        global last_path
        last_path = "single"
        if not hasattr(os, "fork") or not hasattr(os, "pread"):
            return None
        try:
            st = os.fstat(f.fileno())
        except (OSError, ValueError, AttributeError):
            return None
        if not stat.S_ISREG(st.st_mode) or st.st_size < (MIN_BYTES if min_bytes is None else min_bytes):
            return None
        if _cpus() < 2 or threading.active_count() != 1:
            return None
        if CHECK_IDLE and not cpu_free():
            last_path = "single: no free CPU"
            return None
        try:
            r, w = os.pipe()
        except OSError:
            return None
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return None
        if pid == 0:  # the helper: never returns
            _helper_main(f.fileno(), r, w, title, chunk)
        os.close(w)
        last_path = "parallel"
        return cls(pid, r)

    def abandon(self) -> None:
        """Stop the helper (this process failed or was interrupted) and reap it."""
        if not self.reaped:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
        self._reap()

    def _reap(self) -> int | None:
        """Wait for the helper to end; its exit status (None if unknown). Closes the pipe."""
        if self.pipe >= 0:
            os.close(self.pipe)
            self.pipe = -1
        status = None
        while not self.reaped:
            try:
                _, status = os.waitpid(self.pid, 0)
            except InterruptedError:
                continue
            except ChildProcessError:
                pass
            self.reaped = True
        return status

    def _receive(self, deadline: float) -> bytes | None:
        """Everything the helper writes to the pipe, or None if it takes past `deadline`."""
        parts = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.pipe], [], [], left)
            if not ready:
                return None
            data = os.read(self.pipe, 1 << 20)
            if not data:
                return b"".join(parts)
            parts.append(data)

    def table(self, replay: Replay) -> tuple[list[ConvRecord], float] | None:
        """Merge the helper's half with `replay` (this process's half, read to the end):
        the whole table, numbered as one tracker numbers it, and the time
        of the capture's first segment. None if the helper's half cannot be used (it
        is stopped then); the caller reads the file again in one process."""
        global last_path
        try:
            spent = time.monotonic() - self.started
            data = self._receive(time.monotonic() + max(MIN_WAIT, WAIT_FACTOR * spent))
            if data is None:
                last_path = "fallback: the helper took too long"
                return None
            status = self._reap()
            if status is None or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
                last_path = "fallback: the helper failed"
                return None
            try:
                counts, theirs = pickle.loads(data)
                if counts != _counts(replay):
                    last_path = "fallback: the helper read another capture"
                    return None
                merged = merge(_fields(replay), theirs)
            except Exception:  # noqa: BLE001 - anything else than expected: read it again alone
                last_path = "fallback: the helper's answer is unreadable"
                return None
            if merged is None or sum(r.counts[0] + r.counts[1] for r in merged) != replay.scanner.segments:
                last_path = "fallback: the halves do not add up"
                return None
            last_path = "parallel"
            return merged, (merged[0].first_ts if merged else 0.0)
        finally:
            self.abandon()  # if not done yet (a failure, ctrl+c): stop it, reap it


def merge(mine: list[tuple], theirs: Any) -> list[ConvRecord] | None:
    """Both halves' conversations (`fields_of` tuples) as one table numbered in order of
    their first segments; None if they do not fit together."""
    tagged = [(f[0], MINE, f) for f in mine] + [(f[0], HELPERS, f) for f in theirs]
    tagged.sort(key=lambda t: t[0])
    new_id: dict[tuple[int, int], int] = {}
    last = -1
    for n, (order, half, f) in enumerate(tagged):
        if order <= last:  # each segment is in one half only: places never repeat
            return None
        last = order
        new_id[(half, f[1])] = n
    records = []
    for n, (_, half, f) in enumerate(tagged):
        (_, _, reused_by, ipv, addr, port, guess, start, counts, first_states, state_byte, first_ts, last_ts) = f
        rec = ConvRecord()
        rec.id = n
        if reused_by is None:
            rec.reused_by = None
        else:
            # Port reuse keeps the 4-tuple, so the reusing conversation is in the same half.
            rec.reused_by = new_id.get((half, reused_by))
            if rec.reused_by is None:
                return None
        rec.ip_version = ipv
        rec.addr = addr
        rec.port = port
        rec.client_guess = guess
        rec.start = start
        rec.counts = counts
        rec.first_states = first_states
        rec.state_byte = state_byte
        rec.first_ts = first_ts
        rec.last_ts = last_ts
        records.append(rec)
    return records


def _helper_main(fd: int, r: int, w: int, title: str, chunk: int) -> None:
    """The forked helper: read the file, track half HELPERS, send the result, exit. It
    never writes to the terminal and never returns (os._exit: no clean-up of the
    parent's objects, no buffers flushed twice)."""
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # ctrl+c ends it quietly
        os.close(r)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)
        parent = os.getppid()
        replay = Replay(title, summary_only=True, partition=HELPERS)
        fed = 0  # os.pread's offset
        while True:
            data = os.pread(fd, chunk, fed)
            if not data:
                break
            fed += len(data)
            replay.feed(data)
            if replay.scanner.dead:
                break
            if os.getppid() != parent:  # the parent is gone: nobody to tell
                os._exit(1)
        replay.finish()
        if replay.tracker.tracked != len(replay.scanner.order):  # type: ignore[attr-defined]
            os._exit(1)
        out = memoryview(pickle.dumps((_counts(replay), _fields(replay)), protocol=pickle.HIGHEST_PROTOCOL))
        while out:
            out = out[os.write(w, out) :]
        code = 0
    except BaseException:  # noqa: BLE001 - the helper only ever says yes or no
        code = 1
    finally:
        os._exit(code)
