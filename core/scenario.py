"""Scenarios: what a lab run sets up and which steps it takes, as data a teacher can write.

A scenario is a TOML document (the built-in ones are core/scenarios/*.toml; a teacher's
file is read by `tcp-lab lab --scenario-file FILE`):

    name = "lost-final-ack"
    steps = [
      "server listen",
      "client connect",
      "run",
      "drop client",          # arm: the wire loses the next segment the client sends
      "client close",
      "run",
    ]

    [title]
    en = "The last ACK is lost"
    zh = "最后一个 ACK 丢了"

    [goal]
    en = "One paragraph: what the student should watch for."
    zh = "……"

    [setup]                   # everything here is optional
    delay = 0.05              # one-way delay of the wire, seconds
    msl = 30                  # maximum segment lifetime, s (TIME_WAIT lasts 2 x msl)
    rto = 1.0                 # initial retransmission timeout, s
    retries = 6               # retransmissions before giving up
    two_way = false           # NOT TCP: a hypothetical two-way handshake

    [setup.client]            # and [setup.server]; all optional
    addr = "192.0.2.10"
    port = 52296
    isn = 1000                # first initial sequence number (random when absent)
    mss = 1460
    window = 64240
    wscale = 7                # window scale shift offered on the SYN; false = none
    sack_perm = true

Step language, one step per string (ROLE is `client` or `server`):

    ROLE listen               passive open (the server waits for a SYN)
    ROLE connect              active open: send a SYN
    ROLE send N               the application writes N bytes (cut into MSS-sized segments)
    ROLE close                the application closes: FIN after any queued data
    ROLE abort                the application aborts: RST
    ROLE close-on-fin         from now on the application closes as soon as the peer's
                              FIN arrives, so its FIN leaves with the ACK (three-segment close)
    drop [ROLE]               arm a fault: the wire loses the next segment ROLE sends
                              (either side's next segment when no ROLE is given)
    duplicate [ROLE]          ... the next segment ROLE sends arrives twice
    delay [ROLE]              ... the next segment ROLE sends is overtaken by the one after it
    old-syn                   an old duplicate SYN from the client's address appears on the wire
    deliver                   the next event only: one segment arrives (or is lost), or a timer fires
    run                       events in time order until nothing is in flight and no timer runs
                              (so a TIME_WAIT is waited out)
    wait S                    S seconds pass; events due in that time happen
    timer                     the next timer fires (events due before it happen first)

Application calls and `old-syn` happen at the current time and take none. A step that is
illegal when it runs (say `client send 10` while the client is CLOSED) stops the run with
a sentence naming the step and its line.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import PurePath
from typing import Any, Mapping

ROLES = ("client", "server")
CALLS = ("listen", "connect", "send", "close", "abort", "close-on-fin")
FAULT_STEPS = ("drop", "duplicate", "delay")
#: The scenario `tcp-lab lab` opens when none is named.
DEFAULT = "handshake-teardown"
#: The order `tcp-lab scenarios` lists the built-in scenarios in (the course's order).
ORDER = (
    "handshake",
    "handshake-teardown",
    "data-on-third-ack",
    "stale-syn",
    "two-way-handshake",
    "server-close",
    "close-wait-data",
    "merged-fin-ack",
    "simultaneous-open",
    "simultaneous-close",
    "lost-syn",
    "lost-final-ack",
    "refused",
    "rst-abort",
    "free-play",
)
#: Largest `send N` a step may ask for (keeps a typo from making millions of segments).
MAX_SEND = 10_000_000
MAX_WAIT = 100_000.0


class ScenarioError(ValueError):
    """A problem with a scenario, told in one sentence that names the file and line."""


@dataclass(frozen=True, slots=True)
class Side:
    """How one endpoint is set up: address, port, first ISN and what its SYN offers."""

    addr: str
    port: int
    isn: int | None = None
    mss: int = 1460
    window: int = 64240
    wscale: int | None = 7
    sack_perm: bool = True


@dataclass(frozen=True, slots=True)
class Setup:
    """The world a scenario runs in. Addresses are RFC 5737 documentation addresses."""

    client: Side = Side("192.0.2.10", 52296)
    server: Side = Side("198.51.100.80", 80)
    delay: float = 0.05
    msl: float = 30.0
    rto: float = 1.0
    retries: int = 6
    two_way: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    """One step as written (`text`, on `line` of its file) and as understood."""

    text: str
    action: str  # a call (listen ... close-on-fin), a fault (drop ...), old-syn, deliver, run, wait, timer
    role: str | None = None  # who calls; for faults the direction (None = either side)
    amount: float | None = None  # bytes for send, seconds for wait
    line: int | None = None

    @property
    def is_call(self) -> bool:
        return self.action in CALLS


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named lab run: title and goal in English and Chinese, a setup and the steps."""

    name: str
    title: Mapping[str, str]
    goal: Mapping[str, str]
    steps: tuple[Step, ...] = ()
    setup: Setup = field(default_factory=Setup)
    #: Where it came from: "built-in" or the file name given to load_file.
    source: str = "built-in"

    def where(self, step: Step) -> str:
        """How an error message names a step's place: "FILE, line N" or "scenario NAME"."""
        if self.source == "built-in":
            return f"scenario {self.name}" + (f", line {step.line}" if step.line else "")
        return f"{self.source}" + (f", line {step.line}" if step.line else "")


