"""The quiz: before each step of a timeline the student predicts what it will do.

For every frame, `questions(before, frame, history)` makes the questions a student can
answer *before* seeing the frame, with the answer the frame itself gives:

* an application call, an arriving segment or a timer (simulation: "app", "deliver",
  "timer"): the state of the side it happens to, after it. The choices are that side's
  state now and every state the transition table (core/transitions.py) can take it to
  from there, so a wrong answer is always a move TCP could make in some other case;
* a segment leaving its sender ("send"): its control bits, and for a segment with ACK its
  acknowledgment number (relative, as Wireshark shows it). The wrong choices for the ack
  are the classic slips: the peer's sequence number itself, one less, one more;
* a captured segment ("segment": replay, live): its control bits and ack, then both
  sides' states after it (the sender's for sending it, the receiver's for receiving it);
* a lost segment ("drop") or a fault: nothing to predict; the student watches.

`Quiz` walks a timeline with a score. Prompts and feedback are catalogue keys
(core/texts_teach.py) rendered in English or Chinese. Pure: no I/O, no clock; the
choices' order is fixed by the frame, so the same run gives the same quiz.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .frame import Explanation, Frame
from .segment import ACK, flag_names
from .states import State
from .transitions import INDEX

KINDS = ("state", "flags", "ack")

#: Control-bit sets offered as choices (Wireshark's order and spelling).
FLAG_CHOICES = (
    "SYN",
    "SYN, ACK",
    "ACK",
    "PSH, ACK",
    "FIN, ACK",
    "FIN, PSH, ACK",
    "RST",
    "RST, ACK",
)


@dataclass(frozen=True, slots=True)
class Question:
    """One thing to predict about frame `index`: `kind` ("state", "flags" or "ack"), about
    `role` (for a state), with `choices` (texts shown as they are in both languages) and
    the index of the right one."""

    index: int
    kind: str
    role: str | None
    choices: tuple[str, ...]
    answer: int
    prompt: Explanation

    @property
    def right(self) -> str:
        return self.choices[self.answer]


def state_choices(state: State, right: State) -> tuple[str, ...]:
    """`state` and every state a table row can take it to (the right one always among
    them), in the order of RFC 9293's state list."""
    found = {state, right}
    for (s, _event), row in INDEX.items():
        if s is state:
            found.add(row.target(s))
    return tuple(s.value for s in State if s in found)


def flag_choices(right: str, no: int) -> tuple[str, ...]:
    """Four control-bit sets: the right one and three others picked by the frame number."""
    pool = [c for c in FLAG_CHOICES if c != right]
    start = (no * 3) % len(pool)
    picked = {right, *(pool[(start + k) % len(pool)] for k in range(3))}
    order = {c: i for i, c in enumerate(FLAG_CHOICES)}
    return tuple(sorted(picked, key=lambda c: (order.get(c, len(order)), c)))


def ack_choices(right: int, peer_seq: int | None) -> tuple[str, ...]:
    """The right ack and the classic slips: the peer's last sequence number, one less, one more."""
    values = {right, right + 1}
    if right > 0:
        values.add(right - 1)
    if peer_seq is not None:
        values.add(peer_seq)
    return tuple(str(v) for v in sorted(values))


def _people(role: str) -> dict[str, str]:
    peer = "server" if role == "client" else "client"
    zh = {"client": "客户端", "server": "服务端"}
    return {"who": role, "Who": role.capitalize(), "who_zh": zh[role], "peer": peer, "Peer": peer.capitalize(), "peer_zh": zh[peer]}


def _flags(frame: Frame) -> str:
    assert frame.segment is not None
    return ", ".join(flag_names(frame.segment.flags))


def prompt(before: tuple[State, State], frame: Frame) -> Explanation:
    """What is about to happen, told without giving away what it does."""
    client, server = before
    states = {"client": client.value, "server": server.value}
    if frame.event == "app" and frame.who:
        return Explanation("quiz.prompt.app", {**_people(frame.who), "call": frame.call, "state": states[frame.who]})
    if frame.event == "timer" and frame.who:
        return Explanation("quiz.prompt.timer", {**_people(frame.who), "timer": (frame.timer or "").upper(), "state": states[frame.who]})
    if frame.event == "deliver" and frame.who:
        return Explanation("quiz.prompt.deliver", {**_people(frame.who), "flags": _flags(frame), "state": states[frame.who]})
    if frame.event in ("send", "segment") and frame.sender:
        return Explanation(f"quiz.prompt.{frame.event}", {**_people(frame.sender), "state": states[frame.sender]})
    if frame.event == "drop" and frame.sender:
        return Explanation("quiz.prompt.drop", {**_people(frame.sender), "flags": _flags(frame)})
    return Explanation("quiz.prompt.other", {"event": frame.event})


