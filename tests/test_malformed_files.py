"""Broken captures and things that are not captures, given to `tcp-lab replay`: the table
below is the specification of what a user gets.

The corpus is built by tests/make_malformed.py into tmp_path, from the real recording
captures/normal.pcap (11 segments). Every case runs through the real command, in a
subprocess with a timeout (a hang fails the test), with --format json, --format text and
--conversations, and (for the byte-stream cases) once more through stdin (`replay -`).

What every run must be (tests/hostile_cli.assert_clean): no traceback, no "internal error",
every stderr line one `tcp-lab: ...` sentence. Then, per case, one of:

- ERROR: exit 2, nothing on stdout, exactly one line on stderr saying what is wrong;
- SHOWN n: exit 0, the n segments that can be shown, and on stderr one line per problem:
  where the capture stopped short (damage at its end), or which packets were left out
  and why (a packet that gives no segment is never dropped silently).

A stream cannot refuse what it has already printed: damage in the middle of stdin prints
the segments before it, then the sentence, and exits 2.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_malformed as mm  # noqa: E402
from hostile_cli import TCP_LAB, Run, assert_clean, public_dir, run_tcp_lab  # noqa: E402,F401  (public_dir: a fixture)


@dataclass(frozen=True)
class Expect:
    """What `tcp-lab replay FILE` gives. `shown` None means an error (exit 2, nothing on
    stdout); `stderr`: one regex per stderr line, in order ({name} is the file's name);
    `stdin_shown`: segments printed when the same bytes come through stdin, if that
    differs (damage in the middle of a stream)."""

    shown: int | None
    stderr: tuple[str, ...] = ()
    stdin_shown: int | None = None
    stdin: bool = True  # also run it through stdin
    exit: int | None = None  # default: 2 for an error, 0 when shown
    convs: int = field(default=1)

    @property
    def code(self) -> int:
        if self.exit is not None:
            return self.exit
        return 2 if self.shown is None else 0


STOPS_SHORT = r"^tcp-lab: {name} stops short at byte {at}: the capture ends inside a record: only {n} bytes of it arrived; shown: the {shown} TCP segments before it\.$"


def stops_short(at: int, n: int, shown: int) -> str:
    return STOPS_SHORT.replace("{at}", str(at)).replace("{n}", str(n)).replace("{shown}", str(shown))


def left_out(*reasons: str) -> str:
    """One stderr line saying which packets were left out (each reason with its count)."""
    return r"^tcp-lab: {name}\b.*" + r".*".join(re.escape(r) for r in reasons)


def no_segment(*reasons: str) -> str:
    """The one sentence for a capture that gives nothing to show, and why."""
    return r"^tcp-lab: {name}\b.*\bno (TCP )?(segment|packet)s?\b.*" + r".*".join(re.escape(r) for r in reasons)


DAMAGED = r".*the file is damaged$"

#: The specification: case name (tests/make_malformed.py) -> what the user gets.
EXPECT: dict[str, Expect] = {
    # Not captures at all.
    "empty": Expect(None, (r"^tcp-lab: {name} is empty: there is no capture to read$",)),
    "text": Expect(None, (r"^tcp-lab: {name} is a text file, not a pcap or pcapng capture$",)),
    "gzip": Expect(None, (r"^tcp-lab: {name} is a gzip-compressed file \(decompress it first: gunzip\), not a pcap or pcapng capture$",)),
    "bzip2": Expect(None, (r"^tcp-lab: {name} is a bzip2-compressed file \(decompress it first: bunzip2\), not a pcap or pcapng capture$",)),
    "xz": Expect(None, (r"^tcp-lab: {name} is an xz-compressed file \(decompress it first: unxz\), not a pcap or pcapng capture$",)),
    "zip": Expect(None, (r"^tcp-lab: {name} is a zip archive \(extract the capture from it first\), not a pcap or pcapng capture$",)),
    "directory": Expect(None, (r"^tcp-lab: {name} is a directory, not a capture file$",), stdin=False),
    "missing": Expect(None, (r"^tcp-lab: {name}: no such file$",), stdin=False),
    "bad-magic": Expect(None, (r"^tcp-lab: {name}: this is not a pcap or pcapng capture \(it starts with de ad be ef\)",)),
    # Damaged headers.
    "short-header": Expect(None, (r"^tcp-lab: {name}\b.*ends after 10 bytes, inside the capture file header",)),
    "pcap-v3": Expect(None, (r"^tcp-lab: {name}: pcap version 3\.4 is not supported \(only 2\.x is\)",)),
    "modified-pcap": Expect(None, (r"^tcp-lab: {name}: this is a 'modified pcap' \(Kuznetsov\) file, which tcp-lab does not read; convert it with editcap -F pcap",)),
    "pcapng-v2": Expect(None, (r"^tcp-lab: {name}: pcapng version 2\.0 is not supported \(only 1\.x is\)",)),
    # Damage at the end: everything before it, and where it stopped.
    "truncated-record": Expect(10, (stops_short(1032, 77, 10),)),
    "cut-in-record-header": Expect(10, (stops_short(1032, 7, 10),)),
    "trailing-garbage": Expect(11, (stops_short(1114, 8, 11),)),
    "pcapng-cut-short": Expect(10, (stops_short(1236, 80, 10),)),
    # Damage in the middle of a file: the rest cannot be found, the file is refused.
    "caplen-2gb-middle": Expect(None, (r"^tcp-lab: {name}: the record at byte 515 claims 2147483648 captured bytes, more than any capture holds \(262144\)" + DAMAGED,), stdin_shown=5),
    "caplen-2gb-last": Expect(None, (r"^tcp-lab: {name}: the record at byte 1032 claims 2147483648 captured bytes" + DAMAGED,), stdin_shown=10),
    "pcapng-length-lies": Expect(None, (r"^tcp-lab: {name}: the pcapng block at byte 628 says it is 56 bytes long at its start but 6 at its end" + DAMAGED,), stdin_shown=5),
    "pcapng-length-odd": Expect(None, (r"^tcp-lab: {name}: the pcapng block at byte 628 has an impossible length \(30 bytes\)" + DAMAGED,), stdin_shown=5),
    # Packets that give no segment: shown what can be, the rest counted with a reason.
    "caplen-over-snaplen": Expect(9, (left_out("2", "captured length larger than the snapshot length"),)),
    "zero-length-records": Expect(11, (left_out("4", "truncated Ethernet header"),)),
    "pcapng-iface-out-of-range": Expect(9, (left_out("2", "no Interface Description Block"),)),
    "pcapng-caplen-past-block": Expect(10, (left_out("1", "captured length runs past the block"),)),
    "pcapng-unknown-block": Expect(11, (left_out("1", "unknown pcapng block type"),)),
    # Nothing to show at all: one sentence that says why.
    "header-only": Expect(None, (no_segment(),), convs=0),
    "only-udp": Expect(None, (no_segment("3", "not TCP: UDP"),), convs=0),
    "linktype-802.11": Expect(None, (no_segment("11", "unsupported link type 105"),), convs=0),
    "pcapng-no-idb": Expect(None, (no_segment("11", "no Interface Description Block"),), convs=0),
    # Odd but valid: read whole.
    "time-backwards": Expect(11),
    "pcap-be-nsec": Expect(11),
    "pcapng": Expect(11),
    "pcapng-big-endian": Expect(11),
    "pcapng-two-orders": Expect(11),
    "pcapng-100k-interfaces": Expect(11),
    "pcapng-tsresol": Expect(11),
}

SPECIAL = {"unreadable", "growing", "fifo"}  # own tests below


def test_every_corpus_case_has_an_expectation():
    assert set(EXPECT) | SPECIAL == {c.name for c in mm.CASES}


#: Seconds a pathological capture may take. Linear work takes well under a second for
#: these 6,000 segments; work that grows with the square of the conversation's length
#: takes a minute or more (6,000 copies of one SYN took 35 s before 945607f), which a
#: user takes for a hang.
PATHOLOGICAL_TIMEOUT = 10


@pytest.mark.parametrize("case", [c.name for c in mm.PATHOLOGICAL])
def test_pathological_capture_is_not_a_hang(case, tmp_path):
    """The same control segment again and again in one conversation: valid, every
    segment shown, in time linear in the capture (a subprocess timeout catches a
    quadratic replay), with --format json and --conversations."""
    path = mm.BY_NAME[case].build(tmp_path)
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(
            lambda args: run_tcp_lab(["replay", str(path), *args], timeout=PATHOLOGICAL_TIMEOUT),
            (["--format", "json"], ["--format", "json", "--conversations"])))
    for run in runs:
        assert_clean(run)
        assert run.returncode == 0 and run.stderr == "", run.stderr
    rows = runs[0].out_lines
    assert len(rows) in (mm.PATHOLOGICAL_COPIES, mm.PATHOLOGICAL_COPIES + 1, mm.PATHOLOGICAL_COPIES + 2,
                         mm.PATHOLOGICAL_COPIES + 3)
    assert json.loads(runs[1].out_lines[0])["conn"] == 0


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("malformed")
    return mm.build(d, [n for n in EXPECT])


def _formats() -> list[tuple[str, list[str]]]:
    return [("json", ["--format", "json"]), ("text", ["--format", "text"]),
            ("conversations", ["--format", "text", "--conversations"]),
            ("conversations-json", ["--format", "json", "--conversations"])]


def _check_stdout(run: Run, fmt: str, shown: int, convs: int) -> None:
    lines = run.out_lines
    if fmt == "json":
        assert len(lines) == shown, f"{len(lines)} JSON lines, expected {shown}: {run.stderr}"
        nos = [json.loads(line)["no"] for line in lines]
        assert nos == sorted(nos), "frames out of capture order"
    elif fmt == "text":
        assert len(lines) == shown, f"{len(lines)} text lines, expected {shown}: {run.stderr}"
    elif fmt == "conversations":
        assert len(lines) == (1 + convs if shown else 0), lines
    else:
        assert len(lines) == (convs if shown else 0), lines
        for line in lines:
            json.loads(line)


def _check_stderr(run: Run, patterns: tuple[str, ...], name: str) -> None:
    lines = run.err_lines
    assert len(lines) == len(patterns), f"expected {len(patterns)} stderr line(s), got {lines}"
    for line, pat in zip(lines, patterns):
        assert re.search(pat.replace("{name}", re.escape(name)), line), f"stderr {line!r} does not match {pat!r}"
        assert line.count("at byte") <= 1, f"says where twice: {line!r}"
        assert "the input: the input" not in line, line


def _in_process(args: list[str], capsys) -> Run:
    """The command run inside the test process (quicker than a subprocess; used once the
    subprocess run with a timeout has shown the input does not hang)."""
    from tcp_lab.tui import cli

    code = cli.main(args)
    out, err = capsys.readouterr()
    return Run(args, code, out, err)


@pytest.mark.parametrize("case", sorted(EXPECT))
def test_file(case, corpus, capsys, monkeypatch):
    """`tcp-lab replay FILE` in every output form: JSON through the real command in a
    subprocess with a timeout, the other forms in-process."""
    monkeypatch.delenv("TCP_LAB_DEBUG", raising=False)
    exp = EXPECT[case]
    path = corpus[case]
    runs = [("json", run_tcp_lab(["replay", str(path), "--format", "json"]))]
    capsys.readouterr()
    runs += [(fmt, _in_process(["replay", str(path), *args], capsys)) for fmt, args in _formats()[1:]]
    for fmt, run in runs:
        assert_clean(run)
        assert run.returncode == exp.code, f"{fmt}: exit {run.returncode}, expected {exp.code}: {run.stderr}"
        if exp.shown is None:
            assert run.stdout == "", f"{fmt}: an error, yet printed {run.stdout[:200]!r}"
        else:
            _check_stdout(run, fmt, exp.shown, exp.convs)
        _check_stderr(run, exp.stderr, str(path))


@pytest.mark.parametrize("case", sorted(c for c, e in EXPECT.items() if e.stdin))
def test_stdin(case, corpus):
    """The same bytes through `tcp-lab replay -`: the same sentences about "the input";
    damage in the middle of a stream comes after the segments before it."""
    exp = EXPECT[case]
    path = corpus[case]
    run = run_tcp_lab(["replay", "-", "--format", "json"], stdin_file=str(path))
    assert_clean(run)
    assert run.returncode == exp.code, f"exit {run.returncode}, expected {exp.code}: {run.stderr}"
    shown = exp.stdin_shown if exp.stdin_shown is not None else (exp.shown or 0)
    _check_stdout(run, "json", shown, exp.convs)
    patterns = tuple(
        p.replace(r"^tcp-lab: {name} is ", r"^tcp-lab: the input is ").replace("{name}", "the input") for p in exp.stderr
    )
    _check_stderr(run, patterns, "the input")


def test_unreadable_file_as_nobody(public_dir):
    """Mode 000, read by an unprivileged user: one sentence, exit 3 (a missing permission, DESIGN.md; run as nobody
    through setpriv: root would read it anyway)."""
    path = mm.BY_NAME["unreadable"].build(public_dir)
    for fmt in ("json", "text"):
        run = run_tcp_lab(["replay", str(path), "--format", fmt], as_nobody=True)
        assert_clean(run)
        assert (run.returncode, run.stdout) == (3, "")
        assert run.err_lines == [f"tcp-lab: {path}: permission denied (cannot read it)"]
    # The same file is fine once readable: the refusal was about permission only.
    path.chmod(0o644)
    run = run_tcp_lab(["replay", str(path), "--format", "json"], as_nobody=True)
    assert (run.returncode, len(run.out_lines), run.stderr) == (0, 11, "")


def test_file_in_a_directory_the_user_may_not_enter(public_dir):
    """The file exists, but its directory is closed to the user (mode 700): that is a
    permission problem, not a missing file."""
    closed = public_dir / "closed"
    closed.mkdir(mode=0o700)
    path = closed / "normal.pcap"
    path.write_bytes(mm.normal_bytes())
    run = run_tcp_lab(["replay", str(path), "--format", "json"], as_nobody=True)
    assert_clean(run)
    assert (run.returncode, run.stdout) == (3, "")
    assert len(run.err_lines) == 1 and "permission denied" in run.err_lines[0], run.err_lines


def test_path_that_is_not_utf8(tmp_path):
    name = os.fsdecode(b"\xff\xfe-capture.pcap")
    run = run_tcp_lab(["replay", str(tmp_path / name), "--format", "json"])
    assert_clean(run)
    assert run.returncode == 2 and len(run.err_lines) == 1 and run.err_lines[0].endswith(": no such file")


# -- a capture still being written -------------------------------------------------------------

WRITER = r"""
import sys, time, struct
path, count = sys.argv[1], int(sys.argv[2])
base = open(sys.argv[3], "rb").read()
recs, pos = [], 24
while pos < len(base):
    caplen = struct.unpack_from("<I", base, pos + 8)[0]
    recs.append(bytearray(base[pos:pos + 16 + caplen])); pos += 16 + caplen
with open(path, "ab", buffering=0) as f:
    for k in range(count):
        for r in recs:
            r = bytearray(r)
            # a new client port per connection: 52296 + k (sport or dport of the frame)
            for off in (34, 36):
                if struct.unpack_from("!H", r, 16 + off)[0] == 52296:
                    struct.pack_into("!H", r, 16 + off, 52296 + k)
            half = len(r) // 2
            f.write(r[:half]); time.sleep(0.0005)   # a reader may come in here, mid-record
            f.write(r[half:])
        time.sleep(0.002)
print("done", flush=True)
"""


def test_growing_file_shows_what_is_there_and_says_where_it_stopped(tmp_path):
    """A writer appends records (half a record at a time) while tcp-lab reads the file
    again and again. Every read shows the complete records present then, in order, and
    stops at the incomplete end without waiting for more: exit 0, and the one stderr line
    says where it stopped when a record was cut. No read hangs or fails."""
    path = tmp_path / "growing.pcap"
    path.write_bytes(mm.normal_bytes()[:24])
    connections = 60
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(connections), str(mm.NORMAL)],
                              stdout=subprocess.PIPE, text=True)
    seen: list[int] = []
    cut_reports = 0
    try:
        while writer.poll() is None:
            run = run_tcp_lab(["replay", str(path), "--format", "json"], timeout=20)
            assert_clean(run)
            if run.returncode == 2:
                # Only possible before the first packet: a header and no records yet.
                assert not seen and len(run.err_lines) == 1, run.stderr
                continue
            assert run.returncode == 0, run.stderr
            rows = [json.loads(line) for line in run.out_lines]
            assert [r["no"] for r in rows] == list(range(1, len(rows) + 1)), "a record was skipped or repeated"
            assert all(len(r["flags"]) for r in rows)
            if run.err_lines:
                assert len(run.err_lines) == 1
                assert re.match(stops_short(r"\d+", r"\d+", str(len(rows))).replace("{name}", re.escape(str(path))),
                                run.err_lines[0]), run.err_lines
                cut_reports += 1
            seen.append(len(rows))
    finally:
        writer.wait(timeout=60)
    assert writer.returncode == 0
    assert seen == sorted(seen), f"a later read showed fewer segments: {seen}"
    assert len(seen) >= 3, f"only {len(seen)} reads while the file grew"
    final = run_tcp_lab(["replay", str(path), "--format", "json"])
    assert (final.returncode, final.stderr, len(final.out_lines)) == (0, "", 11 * connections)
    convs = run_tcp_lab(["replay", str(path), "--format", "json", "--conversations"])
    assert len(convs.out_lines) == connections
    # The reader landed mid-record at least once (half-records are written 0.5 ms apart).
    print(f"{len(seen)} reads, {cut_reports} of them stopped inside a record")


def test_growing_file_cut_mid_record_while_the_writer_pauses(tmp_path):
    """The file as a writer left it, half a record at the end: segments before it, one
    line saying where it stopped, no waiting."""
    path = mm.BY_NAME["growing"].build(tmp_path)
    start = time.monotonic()
    run = run_tcp_lab(["replay", str(path), "--format", "text"])
    assert time.monotonic() - start < 10
    assert_clean(run)
    assert run.returncode == 0 and len(run.out_lines) == 7
    assert run.err_lines == [f"tcp-lab: {path} stops short at byte {mm.record_offsets()[7]}: the capture ends inside "
                             "a record: only 20 bytes of it arrived; shown: the 7 TCP segments before it."]


def test_fifo_given_as_file(tmp_path):
    """A named pipe: tcp-lab reads what the writer sends until it closes."""
    path = mm.BY_NAME["fifo"].build(tmp_path)

    def write() -> None:
        with open(path, "wb") as f:
            data = mm.normal_bytes()
            for i in range(0, len(data), 100):
                f.write(data[i : i + 100])
                f.flush()
                time.sleep(0.002)

    t = threading.Thread(target=write)
    t.start()
    run = run_tcp_lab(["replay", str(path), "--format", "json"])
    t.join(timeout=10)
    assert_clean(run)
    assert (run.returncode, len(run.out_lines), run.stderr) == (0, 11, "")

    # A writer that opens the pipe and closes it at once: an empty input.
    t = threading.Thread(target=lambda: open(path, "wb").close())
    t.start()
    run = run_tcp_lab(["replay", str(path), "--format", "json"])
    t.join(timeout=10)
    assert_clean(run)
    assert run.returncode == 2 and run.err_lines == [f"tcp-lab: {path} is empty: there is no capture to read"]


# -- the standard streams themselves ------------------------------------------------------------


def test_device_files_never_hang():
    """/dev/zero never ends: tcp-lab must stop at the first bytes that are not a capture."""
    for args, stdin in ((["replay", "/dev/zero", "--format", "json"], None),
                        (["replay", "-", "--format", "json"], "/dev/zero"),
                        (["replay", "/dev/null", "--format", "json"], None)):
        run = run_tcp_lab(args, stdin_file=stdin, timeout=20)
        assert_clean(run)
        assert run.returncode == 2 and len(run.err_lines) == 1, run.stderr


def test_stdin_closed():
    """`tcp-lab replay - <&-`: no standard input at all is one sentence, exit 2."""
    proc = subprocess.run([TCP_LAB, "replay", "-", "--format", "json"], stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=30, close_fds=True,
                          preexec_fn=lambda: os.close(0))
    run = Run([], proc.returncode, proc.stdout.decode(), proc.stderr.decode())
    assert_clean(run)
    assert run.returncode == 2 and len(run.err_lines) == 1 and "input" in run.stderr, run.stderr


def test_stdout_full_or_closed():
    """Output that cannot be written (a full disk, a closed stdout) is one sentence, not
    an internal error; a reader that goes away (`| head -1`) is not an error at all."""
    normal = str(mm.NORMAL)
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([TCP_LAB, "replay", normal, "--format", "json"], stdout=full,
                              stderr=subprocess.PIPE, timeout=30)
    err = proc.stderr.decode()
    assert "Traceback" not in err and "internal error" not in err, err
    assert proc.returncode != 0 and len(err.splitlines()) == 1 and err.startswith("tcp-lab: "), err

    proc = subprocess.run([TCP_LAB, "replay", normal, "--format", "json"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, timeout=30, preexec_fn=lambda: os.close(1))
    err = proc.stderr.decode()
    assert "Traceback" not in err and "internal error" not in err, err
    assert proc.returncode != 0 and len(err.splitlines()) == 1 and err.startswith("tcp-lab: "), err

    head = subprocess.run(f"{TCP_LAB} replay {normal} --format text | head -1", shell=True, capture_output=True,
                          timeout=30, executable="/bin/bash")
    assert head.stderr == b"" and len(head.stdout.splitlines()) == 1
