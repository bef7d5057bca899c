"""A live sniff as a growing replay: captured frames -> pcap records -> the replay's
decoder and tracker (core/replay.py), and, with ``--write``, the same records to a file.

`LiveSession.pump()` is the whole consumer side: it takes what the receive thread queued
(tui/live_capture.py), frames each packet as a classic pcap record (microsecond
timestamps, the kernel's), writes the batch to the ``--write`` file in one write (so the
file is a valid pcap up to the last batch, whatever happens next) and feeds the same bytes
to `Replay.feed`. So a live sniff runs exactly the code path of ``tcpdump -U -w - |
tcp-lab replay -``: frame numbers count every captured frame (as tshark numbers the
written file), times are relative to the first segment, the timelines, conversation
list, JSON and text writers are the replay's. The headless command (tui/cmd_sniff.py)
calls `pump()` in a loop; the screen calls it from a timer, at most about 30 times a
second, and repaints once per batch.

What the live screen uses (tui/cmd_sniff.py opens the session, with every check done,
before the screen starts, and hands it over with the demo, if any):

- ``session.capture.start(started)``: start reading; `started` runs on the capture
  thread (post a message from it) when the screen may say "capturing";
- ``session.pump()`` on a timer: the number of new segments (0: nothing to repaint);
- ``session.replay``: ``timeline(conn)`` / ``timeline()`` (they grow as segments
  arrive: read ``len()`` again after a pump), ``conversations()`` (the connection list),
  ``frame(row)``;
- ``session.attach_demo(demo, on_act)`` then ``demo.start()``; ``session.acts``,
  ``session.act_for_row(row)``: the demo's act explanation to show beside a frame;
- ``session.stats()`` for the status line; ``session.capture.error`` (the capture
  thread died: show it and stop); ``demo.done`` / ``demo.error``;
- on quit: ``demo.abort()``, ``session.capture.stop()``, ``session.close()``.

No thread here: `pump()` runs on whichever thread calls it.
"""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tcp_lab.core.frame import Explanation
from tcp_lab.core.limits import LIVE_LIMITS, Limits
from tcp_lab.core.pcapwrite import pcap_header
from tcp_lab.core.replay import Replay

from .errors import CliError, PermissionProblem
from .privilege import give_to_sudo_user

if TYPE_CHECKING:
    from .live_capture import LiveCapture, Stats

_RECORD = struct.Struct("<IIII")


@dataclass(frozen=True)
class Act:
    """One announced act of the demo (tui/live_demo.py): when it began (capture clock,
    seconds since the epoch, comparable with frame timestamps), its number, and its
    explanation (a core/texts_demo.py key)."""

    at: float
    number: int
    total: int
    explain: Explanation


@dataclass
class SessionStats:
    """Everything the stats line reports."""

    received: int  # frames the capture handed on
    dropped: int  # dropped by the kernel (the receive buffer was full)
    duplicates: int  # loopback outgoing copies skipped in user space
    skipped: dict[str, int] = field(default_factory=dict)  # decoder: reason -> frames
    segments: int = 0  # TCP segments tracked
    conversations: int = 0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


class LiveSession:
    """The replay a live capture grows."""

    def __init__(
        self, capture: LiveCapture, title: str | None = None, write_fd: int | None = None, limits: Limits | None = None
    ) -> None:
        self.capture = capture
        # A live capture keeps bounded memory (core/limits.py): by default LIVE_LIMITS.
        self.replay = Replay(title or f"live on {capture.iface}", limits=LIVE_LIMITS if limits is None else limits)
        self.write_fd = write_fd
        self.acts: list[Act] = []
        self.frames_fed = 0  # pcap records fed to the replay
        self.limit: int | None = None  # stop feeding after this many TCP segments
        header = pcap_header(capture.linktype, capture.snaplen)
        self._write(header)
        self.replay.feed(header)

    # -- the consumer ----------------------------------------------------------------------

    def pump(self) -> int:
        """Move everything captured so far into the replay; returns the new segments."""
        if self.full:
            self.capture.take()
            return 0
        packets = self.capture.take()
        if not packets:
            return 0
        pack = _RECORD.pack
        records = [pack(sec, usec, len(data), wirelen) + data for sec, usec, wirelen, data in packets]
        replay = self.replay
        chunk = b"".join(records)
        added = replay.feed(chunk)
        kept = len(records)
        if self.limit is not None and replay.segments_tracked > self.limit:
            # --count: the frames after the limit's segment are neither shown nor written.
            # (Rows the memory limits dropped all came before this batch.)
            last_frame = replay.store.frame[self.limit - 1 - replay.rows_dropped]
            kept = last_frame - self.frames_fed
            chunk = b"".join(records[:kept])
        self.frames_fed += kept
        self._write(chunk)
        return added

    @property
    def full(self) -> bool:
        return self.limit is not None and self.replay.segments_tracked >= self.limit

    def segments(self) -> int:
        """Segments to show, counted since the start: all tracked, or up to the --count
        limit. (The store's row for segment number i is i - replay.rows_dropped, once
        the memory limits dropped some.)"""
        n = self.replay.segments_tracked
        return n if self.limit is None else min(n, self.limit)

    def add_act(self, act: Act) -> None:
        self.acts.append(act)

    def attach_demo(self, demo, on_act: Callable[[Act], None] | None = None) -> None:
        """Record each act of `demo` (tui/live_demo.py) as it is announced (on the demo's
        thread), then tell `on_act` (the headless command prints it; the screen posts it
        to its own thread)."""

        def announce(a) -> None:
            act = Act(a.at, a.number, a.total, a.explain)
            self.add_act(act)
            if on_act is not None:
                on_act(act)

        demo.announce = announce

    def act_for_row(self, row: int) -> Act | None:
        """The demo act during which the segment of store row `row` was captured."""
        return self.act_at(self.replay.store.ts[row])

    def act_at(self, ts: float) -> Act | None:
        """The demo act in progress at capture time `ts` (None before the first)."""
        found = None
        for act in self.acts:
            if act.at <= ts:
                found = act
            else:
                break
        return found

    def stats(self) -> SessionStats:
        cap: Stats = self.capture.stats()
        replay = self.replay
        return SessionStats(
            received=cap.received,
            dropped=cap.dropped,
            duplicates=cap.duplicates,
            skipped=dict(replay.skipped),
            segments=self.segments(),
            conversations=len(replay.tracker.conversations),
        )

    def close(self) -> None:
        if self.write_fd is not None:
            try:
                os.close(self.write_fd)
            except OSError:
                pass
            self.write_fd = None

    # -- the --write file ----------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        fd = self.write_fd
        if fd is None or not data:
            return
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view)
            except InterruptedError:
                continue
            except OSError as exc:
                self.close()
                raise CliError(f"cannot write the capture file any more: {exc.strerror or exc}") from None
            view = view[n:]