# ======================================================================= step parsing ===


def parse_step(text: str, line: int | None = None, where: str = "scenario") -> Step:
    """Understand one step of the step language (see the module docstring)."""
    place = f"{where}, line {line}" if line else where
    words = text.split()
    if not words:
        raise ScenarioError(f"{place}: an empty step; write a step such as \"client connect\" or \"run\".")
    head, rest = words[0].lower(), words[1:]
    if head in ROLES:
        if not rest:
            raise ScenarioError(f"{place}: the step \"{text}\" says who but not what (e.g. \"{head} connect\").")
        call, args = rest[0].lower(), rest[1:]
        if call not in CALLS:
            raise ScenarioError(
                f"{place}: unknown step \"{text}\": {head} can {', '.join(CALLS[:-1])} or {CALLS[-1]}."
            )
        if call == "send":
            if len(args) != 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_SEND:
                raise ScenarioError(f"{place}: the step \"{text}\" needs a byte count from 1 to {MAX_SEND} (e.g. \"{head} send 1200\").")
            return Step(text, "send", head, int(args[0]), line)
        if args:
            raise ScenarioError(f"{place}: the step \"{text}\" takes nothing after \"{call}\".")
        return Step(text, call, head, None, line)
    if head in FAULT_STEPS:
        if len(rest) > 1 or (rest and rest[0].lower() not in ROLES):
            raise ScenarioError(f"{place}: the step \"{text}\" takes at most a side, client or server (e.g. \"{head} client\").")
        return Step(text, head, rest[0].lower() if rest else None, None, line)
    if head in ("old-syn", "deliver", "run", "timer"):
        if rest:
            raise ScenarioError(f"{place}: the step \"{text}\" takes nothing after \"{head}\".")
        return Step(text, head, None, None, line)
    if head == "wait":
        try:
            seconds = float(rest[0]) if len(rest) == 1 else -1.0
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds <= MAX_WAIT or seconds != seconds:
            raise ScenarioError(f"{place}: the step \"{text}\" needs a number of seconds (e.g. \"wait 5\").")
        return Step(text, "wait", None, seconds, line)
    if head in ("clinet", "sever", "srv", "cli") or (rest and rest[0].lower() in CALLS):
        raise ScenarioError(f"{place}: unknown role \"{words[0]}\" in \"{text}\": the roles are client and server.")
    raise ScenarioError(
        f"{place}: unknown step \"{text}\" (steps: ROLE listen|connect|send N|close|abort|close-on-fin, "
        "drop|duplicate|delay [ROLE], old-syn, deliver, run, wait S, timer)."
    )


# ======================================================================= TOML loading ===

_TOP_KEYS = ("name", "title", "goal", "setup", "steps")
_SETUP_KEYS = ("delay", "msl", "rto", "retries", "two_way", "client", "server")
_SIDE_KEYS = ("addr", "port", "isn", "mss", "window", "wscale", "sack_perm")


def load_file(path_text: str, source_name: str) -> Scenario:
    """Parse a teacher's scenario file (its text; the CLI reads the file).

    Raises ScenarioError with one sentence naming `source_name` and the line at fault."""
    try:
        data = tomllib.loads(path_text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(_toml_message(str(exc), source_name)) from None
    default_name = PurePath(source_name).stem or "scenario"
    return _build(data, path_text, source_name, default_name)


def _toml_message(message: str, source: str) -> str:
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", message)
    if match:
        what = message[: match.start()].strip().rstrip(".")
        return f"{source}, line {match.group(1)}: this is not valid TOML ({what[:1].lower() + what[1:]}, column {match.group(2)})."
    if "(at end of document)" in message:
        what = message.replace("(at end of document)", "").strip().rstrip(".")
        return f"{source}, at the end of the file: this is not valid TOML ({what[:1].lower() + what[1:]})."
    return f"{source}: this is not valid TOML ({message})."


def _line_of(text: str, key: str, table: str | None = None) -> int | None:
    """The line where `key = ...` appears (inside [table] when given), 1-based."""
    lines = text.splitlines()
    start = 0
    if table is not None:
        header = re.compile(r"^\s*\[\s*" + re.escape(table).replace(r"\.", r"\s*\.\s*") + r"\s*\]")
        for i, ln in enumerate(lines):
            if header.match(ln):
                start = i + 1
                break
    pattern = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
    for i in range(start, len(lines)):
        if pattern.match(lines[i]):
            return i + 1
    if table is not None:
        dotted = re.compile(r"^\s*" + re.escape(table) + r"\s*\.\s*" + re.escape(key) + r"\s*=")
        for i, ln in enumerate(lines):
            if dotted.match(ln):
                return i + 1
        for i, ln in enumerate(lines):
            if re.match(r"^\s*\[\s*" + re.escape(table + "." + key) + r"\s*\]", ln):
                return i + 1
    return None


_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'')


