"""A long, hard live sniff keeps its memory bounded (issue 6 item 4).

`tcp-lab sniff --format json` runs in a fresh network namespace while a load generator
(tests/load_gen.py) opens and closes short connections as fast as four threads can and
streams one bulk transfer, for 20 seconds: tens of thousands of connections, hundreds of
thousands of segments. With small limits (30,000 segments, 10,000 per conversation, 300
conversations) the sniffer's RSS, sampled every half second, stops growing once the
limits are reached; every segment tracked is printed exactly once (the limits drop rows
from memory, never from the output); stderr says what was dropped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from tcp_lab.captures.netns import Namespace

TCP_LAB = str(Path(sys.executable).parent / "tcp-lab")
LOAD_GEN = str(Path(__file__).resolve().parent.parent / "load_gen.py")
PORT = 8080
SECONDS = 20
STATS = re.compile(r"; (\d+) TCP segments? in (\d+) conversations?\.$")


def rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def test_an_hour_of_traffic_in_twenty_seconds_keeps_memory_flat():
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.fail("the long-run sniff test needs root and iproute2 (ip netns)", pytrace=False)
    with Namespace("tcplab-long") as ns:
        ns.run(["sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1"])
        ns.run(["sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65000"])
        sniff = ns.popen(
            [TCP_LAB, "sniff", "-i", "lo", "--port", str(PORT), "--format", "json",
             "--max-segments", "30000", "--max-segments-per-conn", "10000", "--max-conns", "300"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        counts = {"lines": 0, "bad": 0, "last_no": 0, "backwards": 0}
        err: list[str] = []

        def read_out() -> None:
            for raw in sniff.stdout:
                counts["lines"] += 1
                if counts["lines"] % 97 == 1:  # a sample: valid JSON, frame numbers go up
                    try:
                        no = json.loads(raw)["no"]
                    except (ValueError, KeyError):
                        counts["bad"] += 1
                        continue
                    if no <= counts["last_no"]:
                        counts["backwards"] += 1
                    counts["last_no"] = no

        def read_err() -> None:
            for raw in sniff.stderr:
                err.append(raw.decode().rstrip("\n"))

        readers = [threading.Thread(target=read_out, daemon=True), threading.Thread(target=read_err, daemon=True)]
        for t in readers:
            t.start()
        deadline = time.monotonic() + 15
        while not any("capturing on" in line for line in err):
            assert time.monotonic() < deadline and sniff.poll() is None, f"sniff did not start: {err}"
            time.sleep(0.05)
        load = ns.popen([sys.executable, LOAD_GEN, str(PORT), str(SECONDS), "4"], stdout=subprocess.PIPE)
        samples: list[tuple[float, float]] = []
        started = time.monotonic()
        while load.poll() is None:
            rss = rss_mb(sniff.pid)
            if rss is not None:
                samples.append((time.monotonic() - started, rss))
            time.sleep(0.5)
        load_out = load.stdout.read().decode()
        time.sleep(1.0)  # the last segments reach the sniffer
        sniff.send_signal(signal.SIGINT)
        assert sniff.wait(30) == 0, err
        for t in readers:
            t.join(10)
        ns.forget(sniff)
        ns.forget(load)

    connections = int(load_out.split()[1])
    stats = next((STATS.search(line) for line in err if STATS.search(line)), None)
    assert stats is not None, err
    tracked = int(stats.group(1))
    print(f"\n{load_out.strip()}; {tracked} segments tracked; RSS (s, MB): "
          + ", ".join(f"{t:.0f}:{m:.0f}" for t, m in samples[::4]) + "\n" + "\n".join(err[:3] + err[-2:]))
    # Hard enough that the limits bit many times over.
    assert connections > 5_000 and tracked > 100_000, (load_out, tracked)
    # Every tracked segment printed once, as valid JSON, in order.
    assert counts["lines"] == tracked and counts["bad"] == 0 and counts["backwards"] == 0
    # Said on stderr: what went, and the total at the end.
    assert any(line.startswith("tcp-lab: forgot the ") for line in err), err[:5]
    assert any(line.startswith("tcp-lab: kept the last ") for line in err), err[:5]
    assert any(line.startswith("tcp-lab: memory bound: ") for line in err), err[-3:]
    # RSS flat once the limits are reached: the last three quarters of the run grow by
    # less than 12 MB (without limits it grows by some 100 MB per million segments).
    settled = [m for t, m in samples if t >= SECONDS / 4]
    assert len(settled) >= 20
    assert max(settled) - settled[0] < 12, samples
    assert max(m for _, m in samples) < 200, samples
