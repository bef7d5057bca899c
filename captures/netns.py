"""Throw-away Linux network namespaces for real TCP connections, captures and faults.

A `Namespace` is a fresh network stack with only `lo` (brought up): its own ports, its
own TCP sockets (so `ss` shows only ours), its own nftables rules and its own TIME_WAIT
sockets, all gone when it is deleted. This is what captures/record.py records the
shipped captures in, and what tests reuse through tests/netns_util.py.

Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN), `ip` (iproute2), `ss`, `tcpdump` and `nft`.

Sockets are made inside the namespace without a child process: `Namespace.inside()`
switches the calling thread's network namespace with setns(2) for the duration of a
`with` block, and a socket keeps the namespace it was created in for its whole life.
Programs run inside it through `ip netns exec`.

Example::

    with Namespace() as ns:
        with ns.tcpdump(tmp / "x.pcap") as cap:
            listener = ns.socket()
            listener.bind(("127.0.0.1", 80)); listener.listen()
            client = ns.socket()
            client.connect(("127.0.0.1", 80))
            cap.wait_quiet()                       # nothing on the wire for 200 ms
            print(cap.count(), ns.ss())            # 3 packets; ESTAB rows
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

CLONE_NEWNET = 0x40000000
NFT_TABLE = "tcplab"

_counter = itertools.count()
_libc = ctypes.CDLL(None, use_errno=True)


class NetnsError(RuntimeError):
    """A namespace, tcpdump or nft operation failed; the message says which command and why."""


def unique_name(prefix: str = "tcplab") -> str:
    """A namespace name no other process or test uses: prefix, our pid, a counter."""
    return f"{prefix}-{os.getpid()}-{next(_counter)}"


def remove_stale(prefix: str = "tcplab") -> list[str]:
    """Delete namespaces named exactly `<prefix>-<pid>-<n>` (as `unique_name(prefix)` makes
    them) whose process is gone: a run that was killed before it could clean up. Returns
    the names deleted. Namespaces of live processes, and names of any other form, are
    never touched."""
    out = _run(["ip", "netns", "list"], check=False).stdout
    removed = []
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        match = re.fullmatch(rf"{re.escape(prefix)}-(\d+)-\d+", name)
        if not match:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            _run(["ip", "netns", "delete", name], check=False)
            removed.append(name)
        except PermissionError:
            pass
    return removed


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise NetnsError(f"setns failed: {os.strerror(err)}")


def _run(argv: Sequence[str], *, input: str | None = None, timeout: float = 10.0,
         check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), input=input, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise NetnsError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


@dataclass(frozen=True)
class SsRow:
    """One line of `ss -tan`: a TCP socket's state (as ss names it) and its two ends."""

    state: str
    recv_q: int
    send_q: int
    local: str
    peer: str

    @staticmethod
    def split(endpoint: str) -> tuple[str, str]:
        """("127.0.0.1", "80") from "127.0.0.1:80", ("::1", "80") from "[::1]:80"."""
        host, _, port = endpoint.rpartition(":")
        return host.strip("[]"), port

    @property
    def local_port(self) -> int | None:
        port = self.split(self.local)[1]
        return int(port) if port.isdigit() else None

    @property
    def peer_port(self) -> int | None:
        port = self.split(self.peer)[1]
        return int(port) if port.isdigit() else None


def parse_ss(text: str) -> list[SsRow]:
    """Rows of `ss -tanH` output (a header line, if present, is skipped)."""
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 5 or parts[0] == "State":
            continue
        rows.append(SsRow(parts[0], int(parts[1]), int(parts[2]), parts[3], parts[4]))
    return rows


def endpoint_text(addr: str, port: int) -> str:
    """An address and port written as ss writes them: 127.0.0.1:80, [::1]:80."""
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def connection_states(rows: list[SsRow], client: tuple[str, int], server: tuple[str, int]) -> tuple[str, str]:
    """The ss states of the client's and the server's socket of one connection, found by
    their ports (and addresses): "UNCONN" for a socket ss does not list (closed or gone).
    A listening socket is never taken for the server's connection socket."""

    def find(local: tuple[str, int], peer: tuple[str, int]) -> str:
        for row in rows:
            l_host, l_port = row.split(row.local)
            p_host, p_port = row.split(row.peer)
            if (l_port, p_port) == (str(local[1]), str(peer[1])) and (l_host, p_host) == (local[0], peer[0]):
                return row.state
        return "UNCONN"

    return find(client, server), find(server, client)


def count_pcap_records(data: bytes) -> int:
    """How many complete records a (possibly still growing) classic pcap holds."""
    if len(data) < 24:
        return 0
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    rec = struct.Struct(endian + "IIII")
    offset, count = 24, 0
    while offset + 16 <= len(data):
        caplen = rec.unpack_from(data, offset)[2]
        if offset + 16 + caplen > len(data):
            break
        offset += 16 + caplen
        count += 1
    return count


