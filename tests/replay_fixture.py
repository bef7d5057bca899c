"""Captures for the replay and live screens' tests: shipped ones put together into one
multi-connection capture, and a pipe fed record by record (a growing stdin stream)."""

from __future__ import annotations

import os
import struct
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CAPTURES = ROOT / "captures"

_FILE_HEADER = struct.Struct("<IHHiIII")
_RECORD = struct.Struct("<IIII")


def pcap_records(data: bytes) -> tuple[bytes, list[tuple[int, int, bytes]]]:
    """A little-endian microsecond pcap's file header and its records (sec, usec, bytes
    after the record header)."""
    magic = _FILE_HEADER.unpack_from(data)[0]
    assert magic == 0xA1B2C3D4, "a little-endian microsecond pcap"
    header = data[: _FILE_HEADER.size]
    out = []
    pos = _FILE_HEADER.size
    while pos < len(data):
        sec, usec, incl, orig = _RECORD.unpack_from(data, pos)
        pos += _RECORD.size
        out.append((sec, usec, data[pos - _RECORD.size : pos + incl]))
        pos += incl
    return header, out


def record_bytes(data: bytes) -> tuple[bytes, list[bytes]]:
    """A pcap's file header and each whole record (header and bytes), in order."""
    header, records = pcap_records(data)
    return header, [rec for _, _, rec in records]


def _ones_complement_update(checksum: int, old: int, new: int) -> int:
    """A 16-bit Internet checksum after one 16-bit word changed (RFC 1624, eqn. 3)."""
    s = (~checksum & 0xFFFF) + (~old & 0xFFFF) + new
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def with_port(record: bytes, old: int, new: int) -> bytes:
    """An Ethernet/IPv4 or /IPv6 record (16-byte pcap header first) whose TCP port `old`
    is now `new` (source or destination), the TCP checksum updated to match."""
    frame = bytearray(record[16:])
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    tcp = 14 + (frame[14] & 0xF) * 4 if ethertype == 0x0800 else 14 + 40
    for at in (tcp, tcp + 2):
        if struct.unpack_from("!H", frame, at)[0] == old:
            struct.pack_into("!H", frame, at, new)
            check = struct.unpack_from("!H", frame, tcp + 16)[0]
            struct.pack_into("!H", frame, tcp + 16, _ones_complement_update(check, old, new))
    return record[:16] + bytes(frame)


def joined_capture(names: list[str], path: Path, gap: float = 1.0, ports: dict[str, int] | None = None) -> Path:
    """The shipped captures `names` one after the other in one pcap (each shifted in time
    to start `gap` seconds after the previous one ended): one conversation each. `ports`
    gives some of them another server port than 80 (name -> port)."""
    out = bytearray()
    t = 1_700_000_000.0
    for name in names:
        header, records = pcap_records((CAPTURES / name).read_bytes())
        port = (ports or {}).get(name)
        if port is not None:
            records = [(sec, usec, with_port(rec, 80, port)) for sec, usec, rec in records]
        if not out:
            out += header
        first = records[0][0] + records[0][1] / 1e6
        last = t
        for sec, usec, rec in records:
            ts = t + (sec + usec / 1e6 - first)
            s = int(ts)
            u = round((ts - s) * 1e6)
            if u >= 1_000_000:
                s, u = s + 1, u - 1_000_000
            out += struct.pack("<II", s, u) + rec[8:]
            last = ts
        t = last + gap
    path.write_bytes(bytes(out))
    return path


class PipeFeeder:
    """A pipe whose write end a thread fills record by record, as `tcpdump -U -w -` does;
    the read end is `fd` (the screen reads it). `release(n)` lets n more records through;
    `close()` ends the stream."""

    def __init__(self, data: bytes) -> None:
        self.header, self.records = record_bytes(data)
        self.fd, self._w = os.pipe()
        self._allowed = 0
        self._sent = 0
        self._cond = threading.Condition()
        self._closing = False
        os.write(self._w, self.header)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def release(self, n: int | None = None) -> None:
        with self._cond:
            self._allowed = len(self.records) if n is None else min(len(self.records), self._allowed + n)
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._sent >= self._allowed and not self._closing:
                    self._cond.wait()
                if self._sent >= self._allowed and self._closing:
                    break
                rec = self.records[self._sent]
                self._sent += 1
            os.write(self._w, rec)
            time.sleep(0.001)
        os.close(self._w)
