"""The recorder and the namespace harness, run for real: fresh namespaces, real sockets,
tcpdump, ss and nft; tshark reads what was recorded."""

import json
import subprocess
import sys

import pytest
from netns_util import (  # noqa: F401  (netns is a fixture)
    connection_states,
    count_pcap_records,
    namespace,
    netns,
    parse_ss,
    remove_stale,
    require_netns,
    tcp_match,
    unique_name,
)
from tcp_lab.captures import record as rec

CAPTURES = rec.HERE
TSHARK = ["-o", "tcp.desegment_tcp_streams:FALSE", "--disable-protocol", "http"]


def tshark(path, *fields):
    args = ["tshark", "-n", "-r", str(path), *TSHARK, "-T", "fields", "-E", "separator=|"]
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [line.split("|") for line in out.splitlines()]


def shape(path):
    """Who sent what: (source port, flags, payload length) for every packet."""
    return [(int(p), int(f, 16), int(n)) for p, f, n in tshark(path, "tcp.srcport", "tcp.flags", "tcp.len")]


# --- the harness -----------------------------------------------------------------------


def test_docstring_example_lost_fin_in_a_fixture_namespace(netns, tmp_path):  # noqa: F811
    listener = netns.socket()
    listener.bind(("127.0.0.1", 80))
    listener.listen()
    client = netns.socket()
    client.connect(("127.0.0.1", 80))
    server, _ = listener.accept()
    port = client.getsockname()[1]
    with netns.tcpdump(tmp_path / "c.pcap") as cap:
        rule = netns.drop(tcp_match(sport=port, flags=["fin"]), once=True)
        client.close()
        cap.wait_quiet(0.05)
        assert netns.dropped(rule) == 1 and cap.count() == 1
        assert netns.states(("127.0.0.1", port), ("127.0.0.1", 80)) == ("FIN-WAIT-1", "ESTAB")
        cap.wait_quiet(0.2)
        assert netns.states(("127.0.0.1", port), ("127.0.0.1", 80)) == ("FIN-WAIT-2", "CLOSE-WAIT")
        assert netns.dropped(rule) == 1  # the retransmitted FIN went through
    server.close()
    listener.close()
    assert cap.stats["captured"] == 3 and cap.stats["dropped"] == 0
    infos = [r[0] for r in tshark(tmp_path / "c.pcap", "_ws.col.Info")]
    assert infos[1].startswith(f"[TCP Retransmission] {port} → 80 [FIN, ACK]")


def ns_names():
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout


def test_namespace_and_its_processes_are_gone_even_after_a_failure():
    require_netns()
    with pytest.raises(RuntimeError, match="the test failed"), namespace() as ns:
        name = ns.name
        sleeper = ns.popen(["sleep", "30"])
        assert name in ns_names()
        raise RuntimeError("the test failed")
    assert name not in ns_names()
    assert sleeper.poll() is not None


def test_namespaces_left_by_a_killed_run_are_removed():
    require_netns()
    dead = subprocess.Popen(["true"])
    dead.wait()  # a pid that no longer exists
    name = f"tcplab-staletest-{dead.pid}-0"  # a prefix no fixture cleans up concurrently
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        assert remove_stale("tcplab-staletest") == [name]
        assert name not in ns_names()
        with namespace("tcplab-staletest") as alive:  # ours: our pid is alive
            assert remove_stale("tcplab-staletest") == []
            assert alive.name in ns_names()
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False, capture_output=True)


def test_namespaces_are_isolated_and_uniquely_named():
    require_netns()
    assert unique_name() != unique_name()
    with namespace() as a, namespace() as b:
        assert a.name != b.name
        for ns in (a, b):  # the same port twice: each namespace has its own
            sock = ns.socket()
            sock.bind(("127.0.0.1", 80))
            sock.listen()
            assert [r.state for r in ns.ss()] == ["LISTEN"]
            sock.close()
        out = a.run(["ip", "-o", "link", "show", "up"]).stdout
        assert out.count(": lo:") == 1 and len(out.splitlines()) == 1