def questions(before: tuple[State, State], frame: Frame, index: int, peer_seq: int | None = None) -> list[Question]:
    """The questions to ask before frame `index` (see the module text). `peer_seq` is the
    relative sequence number of the last segment the sender got from its peer (for the ack
    question's wrong choices)."""
    ask = prompt(before, frame)
    out: list[Question] = []
    if frame.event in ("send", "segment") and frame.segment is not None:
        right = _flags(frame)
        choices = flag_choices(right, frame.no)
        out.append(Question(index, "flags", frame.sender, choices, choices.index(right), ask))
        if frame.segment.flags & ACK and frame.ack_rel is not None:
            choices = ack_choices(frame.ack_rel, peer_seq)
            out.append(Question(index, "ack", frame.sender, choices, choices.index(str(frame.ack_rel)), ask))
    roles: list[str] = []
    if frame.event in ("app", "deliver", "timer") and frame.who:
        roles = [frame.who]
    elif frame.event == "segment" and frame.sender:
        roles = [frame.sender, "server" if frame.sender == "client" else "client"]
    for role in roles:
        now = before[0] if role == "client" else before[1]
        right_state = frame.endpoint(role).state  # type: ignore[arg-type]
        choices = state_choices(now, right_state)
        out.append(Question(index, "state", role, choices, choices.index(right_state.value), ask))
    return out


@dataclass
class Answer:
    question: Question
    chosen: int

    @property
    def correct(self) -> bool:
        return self.chosen == self.question.answer


@dataclass
class Quiz:
    """A walk through a timeline, question by question, with the score.

    `frame_at(i)` returns frame i, or None when there is none (the lab makes frames as it
    goes; a finished run has a fixed number). `start` is the first frame asked about and
    `before` both states before it."""

    frame_at: Callable[[int], Frame | None]
    start: int = 0
    before: tuple[State, State] = (State.CLOSED, State.CLOSED)
    limit: int | None = None
    answers: list[Answer] = field(default_factory=list)
    index: int = -1
    pending: list[Question] = field(default_factory=list)
    #: Relative seq of the last segment each side received (for the ack choices).
    last_seq: dict[str, int | None] = field(default_factory=lambda: {"client": None, "server": None})

    def __post_init__(self) -> None:
        self.index = self.start - 1

    @property
    def asked(self) -> int:
        return len(self.answers)

    @property
    def score(self) -> int:
        return sum(1 for a in self.answers if a.correct)

    def by_kind(self) -> dict[str, tuple[int, int]]:
        """(right, asked) per kind of question."""
        out = {k: (0, 0) for k in KINDS}
        for a in self.answers:
            right, asked = out[a.question.kind]
            out[a.question.kind] = (right + a.correct, asked + 1)
        return out

    def next_step(self) -> Frame | None:
        """Move to the next frame and make its questions (`pending`). None at the end."""
        if self.index >= self.start:
            done = self.frame_at(self.index)
            if done is not None:
                self._note(done)
        if self.limit is not None and self.index + 1 >= self.start + self.limit:
            return None
        frame = self.frame_at(self.index + 1)
        if frame is None:
            return None
        self.index += 1
        sender = frame.sender
        peer_seq = self.last_seq.get(sender) if sender else None
        self.pending = questions(self.before, frame, self.index, peer_seq)
        return frame

    def _note(self, frame: Frame) -> None:
        self.before = (frame.client.state, frame.server.state)
        if frame.segment is not None and frame.event in ("deliver", "segment") and frame.sender:
            receiver = "server" if frame.sender == "client" else "client"
            self.last_seq[receiver] = frame.seq_rel

    def answer(self, chosen: int) -> Answer:
        """Answer the first pending question with choice `chosen` (0-based)."""
        question = self.pending.pop(0)
        if not 0 <= chosen < len(question.choices):
            raise ValueError(f"there are {len(question.choices)} choices; pick 1 to {len(question.choices)}")
        result = Answer(question, chosen)
        self.answers.append(result)
        return result


def question_text(q: Question) -> Explanation:
    """The question itself ("What state is the client in after it?")."""
    role = q.role or "client"
    return Explanation(f"quiz.q.{q.kind}", _people(role))
