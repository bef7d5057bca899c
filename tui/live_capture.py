"""Live capture: the one module of tcp-lab that imports scapy's sniffing machinery.

It hands on captured frames, nothing more: ``(seconds, microseconds, wire length, raw
bytes)`` for each frame, in arrival order. Everything after that (pcap records, the
decoder, the tracker, the writers, the screen) is the same code a replay runs
(tui/live_session.py puts them together), so a live sniff and ``tcpdump -w`` + replay of
the same traffic print the same frames.

Why here and not in core/: core/ is sans-I/O (no sockets, no threads); a capture source
is a socket read by a thread.

How a capture runs:

- `check_permission()` first, before anything else starts: capturing needs a packet socket
  (root, or CAP_NET_RAW). Without it: `PermissionProblem` (exit 3) naming both ways out.
- `resolve_interface()` / `check_filter()`: an unknown interface or a BPF filter libpcap
  cannot compile is a `CliError` (exit 2), checked before the socket is opened.
- `LiveCapture.open()`: scapy opens the packet socket (``conf.L2listen``: an AF_PACKET
  SOCK_RAW socket bound to the interface, not promiscuous) and compiles and attaches the
  filter with libpcap (and drains what arrived before the filter was attached). Its
  receive buffer is then raised (SO_RCVBUFFORCE as root, else SO_RCVBUF up to
  net.core.rmem_max) so a burst waits in the kernel rather than being dropped.
- `LiveCapture.start(started)`: the receive thread; `started()` is called from it once it
  is about to read, so a UI says "capturing" only when it is true. The thread does the
  least it can: non-blocking ``recvmsg`` until the socket is empty, each frame's kernel
  timestamp (SO_TIMESTAMPNS) and bytes appended to a deque, then one wake-up of the
  consumer, then ``select`` again. Decoding and tracking happen on the consumer's thread.
- `take()` hands the consumer everything received so far; `wait(timeout)` sleeps until
  something arrives; `stop()` wakes the thread through a pipe, joins it, reads the
  kernel's statistics and closes the socket. Safe to call twice.

Linux loopback: a packet socket on ``lo`` sees every packet twice, once going out
(PACKET_OUTGOING) and once coming in (PACKET_HOST). libpcap (and so tcpdump) keeps only
the incoming copy; so do we: on a loopback interface the BPF filter is prefixed with
``inbound`` (the kernel then never queues the outgoing copy, which halves the work at high
rates), and the packet type in each frame's address is checked again here (a copy that
slips through is counted in `Stats.duplicates`, not handed on). On other interfaces the
host's own outgoing packets are seen once, as outgoing, and must be kept: there neither is
applied.

Read paths, measured on lo in a namespace against tcpdump (tests/bench/bench_sniff.py
--paths, 8 s runs on 2 cores): scapy's ``recv_raw()`` on the listen socket and this
module's own ``recvmsg`` on the same socket (``reader="direct"``) both keep every packet
up to the highest rate the generator reaches (55-66k segments/s), at about 7 us of CPU
a packet; scapy's `AsyncSniffer` (which dissects every packet into scapy objects before
its callback runs) manages about 11k a second and falls behind from 15k. "direct" is the
default because it also gives the packet type (the loopback check above), the wire
length (PACKET_AUXDATA's tp_len) and integer nanoseconds (no float rounding of the time).

Counters (`stats()`): frames received (handed on), dropped by the kernel (its
PACKET_STATISTICS: the receive buffer was full), loopback duplicates skipped.

Faults while capturing (Linux af_packet.c, packet_notifier): when the interface is taken
down (``ip link set X down``) the kernel unhooks the socket and reports ENETDOWN once;
when it comes back up it hooks it again by itself, with the same filter, and packets flow
again. Deleting the interface (``ip link del X``, or the namespace of a veth's peer going
away, which deletes the pair) also reports ENETDOWN first, then the socket is bound to
nothing for good. So an ENETDOWN is not the end here: the thread asks the socket's own
network namespace (SIOCGIFNAME by the index it was bound to, SIOCGIFFLAGS) what became of
the interface. Down: a `notices` entry ("down"), and the capture waits, looking again every
`LINK_POLL` seconds, until it is up ("up") or gone. Gone: the capture ends with
`InterfaceGone` in `error`. Any other read error ends it with that OSError in `error`.
Everything read before an error is in the queue before `error` is set, so a consumer that
reads `error` first and then `take()`s loses nothing.
"""