def stats_line(s: SessionStats, iface: str) -> str:
    """The one line printed on stderr when a sniff ends."""
    parts = [f"{s.received} packet{'s' if s.received != 1 else ''} captured on {iface}",
             f"{s.dropped} dropped by the kernel"]
    if s.skipped:
        reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(s.skipped.items(), key=lambda kv: -kv[1]))
        parts.append(f"{s.skipped_total} skipped by the decoder ({reasons})")
    else:
        parts.append("0 skipped by the decoder")
    if s.duplicates:
        parts.append(f"{s.duplicates} loopback duplicates skipped")
    convs = f"{s.conversations} conversation{'s' if s.conversations != 1 else ''}"
    return f"tcp-lab: {', '.join(parts)}; {s.segments} TCP segment{'s' if s.segments != 1 else ''} in {convs}."


def notice_line(notice: str, iface: str) -> str:
    """The line on stderr when the interface goes down ("down") or comes back ("up")."""
    if notice == "down":
        return f"tcp-lab: the interface {iface} went down; waiting for it to come back up (ctrl+c stops)."
    return f"tcp-lab: the interface {iface} is up again; capturing."


def fault_line(error: BaseException, iface: str, received: int, write: str | None) -> str:
    """The one sentence when a capture ends on a fault (exit code 3): what happened, and
    that what was captured before it is kept."""
    from .live_capture import InterfaceGone, failure_reason

    if isinstance(error, InterfaceGone):
        what = f"the interface {iface} was deleted during the capture"
    else:
        what = f"the capture on {iface} failed: {failure_reason(error)}"
    packets = f"{received} packet{'s' if received != 1 else ''}"
    if write:
        kept = f"the {packets} captured before that are kept in {write}"
    else:
        kept = f"the {packets} captured before that were printed above"
    return f"tcp-lab: {what}; {kept}."


def open_output(path: str) -> int:
    """Open (create or truncate) the --write file; returns a file descriptor.

    Only the path the user gave is touched: no directory is created, no temporary file.
    Under sudo, a file this call creates is given to the invoking user (SUDO_UID and
    SUDO_GID), as if they had made it; a file that was already there keeps its owner.
    """
    if path == "-" or not path:
        raise CliError("--write needs a file name (tcp-lab writes frames to stdout; the pcap goes to a file)")
    if os.path.isdir(path):
        raise CliError(f"--write {path}: that is a directory; name a file such as {os.path.join(path, 'sniff.pcap')}")
    flags = os.O_WRONLY | os.O_CLOEXEC
    created = True
    try:
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            created = False
            fd = os.open(path, flags | os.O_TRUNC)
    except FileNotFoundError:
        raise CliError(f"--write {path}: the directory {os.path.dirname(os.path.abspath(path))} does not exist") from None
    except PermissionError:
        raise PermissionProblem(f"--write {path}: permission denied (cannot write there)") from None
    except OSError as exc:
        if exc.errno == errno.EISDIR:
            raise CliError(f"--write {path}: that is a directory") from None
        raise CliError(f"--write {path}: cannot create it ({exc.strerror or exc})") from None
    if created:
        give_to_sudo_user(fd)
    return fd
