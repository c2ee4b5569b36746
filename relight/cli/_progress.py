"""The one progress bar every long command draws, and :class:`Counter`, which counts work into it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from relight.cli._console import console
from relight.errors import Interrupted, RelightError


class _Progress(Progress):
    """A progress display that leaves no blank line behind when it stops before any task was added
    (an error found first), so that the error is the first line of the output."""

    def stop(self) -> None:
        if self.tasks:
            super().stop()
        else:  # Progress.stop also prints an empty line where the console is not a terminal
            self.live.transient = True
            self.live.stop()


def progress_bar() -> Progress:
    """The progress bar every long command uses: count, rate, elapsed and ETA."""
    return _Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def rate_text(done: int, seconds: float, unit: str = "img") -> str:
    """``done`` items in ``seconds`` as a rate, ``- img/s`` before the first one."""
    return f"{done / seconds:.2f} {unit}/s" if seconds > 0 and done else f"- {unit}/s"


class Counter:
    """One task on a progress bar, counting finished items and showing their rate.

    The task (and the bar) appears on :meth:`begin`, or with the first update, so a command that fails
    before its work starts prints nothing but the error.
    """

    def __init__(self, progress: Progress, label: str, unit: str = "img") -> None:
        self.progress = progress
        self.label = label
        self.unit = unit
        self.task: TaskID | None = None
        self.done = 0
        self.started = time.perf_counter()

    @property
    def console(self) -> Any:
        """Where to print a line above the bar."""
        return self.progress.console

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def begin(self, total: int | None = None, completed: int = 0) -> None:
        """Draw the task (once): ``total`` items, ``completed`` of them done before; the clock starts here."""
        if self.task is None:
            self.task = self.progress.add_task(self.label, total=total, completed=completed, rate="")
            self.progress.start()
            self.started = time.perf_counter()

    def advance(self, counted: bool = True) -> None:
        """One more item handled; ``counted`` ones (finished, not skipped or failed) make up the rate."""
        self.begin()
        self.done += counted
        self.update(advance=1, rate=rate_text(self.done, self.elapsed(), self.unit))

    def step(self, description: str) -> None:
        """The next of a fixed list of steps begins: the ones before it are complete."""
        self.update(completed=self.done, description=description)
        self.done += 1

    def update(self, **fields: Any) -> None:
        """Set the task's ``completed``, ``total``, ``description`` or ``rate`` directly."""
        self.begin(fields.get("total"))
        self.progress.update(self.task, **fields)  # type: ignore[arg-type]

    def discard(self) -> None:
        """Remove the task, so that an error is left as the only line."""
        if self.task is not None:
            self.progress.remove_task(self.task)
            self.task = None


@contextmanager
def tracked(label: str, total: int | None = None, unit: str = "img") -> Iterator[Counter]:
    """A progress bar with one :class:`Counter`, shown at once when ``total`` is known, else on first use;
    on a :class:`RelightError` (other than :class:`Interrupted`, which reports how far the work got) the
    bar is removed so that the error is the only line."""
    progress = progress_bar()
    counter = Counter(progress, label, unit)
    if total is not None:
        counter.begin(total)
    try:
        yield counter
    except RelightError as exc:
        if not isinstance(exc, Interrupted):
            counter.discard()
        raise
    finally:
        progress.stop()
