"""Cursors over timelines: what "next", "back", "first" and "last" mean for each source.

`Stepper` walks a timeline that is already there (a replayed capture): the panes show
frame `cursor`, -1 meaning "before the first frame". `LabController` adds what only the
simulation can do: make more frames when the cursor is at the end (Simulation.advance),
inject faults, fire timers, make app calls and switch scenarios. An action taken at a step
before the end forks the timeline there, as an editor's undo does: the old future is
dropped and the action's frames follow the current step.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Protocol

from tcp_lab.core.frame import Timeline
from .timeline_index import TimelineIndex


class Stepper:
    """A cursor over a timeline; `index` is the TimelineIndex the panes read."""

    #: The lowest cursor: 0, or -1 when the source has a screen before its first frame
    #: (the lab's start screen, with the scenario's goal).
    start = 0

    def __init__(self, timeline: Timeline, index: TimelineIndex | None = None) -> None:
        self.timeline = timeline
        self.index = index or TimelineIndex(timeline)
        self.index.sync()
        self.cursor = self.start if len(timeline) else -1

    @property
    def length(self) -> int:
        return self.index.sync()

    @property
    def at_end(self) -> bool:
        return self.cursor >= self.length - 1

    def extend(self) -> bool:
        """Try to make more frames at the end; a fixed timeline has none."""
        return False

    @property
    def more_may_come(self) -> bool:
        """True while `extend` may still add frames (the step counter shows a "+")."""
        return False

    def initial_views(self) -> tuple[Any, Any] | None:
        """The client's and server's EndpointViews before the first frame, when known."""
        return None

    def next(self) -> bool:
        """One step on; at the end, ask the source for more. False when nothing moved."""
        if self.cursor < self.length - 1:
            self.cursor += 1
            return True
        if self.extend() and self.cursor < self.length - 1:
            self.cursor += 1
            return True
        return False

    def prev(self) -> bool:
        if self.cursor > self.start:
            self.cursor -= 1
            return True
        return False

    def first(self) -> bool:
        first = self.start if self.length else -1
        moved = self.cursor != first
        self.cursor = first
        return moved

    def last(self) -> bool:
        """Jump to the last frame there is (it does not make new ones)."""
        end = self.length - 1
        moved = self.cursor != end
        self.cursor = end
        return moved

    def jump(self, index: int) -> bool:
        index = max(self.start if self.length else -1, min(self.length - 1, index))
        moved = index != self.cursor
        self.cursor = index
        return moved


class SimulationLike(Protocol):
    """The part of core.simulation.Simulation the lab screen uses."""

    scenario: Any
    timeline: Any

    def advance(self) -> bool: ...
    def fork(self, index: int) -> None: ...
    def app_call(self, role: str, call: str, nbytes: int | None = None) -> None: ...
    def inject(self, fault: str, direction: str | None = None) -> None: ...
    def fire_timer(self) -> bool: ...
    def next_timer(self) -> tuple[str, str, float] | None: ...


class NoTimer(Exception):
    """Raised by LabController.fire_timer when no timer is running at the current step."""


class LabController(Stepper):
    """The lab's cursor: a Stepper over a Simulation's timeline, with the lab's actions.

    `make_simulation(scenario)` builds a fresh Simulation (with the same ISN choices) for
    choosing another scenario and for acting before the first step.
    """

    start = -1

    def __init__(self, simulation: SimulationLike, make_simulation: Callable[[Any], SimulationLike]) -> None:
        self.sim = simulation
        self.make_simulation = make_simulation
        self.finished = False
        self._initial = self._views_now()
        super().__init__(simulation.timeline)
        if len(self.timeline):
            # Handed a simulation that already ran: start on its last frame.
            self.cursor = len(self.timeline) - 1

    def _views_now(self) -> tuple[Any, Any] | None:
        sim = self.sim
        if len(sim.timeline) == 0 and hasattr(sim, "client") and hasattr(sim, "server"):
            return sim.client.view(), sim.server.view()
        return None

    # -- stepping ---------------------------------------------------------------------

    @property
    def scenario(self) -> Any:
        return self.sim.scenario

    @property
    def more_may_come(self) -> bool:
        """Always True in the lab: the user can make more happen at any step."""
        return True

    def initial_views(self) -> tuple[Any, Any] | None:
        return self._initial

    def extend(self) -> bool:
        if self.finished:
            return False
        before = self.length
        grew = self.sim.advance()
        if self.length == before:
            self.finished = True
            return False
        if not grew:
            self.finished = True
        return True

    # -- actions that change the future -----------------------------------------------

    def _act(self, action: Callable[[SimulationLike], Any], land: str = "last") -> tuple[Any, bool]:
        """Run `action` on the simulation as it is at the current step.

        At the end of the timeline the action runs in place. Before the end, it runs on a
        copy forked at the current step; the copy replaces the simulation only if the action
        succeeds, so an illegal call changes nothing. Returns the action's result and
        whether a future was dropped.

        The cursor lands on the action's own frame: the last new one ("last"), or for a
        timer the frame where it fires ("timer"). Frames the engine had to emit first (a
        segment already due to leave) are on the screen too, a step back.
        """
        before = self.length
        forked = self.cursor < before - 1
        if not forked:
            result = action(self.sim)
        else:
            if self.cursor < 0:
                trial = self.make_simulation(self.sim.scenario)
            else:
                trial = copy.deepcopy(self.sim)
                trial.fork(self.cursor)
            result = action(trial)  # raises: nothing changed
            self.sim = trial
            self.timeline = trial.timeline
            self.index.retarget(trial.timeline)
        self.finished = False
        first_new, end = self.cursor + 1, self.length
        if end > first_new:
            target = end - 1
            if land == "timer":
                target = next((i for i in range(first_new, end) if self.timeline[i].event == "timer"), target)
            self.cursor = target
        return result, forked

    def app_call(self, role: str, call: str, nbytes: int | None = None) -> bool:
        """An application call by `role`; raises ValueError (IllegalCall) and changes
        nothing when the call is not allowed in the role's state. Returns True when it
        replaced a future."""
        return self._act(lambda sim: sim.app_call(role, call, nbytes))[1]

    def inject(self, fault: str, direction: str | None = None) -> bool:
        """Arm a fault on the wire (drop, duplicate, delay, old-syn)."""
        return self._act(lambda sim: sim.inject(fault, direction))[1]

    def fire_timer(self) -> bool:
        """Fire the next running timer; raises NoTimer when none runs at this step."""
        if self.cursor >= 0:
            frame = self.timeline[self.cursor]
            if not (frame.client.timers or frame.server.timers):
                raise NoTimer
        elif self.sim.next_timer() is None:
            raise NoTimer

        def fire(sim: SimulationLike) -> bool:
            if not sim.fire_timer():
                raise NoTimer
            return True

        return self._act(fire, land="timer")[1]

    def restart(self, scenario: Any) -> None:
        """Start over on `scenario` (the scenario chooser)."""
        self.sim = self.make_simulation(scenario)
        self.timeline = self.sim.timeline
        self.index.retarget(self.sim.timeline)
        self.finished = False
        self._initial = self._views_now()
        self.cursor = -1