from __future__ import annotations

import collections
import errno
import fcntl
import os
import select
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

from .errors import CliError, PermissionProblem

#: libpcap's default snapshot length: whole frames, even 64 KiB loopback TSO ones.
SNAPLEN = 262144
#: The receive buffer asked for (the kernel doubles it for bookkeeping).
RCVBUF = 64 << 20

SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_STATISTICS = 6
PACKET_OUTGOING = socket.PACKET_OUTGOING  # 4
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
ETH_P_8021Q = 0x8100

#: Linux ARPHRD_* device types -> pcap link types (https://www.tcpdump.org/linktypes.html),
#: as libpcap maps them for the types a TCP lab meets.
ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
ARPHRD_TO_LINKTYPE = {
    ARPHRD_ETHER: LINKTYPE_ETHERNET,
    ARPHRD_LOOPBACK: LINKTYPE_ETHERNET,  # lo frames carry an all-zero Ethernet header
    768: LINKTYPE_RAW,  # ARPHRD_TUNNEL (ipip)
    776: LINKTYPE_RAW,  # ARPHRD_SIT (6in4)
    65534: LINKTYPE_RAW,  # ARPHRD_NONE (tun, wireguard)
}

#: ioctls on any socket of the interface's namespace: name of an index, flags of a name.
SIOCGIFNAME = 0x8910
SIOCGIFFLAGS = 0x8913
IFF_UP = 0x1
_IFREQ_INDEX = struct.Struct("@16si20x")  # struct ifreq {char ifr_name[16]; int ifr_ifindex; ...} (40 bytes)
_IFREQ_FLAGS = struct.Struct("@16sh22x")  # ... short ifr_flags
#: While the interface is down: how often to look whether it is up again or gone (seconds).
LINK_POLL = 0.2
#: After an ENETDOWN: how long to wait for a deletion to finish before calling it "down"
#: (``ip link del`` takes the device down, then unregisters it a few milliseconds later).
GONE_GRACE = 0.25

_TIMESPEC = struct.Struct("@qq")
_AUXDATA = struct.Struct("@IIIHHHH")
_STATS = struct.Struct("@II")
_VLAN = struct.Struct("!HH")


@dataclass
class Stats:
    """What a capture has seen so far."""

    received: int = 0  # frames handed on
    dropped: int = 0  # dropped by the kernel: the receive buffer was full
    duplicates: int = 0  # loopback outgoing copies skipped (0 while `inbound` works)
    kernel_seen: int = 0  # frames the kernel let through the filter (PACKET_STATISTICS)


class InterfaceGone(Exception):
    """The interface the capture was bound to was deleted while it ran."""

    def __init__(self, iface: str) -> None:
        super().__init__(f"the interface {iface} was deleted")
        self.iface = iface


def failure_reason(exc: BaseException) -> str:
    """What ended a capture, in words: "the interface v0 was deleted", "Bad file descriptor"."""
    if isinstance(exc, InterfaceGone):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


# -- checks, in the order the command makes them -------------------------------------


def tcpdump_pipe_hint(iface: str, bpf: str) -> str:
    return f"sudo tcpdump -U -w - -i {iface} '{bpf}' | tcp-lab replay -"


def permission_message(iface: str, bpf: str) -> str:
    """The one sentence for a missing capture permission, naming both ways out."""
    python = os.path.realpath(sys.executable)
    return (
        f"capturing packets needs root or the CAP_NET_RAW capability: run it with sudo "
        f"(or give the interpreter the capability: sudo setcap cap_net_raw,cap_net_admin+ep {python}), "
        f"or capture with a privileged tcpdump and pipe it in: {tcpdump_pipe_hint(iface, bpf)}"
    )


def check_permission(iface: str = "lo", bpf: str = "tcp") -> None:
    """Raise PermissionProblem (exit 3) unless this process may open a packet socket."""
    try:
        probe = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    except PermissionError:
        raise PermissionProblem(permission_message(iface, bpf)) from None
    except OSError as exc:  # no AF_PACKET at all (not Linux, or a locked-down sandbox)
        raise PermissionProblem(
            f"cannot open a packet socket here ({exc.strerror or exc}); capture with tcpdump and pipe it in: "
            f"{tcpdump_pipe_hint(iface, bpf)}"
        ) from None
    probe.close()


