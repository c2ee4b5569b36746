"""Timing whole processes side by side: what the start-up and authors'-loop benchmarks share.

Each command runs as its own process (so imports, loading and warm-up all count), the commands take
turns within a round and the order flips every round, so that a change of load on a shared machine
hits them alike. Only the standard library here: the benchmark process itself imports nothing heavy.
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


def machine() -> dict[str, object]:
    """Where the timings were taken: enough to tell two machines (and a busy one) apart."""
    return {
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "load_average_after": os.getloadavg()[0],
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
    }
