"""Oracle: for every TCP packet of several captures, our fields equal tshark's.

Captures: hand-built ones of every link type and layout (tests/capbuild.py), ones written
by scapy (an independent writer), and real traffic recorded in a fresh network namespace by
tcpdump (Ethernet on lo, Linux cooked SLL and SLL2 on "any", a live ``tcpdump -U -w -``
stream read as it arrives) and by dumpcap (pcapng), while real sockets talk: IPv4 and IPv6,
data both ways, urgent data, ECN, TCP Fast Open, an abort with RST, a refused connection
and some UDP.

For each frame tshark reports: seq and ack (raw), flags, raw window, payload length, ports,
addresses, urgent pointer, the raw option bytes, the frame length and its time. A frame we
skip must be one tshark shows no TCP in, except the documented differences: fragments
(tshark reassembles them) and headers cut by the snapshot length.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import capbuild as cb
import pytest
from tcp_lab.core.addr import addr_text
from tcp_lab.core.decode import decode
from tcp_lab.core.pcapfile import CaptureReader
from tcp_lab.core.tcpscan import TcpScanner

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed (.ci/run installs it)")

FIELDS = [
    "frame.number", "frame.len", "frame.time_epoch", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
    "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.flags", "tcp.window_size_value",
    "tcp.len", "tcp.urgent_pointer", "tcp.options",
]
#: Skip reasons where tshark legitimately shows TCP and we do not (see core/decode.py).
EXPECTED_DIFFERENCES = ("IPv4 fragment", "IPv6 fragment", "truncated TCP header", "TCP options cut off by the snapshot length")


def tshark_rows(path: Path) -> dict[int, dict[str, str]]:
    cmd = ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout
    rows = {}
    for line in out.splitlines():
        values = dict(zip(FIELDS, line.split("\t")))
        rows[int(values["frame.number"])] = values
    return rows


def skip_reasons(data: bytes) -> dict[int, str]:
    """frame number -> why it gave no segment (the reference path: CaptureReader + decode)."""
    reader = CaptureReader()
    reader.feed(data)
    reasons = {}
    for rec in reader.records():
        out = decode(rec.linktype, rec.data, rec.wirelen)
        if isinstance(out, str):
            reasons[reader.frames] = out
    return reasons


def ours(data: bytes) -> tuple[dict[int, tuple], TcpScanner]:
    scan = TcpScanner(flat=True)
    segs = {}
    for i in range(0, len(data), 65536):
        for item in scan.feed(data[i : i + 65536]):
            segs[item[0]] = item
    scan.finish()
    return segs, scan


def compare(path: Path, min_segments: int = 1) -> TcpScanner:
    """Assert that every frame agrees with tshark; return the scanner for more checks."""
    data = path.read_bytes()
    segs, scan = ours(data)
    rows = tshark_rows(path)
    assert scan.problems == [], scan.problems
    assert len(segs) >= min_segments
    assert scan.frames == len(rows), "frame count differs from tshark's"
    reasons = skip_reasons(data)
    checked = 0
    for no, row in rows.items():
        has_tcp = row["tcp.seq_raw"] != ""
        if no not in segs:
            reason = reasons[no]
            assert not has_tcp or reason in EXPECTED_DIFFERENCES, f"frame {no}: tshark shows TCP, we skipped it: {reason}"
            continue
        assert has_tcp, f"frame {no}: we found TCP, tshark did not"
        (_, ts, wirelen, version, src, dst, sport, dport, seq, ack, flags, win, length, options, urg) = segs[no]
        expected_src = row["ip.src"] if version == 4 else row["ipv6.src"]
        expected_dst = row["ip.dst"] if version == 4 else row["ipv6.dst"]
        got = (addr_text(src), addr_text(dst), sport, dport, seq, ack, flags, win, length, urg, options.hex(), wirelen)
        want = (expected_src, expected_dst, int(row["tcp.srcport"]), int(row["tcp.dstport"]), int(row["tcp.seq_raw"]),
                int(row["tcp.ack_raw"]), int(row["tcp.flags"], 16) & 0x1FF, int(row["tcp.window_size_value"]),
                int(row["tcp.len"]), int(row["tcp.urgent_pointer"]), row["tcp.options"], int(row["frame.len"]))
        assert got == want, f"frame {no} of {path.name}"
        assert abs(ts - float(row["frame.time_epoch"])) < 2e-6, f"frame {no}: time"
        checked += 1
    assert checked == len(segs)
    print(f"{path.name}: {checked} segments agree with tshark; skipped {dict(scan.skipped)}")
    return scan


# -- hand-built captures --------------------------------------------------------------------

SYN_OPTS = cb.MSS_1460 + cb.SACK_PERM + cb.ts_opt(4242, 0) + cb.NOP + cb.WS_7
TS = cb.NOP + cb.NOP + cb.ts_opt(4243, 4242)


def ip_samples(v6: bool) -> list[bytes]:
    """IP packets of many shapes (TCP, options of every kind, non-TCP, extension headers)."""
    if v6:
        src, dst = "2001:db8:0:1::10", "2001:db8::20"
        ip = lambda payload, **kw: cb.ipv6(payload, src=src, dst=dst, **kw)
    else:
        src, dst = "192.0.2.10", "198.51.100.20"
        ip = lambda payload, **kw: cb.ipv4(payload, src=src, dst=dst, **kw)
    out = [
        ip(cb.tcp(52296, 80, 3858868470, 0, 0x02, 64240, SYN_OPTS)),
        ip(cb.tcp(80, 52296, 1000, 3858868471, 0x12, 29200, cb.MSS_1460 + cb.NOP + cb.NOP + cb.SACK_PERM)),
        ip(cb.tcp(52296, 80, 3858868471, 1001, 0x10, 512, TS)),
        ip(cb.tcp(52296, 80, 3858868471, 1001, 0x18, 512, TS, payload=b"GET / HTTP/1.1\r\n\r\n")),
        ip(cb.tcp(80, 52296, 1001, 3858868489, 0x10, 227, cb.NOP + cb.NOP + cb.sack_opt((3858868500, 3858868600)))),
        ip(cb.tcp(80, 52296, 1001, 3858868489, 0x10, 227,
                  TS + cb.NOP + cb.NOP + cb.sack_opt((1, 2), (3, 4), (5, 6)))),
        ip(cb.tcp(52296, 80, 7, 0, 0x02, 1024, cb.pad_options(cb.MSS_1460 + bytes((34, 10)) + bytes(range(8))))),
        ip(cb.tcp(52296, 80, 7, 0, 0x02, 1024, cb.pad_options(bytes((34, 2))))),
        ip(cb.tcp(52296, 80, 7, 0, 0x02, 1024, cb.pad_options(bytes((254, 12, 0xF9, 0x89)) + bytes(range(8))))),
        ip(cb.tcp(52296, 80, 7, 0, 0x02, 1024, cb.pad_options(bytes((99, 6, 1, 2, 3, 4))))),
        ip(cb.tcp(52296, 80, 9, 5, 0x1FF, 0, urg=3, payload=b"!!!")),
        ip(cb.tcp(52296, 80, 9, 5, 0x0C2, 65535)),  # SYN with ECE+CWR (RFC 3168)
        ip(cb.tcp(52296, 80, 9, 5, 0x014, 0)),  # RST, ACK
        ip(cb.udp(), **({"nh": 17} if v6 else {"proto": 17})),
    ]
    if v6:
        out += [
            ip(cb.tcp(1, 2, 3, 4, 0x10, 5, TS, payload=b"e" * 9), ext=[(0, cb.ext_opts(0)), (60, cb.ext_opts(1))]),
            ip(cb.tcp(1, 2, 3, 4, 0x10, 5, TS), ext=[(51, cb.ext_ah(4))]),
            ip(cb.tcp(1, 2, 3, 4, 0x10, 5), ext=[(44, cb.ext_frag(0, False))]),
            ip(cb.tcp(1, 2, 3, 4, 0x10, 5, payload=b"f" * 40), ext=[(44, cb.ext_frag(0, True))]),
            cb.ipv6(cb.tcp(1, 2, 3, 4, 0x10, 5), src="::ffff:10.1.2.3", dst="::10.1.2.4"),
            cb.ipv6(cb.tcp(1, 2, 3, 4, 0x10, 5), src="fe80::1:0:0:1", dst="2001:0:0:1::"),
        ]
    else:
        out += [
            ip(cb.tcp(1, 2, 3, 4, 0x10, 5, TS, payload=b"o" * 5), options=bytes((148, 4, 0, 0))),
            ip(cb.tcp(1, 2, 3, 4, 0x10, 5, payload=b"o" * 5), options=bytes((7, 11, 4)) + bytes(8) + b"\0"),
            ip(cb.tcp(1, 2, 3, 4, 0x10, 5, payload=b"f" * 64), frag=0x2000),
            ip(bytes((6, 4)) + bytes(22) + cb.tcp(1, 2, 3, 4, 0x10, 5, TS, payload=b"ah"), proto=51),
            ip(cb.tcp(1, 2, 3, 4, 0x10, 5, payload=b"q"), total=300),  # claims more than the frame
            ip(cb.udp(), proto=1),
        ]
    return out


def ethernet_frames() -> list[bytes]:
    frames = []
    for v6 in (False, True):
        et = 0x86DD if v6 else 0x0800
        for p in ip_samples(v6):
            frames.append(cb.eth(p, et, pad_to=60))
            frames.append(cb.eth(p, et, vlans=[(0x8100, 7)]))
            frames.append(cb.eth(p, et, vlans=[(0x88A8, 100), (0x8100, 7)]))
    frames.append(cb.eth(bytes(28), 0x0806, pad_to=60))
    return frames


def write_pcap_cases(tmp: Path) -> list[Path]:
    paths = []

    def put(name: str, data: bytes) -> None:
        paths.append(tmp / name)
        (tmp / name).write_bytes(data)

    eth = ethernet_frames()
    both = ip_samples(False) + ip_samples(True)
    put("eth-le-usec.pcap", cb.pcap([(1700000000 + i, i * 7, f) for i, f in enumerate(eth)]))
    put("eth-be-nsec.pcap", cb.pcap([(1700000000 + i, i * 999999, f) for i, f in enumerate(eth)], order=">", nano=True))
    put("sll.pcap", cb.pcap([cb.sll(p, 0x86DD if p[0] >> 4 == 6 else 0x0800) for p in both], linktype=113))
    put("sll2.pcap", cb.pcap([cb.sll2(p, 0x86DD if p[0] >> 4 == 6 else 0x0800) for p in both], linktype=276))
    put("raw.pcap", cb.pcap(both, linktype=101))
    put("raw4.pcap", cb.pcap(ip_samples(False), linktype=228))
    put("raw6.pcap", cb.pcap(ip_samples(True), linktype=229))
    put("null-le.pcap", cb.pcap([cb.null(p, 30 if p[0] >> 4 == 6 else 2, "<") for p in both], linktype=0))
    put("null-be.pcap", cb.pcap([cb.null(p, 24 if p[0] >> 4 == 6 else 2, ">") for p in both], linktype=0))
    put("loop.pcap", cb.pcap([cb.loop(p, 24 if p[0] >> 4 == 6 else 2) for p in both], linktype=108))
    snap = cb.pcap_header(snaplen=70) + b"".join(
        cb.pcap_record(1700000000 + i, 0, f[:70], wirelen=len(f)) for i, f in enumerate(eth))
    put("snaplen70.pcap", snap)
    ng = cb.shb() + cb.idb(1, name="eth0") + cb.idb(113, tsresol=9) + cb.idb(101, tsresol=3)
    for i, f in enumerate(eth):
        ng += cb.epb(f, 0, 1_700_000_000_000_000 + i * 1234)
    for i, p in enumerate(both):
        ng += cb.epb(cb.sll(p, 0x86DD if p[0] >> 4 == 6 else 0x0800), 1, 1_700_000_000_000_000_000 + i * 5)
        ng += cb.epb(p, 2, 1_700_000_000_000 + i)
        ng += cb.block(4, bytes(8))  # a name resolution block between packets
    ng += cb.shb(">") + cb.idb(1, order=">")
    for i, f in enumerate(eth[:20]):
        ng += cb.epb(f, 0, 1_700_000_000_000_000 + i, ">")
    put("multi.pcapng", ng)
    return paths


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> list[Path]:
    return write_pcap_cases(tmp_path_factory.mktemp("built"))


@pytest.mark.parametrize("name", ["eth-le-usec.pcap", "eth-be-nsec.pcap", "sll.pcap", "sll2.pcap", "raw.pcap",
                                  "raw4.pcap", "raw6.pcap", "null-le.pcap", "null-be.pcap", "loop.pcap",
                                  "snaplen70.pcap", "multi.pcapng"])
def test_hand_built_captures_agree_with_tshark(built, name):
    (path,) = [p for p in built if p.name == name]
    scan = compare(path, min_segments=10)
    assert sum(scan.skipped.values()) >= 2  # UDP and friends were counted, not shown


def test_scapy_written_captures_agree_with_tshark(tmp_path):
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting
    from scapy.layers.l2 import Dot1Q
    from scapy.layers.l2 import Ether as _Ether
    from scapy.utils import PcapNgWriter, wrpcap

    Ether = functools.partial(_Ether, src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    opts = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1, 0)), ("NOP", None), ("WScale", 7)]
    pkts = [
        Ether() / IP(src="10.9.8.7", dst="10.9.8.6") / TCP(sport=1234, dport=80, flags="S", seq=99, options=opts),
        Ether() / IP(src="10.9.8.6", dst="10.9.8.7") / TCP(sport=80, dport=1234, flags="SA", seq=5, ack=100,
                                                            options=opts),
        Ether() / Dot1Q(vlan=5) / IP(src="10.9.8.7", dst="10.9.8.6") / TCP(sport=1234, dport=80, flags="PA", seq=100,
                                                                            ack=6) / (b"x" * 300),
        Ether() / IP(src="10.9.8.7", dst="10.9.8.6", options=[]) / UDP() / b"u",
        Ether() / IPv6(src="fd00::7", dst="fd00::6") / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting()
        / IPv6ExtHdrDestOpt() / TCP(sport=1, dport=2, flags="FA", seq=1, ack=2,
                                    options=[("SAck", (10, 20, 30, 40)), ("NOP", None), ("NOP", None)]),
        Ether() / IPv6(src="fd00::6", dst="fd00::7") / TCP(sport=2, dport=1, flags="RA", window=0),
    ]
    for i, p in enumerate(pkts):
        p.time = 1700000000 + i / 10
    wrpcap(str(tmp_path / "scapy.pcap"), pkts)
    w = PcapNgWriter(str(tmp_path / "scapy.pcapng"))
    for p in pkts:
        w.write(p)
    w.close()
    assert len(ours((tmp_path / "scapy.pcap").read_bytes())[0]) == 5
    compare(tmp_path / "scapy.pcap", min_segments=5)
    compare(tmp_path / "scapy.pcapng", min_segments=5)


# -- live captures in a network namespace ---------------------------------------------------

TRAFFIC = textwrap.dedent(
    """
    import socket, struct, time
    def pair(fam, host, up, down, abort=False, urgent=False):
        srv = socket.socket(fam, socket.SOCK_STREAM)
        srv.bind((host, 0)); srv.listen(1)
        port = srv.getsockname()[1]
        cli = socket.socket(fam, socket.SOCK_STREAM)
        cli.connect((host, port))
        conn, _ = srv.accept()
        cli.sendall(up)
        got = b""
        while len(got) < len(up):
            got += conn.recv(1 << 20)
        if urgent:
            cli.send(b"!", socket.MSG_OOB)
            time.sleep(0.05)
        conn.sendall(down)
        got = b""
        while len(got) < len(down):
            got += cli.recv(1 << 20)
        if abort:
            cli.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            cli.close(); conn.close()
        else:
            cli.shutdown(socket.SHUT_WR)
            conn.recv(10); conn.sendall(b"bye"); conn.close()
            while cli.recv(10): pass
            cli.close()
        srv.close()
    def fastopen(host):
        srv = socket.socket(); srv.setsockopt(socket.SOL_TCP, socket.TCP_FASTOPEN, 5)
        srv.bind((host, 0)); srv.listen(5); port = srv.getsockname()[1]
        for _ in range(2):
            c = socket.socket()
            c.sendto(b"hello fast open", socket.MSG_FASTOPEN, (host, port))
            s, _ = srv.accept(); s.recv(100); s.sendall(b"ok"); c.recv(10)
            c.close(); s.close()
        srv.close()
    pair(socket.AF_INET, "127.0.0.1", b"a" * 100, b"b" * 70000)
    pair(socket.AF_INET6, "::1", b"c" * 3000, b"d" * 10, urgent=True)
    pair(socket.AF_INET, "127.0.0.1", b"e", b"f", abort=True)
    fastopen("127.0.0.1")
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", 9))
    except ConnectionRefusedError:
        pass
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(b"x", ("127.0.0.1", 9))
    time.sleep(0.2)
    """
)

needs_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("tcpdump") is None,
                                reason="needs root, ip and tcpdump to record live traffic")


def _wait_listening(proc: subprocess.Popen, words: bytes) -> None:
    deadline = time.monotonic() + 10
    seen = b""
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen += line
        if words in line or not line:
            break
    assert words in seen, seen.decode(errors="replace")
    threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep draining


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("live")
    ns = f"tl-decode-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    procs: list[subprocess.Popen] = []
    streamed = {"scan": TcpScanner(flat=True), "segs": [], "bytes": bytearray()}
    try:
        run = ["ip", "netns", "exec", ns]
        subprocess.run(run + ["ip", "link", "set", "lo", "up"], check=True)
        for key, value in (("net.ipv4.tcp_ecn", "1"), ("net.ipv4.tcp_fastopen", "3")):
            subprocess.run(run + ["sysctl", "-q", "-w", f"{key}={value}"], check=False)
        captures = {
            "lo.pcap": ["tcpdump", "-U", "-i", "lo", "-w"],
            "any-sll2.pcap": ["tcpdump", "-U", "-i", "any", "-w"],
            "any-sll.pcap": ["tcpdump", "-U", "-i", "any", "-y", "LINUX_SLL", "-w"],
            "nano.pcap": ["tcpdump", "-U", "-i", "lo", "--time-stamp-precision=nano", "-w"],
        }
        for name, cmd in captures.items():
            p = subprocess.Popen(run + cmd + [str(tmp / name)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            procs.append(p)
            _wait_listening(p, b"listening on")
        if shutil.which("dumpcap"):
            p = subprocess.Popen(run + ["dumpcap", "-q", "-i", "lo", "-w", str(tmp / "dumpcap.pcapng")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            procs.append(p)
            _wait_listening(p, b"Capturing on")
        stream = subprocess.Popen(run + ["tcpdump", "-U", "-i", "lo", "-w", "-"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        procs.append(stream)
        _wait_listening(stream, b"listening on")

        def pump() -> None:
            while True:
                chunk = os.read(stream.stdout.fileno(), 4096)
                if not chunk:
                    break
                streamed["bytes"] += chunk
                streamed["segs"] += streamed["scan"].feed(chunk)

        pumper = threading.Thread(target=pump, daemon=True)
        pumper.start()
        time.sleep(0.3)
        subprocess.run(run + [sys.executable, "-c", TRAFFIC], check=True, timeout=60)
        time.sleep(0.5)
        streamed["before_stop"] = len(streamed["segs"])
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=10)
        pumper.join(timeout=10)
        streamed["scan"].finish()
        (tmp / "stream.pcap").write_bytes(bytes(streamed["bytes"]))
        yield tmp, streamed
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        subprocess.run(["ip", "netns", "del", ns], check=False)


@needs_root
@pytest.mark.parametrize("name", ["lo.pcap", "any-sll2.pcap", "any-sll.pcap", "nano.pcap", "dumpcap.pcapng"])
def test_live_captures_agree_with_tshark(live, name):
    tmp, _ = live
    path = tmp / name
    if not path.exists():
        pytest.fail(f"{name} was not recorded")
    scan = compare(path, min_segments=40)
    linktypes = {"lo.pcap": 1, "any-sll2.pcap": 276, "any-sll.pcap": 113, "nano.pcap": 1}
    if name in linktypes:
        assert scan.reader.interfaces[0].linktype == linktypes[name]
    assert scan.skipped["not TCP: UDP"] >= 1 or scan.skipped["not TCP: ICMP"] >= 1
    segs, _ = ours(path.read_bytes())
    flags = {s[10] for s in segs.values()}
    assert any(f & 0x0C2 == 0x0C2 for f in flags), "an ECN-setup SYN (SYN, ECE, CWR)"
    assert any(f & 0x012 == 0x012 for f in flags), "a SYN, ACK"
    assert any(f & 0x011 == 0x011 for f in flags), "a FIN, ACK"
    assert any(f & 0x014 == 0x014 for f in flags), "a RST, ACK"
    assert any(f & 0x018 == 0x018 for f in flags), "a PSH, ACK"
    versions = {s[3] for s in segs.values()}
    assert versions == {4, 6}
    options = b"".join(s[13] for s in segs.values())
    assert bytes((34, 2)) in options or bytes((34, 10)) in options, "TCP Fast Open options were seen"
    assert any(s[14] for s in segs.values()), "the urgent pointer of the OOB byte"


@needs_root
def test_live_stream_from_stdin_decodes_as_it_arrives(live):
    tmp, streamed = live
    scan = streamed["scan"]
    # Every segment was out before tcpdump was stopped: records leave as soon as they are whole.
    assert streamed["before_stop"] == len(streamed["segs"]) > 40
    assert scan.problems == []
    assert streamed["segs"] == list(ours((tmp / "stream.pcap").read_bytes())[0].values())
    compare(tmp / "stream.pcap", min_segments=40)


def test_benchmark_capture_agrees_with_tshark(tmp_path):
    """The generator of the benchmark file (tests/bench/make_big_pcap.py), small."""
    path = tmp_path / "bench.pcap"
    script = Path(__file__).resolve().parent / "bench" / "make_big_pcap.py"
    subprocess.run([sys.executable, str(script), str(path), "--segments", "3000", "--connections", "30",
                    "--concurrency", "10"], check=True, capture_output=True)
    scan = compare(path, min_segments=3000)
    assert scan.segments == scan.frames == 3000 and not scan.skipped