def _step_lines(text: str, count: int) -> list[int | None]:
    """Line numbers of the first `count` string literals after `steps =` (best effort)."""
    line = _line_of(text, "steps")
    if line is None:
        return [None] * count
    offset = sum(len(ln) + 1 for ln in text.splitlines(keepends=False)[: line - 1])
    body = text[offset:]
    eq = body.find("=")
    pos = eq + 1 if eq >= 0 else 0
    out: list[int | None] = []
    for match in _STRING.finditer(body, pos):
        if len(out) == count:
            break
        # Skip quotes inside comments.
        line_start = body.rfind("\n", 0, match.start()) + 1
        if "#" in body[line_start : match.start()]:
            before = body[line_start : match.start()]
            if before.count('"') % 2 == 0 and before.count("'") % 2 == 0:
                continue
        out.append(line + body.count("\n", 0, match.start()))
    out.extend([None] * (count - len(out)))
    return out


def _build(data: dict[str, Any], text: str, source: str, default_name: str) -> Scenario:
    def fail(message: str, key: str | None = None, table: str | None = None) -> ScenarioError:
        line = _line_of(text, key, table) if key else None
        where = f"{source}, line {line}" if line else source
        return ScenarioError(f"{where}: {message}")

    for key in data:
        if key not in _TOP_KEYS:
            raise fail(f"unknown key \"{key}\" (a scenario has {', '.join(_TOP_KEYS)}).", key)
    name = data.get("name", default_name)
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise fail("\"name\" must be a word such as \"my-scenario\" (letters, digits, - _ .).", "name")
    title = _texts(data.get("title", name), "title", fail)
    goal = _texts(data.get("goal", ""), "goal", fail)
    if "steps" not in data:
        raise fail("there is no \"steps\" list; add one, e.g. steps = [\"server listen\", \"client connect\", \"run\"].")
    raw_steps = data["steps"]
    if not isinstance(raw_steps, list) or not all(isinstance(s, str) for s in raw_steps):
        raise fail("\"steps\" must be a list of strings, e.g. [\"server listen\", \"client connect\"].", "steps")
    lines = _step_lines(text, len(raw_steps))
    steps = tuple(parse_step(s, ln, source) for s, ln in zip(raw_steps, lines))
    setup = _setup(data.get("setup", {}), fail)
    return Scenario(name=name, title=title, goal=goal, steps=steps, setup=setup, source=source)


def _texts(value: Any, key: str, fail) -> dict[str, str]:
    if isinstance(value, str):
        return {"en": value, "zh": value}
    if isinstance(value, dict):
        unknown = [k for k in value if k not in ("en", "zh")]
        if unknown:
            raise fail(f"\"{key}\" takes en and zh, not \"{unknown[0]}\".", unknown[0], key)
        if not isinstance(value.get("en"), str):
            raise fail(f"\"{key}\" needs an English text: en = \"...\".", key)
        zh = value.get("zh", value["en"])
        if not isinstance(zh, str):
            raise fail(f"\"{key}.zh\" must be a string.", "zh", key)
        return {"en": value["en"], "zh": zh}
    raise fail(f"\"{key}\" must be a string or a table with en and zh.", key)


def _number(value: Any, key: str, table: str, fail, *, low: float, high: float, integer: bool = False) -> Any:
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or not low <= value <= high:
        kind = "a whole number" if integer else "a number"
        raise fail(f"\"{key}\" must be {kind} from {low:g} to {high:g}.", key, table)
    return value


