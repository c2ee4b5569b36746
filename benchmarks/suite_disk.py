"""How much temporary disk does the test suite take at its peak, and what does a passing run leave?

The suite runs twice, side by side: with pytest's retention settings from pyproject.toml (a passing
test's folder removed as it ends, one run's failures kept), and with pytest's defaults (every folder
kept, three runs of them), which is how the suite ran until CI ran out of disk in /tmp. Each run gets
a fresh system temporary folder of its own (``TMPDIR``), sampled every ``--every`` seconds; the ratio
that counts is peak(defaults) / peak(configured). Run from the repository root:

    .venv/bin/python benchmarks/suite_disk.py --json runs/bench-suite-disk.json
    .venv/bin/python benchmarks/suite_disk.py tests/test_converted.py tests/test_weights.py   # a part
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from wholeprocess import machine, write_record

#: pytest's own defaults for the two settings pyproject.toml changes.
DEFAULTS = ["-o", "tmp_path_retention_policy=all", "-o", "tmp_path_retention_count=3"]
ROOT = Path(__file__).resolve().parents[1]
#: As `make test` runs the suite.
XDIST = ["-n", "auto", "--maxprocesses", "4", "--dist", "worksteal"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tests", nargs="*", default=["tests"], help="what pytest runs (default: the whole suite)")
    parser.add_argument("--every", type=float, default=0.5, help="seconds between two samples of the folder's size")
    parser.add_argument("--serial", action="store_true", help="one test process, not one per core as make test runs")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    return parser.parse_args(argv)


def disk_bytes(folder: Path) -> int:
    """Bytes allocated under ``folder`` on its own file system (a tmpfs a test mounts inside is not disk)."""
    total, device = 0, folder.stat().st_dev
    for root, dirs, files in os.walk(folder):
        for name in files + dirs:
            try:
                info = os.lstat(os.path.join(root, name))
            except OSError:
                continue  # removed while walked
            if info.st_dev == device:
                total += info.st_blocks * 512
        dirs[:] = [d for d in dirs if _same_device(os.path.join(root, d), device)]
    return total


def _same_device(path: str, device: int) -> bool:
    try:
        return os.lstat(path).st_dev == device
    except OSError:
        return False


def run_sampled(command: list[str], tmpdir: Path, every: float) -> dict[str, object]:
    """Run ``command`` with ``tmpdir`` as its system temporary folder; its peak and final size there."""
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(every):
            peak = max(peak, disk_bytes(tmpdir))

    sampler = threading.Thread(target=sample, daemon=True)
    start = time.perf_counter()
    sampler.start()
    finished = subprocess.run(command, env={**os.environ, "TMPDIR": str(tmpdir), "OMP_NUM_THREADS": "1"},
                              capture_output=True, text=True)
    done.set()
    sampler.join()
    left = disk_bytes(tmpdir)
    summary = (finished.stdout.strip().splitlines() or [""])[-1]
    return {"peak_bytes": max(peak, left), "left_bytes": left, "seconds": time.perf_counter() - start,
            "exit_code": finished.returncode, "pytest": summary}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(stderr=True)
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT),
            *([] if args.serial else XDIST), *args.tests]
    modes = {"as configured": base, "pytest's defaults": base + DEFAULTS}
    results = {}
    with tempfile.TemporaryDirectory(prefix="relight-bench-disk-") as tmp:
        for name, command in modes.items():
            tmpdir = Path(tmp) / name.replace(" ", "-").replace("'", "")
            tmpdir.mkdir()
            console.print(f"[dim]{name}: {' '.join(command[2:])} (TMPDIR={tmpdir})[/dim]")
            results[name] = run_sampled(command, tmpdir, args.every)
            console.print(f"[dim]{name}: {results[name]['pytest']}[/dim]")
    failed = [name for name, r in results.items() if r["exit_code"] != 0]
    table = Table(title=f"temporary disk of pytest {' '.join(args.tests)} (sampled every {args.every} s)")
    for column in ("settings", "peak", "left after the run", "time", "pytest"):
        table.add_column(column, justify="left" if column in ("settings", "pytest") else "right")
    for name, r in results.items():
        table.add_row(name, f"{r['peak_bytes'] / 1e6:,.0f} MB", f"{r['left_bytes'] / 1e6:,.0f} MB", f"{r['seconds']:.0f} s", str(r["pytest"]))
    configured, defaults = results["as configured"], results["pytest's defaults"]
    ratio = defaults["peak_bytes"] / max(configured["peak_bytes"], 1)
    table.add_row("[bold]ratio[/bold]", f"[bold]{ratio:.2f}x[/bold]", "", "", "peak(defaults) / peak(configured)")
    Console(width=160).print(table)
    write_record(args.json, {"benchmark": "suite_disk", "tests": args.tests, "serial": args.serial, "every_s": args.every,
                             "results": results, "ratio": ratio, **machine()}, console)
    if failed:
        console.print(f"[red]the tests failed with {', '.join(failed)}: the peaks are of a failing run[/red]")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