def interface_names() -> list[str]:
    try:
        return [name for _, name in socket.if_nameindex()]
    except OSError:
        return []


def resolve_interface(iface: str) -> tuple[int, int]:
    """(ARPHRD device type, pcap link type) of an interface; CliError (exit 2) for one
    that does not exist or whose link type tcp-lab cannot decode."""
    names = interface_names()
    known = ", ".join(names) if names else "none"
    if iface == "any":
        raise CliError(f"tcp-lab sniff captures one interface at a time, not 'any'; name one of: {known}")
    try:
        socket.if_nametoindex(iface)
    except (OSError, ValueError):
        raise CliError(f"there is no network interface '{iface}' here; the interfaces are: {known}") from None
    arphrd = _device_type(iface)
    linktype = ARPHRD_TO_LINKTYPE.get(arphrd)
    if linktype is None:
        raise CliError(
            f"tcp-lab cannot decode the link layer of '{iface}' (device type {arphrd}); "
            f"capture it with tcpdump and pipe it in: {tcpdump_pipe_hint(iface, 'tcp')}"
        )
    return arphrd, linktype


def _device_type(iface: str) -> int:
    """The interface's ARPHRD type, from a packet socket bound to it (protocol 0: it
    receives nothing), which answers for the caller's network namespace; sysfs as a
    fallback (it shows the namespace it was mounted in)."""
    try:
        with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0) as probe:
            probe.bind((iface, 0))
            return int(probe.getsockname()[3])
    except OSError:
        pass
    try:
        with open(f"/sys/class/net/{iface}/type", encoding="ascii") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return ARPHRD_ETHER


def capture_filter(user_filter: str | None, port: int | None) -> str:
    """The filter the user asked for: -f and --port combined; plain ``tcp`` if neither."""
    parts = []
    if user_filter and user_filter.strip():
        parts.append(user_filter.strip())
    if port is not None:
        parts.append(f"tcp port {port}")
    if not parts:
        return "tcp"
    if len(parts) == 1:
        return parts[0]
    return " and ".join(f"({p})" for p in parts)


def kernel_filter(bpf: str, arphrd: int) -> str:
    """The filter attached to the socket: on loopback, only the incoming copy of each packet."""
    if arphrd == ARPHRD_LOOPBACK:
        return f"inbound and ({bpf})"
    return bpf


#: scapy's per-user folders, and where they point while it is imported (a path no one can create).
XDG_FOLDERS = ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME")
NOWHERE = "/dev/null/tcp-lab-writes-nothing-here"


def _quiet_scapy() -> None:
    """Import what tcp-lab uses of scapy, quietly, and without letting it write files.

    scapy logs a warning when it cannot name a raw socket's layer type; we read bytes.
    And on import it creates ~/.config, ~/.local/share and ~/.cache/scapy with pickled
    tables in it: under sudo (HOME kept, as ``sudo -E`` or some sudoers do) those are
    root-owned files in the user's home that nobody asked for. So its folders are pointed,
    for the import only, at a path that cannot exist: scapy then keeps no cache (it parses
    its tables at each start, about 30 ms) and writes nothing.
    """
    import logging

    logging.getLogger("scapy").setLevel(logging.ERROR)
    if "scapy.main" in sys.modules:
        return
    saved = {name: os.environ.get(name) for name in XDG_FOLDERS}
    os.environ.update({name: NOWHERE for name in XDG_FOLDERS})
    try:
        import scapy.arch.common  # noqa: F401
        import scapy.arch.linux  # noqa: F401
        import scapy.config  # noqa: F401
        import scapy.data  # noqa: F401
        import scapy.main  # noqa: F401
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def check_filter(bpf: str, linktype: int) -> None:
    """CliError (exit 2) with libpcap's reason when `bpf` does not compile."""
    _quiet_scapy()
    from scapy.arch.common import compile_filter
    from scapy.arch.linux import free_filter
    from scapy.error import Scapy_Exception

    try:
        program = compile_filter(bpf, linktype=linktype)
    except Scapy_Exception as exc:
        raise CliError(f"the capture filter '{bpf}' is not valid BPF: {_pcap_reason(str(exc))}") from None
    except (ImportError, OSError) as exc:
        raise CliError(f"cannot compile the capture filter: libpcap is missing ({exc})") from None
    free_filter(program)


