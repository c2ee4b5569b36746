"""Timing whole processes side by side: what the start-up and authors'-loop benchmarks share (and the
machine description and JSON record writing that every benchmark shares).

Each command runs as its own process (so imports, loading and warm-up all count), the commands take
turns within a round and the order flips every round, so that a change of load on a shared machine
hits them alike. Only the standard library at import time: the benchmark process itself imports nothing heavy.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


def time_process(command: Sequence[str], env: Mapping[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds of ``command`` from start to exit, and the CPU seconds (user + system) it used; a
    failure stops the benchmark with its stderr. On a busy machine the CPU time moves less than the wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(list(command), env=dict(env) if env is not None else None, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measured_process(command: Sequence[str], cwd: Path | None = None, env: Mapping[str, str] | None = None,
                     ) -> tuple[float, float, int, list[str]]:
    """Wall seconds, peak RSS (MB, from the kernel's ``wait4``) and exit code of ``command`` in a fresh
    process, and its stderr's non-blank lines (``env``: variables added to this process's)."""
    import tempfile

    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(list(command), cwd=cwd, stdout=subprocess.DEVNULL, stderr=err,
                                 env={**os.environ, "COLUMNS": "200", **(env or {})})
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        err.seek(0)
        lines = [line for line in err.read().splitlines() if line.strip()]
    return seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), lines


def peak_process(command: Sequence[str], cwd: Path | None = None) -> tuple[float, float, list[str]]:
    """Wall seconds and peak RSS (MB) of ``command`` in a fresh process (:func:`measured_process`), and
    its stderr's non-blank lines; a failure stops the benchmark with its last line."""
    seconds, peak, code, lines = measured_process(command, cwd)
    if code != 0:
        raise SystemExit(f"error: {' '.join(command)} failed: {lines[-1] if lines else code}")
    return seconds, peak, lines


@dataclass
class Timings:
    """Per command, the wall and CPU seconds of each run."""

    wall: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)


def alternate(
    commands: Mapping[str, Sequence[str]], rounds: int, env: Mapping[str, str] | None = None,
    on_run: Callable[[str, int, float], None] | None = None,
) -> Timings:
    """``rounds`` rounds, each timing every command once, in an order reversed every other round."""
    names = list(commands)
    timings = Timings({name: [] for name in names}, {name: [] for name in names})
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            wall, cpu = time_process(commands[name], env)
            timings.wall[name].append(wall)
            timings.cpu[name].append(cpu)
            if on_run is not None:
                on_run(name, round_, wall)
    return timings


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median, best and worst of some timings (seconds)."""
    return {"median_s": statistics.median(values), "best_s": min(values), "worst_s": max(values)}


def process_stats(timings: Timings) -> dict[str, dict[str, float]]:
    """Per command, the spread of its wall times and its median CPU time."""
    return {name: {**spread(values), "median_cpu_s": statistics.median(timings.cpu[name])} for name, values in timings.wall.items()}


def timings_table(title: str, timings: Timings, stats: Mapping[str, Mapping[str, float]]) -> Table:
    """A rich table of one row per command (median, best, worst, median CPU, every run); the caller adds its ratio rows."""
    from rich.table import Table

    table = Table(title=title)
    for column in ("process", "median s", "best s", "worst s", "CPU s (median)", "runs (s)"):
        table.add_column(column, justify="left" if column == "process" else "right")
    for name, values in timings.wall.items():
        s = stats[name]
        table.add_row(name, f"{s['median_s']:.2f}", f"{s['best_s']:.2f}", f"{s['worst_s']:.2f}", f"{s['median_cpu_s']:.2f}",
                      ", ".join(f"{v:.2f}" for v in values))
    return table


def machine() -> dict[str, object]:
    """Where the timings were taken: enough to tell two machines (and a busy one) apart."""
    return {
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "load_average_after": os.getloadavg()[0],
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
    }


def write_record(path: Path | None, record: Mapping[str, object], console: Console) -> None:
    """Write a benchmark's JSON record to ``path`` (nothing when it is None) and say so."""
    if path is None:
        return
    from relight.io import write_json

    write_json(path, record)
    console.print(f"wrote {path}")
