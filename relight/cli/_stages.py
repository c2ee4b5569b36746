"""What a run tells while it works: the stage it is at with the time elapsed (only once it has taken
more than a moment, so a quick run prints nothing more), the scale the network runs at, and the bytes of
a pretrained part fetched on first use."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from relight.cli._console import console
from relight.cli._progress import tracked

if TYPE_CHECKING:
    from relight.inference.relighter import Relighter
    from relight.inference.scale import StageCallback
    from relight.weights.hub import ByteProgress

#: Seconds a run works before its stages are shown.
SHOW_AFTER = 1.5


class StageDisplay:
    """A spinner, the current stage and the elapsed time, drawn from :data:`SHOW_AFTER` seconds on, on a
    terminal (a log or a pipe gets only the run's own lines).

    Called with a stage's name (the library's :data:`relight.inference.scale.StageCallback`); :meth:`close`
    leaves the last line (``done``, with the total time) where the display was shown.
    """

    def __init__(self, show_after: float = SHOW_AFTER, where: Console = console) -> None:
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=where, transient=False)
        self.task = self.progress.add_task("starting", total=None)
        self.shown = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(show_after, self._show)
        self._timer.daemon = True
        if where.is_terminal:
            self._timer.start()

    def _show(self) -> None:
        with self._lock:
            if not self.shown and self._timer is not None:
                self.shown = True
                self.progress.start()

    def __call__(self, stage: str) -> None:
        self.progress.update(self.task, description=stage)

    def close(self, ok: bool) -> None:
        """Stop the display: a shown one ends on ``done`` (after a failure it is removed, so that the
        error is the last line)."""
        with self._lock:
            self._timer.cancel()
            self._timer = None  # type: ignore[assignment]
            if not self.shown:
                return
            if ok:
                self.progress.update(self.task, description="done", total=1, completed=1)
            else:
                self.progress.live.transient = True
            self.progress.stop()


@contextmanager
def stages_shown(show_after: float = SHOW_AFTER, where: Console = console) -> Iterator[StageCallback]:
    """A :class:`StageDisplay` for the work inside the block."""
    display = StageDisplay(show_after, where)
    try:
        yield display
    except BaseException:
        display.close(ok=False)
        raise
    display.close(ok=True)


def say_scale(relighter: Relighter, size: tuple[int, int]) -> None:
    """One dim line when the network runs at another size than the image's: which, and why."""
    run = relighter.run_size(size)
    if run == tuple(size):
        return
    native = " (--native runs it at full resolution)" if relighter.scale.pixels is not None else ""
    console.print(f"[dim]running the network at {run[0]}x{run[1]} for {size[0]}x{size[1]}: {relighter.scale.describe()}{native}; "
                  f"the {relighter.upscale} is brought back to full size (--upscale)[/dim]", soft_wrap=True)


@contextmanager
def download_bar(label: str) -> Iterator[ByteProgress]:
    """A progress bar for one download (:func:`relight.weights.pretrained.reporting_downloads`), told its bytes."""
    with tracked(f"downloading {label}", unit="B") as counter:

        def on_bytes(done: int, total: int | None) -> None:
            counter.update(completed=done, total=total, rate=f"{done / 1e6:.1f} MB at {done / 1e6 / max(counter.elapsed(), 1e-6):.1f} MB/s")

        yield on_bytes
