"""Real TCP in a throw-away network namespace, for tests: sockets, tcpdump, ss, nft drops.

Every test that needs the real kernel (sniffing tests, kernel-state oracle tests, the
capture recorder's tests) uses this instead of the host's network: a namespace has only
`lo`, so ports never clash with the host or with other tests (xdist workers included),
`ss` lists only the test's sockets, nft rules touch nothing else, and deleting it ends
every leftover TIME_WAIT. Names are unique per process and call (`tcplab-<pid>-<n>`).

The machinery lives in the package (`tcp_lab.captures.netns`, also used by
captures/record.py); this module re-exports it and adds pytest fixtures. Needs root,
iproute2 (`ip`, `ss`), tcpdump and nft; `require_netns()` fails the test with one clear
sentence when one is missing.

Use the fixture (import it into your test module; pytest finds it there)::

    from netns_util import netns, tcp_match  # noqa: F401  (netns is a fixture)

    def test_lost_fin_is_retransmitted(netns, tmp_path):
        listener = netns.socket()                 # a socket inside the namespace
        listener.bind(("127.0.0.1", 80)); listener.listen()
        client = netns.socket()
        client.connect(("127.0.0.1", 80))
        server, _ = listener.accept()
        port = client.getsockname()[1]
        with netns.tcpdump(tmp_path / "c.pcap") as cap:      # stopped on exit
            rule = netns.drop(tcp_match(sport=port, flags=["fin"]), once=True)
            client.close()                                   # FIN, dropped on input
            cap.wait_quiet(0.05)
            assert netns.dropped(rule) == 1 and cap.count() == 1
            assert netns.states(("127.0.0.1", port), ("127.0.0.1", 80)) == ("FIN-WAIT-1", "ESTAB")
            cap.wait_quiet(0.2)                              # RTO: the FIN again, then its ACK
            assert netns.states(("127.0.0.1", port), ("127.0.0.1", 80)) == ("FIN-WAIT-2", "CLOSE-WAIT")

or the context manager, anywhere::

    with namespace() as ns:
        out = ns.run(["ss", "-tan"]).stdout            # any command, inside
        proc = ns.popen(["uv", "run", "tcp-lab", "sniff", "-i", "lo", "--format", "json"],
                        stdout=subprocess.PIPE)        # stopped when the namespace goes

What is here:
- `Namespace` / `namespace()` / fixture `netns`: create (lo up) and delete, even when the
  test fails; `run`, `popen` (processes are stopped on delete), `inside()` (setns for the
  calling thread), `socket()`.
- `ns.tcpdump(path)` -> `Tcpdump`: writes packet by packet; `count()`, `wait_for(n)`,
  `wait_quiet(seconds)`, `stop()` -> {"captured", "received", "dropped"}.
- `ns.ss()` -> [SsRow(state, recv_q, send_q, local, peer)], `ns.states(client, server)`
  -> ("FIN-WAIT-2", "CLOSE-WAIT") with "UNCONN" for a socket that is gone.
- `ns.drop(match, once=False, chain="input")` -> NftRule; `ns.dropped(rule)`,
  `ns.delete_rule(rule)`; `tcp_match(sport=, dport=, flags=[...], not_flags=[...])`.
  On lo, the input hook is after tcpdump's capture point: the capture shows a packet that
  the input chain then drops (a lost segment and, later, its retransmission).
- `count_pcap_records(bytes)`: complete records in a (growing) pcap.
- `remove_stale(prefix)`: delete `<prefix>-<pid>-<n>` namespaces whose process was killed
  (the fixture calls it for its own prefix, "tcplab-test").
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator

import pytest
from tcp_lab.captures.netns import (  # noqa: F401  (re-exported for tests)
    Namespace,
    NetnsError,
    NftRule,
    SsRow,
    Tcpdump,
    connection_states,
    count_pcap_records,
    endpoint_text,
    parse_ss,
    remove_stale,
    tcp_match,
    unique_name,
)

TOOLS = ("ip", "ss", "tcpdump", "nft")


def require_netns() -> None:
    """Fail (not skip) the calling test with one sentence when namespaces cannot work here."""
    if os.geteuid() != 0:
        pytest.fail("network-namespace tests need root (ip netns add)", pytrace=False)
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.fail(f"network-namespace tests need {', '.join(missing)} (apt install iproute2 tcpdump nftables)",
                    pytrace=False)


@contextlib.contextmanager
def namespace(prefix: str = "tcplab") -> Iterator[Namespace]:
    """A fresh namespace with lo up, deleted on exit whatever happens inside."""
    ns = Namespace(prefix)
    try:
        ns.create()
        yield ns
    finally:
        ns.delete()


@pytest.fixture
def netns() -> Iterator[Namespace]:
    """A fresh network namespace for one test (deleted after it, pass or fail)."""
    require_netns()
    remove_stale("tcplab-test")  # left behind by a killed run, if any
    with namespace("tcplab-test") as ns:
        yield ns