def _setup(raw: Any, fail) -> Setup:
    if not isinstance(raw, dict):
        raise fail("\"setup\" must be a table: [setup].", "setup")
    for key in raw:
        if key not in _SETUP_KEYS:
            raise fail(f"unknown setup key \"{key}\" (setup has {', '.join(_SETUP_KEYS)}).", key, "setup")
    base = Setup()
    kw: dict[str, Any] = {}
    if "delay" in raw:
        kw["delay"] = float(_number(raw["delay"], "delay", "setup", fail, low=0.0, high=60.0))
    if "msl" in raw:
        kw["msl"] = float(_number(raw["msl"], "msl", "setup", fail, low=0.0, high=3600.0))
    if "rto" in raw:
        kw["rto"] = float(_number(raw["rto"], "rto", "setup", fail, low=0.001, high=120.0))
    if "retries" in raw:
        kw["retries"] = _number(raw["retries"], "retries", "setup", fail, low=0, high=30, integer=True)
    if "two_way" in raw:
        if not isinstance(raw["two_way"], bool):
            raise fail("\"two_way\" must be true or false.", "two_way", "setup")
        kw["two_way"] = raw["two_way"]
    for role in ROLES:
        if role in raw:
            kw[role] = _side(raw[role], getattr(base, role), f"setup.{role}", fail)
    return replace(base, **kw)


def _side(raw: Any, base: Side, table: str, fail) -> Side:
    if not isinstance(raw, dict):
        raise fail(f"\"{table}\" must be a table: [{table}].", table.split(".")[-1], "setup")
    for key in raw:
        if key not in _SIDE_KEYS:
            raise fail(f"unknown key \"{key}\" in [{table}] (it has {', '.join(_SIDE_KEYS)}).", key, table)
    kw: dict[str, Any] = {}
    if "addr" in raw:
        addr = raw["addr"]
        if not isinstance(addr, str) or not re.fullmatch(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})", addr) or any(
            int(p) > 255 for p in addr.split(".")
        ):
            raise fail("\"addr\" must be an IPv4 address such as \"192.0.2.10\".", "addr", table)
        kw["addr"] = addr
    if "port" in raw:
        kw["port"] = _number(raw["port"], "port", table, fail, low=1, high=65535, integer=True)
    if "isn" in raw:
        kw["isn"] = _number(raw["isn"], "isn", table, fail, low=0, high=2**32 - 1, integer=True)
    if "mss" in raw:
        kw["mss"] = _number(raw["mss"], "mss", table, fail, low=64, high=65495, integer=True)
    if "window" in raw:
        kw["window"] = _number(raw["window"], "window", table, fail, low=1, high=1 << 30, integer=True)
    if "wscale" in raw:
        ws = raw["wscale"]
        if ws is False:
            kw["wscale"] = None
        else:
            kw["wscale"] = _number(ws, "wscale", table, fail, low=0, high=14, integer=True)
    if "sack_perm" in raw:
        if not isinstance(raw["sack_perm"], bool):
            raise fail("\"sack_perm\" must be true or false.", "sack_perm", table)
        kw["sack_perm"] = raw["sack_perm"]
    return replace(base, **kw)


# ==================================================================== built-in ones ===

_BUILTIN: dict[str, Scenario] | None = None


def builtin() -> list[Scenario]:
    """Every built-in scenario, in the course's order (core/scenarios/*.toml, package data)."""
    global _BUILTIN
    if _BUILTIN is None:
        found: dict[str, Scenario] = {}
        folder = resources.files(__package__).joinpath("scenarios")
        for entry in folder.iterdir():
            if not entry.name.endswith(".toml"):
                continue
            scenario = load_file(entry.read_text(encoding="utf-8"), f"core/scenarios/{entry.name}")
            if scenario.name != entry.name[: -len(".toml")]:
                raise AssertionError(f"{entry.name} names itself {scenario.name!r}")
            found[scenario.name] = _as_builtin(scenario)
        rank = {name: i for i, name in enumerate(ORDER)}
        _BUILTIN = dict(sorted(found.items(), key=lambda kv: (rank.get(kv[0], len(ORDER)), kv[0])))
    return list(_BUILTIN.values())


def _as_builtin(s: Scenario) -> Scenario:
    return Scenario(name=s.name, title=s.title, goal=s.goal, steps=s.steps, setup=s.setup, source="built-in")


def names() -> list[str]:
    return [s.name for s in builtin()]


def get(name: str) -> Scenario:
    """The built-in scenario called `name`; an unknown name raises ScenarioError listing close names."""
    builtin()
    assert _BUILTIN is not None
    if name in _BUILTIN:
        return _BUILTIN[name]
    close = difflib.get_close_matches(name, list(_BUILTIN), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise ScenarioError(f"there is no scenario called \"{name}\"{hint} (see 'tcp-lab scenarios' for the list).")