class Tcpdump:
    """tcpdump writing a pcap inside a namespace, packet by packet (-U --immediate-mode),
    so the file can be counted while it grows. Start it with `Namespace.tcpdump()`."""

    def __init__(self, ns: Namespace, path: Path, iface: str = "lo", bpf: str = "tcp",
                 snaplen: int = 262144) -> None:
        self.ns = ns
        self.path = Path(path)
        self.argv = ["tcpdump", "-i", iface, "-n", "-U", "--immediate-mode", "-Z", "root",
                     "-s", str(snaplen), "-w", str(self.path)]
        if bpf:
            self.argv.append(bpf)
        self.proc: subprocess.Popen[bytes] | None = None
        self.stats: dict[str, int] = {}

    def start(self, timeout: float = 5.0) -> Tcpdump:
        """Start tcpdump and return once it is listening (its 'listening on' line)."""
        self.proc = self.ns.popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert self.proc.stderr is not None
        deadline = time.monotonic() + timeout
        seen = b""
        while b"listening on" not in seen:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                raise NetnsError(f"tcpdump did not start in {self.ns.name}: {seen.decode(errors='replace').strip()}")
            ready, _, _ = select.select([self.proc.stderr], [], [], left)
            if ready:
                chunk = os.read(self.proc.stderr.fileno(), 4096)
                if not chunk:
                    continue
                seen += chunk
        return self

    def count(self) -> int:
        """Packets written to the file so far."""
        try:
            return count_pcap_records(self.path.read_bytes())
        except FileNotFoundError:
            return 0

    def wait_for(self, packets: int, timeout: float = 5.0) -> int:
        """Wait until at least `packets` packets are in the file; returns the count."""
        deadline = time.monotonic() + timeout
        while True:
            n = self.count()
            if n >= packets:
                return n
            if time.monotonic() > deadline:
                raise NetnsError(f"waited {timeout} s for {packets} packets, tcpdump wrote {n}")
            time.sleep(0.002)

    def wait_quiet(self, quiet: float = 0.2, timeout: float = 10.0) -> int:
        """Wait until no packet has been written for `quiet` seconds; returns the count."""
        deadline = time.monotonic() + timeout
        last = self.count()
        since = time.monotonic()
        while True:
            time.sleep(0.005)
            n = self.count()
            now = time.monotonic()
            if n != last:
                last, since = n, now
            elif now - since >= quiet:
                return n
            if now > deadline:
                raise NetnsError(f"the wire never went quiet for {quiet} s within {timeout} s")

    def stop(self) -> dict[str, int]:
        """Stop tcpdump (SIGTERM: it flushes the file) and return its statistics:
        {"captured": N, "received": N, "dropped": N} (dropped by the kernel)."""
        if self.proc is None:
            return self.stats
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        text = (err or b"").decode(errors="replace")
        for key, pattern in (("captured", r"(\d+) packets? captured"),
                             ("received", r"(\d+) packets? received by filter"),
                             ("dropped", r"(\d+) packets? dropped by kernel")):
            match = re.search(pattern, text)
            if match:
                self.stats[key] = int(match.group(1))
        self.ns.forget(self.proc)
        self.proc = None
        return self.stats

    def __enter__(self) -> Tcpdump:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class NftRule:
    """A rule added by `Namespace.drop()`: its chain and nft handle."""

    chain: str
    handle: int
    match: str


