"""`tcp-lab sniff --demo`: a real connection between two real sockets on loopback,
performed slowly in acts while tcp-lab sniffs it.

The kernel does all the TCP; this module only makes the calls, one act at a time, with a
pause after each (``TCP_LAB_DEMO_PAUSE`` seconds, default 1.5) so a newcomer can read the
panes between them:

1. the server listens (LISTEN; nothing on the wire);
2. the client connects (the three-way handshake; the server accepts);
3. the client sends a request; 4. the server answers;
5. the client half-closes with shutdown(SHUT_WR) (FIN_WAIT_1 -> FIN_WAIT_2; the server is
   in CLOSE_WAIT);
6. the server, in CLOSE_WAIT, still sends;
7. the server closes (LAST_ACK -> CLOSED; the client goes to TIME_WAIT);
8. the client closes its socket (no segment; TIME_WAIT stays in the kernel for 60 s).

Each act is announced before it starts through the `announce` callback, with an
Explanation (core/texts_demo.py) and the capture-clock time it began: the headless
command prints it on stderr (stdout keeps to the replay's frame schema), the screen shows
it in the explanation pane beside the frames captured during the act.

The server's port is chosen before anything is sent (`prepare()` binds to port 0) so the
capture filter can name it. Sockets are created in the caller's network namespace.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from tcp_lab.core.frame import Explanation

#: Seconds between acts, unless TCP_LAB_DEMO_PAUSE says otherwise (tests use 0.3).
DEFAULT_PAUSE = 1.5
PAUSE_ENV = "TCP_LAB_DEMO_PAUSE"

#: The acts, in order (keys of core/texts_demo.py without the "demo:" prefix).
ACTS = (
    "listen",
    "connect",
    "client-data",
    "server-data",
    "half-close",
    "close-wait-data",
    "server-close",
    "client-close",
)

REQUEST = b"GET /hello HTTP/1.0\r\n\r\n"
ANSWER = b"HTTP/1.0 200 OK\r\n\r\nhello from the server\n"
LATE_DATA = b"...and a last word, sent in CLOSE_WAIT\n"


def demo_pause() -> float:
    """The pause between acts: TCP_LAB_DEMO_PAUSE (seconds, >= 0) or 1.5."""
    raw = os.environ.get(PAUSE_ENV, "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_PAUSE
    return value if value >= 0 else DEFAULT_PAUSE


@dataclass(frozen=True)
class Announcement:
    """An act about to start."""

    number: int  # from 1
    total: int
    name: str
    at: float  # time.time() when it began (the clock packet timestamps use)
    explain: Explanation


class DemoError(RuntimeError):
    """A demo call failed (the kernel refused something): one sentence."""


class Demo:
    """The scripted connection. `prepare()` on the caller's thread, then `run()` (blocking;
    `start()` runs it on a thread); `abort()` ends it early from another thread."""

    def __init__(self, host: str = "127.0.0.1", pause: float | None = None,
                 announce: Callable[[Announcement], None] | None = None) -> None:
        self.host = host
        self.pause = demo_pause() if pause is None else pause
        self.announce = announce
        self.port = 0
        self.listener: socket.socket | None = None
        self.client: socket.socket | None = None
        self.server: socket.socket | None = None
        self.client_port = 0
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._abort = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def server_text(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def prepare(self) -> int:
        """Make the server's socket and bind it to a free port (no segment yet)."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.bind((self.host, 0))
        self.port = self.listener.getsockname()[1]
        return self.port

    def start(self) -> Demo:
        self._thread = threading.Thread(target=self._run_guarded, name="tcp-lab-demo", daemon=True)
        self._thread.start()
        return self

    def abort(self) -> None:
        """Stop between acts (a running call finishes first) and close every socket."""
        self._abort.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        self._close_all()

    def _run_guarded(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # noqa: BLE001 - handed to the command as one sentence
            if not self._abort.is_set():
                self.error = exc
        finally:
            self._close_all()
            self.done.set()

    def run(self) -> None:
        if self.listener is None:
            self.prepare()
        steps = {
            "listen": self._listen,
            "connect": self._connect,
            "client-data": self._client_data,
            "server-data": self._server_data,
            "half-close": self._half_close,
            "close-wait-data": self._close_wait_data,
            "server-close": self._server_close,
            "client-close": self._client_close,
        }
        total = len(ACTS)
        for number, name in enumerate(ACTS, 1):
            if self._abort.is_set():
                return
            if self.announce is not None:
                params = {"server": self.server_text, "n": number, "total": total}
                self.announce(Announcement(number, total, name, time.time(), Explanation(f"demo:{name}", params)))
            steps[name]()
            if self._abort.wait(self.pause):
                return

    # -- the acts ------------------------------------------------------------------------

    def _listen(self) -> None:
        assert self.listener is not None
        self.listener.listen(1)

    def _connect(self) -> None:
        assert self.listener is not None
        family = self.listener.family
        self.client = socket.socket(family, socket.SOCK_STREAM)
        self.client.settimeout(10)
        self.listener.settimeout(10)
        try:
            self.client.connect((self.host, self.port))
            self.server, _ = self.listener.accept()
        except OSError as exc:
            raise DemoError(f"the demo's client could not connect to {self.server_text}: {exc.strerror or exc}") from None
        self.server.settimeout(10)
        self.client_port = self.client.getsockname()[1]
        # Both sockets send each write at once (no Nagle wait): one act, one segment.
        for s in (self.client, self.server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _client_data(self) -> None:
        assert self.client is not None and self.server is not None
        self.client.sendall(REQUEST)
        _read_exactly(self.server, len(REQUEST))

    def _server_data(self) -> None:
        assert self.client is not None and self.server is not None
        self.server.sendall(ANSWER)
        _read_exactly(self.client, len(ANSWER))

    def _half_close(self) -> None:
        assert self.client is not None and self.server is not None
        self.client.shutdown(socket.SHUT_WR)
        if self.server.recv(1) != b"":  # the FIN: end-of-file for the server
            raise DemoError("the demo's server read data where it expected the client's FIN")

    def _close_wait_data(self) -> None:
        assert self.client is not None and self.server is not None
        self.server.sendall(LATE_DATA)
        _read_exactly(self.client, len(LATE_DATA))

    def _server_close(self) -> None:
        assert self.client is not None and self.server is not None
        self.server.close()
        self.server = None
        if self.client.recv(1) != b"":  # the server's FIN
            raise DemoError("the demo's client read data where it expected the server's FIN")

    def _client_close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.listener is not None:
            self.listener.close()
            self.listener = None

    def _close_all(self) -> None:
        for name in ("server", "client", "listener"):
            s = getattr(self, name)
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
                setattr(self, name, None)


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise DemoError("the demo's connection ended early")
        data += chunk
    return data
