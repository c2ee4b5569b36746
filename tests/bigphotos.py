"""Big photos that cost little to write, and ``relight`` run in a child process that reports its peak memory,
for the tests of what big inputs cost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

#: Runs ``relight`` with the arguments after it and prints the process's peak memory (VmHWM, kB) last on
#: stderr, whatever way the command ends.
_PEAK_RUNNER = """
import atexit, sys
def _peak():
    status = open("/proc/self/status").read()
    sys.stderr.write("peak_kb " + next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")) + "\\n")
atexit.register(_peak)
sys.argv = ["relight", *sys.argv[1:]]
from relight.cli import main
main()
"""


def relight_with_peak(args: list[str], timeout: float = 300, **popen: object) -> tuple[int, str, str, float]:
    """Run ``relight ARGS`` in a child process: (exit code, stdout, stderr without the last line, peak
    resident memory in MB, as /proc gives it for that process alone)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", **popen.pop("env", {})}  # type: ignore[dict-item]
    done = subprocess.run([sys.executable, "-c", _PEAK_RUNNER, *args], capture_output=True, text=True, timeout=timeout, env=env, **popen)
    *rest, last = done.stderr.rstrip("\n").split("\n")
    assert last.startswith("peak_kb "), done.stderr[-2000:]
    return done.returncode, done.stdout, "\n".join(rest), int(last.split()[1]) / 1e3


def flat_photo(path: Path, side: int) -> tuple[Path, Path]:
    """A ``side`` x ``side`` photo of one grey (small as a file, big in memory) and its flat depth."""
    Image.new("RGB", (side, side), (120, 110, 100)).save(path)
    depth = path.with_name(f"{path.stem}_depth.png")
    Image.new("L", (side, side), 128).save(depth)
    return path, depth
