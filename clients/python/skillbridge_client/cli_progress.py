"""Live progress of a job in the terminal: one model of the job fed by WatchJob updates, shown either as a
rich live display (on a terminal) or as plain timestamped lines (piped, redirected, or beside other output).

Lines are stamped with the event's own time relative to the job's submission, so watching a job that ended long
ago shows when each thing really happened. Queue position changes print at most one line a second."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from google.protobuf import duration_pb2, timestamp_pb2
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from skillbridge_client.models import Job, JobEvent, JobState, Stage, StageState, Update

POSITION_LINE_INTERVAL = 1.0  # seconds between two "queued at position" lines
POSITION_PREFIX = "queued at position"


def seconds(duration: duration_pb2.Duration) -> float:
    return duration.seconds + duration.nanos / 1e9


def epoch(stamp: timestamp_pb2.Timestamp) -> float:
    return stamp.seconds + stamp.nanos / 1e9


@dataclass
class StageView:
    """One stage as last reported."""

    state: int = StageState.PENDING
    duration: float | None = None
    summary: str = ""
    fraction: float = 0.0


@dataclass
class JobView:
    """What is known about a job from its snapshots and events; `apply` also says what happened, in words."""

    job_id: str = ""
    state: int = JobState.UNSPECIFIED
    created: float | None = None
    attempt: int = 0
    position: int = 0
    wait: float = 0.0
    progress: float = 0.0
    waiting_for: str = ""
    stages: dict[int, StageView] = field(default_factory=dict)
    ended: float | None = None  # when the terminal event happened

    def elapsed(self, now: float) -> float:
        """Seconds since submission: until now, or until the job ended."""
        if self.created is None:
            return 0.0
        return max((self.ended if self.ended is not None else now) - self.created, 0.0)

    def apply(self, update: Update) -> str:
        """Updates the view; returns a line describing the update ("" when it changes nothing worth a line)."""
        if isinstance(update, Job):
            return self._snapshot(update)
        return self._event(update)

    def _snapshot(self, job: Job) -> str:
        self.job_id = job.id
        self.state = job.state
        if job.HasField("create_time"):
            self.created = epoch(job.create_time)
        self.attempt = job.attempt
        self.progress = job.progress
        self.waiting_for = job.waiting_for_service
        for stage in job.stages:
            self.stages[stage.stage] = StageView(
                state=stage.state,
                duration=seconds(stage.duration) if stage.HasField("duration") else None,
                summary=stage.summary,
                fraction=stage.progress,
            )
        if job.state == JobState.QUEUED and job.position_in_queue != self.position:
            return self._queued(job.position_in_queue, seconds(job.estimated_wait))
        return ""

    def _queued(self, position: int, wait: float) -> str:
        self.state, self.position, self.wait = JobState.QUEUED, position, wait
        return f"{POSITION_PREFIX} {position}, about {wait:.0f} s wait"

    def _event(self, event: JobEvent) -> str:
        kind = event.WhichOneof("kind")
        if kind in ("succeeded", "failed", "cancelled") and event.HasField("time"):
            self.ended = epoch(event.time)
        if kind == "queued":
            return self._queued(event.queued.position_in_queue, seconds(event.queued.estimated_wait))
        if kind == "started":
            self.state, self.attempt, self.position = JobState.RUNNING, event.started.attempt, 0
            return f"started (attempt {event.started.attempt})"
        if kind == "stage_started":
            self.stages[event.stage_started.stage] = StageView(state=StageState.RUNNING)
            return f"{Stage.label(event.stage_started.stage)} ... running"
        if kind == "stage_progress":
            p = event.stage_progress
            self.stages.setdefault(p.stage, StageView(state=StageState.RUNNING)).fraction = p.fraction
            return f"{Stage.label(p.stage)} ... {p.fraction:.0%}"
        if kind == "stage_finished":
            f = event.stage_finished
            self.stages[f.stage] = StageView(f.state, seconds(f.duration), f.summary, 1.0)
            done = sum(s.state == StageState.SUCCEEDED for s in self.stages.values())
            self.progress = done / max(len(self.stages), 1)
            line = f"{Stage.label(f.stage)} ... {StageState.label(f.state)} in {seconds(f.duration):.2f} s  {f.summary}"
            return line.rstrip()
        if kind == "scheduled":
            self.state = JobState.SCHEDULED
            start = time.strftime("%H:%M:%S", time.localtime(event.scheduled.not_before.seconds))
            return f"scheduled: starts at {start}"
        if kind == "waiting":
            self.state = JobState.WAITING
            return f"waiting for {', '.join(event.waiting.depends_on)} to succeed"
        if kind == "released":
            self.state, self.position = JobState.QUEUED, event.released.position_in_queue
            return f"released ({event.released.reason}): queued at position {self.position}"
        if kind == "retried":
            self.state = JobState.QUEUED
            return f"attempt {event.retried.attempt} abandoned ({event.retried.reason}); queued again"
        if kind == "service_waiting":
            w = event.service_waiting
            self.waiting_for = w.service
            budget = f"; the job waits up to {seconds(w.budget):.0f} s" if w.HasField("budget") else ""
            return f"waiting for the {w.service} service ({Stage.label(w.stage)}): {w.reason}{budget}".rstrip()
        if kind == "service_recovered":
            r = event.service_recovered
            self.waiting_for = ""
            return f"the {r.service} service is back after {seconds(r.waited):.1f} s; going on"
        if kind == "succeeded":
            self.state, self.progress = JobState.SUCCEEDED, 1.0
            cached = event.succeeded.cached_from_job_id
            return f"succeeded (reused the result of job {cached})" if cached else "succeeded"
        if kind == "failed":
            self.state = JobState.FAILED
            return f"failed: {event.failed.error.message}"
        if kind == "cancelled":
            self.state = JobState.CANCELLED
            return f"cancelled: {event.cancelled.reason}" if event.cancelled.reason else "cancelled"
        return ""


class PlainProgress:
    """Timestamped lines, flushed one by one: for pipes, files and the demo beside the services' own logs.
    A queue position that changes again within a second is held back and printed once the second has passed
    (by a timer, so the last position shows even when nothing else happens), unless the job has left the queue."""

    def __init__(
        self, out: TextIO, *, clock: Callable[[], float] = time.monotonic, now: Callable[[], float] = time.time
    ) -> None:
        self.out = out
        self.view = JobView()
        self._clock = clock
        self._now = now
        self._lock = threading.Lock()
        self._position_at: float | None = None  # when the last position line was printed (clock)
        self._position_line = ""
        self._pending: tuple[str, float] | None = None
        self._timer: threading.Timer | None = None

    def update(self, update: Update) -> None:
        with self._lock:
            line = self.view.apply(update)
            stamp = epoch(update.time) if isinstance(update, JobEvent) and update.HasField("time") else self._now()
            if line.startswith(POSITION_PREFIX):
                self._pending = (line, stamp)
            elif line:
                self._emit(line, stamp)
            self._flush_position()

    def _flush_position(self) -> None:
        if self._pending is None:
            return
        if self.view.state != JobState.QUEUED or self._pending[0] == self._position_line:
            self._pending = None  # left the queue, or nothing new to say
            return
        wait = 0.0 if self._position_at is None else self._position_at + POSITION_LINE_INTERVAL - self._clock()
        if wait > 0:
            self._flush_later(wait)
            return
        line, stamp = self._pending
        self._pending = None
        self._position_line, self._position_at = line, self._clock()
        self._emit(line, stamp)

    def _flush_later(self, delay: float) -> None:
        if self._timer is not None and self._timer.is_alive():
            return
        self._timer = threading.Timer(delay, self._timer_fired)
        self._timer.daemon = True
        self._timer.start()

    def _timer_fired(self) -> None:
        with self._lock:
            self._timer = None
            self._flush_position()

    def _emit(self, line: str, stamp: float) -> None:
        offset = stamp - self.view.created if self.view.created is not None else 0.0
        print(f"[{offset:7.1f}s] {line}", file=self.out, flush=True)

    def close(self) -> None:
        """Stops the timer of a held-back position line; every other line is already out."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._pending = None