def test_ss_rows_and_connection_states():
    rows = parse_ss(
        "LISTEN     0      8      [::1]:80        [::]:*\n"
        "ESTAB      0      0      [::1]:80        [::1]:52296\n"
        "FIN-WAIT-2 0      0      [::1]:52296     [::1]:80\n"
    )
    assert rows[1].local == "[::1]:80" and rows[1].peer_port == 52296 and rows[0].peer_port is None
    assert connection_states(rows, ("::1", 52296), ("::1", 80)) == ("FIN-WAIT-2", "ESTAB")
    assert connection_states(rows, ("::1", 5), ("::1", 80)) == ("UNCONN", "UNCONN")


def test_count_pcap_records_ignores_a_partly_written_record():
    from tcp_lab.core.pcapwrite import pcap_bytes

    data = pcap_bytes([(0, b"x" * 60), (1, b"y" * 60)])
    assert count_pcap_records(data) == 2
    assert count_pcap_records(data[:-1]) == 1
    assert count_pcap_records(data[:20]) == 0


# --- fresh recordings --------------------------------------------------------------------


def test_fresh_normal_recording_matches_the_shipped_one(tmp_path):
    require_netns()
    pcap, points = rec.record("normal", tmp_path)
    assert pcap == tmp_path / "normal.pcap"
    assert json.loads((tmp_path / "normal.checkpoints.json").read_text()) == points
    assert shape(pcap) == shape(CAPTURES / "normal.pcap")
    shipped = json.loads((CAPTURES / "normal.checkpoints.json").read_text())
    strip = lambda ps: [(p["after_packets"], p["client"], p["server"], p["label"]) for p in ps]
    assert strip(points) == strip(shipped)
    infos = [r[0] for r in tshark(pcap, "_ws.col.Info")]
    assert infos[0].startswith("52296 → 80 [SYN] Seq=0 ") and infos[-1].startswith("52296 → 80 [ACK] ")


def test_fresh_lost_fin_recording_shows_the_retransmission(tmp_path):
    require_netns()
    pcap, points = rec.record("lost-fin", tmp_path)
    rows = tshark(pcap, "tcp.srcport", "tcp.flags.fin", "tcp.analysis.retransmission", "frame.time_relative")
    fins = [r for r in rows if r[0] == "52296" and r[1] in ("1", "True")]
    assert len(fins) == 2 and fins[1][2] == "1"
    assert float(fins[1][3]) - float(fins[0][3]) >= 0.2
    lost = [p for p in points if p["undelivered"]]
    assert [(p["client"], p["server"]) for p in lost] == [("FIN-WAIT-1", "ESTAB")]
    assert points[-1]["client"] == "TIME-WAIT" and points[-1]["after_packets"] == len(rows)


def test_fresh_refused_recording(tmp_path):
    require_netns()
    pcap, points = rec.record("refused", tmp_path)
    assert [r[0] for r in tshark(pcap, "_ws.col.Info")][1] == "80 → 52296 [RST, ACK] Seq=1 Ack=1 Win=0 Len=0"
    assert points == json.loads((tmp_path / "refused.checkpoints.json").read_text())
    assert [(p["after_packets"], p["client"], p["server"]) for p in points] == [(2, "UNCONN", "UNCONN")]


def test_record_command_line():
    listing = subprocess.run([sys.executable, "-m", "tcp_lab.captures.record", "--list"],
                             capture_output=True, text=True, check=False)
    assert listing.returncode == 0
    assert [line.split()[0] for line in listing.stdout.splitlines()] == list(rec.EXCHANGES)
    bad = subprocess.run([sys.executable, "-m", "tcp_lab.captures.record", "no-such-exchange"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1 and "unknown: no-such-exchange" in bad.stderr
