"""The bytes of a capture, read on a thread for the replay screen.

`CaptureReader.run()` runs in a Textual thread worker: it reads the capture (a file, or a
pipe such as ``tcpdump -U -w - | tcp-lab replay -``) from a file descriptor and queues
what it read; the screen takes the queued bytes with `take()` on its own thread, where the
decoder and tracker run (they are not shared between threads). The thread only reads:

- it tells the screen that bytes are waiting through `arrived()` (the screen posts itself
  a message), once per batch: not again until the screen has taken what was queued, so a
  flood of small reads is one message, not thousands;
- it stops reading while `limit` bytes wait (a file is read far faster than it is
  tracked): memory stays bounded whatever the file's size;
- it never blocks for long: it polls the descriptor with a timeout and checks `stop()`
  (and the worker's cancellation) between polls, so quitting the screen never waits for a
  pipe that stays quiet.

At end of input `eof` is set (and `arrived()` called one last time); a read error is kept
in `error` (one sentence) and ends the reading too.
"""

from __future__ import annotations

import os
import select
import threading
from collections import deque
from collections.abc import Callable

#: One read asks for at most this much.
READ_SIZE = 1 << 20
#: The reader waits while this much is queued and not yet taken.
QUEUE_LIMIT = 8 << 20
#: How long one poll waits before the stop flag is checked again.
POLL_SECONDS = 0.1


class CaptureReader:
    """Reads file descriptor `fd` on a thread into a bounded queue of byte chunks."""

    def __init__(self, fd: int, *, arrived: Callable[[], None] | None = None, limit: int = QUEUE_LIMIT,
                 close_fd: bool = False, cancelled: Callable[[], bool] | None = None) -> None:
        self.fd = fd
        self.arrived = arrived
        self.limit = limit
        self.close_fd = close_fd
        self.cancelled = cancelled
        self.eof = False
        self.error: str | None = None
        #: Bytes read so far (for a file, the screen shows how far it has got).
        self.read_bytes = 0
        self._chunks: deque[bytes] = deque()
        self._queued = 0
        self._told = False
        self._lock = threading.Condition()
        self._stop = False
        #: Set when the thread has ended (the descriptor may then be closed).
        self.done = threading.Event()

    # -- the screen's side -----------------------------------------------------------

    def take(self, most: int | None = None) -> bytes:
        """Up to `most` queued bytes (everything when None), oldest first; b"" when none."""
        with self._lock:
            if not self._chunks:
                self._told = False
                return b""
            out = []
            got = 0
            while self._chunks and (most is None or got < most):
                chunk = self._chunks[0]
                if most is not None and got + len(chunk) > most and got:
                    break
                self._chunks.popleft()
                out.append(chunk)
                got += len(chunk)
            self._queued -= got
            if not self._chunks:
                self._told = False
            self._lock.notify_all()
        return b"".join(out)

    @property
    def pending(self) -> int:
        """Bytes queued and not yet taken."""
        return self._queued

    @property
    def finished(self) -> bool:
        """True once the input ended (or failed) and everything read has been taken."""
        return (self.eof or self.error is not None) and not self._queued

    def stop(self) -> None:
        """Ask the thread to end (it does within POLL_SECONDS)."""
        with self._lock:
            self._stop = True
            self._lock.notify_all()

    # -- the thread ----------------------------------------------------------------------

    def _stopping(self) -> bool:
        return self._stop or (self.cancelled is not None and self.cancelled())

    def run(self) -> None:
        try:
            self._read_all()
        except OSError as exc:
            self.error = f"reading the capture failed: {exc.strerror or exc}"
        finally:
            self.eof = True
            if self.close_fd:
                try:
                    os.close(self.fd)
                except OSError:
                    pass
            self._tell(final=True)
            self.done.set()

    def _read_all(self) -> None:
        fd = self.fd
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        while not self._stopping():
            # Wait while the screen has plenty to chew on.
            with self._lock:
                while self._queued >= self.limit and not self._stopping():
                    self._lock.wait(POLL_SECONDS)
            if self._stopping():
                return
            if not poller.poll(POLL_SECONDS * 1000):
                continue
            data = os.read(fd, READ_SIZE)
            if not data:
                return
            self.read_bytes += len(data)
            with self._lock:
                self._chunks.append(data)
                self._queued += len(data)
            self._tell()

    def _tell(self, final: bool = False) -> None:
        with self._lock:
            if self._told and not final:
                return
            self._told = True
        if self.arrived is not None:
            self.arrived()