class LiveProgress:
    """A rich live display on a terminal: state, queue place, a progress bar and the six stages."""

    def __init__(self, console: Console, *, now: Callable[[], float] = time.time) -> None:
        self.view = JobView()
        self._now = now
        self._lock = threading.Lock()
        self._live = Live(self, console=console, refresh_per_second=8, transient=False)
        self._live.start()

    def update(self, update: Update) -> None:
        with self._lock:
            self.view.apply(update)

    def close(self) -> None:
        self._live.stop()

    def __rich__(self) -> RenderableType:
        with self._lock:  # the display refreshes on its own thread
            return self._render(self.view)

    def _render(self, view: JobView) -> RenderableType:
        elapsed = view.elapsed(self._now())
        header = Text.assemble(
            ("Job ", "bold"),
            (view.job_id or "...", "bold cyan"),
            f"  {JobState.label(view.state)}",
            f"  attempt {view.attempt}" if view.attempt > 1 else "",
            f"  {elapsed:.1f} s",
        )
        lines: list[RenderableType] = [header]
        if view.state == JobState.QUEUED:
            lines.append(Text(f"position {view.position} in the queue, about {view.wait:.0f} s wait", style="yellow"))
        if view.waiting_for:
            lines.append(Text(f"waiting for the {view.waiting_for} service to come back", style="yellow"))
        bar = Table.grid(padding=(0, 1))  # a bar alone does not end its line
        bar.add_row(ProgressBar(total=100, completed=round(view.progress * 100), width=40), f"{view.progress:.0%}")
        lines.append(bar)
        table = Table.grid(padding=(0, 2))
        for stage in list(Stage.members().values())[1:]:
            shown = view.stages.get(stage, StageView())
            duration = f"{shown.duration:.2f} s" if shown.duration is not None else ""
            table.add_row(_marker(shown.state), Stage.label(stage), duration, shown.summary)
        lines.append(table)
        return Group(*lines)


def _marker(state: int) -> RenderableType:
    if state == StageState.RUNNING:
        return Spinner("dots", style="cyan")
    marks: dict[int, tuple[str, str]] = {
        StageState.SUCCEEDED: ("✓", "green"),
        StageState.FAILED: ("✗", "red"),
        StageState.CANCELLED: ("-", "red"),
    }
    mark, style = marks.get(state, ("·", "dim"))
    return Text(mark, style=style)


Progress = PlainProgress | LiveProgress


def open_progress(out: TextIO, *, live: bool | None = None) -> Progress:
    """The display for `out`: live when it is a terminal (or `live` says so), plain lines otherwise."""
    console = Console(file=out)
    if live is None:
        live = console.is_terminal and not console.is_dumb_terminal
    return LiveProgress(console) if live else PlainProgress(out)