class Namespace:
    """A uniquely named network namespace with `lo` up. Use it as a context manager
    (deleted on exit, even after an exception) or call create()/delete() yourself."""

    def __init__(self, prefix: str = "tcplab") -> None:
        self.name = unique_name(prefix)
        self.created = False
        self._procs: list[subprocess.Popen[bytes]] = []
        self._chains: set[str] = set()

    # -- life cycle -------------------------------------------------------------------
    def create(self) -> Namespace:
        _run(["ip", "netns", "add", self.name])
        self.created = True
        try:
            _run(["ip", "-n", self.name, "link", "set", "lo", "up"])
        except Exception:
            self.delete()
            raise
        return self

    def delete(self) -> None:
        """Stop every process started here, then delete the namespace (its sockets go too)."""
        for proc in list(self._procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            self.forget(proc)
        if self.created:
            _run(["ip", "netns", "delete", self.name], check=False)
            self.created = False

    def __enter__(self) -> Namespace:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.delete()

    # -- running things inside ---------------------------------------------------------
    def exec_argv(self, argv: Sequence[str]) -> list[str]:
        """`argv` prefixed so that it runs inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, argv: Sequence[str], *, input: str | None = None, timeout: float = 30.0,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace and wait for it (text output captured)."""
        return _run(self.exec_argv(argv), input=input, timeout=timeout, check=check)

    def popen(self, argv: Sequence[str], **kwargs) -> subprocess.Popen[bytes]:
        """Start a command inside the namespace; it is stopped when the namespace is deleted."""
        proc = subprocess.Popen(self.exec_argv(argv), **kwargs)
        self._procs.append(proc)
        return proc

    def forget(self, proc: subprocess.Popen[bytes]) -> None:
        if proc in self._procs:
            self._procs.remove(proc)

    @contextlib.contextmanager
    def inside(self) -> Iterator[None]:
        """Within the block, the calling thread lives in this namespace (setns(2)):
        sockets it creates belong to the namespace for good."""
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(own)
        finally:
            os.close(target)
            os.close(own)

    def socket(self, family: int = socket.AF_INET, type: int = socket.SOCK_STREAM) -> socket.socket:
        """A new socket in this namespace."""
        with self.inside():
            return socket.socket(family, type)

    # -- observing -----------------------------------------------------------------------
    def ss(self) -> list[SsRow]:
        """Every TCP socket of the namespace as `ss -tanH` shows it (LISTEN and TIME-WAIT too)."""
        return parse_ss(_run(["ss", "-N", self.name, "-tanH"]).stdout)

    def states(self, client: tuple[str, int], server: tuple[str, int]) -> tuple[str, str]:
        """(client state, server state) of one connection as ss shows them now."""
        return connection_states(self.ss(), client, server)

    def tcpdump(self, path: Path, iface: str = "lo", bpf: str = "tcp", snaplen: int = 262144) -> Tcpdump:
        """Start tcpdump writing `path` and return once it listens. On lo, libpcap keeps one
        copy of each packet (the incoming one), taken before netfilter's input hook: a
        packet `drop()` discards on input is still in the capture."""
        return Tcpdump(self, path, iface, bpf, snaplen).start()

    # -- faults with nftables ------------------------------------------------------------
    def nft(self, script: str) -> str:
        """Run an nft script inside the namespace; returns nft's output."""
        return self.run(["nft", "-f", "-"], input=script).stdout

    def _ensure_chain(self, chain: str) -> None:
        if chain in self._chains:
            return
        self.nft(f"table inet {NFT_TABLE} {{\n  chain {chain} {{ type filter hook {chain} priority 0; policy accept; }}\n}}\n")
        self._chains.add(chain)

    def drop(self, match: str, *, once: bool = False, chain: str = "input") -> NftRule:
        """Drop packets matching the nft expression `match` (see `tcp_match`) in `chain`
        ("input": after the capture point on lo, so the capture still shows the packet;
        "output": before it). With once=True only the first matching packet is dropped:
        a `limit rate 1/hour burst 1 packets` in front of the drop lets later ones through.
        The rule counts what it dropped (`dropped()`)."""
        self._ensure_chain(chain)
        limit = "limit rate 1/hour burst 1 packets " if once else ""
        out = self.run(["nft", "--echo", "--handle", "add", "rule", "inet", NFT_TABLE, chain,
                        *f"{match} {limit}counter drop".split()]).stdout
        found = re.search(r"# handle (\d+)", out)
        if not found:
            raise NetnsError(f"nft did not report the new rule's handle: {out.strip()}")
        return NftRule(chain, int(found.group(1)), match)

    def dropped(self, rule: NftRule) -> int:
        """How many packets `rule` has dropped so far."""
        data = json.loads(self.run(["nft", "-j", "list", "chain", "inet", NFT_TABLE, rule.chain]).stdout)
        for item in data["nftables"]:
            body = item.get("rule")
            if body and body.get("handle") == rule.handle:
                for expr in body["expr"]:
                    if "counter" in expr:
                        return int(expr["counter"]["packets"])
        raise NetnsError(f"rule {rule.handle} is not in chain {rule.chain}")

    def delete_rule(self, rule: NftRule) -> None:
        self.run(["nft", "delete", "rule", "inet", NFT_TABLE, rule.chain, "handle", str(rule.handle)])


def tcp_match(*, sport: int | None = None, dport: int | None = None,
              flags: Sequence[str] = (), not_flags: Sequence[str] = ()) -> str:
    """An nft match for TCP segments (IPv4 and IPv6 alike: an `inet` table sees both):
    ports, control bits that must be set (`flags`) and ones that must be clear (`not_flags`).

    tcp_match(dport=80, flags=["syn"], not_flags=["ack"])       -> a SYN to port 80
    tcp_match(sport=52296, flags=["fin"])                       -> FINs from port 52296
    tcp_match(sport=52296, flags=["ack"], not_flags=["fin", "syn", "rst", "psh"])
                                                                -> bare ACKs from 52296
    """
    parts = ["meta l4proto tcp"]
    if sport is not None:
        parts.append(f"tcp sport {sport}")
    if dport is not None:
        parts.append(f"tcp dport {dport}")
    if flags or not_flags:
        mask = " | ".join([*flags, *not_flags])
        want = " | ".join(flags) if flags else "0x0"
        parts.append(f"tcp flags & ({mask}) == {want}")
    return " ".join(parts)
