"""`tcp-lab scenarios` and `tcp-lab lab`, run as a user runs them (subprocess, uv run)."""

import json
import subprocess
import sys
import textwrap

import pytest

from tcp_lab.core import scenario


def tcp_lab(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["uv", "run", "--quiet", "tcp-lab", *args], capture_output=True, text=True, timeout=60, **kw)


def frames(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def states(objs) -> list[tuple[str, str]]:
    seen = []
    for o in objs:
        pair = (o["client"]["state"], o["server"]["state"])
        if not seen or seen[-1] != pair:
            seen.append(pair)
    return seen


def test_scenarios_lists_every_name_and_title():
    result = tcp_lab("scenarios")
    assert result.returncode == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == scenario.names()
    assert lines[1].startswith("handshake-teardown") and lines[1].endswith("(default)")
    assert "Simultaneous close: two FINs cross" in result.stdout


def test_simultaneous_close_json_done_when():
    """Both sides FIN_WAIT_1, then CLOSING, then TIME_WAIT, then CLOSED after 2MSL."""
    result = tcp_lab("lab", "simultaneous-close", "--format", "json")
    assert result.returncode == 0, result.stderr
    objs = frames(result.stdout)
    assert states(objs)[-8:] == [
        ("FIN_WAIT_1", "ESTABLISHED"),
        ("FIN_WAIT_1", "FIN_WAIT_1"),
        ("FIN_WAIT_1", "CLOSING"),
        ("CLOSING", "CLOSING"),
        ("TIME_WAIT", "CLOSING"),
        ("TIME_WAIT", "TIME_WAIT"),
        ("CLOSED", "TIME_WAIT"),
        ("CLOSED", "CLOSED"),
    ]
    entered = next(o["time"] for o in objs if o["client"]["state"] == "TIME_WAIT")
    timers = [o for o in objs if o["event"] == "timer"]
    assert [(t["who"], t["timer"]) for t in timers] == [("client", "2msl"), ("server", "2msl")]
    assert all(t["time"] == pytest.approx(entered + 60.0) for t in timers)
    assert all(o["no"] == i + 1 for i, o in enumerate(objs))
    for o in objs:
        assert {"no", "time", "event", "client", "server", "explain"} <= set(o)
        if o["event"] in ("send", "deliver"):
            assert {"from", "src", "sport", "dst", "dport", "flags", "seq", "ack", "seq_raw", "len", "win", "options", "info"} <= set(o)


def test_lost_final_ack_json_done_when():
    """The server's FIN is sent again from LAST_ACK, and the client's TIME_WAIT restarts."""
    result = tcp_lab("lab", "lost-final-ack", "--format", "json", "--isn-client", "1000", "--isn-server", "5000")
    assert result.returncode == 0, result.stderr
    objs = frames(result.stdout)
    resent = [o for o in objs if o["event"] == "send" and o["from"] == "server" and "FIN" in o["flags"]]
    assert len(resent) == 2
    assert resent[1]["server"]["state"] == "LAST_ACK" and resent[1]["analysis"] == ["TCP Retransmission"]
    assert resent[1]["info"] == "[TCP Retransmission] 80 → 52296 [FIN, ACK] Seq=1 Ack=2 Win=64128 Len=0"
    deadlines = [o["client"]["timers"]["2msl"] for o in objs if "2msl" in o["client"].get("timers", {})]
    assert deadlines[0] == pytest.approx(60.3) and deadlines[-1] == pytest.approx(61.3)  # restarted
    again = next(o for o in objs if o["event"] == "deliver" and o["client"].get("timers", {}).get("2msl") == pytest.approx(61.3))
    assert again["client"]["state"] == "TIME_WAIT" and "restart" in again["explain"]
    assert objs[-1]["client"]["state"] == "CLOSED" and objs[-1]["time"] == pytest.approx(61.3)


def test_text_format_and_chinese_explanations():
    text = tcp_lab("lab", "handshake", "--format", "text", "--seed", "1")
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    assert len(lines) == 8
    assert "52296 → 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460 SACK_PERM WS=128" in lines[2]
    assert "ESTABLISHED" in lines[-1]
    zh = tcp_lab("lab", "handshake", "--format", "json", "--lang", "zh", "--seed", "1")
    assert "三次握手" in zh.stdout or "客户端" in zh.stdout


def test_the_default_scenario_and_reproducible_isns():
    a = tcp_lab("lab", "--format", "json", "--seed", "5")
    b = tcp_lab("lab", "--format", "json", "--seed", "5")
    c = tcp_lab("lab", "--format", "json", "--isn-client", "0x10", "--seed", "5")
    assert a.returncode == b.returncode == c.returncode == 0
    assert a.stdout == b.stdout
    assert frames(a.stdout)[-1]["time"] == pytest.approx(60.5)  # handshake-teardown
    first_syn = next(o for o in frames(c.stdout) if o["event"] == "send")
    assert first_syn["seq_raw"] == 16


def test_a_scenario_file(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        textwrap.dedent(
            """\
            name = "mine"
            steps = ["server listen", "client connect", "run", "client abort", "run"]
            [title]
            en = "Abort right away"
            zh = "立即中止"
            [setup.server]
            port = 8080
            """
        ),
        encoding="utf-8",
    )
    result = tcp_lab("lab", "--scenario-file", str(path), "--format", "json")
    assert result.returncode == 0, result.stderr
    objs = frames(result.stdout)
    assert objs[2]["dport"] == 8080 and objs[-1]["server"]["state"] == "CLOSED"


@pytest.mark.parametrize(
    ("args", "content", "expected"),
    [
        (["lab", "no-such-scenario"], None, 'tcp-lab: there is no scenario called "no-such-scenario"'),
        (["lab", "lost-sin"], None, "did you mean lost-syn"),
        (["lab", "--scenario-file", "{missing}"], None, "no such scenario file"),
        (["lab", "--scenario-file", "{file}"], 'steps = [\n  "server listen"\n  "run",\n]\n', "line 3: this is not valid TOML"),
        (["lab", "--scenario-file", "{file}"], 'steps = [\n  "server listen",\n  "client send 10",\n]\n', 'line 3: the step "client send 10" can\'t run now: can\'t send in CLOSED'),
        (["lab", "--scenario-file", "{file}"], 'steps = ["server listen", "client dance"]\n', 'line 1: unknown step "client dance"'),
        (["lab", "--scenario-file", "{file}"], 'steps = ["server listen", "browser connect"]\n', 'unknown role "browser"'),
        (["lab", "--scenario-file", "{file}"], 'steps = []\n[setup]\nmsl = "long"\n', 'line 3: "msl" must be a number'),
        (["lab", "--scenario-file", "{file}"], b"steps = [\"\xff\"]\n", "is not UTF-8 text"),
        (["lab", "--scenario-file", "{dir}"], None, "is a directory"),
        (["lab", "handshake", "--scenario-file", "{file}"], "steps = []\n", "not both"),
        (["lab", "--isn-client", "-1"], None, "tcp-lab:"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(args, content, expected, tmp_path):
    file = tmp_path / "bad.toml"
    if isinstance(content, bytes):
        file.write_bytes(content)
    elif content is not None:
        file.write_text(content, encoding="utf-8")
    args = [a.format(file=file, missing=tmp_path / "nope.toml", dir=tmp_path) for a in args]
    result = tcp_lab(*args, "--format", "json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_an_unreadable_file_is_reported(tmp_path):
    path = tmp_path / "secret.toml"
    path.write_text("steps = []\n")
    path.chmod(0)
    # root reads anything; drop to nobody for the read (setpriv is in util-linux).
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m", "tcp_lab.tui.cli", "lab", "--scenario-file", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3 and "permission denied" in result.stderr


def test_text_and_json_never_import_scapy_or_textual():
    code = (
        "import sys, io, contextlib\n"
        "from tcp_lab.tui.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['lab', 'lost-syn', '--format', 'json'])\n"
        "    main(['scenarios'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scapy', 'textual')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


def test_ctrl_c_wrapped_by_python_is_an_interrupt_not_an_internal_error(monkeypatch, capsys):
    """A SIGINT landing in `__set_name__` while a module defines a class (an import at
    start-up) reaches main() as "RuntimeError: Error calling __set_name__" caused by the
    KeyboardInterrupt: exit 130 and silence, like any ctrl+c. A real RuntimeError is
    still an internal error: one sentence, exit 1."""
    import types

    from tcp_lab.tui import cli

    def raising(exc: BaseException):
        def run(args):
            raise exc
        return types.SimpleNamespace(run=run)

    def wrapped_interrupt() -> RuntimeError:
        try:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt as ki:
                raise RuntimeError("Error calling __set_name__ on 'reactive' instance") from ki
        except RuntimeError as err:
            return err

    monkeypatch.setattr(cli.importlib, "import_module", lambda name: raising(wrapped_interrupt()))
    assert cli.main(["scenarios"]) == 130
    assert capsys.readouterr().err == ""

    monkeypatch.setattr(cli.importlib, "import_module", lambda name: raising(RuntimeError("boom")))
    monkeypatch.delenv("TCP_LAB_DEBUG", raising=False)
    assert cli.main(["scenarios"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: RuntimeError: boom" in err
