"""Compare tcp-lab's view of a capture with tshark's, packet by packet (a test helper).

tshark runs as the issue asks (`-n -o tcp.desegment_tcp_streams:FALSE`), and with every
TCP port decoded as plain data (`-d tcp.port==0-65535,data`): that is how tshark prints
only TCP's own Info column for segments whose payload another dissector would claim
(TLS, SSH, HTTP ...; `--disable-protocol http` alone leaves TLS and the rest in place).
Only TCP packets not carried inside ICMP are compared (`-Y "tcp && !icmp && !icmpv6"`).
"""

from __future__ import annotations

import pathlib
import subprocess

from tcp_lab.core.replay import Replay

FIELDS = (
    "frame.number",
    "tcp.stream",
    "tcp.seq",
    "tcp.ack",
    "tcp.len",
    "tcp.window_size",
    "tcp.flags",
    "tcp.analysis.flags",
    "_ws.col.Info",
)

TSHARK_ARGS = (
    "-n",
    "-o",
    "tcp.desegment_tcp_streams:FALSE",
    "-d",
    "tcp.port==0-65535,data",
    "-Y",
    "tcp && !icmp && !icmpv6",
)


def tshark_rows(path: str | pathlib.Path) -> list[dict[str, str]]:
    """tshark's fields for every TCP packet of the capture."""
    cmd = ["tshark", "-r", str(path), *TSHARK_ARGS, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
    for field in FIELDS:
        cmd += ["-e", field]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    # tshark exits with 2 for a capture cut short at its end, after printing every packet.
    if proc.returncode != 0 and not (proc.returncode == 2 and "cut short" in proc.stderr):
        raise RuntimeError(f"tshark failed on {path}: {proc.stderr.strip()}")
    out = proc.stdout
    rows = []
    for line in out.splitlines():
        values = line.split("\t")
        rows.append(dict(zip(FIELDS, values)))
    return rows


def our_rows(path: str | pathlib.Path) -> list[dict[str, str]]:
    """tcp-lab's values for the same fields, formatted as tshark prints them."""
    replay = Replay(str(path))
    data = pathlib.Path(path).read_bytes()
    for i in range(0, len(data), 1 << 16):
        replay.feed(data[i : i + (1 << 16)])
    replay.finish()
    store = replay.store
    rows = []
    for row in range(len(store)):
        seq_rel, ack_rel = replay.relative(row)
        rows.append(
            {
                "frame.number": str(store.frame[row]),
                "tcp.stream": str(store.conv[row]),
                "tcp.seq": str(seq_rel),
                "tcp.ack": str(ack_rel),
                "tcp.len": str(store.length[row]),
                "tcp.window_size": str(store.win_scaled(row)),
                "tcp.flags": "0x%04x" % store.flags[row],
                "tcp.analysis.flags": "1" if store.analysis[row] else "",
                "_ws.col.Info": replay.info(row),
            }
        )
    return rows


def differences(path: str | pathlib.Path, limit: int = 20) -> list[str]:
    """Every field where tcp-lab and tshark disagree (at most `limit`), as sentences."""
    theirs = tshark_rows(path)
    ours = our_rows(path)
    problems: list[str] = []
    if len(theirs) != len(ours):
        problems.append(f"{path}: tshark shows {len(theirs)} TCP packets, tcp-lab {len(ours)}")
    for t, o in zip(theirs, ours):
        for field in FIELDS:
            if t.get(field, "") != o[field]:
                problems.append(
                    f"{pathlib.Path(path).name} frame {t.get('frame.number')}: {field} tshark={t.get(field)!r} tcp-lab={o[field]!r}"
                )
                if len(problems) >= limit:
                    return problems
    return problems
