"""Write captures/course-example.pcap: the course notes' example connection, rebuilt.

The notes show seven segments of a browser (10.21.71.101:52296, a Windows 10 PC) talking
HTTP to 118.178.116.8:80 (a Linux web server): the three-way handshake and the four-way
teardown, the server closing first. This script rebuilds the whole connection, with a
plausible HTTP exchange in between (1538 bytes of GET request up, 356 bytes of response
down), so that tshark's Info column shows the notes' lines and frame lengths
(66/66/54 for the handshake, 60/54/54/60 for the teardown).

Why the two SYN lines end in " WS=256 SACK_PERM" when the notes stop after the MSS:
the third segment's "Win=131072" and the client's "Win=130816" do not fit the 16-bit
window field, so they can only be scaled windows (raw 512 and 511, shifted by 8), and
Wireshark only scales when both SYNs carried the Window Scale option (RFC 7323 section
2.2); a WS option always adds "WS=..." to the Info column. The 66-byte SYN frames
(14 Ethernet + 20 IPv4 + 32 TCP) also leave exactly 12 option bytes: Windows 10's
MSS, NOP, WS, NOP, NOP, SACK_PERM and Linux's MSS, NOP, NOP, SACK_PERM, NOP, WS.
The notes cut those options off; captures/README.md says more.

Run:  uv run python captures/make_course_example.py   (or python -m tcp_lab.captures.make_course_example)
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from tcp_lab.core import options as tcpopt
from tcp_lab.core.pcapwrite import LINKTYPE_ETHERNET, pcap_bytes, tcp_packet
from tcp_lab.core.segment import ACK, FIN, PSH, SYN, Segment, seq_add

CLIENT = ("10.21.71.101", 52296)
SERVER = ("118.178.116.8", 80)
CLIENT_ISN = 3858868470  # the seq_raw of DESIGN.md's example
SERVER_ISN = 2741551189
CLIENT_MAC = bytes.fromhex("02a0c9157b3e")  # locally administered: no real vendor
GATEWAY_MAC = bytes.fromhex("0200ac15472e")
#: 2020-10-03 05:39:33 UTC, the time stamp in the notes' first screenshot's name.
START = 1601703573.118402
RTT = 0.028731
KEEPALIVE_TIMEOUT = 5.0  # the server closes the idle keep-alive connection after this

#: The notes' seven Info lines, as tshark prints them (the SYNs continued with their options).
NOTES_LINES = (
    "52296 → 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460",
    "80 → 52296 [SYN, ACK] Seq=0 Ack=1 Win=29200 Len=0 MSS=1300",
    "52296 → 80 [ACK] Seq=1 Ack=1 Win=131072 Len=0",
    "80 → 52296 [FIN, ACK] Seq=357 Ack=1539 Win=32768 Len=0",
    "52296 → 80 [ACK] Seq=1539 Ack=358 Win=130816 Len=0",
    "52296 → 80 [FIN, ACK] Seq=1539 Ack=358 Win=130816 Len=0",
    "80 → 52296 [ACK] Seq=358 Ack=1540 Win=32768 Len=0",
)
REQUEST_LEN = 1538
RESPONSE_LEN = 356


def _fill(template: str, length: int, marker: str = "{fill}") -> bytes:
    """`template` with `marker` replaced by enough letters to make it `length` bytes."""
    bare = len(template.replace(marker, "").encode())
    alphabet = "q7Hk2ZpX9mWc4TbN8vRj3LyF6dGs5QaE"
    need = length - bare
    filler = (alphabet * (need // len(alphabet) + 1))[:need]
    data = template.replace(marker, filler).encode()
    assert len(data) == length
    return data


def http_request() -> bytes:
    """A Chrome 85 GET with a long cookie: exactly 1538 bytes."""
    return _fill(
        "GET / HTTP/1.1\r\n"
        "Host: 118.178.116.8\r\n"
        "Connection: keep-alive\r\n"
        "Cache-Control: max-age=0\r\n"
        "Upgrade-Insecure-Requests: 1\r\n"
        "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/85.0.4183.121 Safari/537.36\r\n"
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
        "image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.9\r\n"
        "Accept-Encoding: gzip, deflate\r\n"
        "Accept-Language: zh-CN,zh;q=0.9,en;q=0.8\r\n"
        "Cookie: session={fill}\r\n"
        "\r\n",
        REQUEST_LEN,
    )


def http_response() -> bytes:
    """A small page from a Tengine server that keeps the connection alive: 356 bytes."""
    body_template = "<html><head><title>It works</title></head><body><p>{fill}</p></body></html>\n"
    head = (
        "HTTP/1.1 200 OK\r\n"
        "Server: Tengine\r\n"
        "Date: Sat, 03 Oct 2020 05:39:33 GMT\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "Content-Length: {n}\r\n"
        "Connection: keep-alive\r\n"
        "Keep-Alive: timeout=5\r\n"
        "\r\n"
    )
    # The body length appears in the header; it has three digits either way.
    body_len = RESPONSE_LEN - len(head.format(n="000").encode())
    body = _fill(body_template, body_len)
    data = head.format(n=body_len).encode() + body
    assert len(data) == RESPONSE_LEN
    return data


def course_example_packets() -> list[tuple[float, bytes]]:
    """The connection as (time, Ethernet frame) pairs, captured on the client PC.

    Frames the client sends are not padded (the capture sees them before the NIC pads
    them); frames from the server arrive padded to the 60-byte Ethernet minimum.
    """
    request, response = http_request(), http_response()
    c_seq = CLIENT_ISN  # the client's next sequence number to send
    s_seq = SERVER_ISN
    out: list[tuple[float, bytes]] = []
    ip_id = {"client": 0x4C1D, "server": 0x8A30}

    def send(t: float, sender: str, flags: int, win: int, payload: bytes = b"", opts: bytes = b"",
             acked: int | None = None) -> None:
        """Append one segment; `acked` (relative) when the sender has not seen all the peer sent."""
        nonlocal c_seq, s_seq
        if sender == "client":
            seg = Segment(*CLIENT, *SERVER, seq=c_seq, ack=s_seq if flags & ACK else 0,
                          flags=flags, win=win, length=len(payload), options=opts)
            frame = tcp_packet(seg, payload, src_mac=CLIENT_MAC, dst_mac=GATEWAY_MAC,
                               ttl=128, ip_id=ip_id["client"])
            c_seq = seq_add(c_seq, seg.seg_len)
        else:
            ack = c_seq if acked is None else seq_add(CLIENT_ISN, acked)
            seg = Segment(*SERVER, *CLIENT, seq=s_seq, ack=ack, flags=flags, win=win,
                          length=len(payload), options=opts)
            frame = tcp_packet(seg, payload, src_mac=GATEWAY_MAC, dst_mac=CLIENT_MAC,
                               ttl=52, ip_id=ip_id["server"], pad=True)
            s_seq = seq_add(s_seq, seg.seg_len)
        ip_id[sender] += 1
        out.append((START + t, frame))

    # Windows 10: MSS, NOP, WS=8, NOP, NOP, SACK_PERM. Linux answering a SYN without
    # timestamps: MSS, NOP, NOP, SACK_PERM, NOP, WS=7.
    syn_opts = tcpopt.build_options(mss=1460) + bytes((tcpopt.NOP, tcpopt.WS, 3, 8,
                                                       tcpopt.NOP, tcpopt.NOP, tcpopt.SACK_PERM, 2))
    synack_opts = tcpopt.build_options(mss=1300, sack_perm=True, ws=7)
    assert len(syn_opts) == len(synack_opts) == 12

    t = 0.0
    send(t, "client", SYN, 64240, opts=syn_opts)
    t += RTT
    send(t, "server", SYN | ACK, 29200, opts=synack_opts)
    t += 0.000094
    send(t, "client", ACK, 512)  # 512 << 8 = 131072
    t += 0.000611
    # The request does not fit the server's MSS of 1300: two segments, PSH on the last.
    send(t, "client", ACK, 512, request[:1300])
    t += 0.000012
    send(t, "client", PSH | ACK, 512, request[1300:])
    t += RTT
    send(t, "server", ACK, 249, acked=1301)  # Linux ACKs each segment at first (quick ACK mode): 249 << 7
    t += 0.000021
    send(t, "server", ACK, 256)  # 256 << 7 = 32768
    t += 0.001385
    send(t, "server", PSH | ACK, 256, response)
    t_response = t
    t += 0.041207  # Windows' delayed ACK
    send(t, "client", ACK, 511)  # 511 << 8 = 130816: the 356 bytes are not read yet
    # The page is loaded; the connection sits idle until the server's keep-alive timeout
    # (seen here half a round trip after the server sent its FIN).
    t = t_response + KEEPALIVE_TIMEOUT
    send(t, "server", FIN | ACK, 256)
    t += 0.000187
    send(t, "client", ACK, 511)
    t += 0.000932  # the browser sees end of file and closes its socket
    send(t, "client", FIN | ACK, 511)
    t += RTT
    send(t, "server", ACK, 256)
    return out


def course_example_bytes() -> bytes:
    """The whole pcap file (Ethernet, microsecond time stamps)."""
    return pcap_bytes(course_example_packets(), LINKTYPE_ETHERNET)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = pathlib.Path(__file__).resolve().parent / "course-example.pcap"
    parser.add_argument("--out", type=pathlib.Path, default=default, help="where to write (default: %(default)s)")
    args = parser.parse_args(argv)
    data = course_example_bytes()
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data)} bytes, {len(course_example_packets())} packets)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