def _pcap_reason(message: str) -> str:
    # "Failed to compile filter expression 'x' (can't parse filter expression: syntax error)"
    start = message.rfind("(")
    if start != -1 and message.endswith(")"):
        message = message[start + 1 : -1]
    return message.replace("can't parse filter expression: ", "").strip()


# -- the capture -----------------------------------------------------------------------


Packet = tuple[int, int, int, bytes]  # seconds, microseconds, wire length, frame bytes


class LiveCapture:
    """A packet socket on one interface and the thread that reads it.

    `reader` is "direct" (own recvmsg on scapy's socket, the default) or "scapy"
    (scapy's ``recv_raw()``); both take raw bytes and the kernel's timestamp.
    """

    def __init__(self, iface: str, bpf: str, *, arphrd: int | None = None, reader: str = "direct",
                 rcvbuf: int = RCVBUF, snaplen: int = SNAPLEN) -> None:
        if reader not in ("direct", "scapy"):
            raise ValueError(f"unknown reader {reader!r}")
        self.iface = iface
        self.bpf = bpf
        if arphrd is None:
            arphrd, _ = resolve_interface(iface)
        self.arphrd = arphrd
        self.linktype = ARPHRD_TO_LINKTYPE[arphrd]
        self.loopback = arphrd == ARPHRD_LOOPBACK
        self.kernel_bpf = kernel_filter(bpf, arphrd)
        self.reader = reader
        self.rcvbuf_wanted = rcvbuf
        self.rcvbuf = 0  # what the kernel granted (getsockopt, after the raise)
        self.snaplen = snaplen
        self.socket = None  # scapy's L2ListenSocket once open
        self._queue: collections.deque[Packet] = collections.deque()
        self._ready = threading.Event()  # something is in the queue
        self._started = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = -1, -1
        self._stopping = False
        self._stats = Stats()
        self._kernel_lock = threading.Lock()
        self.error: BaseException | None = None  # what ended the thread, if not stop()
        self.ifindex = 0  # the interface's index, once open
        #: "down" and "up" as the interface goes down and comes back up (take_notices()).
        self.notices: collections.deque[str] = collections.deque()
        self.link_down = False  # True while the interface is down (nothing can arrive)

    # -- life cycle ----------------------------------------------------------------------

    def open(self) -> LiveCapture:
        """Open the socket, attach the filter, raise the receive buffer."""
        _quiet_scapy()
        import scapy.arch.linux  # noqa: F401  (registers conf.L2listen)
        from scapy.config import conf
        from scapy.error import Scapy_Exception

        try:
            try:
                self.socket = conf.L2listen(iface=self.iface, filter=self.kernel_bpf, promisc=False)
            except Scapy_Exception:
                if self.kernel_bpf == self.bpf:
                    raise
                # A libpcap that cannot compile `inbound` here: the user's filter alone;
                # the packet-type check below still keeps one copy of each packet.
                self.kernel_bpf = self.bpf
                self.socket = conf.L2listen(iface=self.iface, filter=self.kernel_bpf, promisc=False)
        except PermissionError:
            raise PermissionProblem(permission_message(self.iface, self.bpf)) from None
        except Scapy_Exception as exc:
            raise CliError(f"the capture filter '{self.bpf}' is not valid BPF: {_pcap_reason(str(exc))}") from None
        except OSError as exc:
            raise CliError(f"cannot capture on '{self.iface}': {exc.strerror or exc}") from None
        ins = self.socket.ins
        try:
            self.ifindex = socket.if_nametoindex(self.iface)
        except OSError:
            self.ifindex = 0
        try:
            ins.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, self.rcvbuf_wanted)
        except OSError:  # not CAP_NET_ADMIN: as much as net.core.rmem_max allows
            ins.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf_wanted)
        self.rcvbuf = ins.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        try:  # scapy turns these on; make sure (the direct reader needs both)
            ins.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            ins.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            pass
        ins.setblocking(False)
        self._wake_r, self._wake_w = os.pipe()
        return self

    def start(self, started: Callable[[], None] | None = None) -> LiveCapture:
        """Start the receive thread; `started()` runs on it just before it reads."""
        if self.socket is None:
            self.open()
        loop = self._loop_direct if self.reader == "direct" else self._loop_scapy
        self._thread = threading.Thread(target=self._run, args=(loop, started), name="tcp-lab-capture", daemon=True)
        self._thread.start()
        return self

    def wait_started(self, timeout: float | None = None) -> bool:
        return self._started.wait(timeout)

    def stop(self) -> Stats:
        """Stop the thread, read the kernel's counters one last time, close the socket."""
        self._stopping = True
        if self._wake_w != -1:
            try:
                os.write(self._wake_w, b"x")
            except OSError:
                pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        self._thread = None
        if self.socket is not None:
            self._read_kernel_stats()
            try:
                self.socket.close()
            except OSError:
                pass
            self.socket = None
        for fd in (self._wake_r, self._wake_w):
            if fd != -1:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._wake_r = self._wake_w = -1
        self._ready.set()
        return self.stats()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the consumer's side -------------------------------------------------------------

    def take(self) -> list[Packet]:
        """Every frame received since the last call, oldest first."""
        self._ready.clear()
        q = self._queue
        n = len(q)
        if not n:
            return []
        pop = q.popleft
        return [pop() for _ in range(n)]

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until a frame is waiting (True) or `timeout` passes (False)."""
        if self._queue:
            return True
        return self._ready.wait(timeout)

    def pending(self) -> int:
        return len(self._queue)

    def take_notices(self) -> list[str]:
        """"down" / "up" events of the interface since the last call, oldest first."""
        q = self.notices
        return [q.popleft() for _ in range(len(q))]

    # -- the interface ---------------------------------------------------------------------

    def link_state(self) -> str:
        """"up", "down" or "gone": the interface the socket was bound to (by index), as its
        network namespace sees it now (ioctls on the capture socket itself, so the answer is
        for the namespace the socket lives in, whatever the asking thread's)."""
        sock = self.socket
        if sock is None or not self.ifindex:
            return "up"
        fd = sock.ins.fileno()
        try:
            raw = fcntl.ioctl(fd, SIOCGIFNAME, _IFREQ_INDEX.pack(b"", self.ifindex))
        except OSError as exc:
            if exc.errno in (errno.ENODEV, errno.ENXIO):
                return "gone"
            return "up"  # cannot tell: let the reads say
        name = _IFREQ_INDEX.unpack(raw)[0].split(b"\0", 1)[0]
        try:
            raw = fcntl.ioctl(fd, SIOCGIFFLAGS, _IFREQ_FLAGS.pack(name, 0))
        except OSError as exc:
            return "gone" if exc.errno in (errno.ENODEV, errno.ENXIO) else "up"
        return "up" if _IFREQ_FLAGS.unpack(raw)[1] & IFF_UP else "down"

    def _network_down(self) -> float | None:
        """An ENETDOWN was read: down (wait for it), up again already (a bounce), or gone
        (raise InterfaceGone). Returns the poll timeout to use next (None: block)."""
        deadline = time.monotonic() + GONE_GRACE
        state = self.link_state()
        while state == "down" and time.monotonic() < deadline and not self._stopping:
            time.sleep(0.02)
            state = self.link_state()
        if state == "gone":
            raise InterfaceGone(self.iface)
        if not self.link_down:
            self.link_down = True
            self.notices.append("down")
        if state == "up":
            return self._link_up()
        return LINK_POLL

    def _link_up(self) -> None:
        if self.link_down:
            self.link_down = False
            self.notices.append("up")
        return None

    def _look_at_link(self) -> float | None:
        """While down, on each quiet LINK_POLL: up again, still down, or gone."""
        state = self.link_state()
        if state == "gone":
            raise InterfaceGone(self.iface)
        if state == "up":
            return self._link_up()
        return LINK_POLL

    def stats(self) -> Stats:
        """Counters so far (asks the kernel for its drop count while the socket is open)."""
        if self.socket is not None:
            self._read_kernel_stats()
        s = self._stats
        return Stats(s.received, s.dropped, s.duplicates, s.kernel_seen)

    def _read_kernel_stats(self) -> None:
        # struct tpacket_stats {tp_packets, tp_drops}; reading resets the kernel's counters.
        with self._kernel_lock:
            try:
                raw = self.socket.ins.getsockopt(SOL_PACKET, PACKET_STATISTICS, _STATS.size)
            except (OSError, AttributeError, ValueError):
                return
            packets, drops = _STATS.unpack(raw)
            self._stats.kernel_seen += packets
            self._stats.dropped += drops

    # -- the receive thread --------------------------------------------------------------

    def _run(self, loop: Callable[[], None], started: Callable[[], None] | None) -> None:
        try:
            self._started.set()
            if started is not None:
                started()
            loop()
        except BaseException as exc:  # noqa: BLE001 - reported to the consumer, never lost
            if not self._stopping:
                self.error = exc
        finally:
            self._ready.set()

    def _loop_direct(self) -> None:
        ins = self.socket.ins
        fd = ins.fileno()
        wake = self._wake_r
        recvmsg = ins.recvmsg
        push = self._queue.append
        ready = self._ready
        stats = self._stats
        snaplen = self.snaplen
        loopback = self.loopback
        anc_size = socket.CMSG_SPACE(_TIMESPEC.size) + socket.CMSG_SPACE(_AUXDATA.size) + 64
        sol_socket = socket.SOL_SOCKET
        ts_unpack = _TIMESPEC.unpack
        aux_unpack = _AUXDATA.unpack
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poller.register(wake, select.POLLIN)
        received = 0
        last = False
        timeout: float | None = None  # not None while the interface is down
        while not last:
            events = poller.poll(None if timeout is None else int(timeout * 1000))
            if not events:  # down, and quiet for LINK_POLL: up again, or gone?
                timeout = self._look_at_link()
                continue
            # Told to stop: read what the socket holds one last time, then end.
            last = self._stopping or any(efd == wake for efd, _ in events)
            try:
                while True:
                    try:
                        data, anc, _flags, addr = recvmsg(snaplen, anc_size)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError as exc:
                        if exc.errno != errno.ENETDOWN:
                            raise
                        timeout = self._network_down()
                        break
                    if timeout is not None:  # a packet: the interface is up again
                        timeout = self._link_up()
                    if loopback and addr[2] == PACKET_OUTGOING:
                        stats.duplicates += 1
                        continue
                    sec = usec = 0
                    wirelen = len(data)
                    for level, kind, cdata in anc:
                        if level == sol_socket and kind == SO_TIMESTAMPNS:
                            sec, nsec = ts_unpack(cdata)
                            usec = nsec // 1000
                        elif level == SOL_PACKET and kind == PACKET_AUXDATA:
                            status, tp_len, _snap, _mac, _net, tci, tpid = aux_unpack(cdata)
                            wirelen = tp_len
                            if tci or status & TP_STATUS_VLAN_VALID:
                                # The NIC stripped an 802.1Q tag: put it back, as libpcap does.
                                tag = _VLAN.pack(tpid if status & TP_STATUS_VLAN_TPID_VALID else ETH_P_8021Q, tci)
                                data = data[:12] + tag + data[12:]
                                wirelen += 4
                    push((sec, usec, wirelen, data))
                    received += 1
            finally:  # also when a read fails: what was pushed is counted and announced
                stats.received = received
                ready.set()

    def _loop_scapy(self) -> None:
        sock = self.socket
        fd = sock.ins.fileno()
        wake = self._wake_r
        recv_raw = sock.recv_raw
        push = self._queue.append
        ready = self._ready
        stats = self._stats
        snaplen = self.snaplen
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poller.register(wake, select.POLLIN)
        received = 0
        last = False
        timeout: float | None = None  # not None while the interface is down
        while not last:
            events = poller.poll(None if timeout is None else int(timeout * 1000))
            if not events:
                timeout = self._look_at_link()
                continue
            last = self._stopping or any(efd == wake for efd, _ in events)
            try:
                while True:
                    try:
                        _cls, data, ts = recv_raw(snaplen)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError as exc:
                        if exc.errno != errno.ENETDOWN:
                            raise
                        timeout = self._network_down()
                        break
                    if data is None:
                        continue
                    if timeout is not None:
                        timeout = self._link_up()
                    micros = round(ts * 1_000_000)
                    push((micros // 1_000_000, micros % 1_000_000, len(data), data))
                    received += 1
            finally:
                stats.received = received
                ready.set()
