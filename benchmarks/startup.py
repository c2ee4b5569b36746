"""How long does ``relight run`` take on one small pair, against ``python -c "import torch"`` alone?

Both are timed as whole processes, side by side: after one untimed run of each (to fill the file
cache, and relight's conversion cache when ``--weights`` is an authors' checkpoint), ``--rounds``
rounds each run both, the order flipping every round. The ratio that counts is median(relight run) /
median(import torch); the target is at most 1.4x. Run from the repository root:

    .venv/bin/python benchmarks/startup.py --rounds 9 --json runs/bench-startup.json
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from rich.console import Console

from relight.io import write_depth_npy, write_image
from wholeprocess import alternate, machine, process_stats, timings_table, write_record

TARGET = 1.4


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds, each running both commands")
    parser.add_argument("--size", type=int, default=64, help="side of the image in pixels")
    parser.add_argument("--weights", default=None, help="as relight run --weights (default: the bundled model)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    return parser.parse_args(argv)


def write_pair(folder: Path, size: int) -> tuple[Path, Path]:
    """A random image and a VIDIT-style depth file."""
    rng = np.random.default_rng(0)
    image, depth = folder / "scene.png", folder / "scene.npy"
    write_image(image, rng.random((size, size, 3), dtype=np.float32))
    write_depth_npy(depth, rng.random((size, size), dtype=np.float32))
    return image, depth


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="relight-bench-startup-") as tmp:
        root = Path(tmp)
        image, depth = write_pair(root, args.size)
        run = [sys.executable, "-m", "relight", "run", str(image), str(depth), "-o", str(root / "out.png")]
        if args.weights:
            run += ["--weights", args.weights]
        commands = {"import torch": [sys.executable, "-c", "import torch"], "relight run": run}
        env = {**os.environ, "RELIGHT_HOME": str(root / "home")}
        alternate(commands, 1, env)  # warm-up, untimed
        timings = alternate(commands, args.rounds, env,
                            on_run=lambda name, r, s: console.print(f"[dim]round {r + 1}: {name} {s:.2f} s[/dim]"))
    times = timings.wall
    stats = process_stats(timings)
    ratio = stats["relight run"]["median_s"] / stats["import torch"]["median_s"]
    best_ratio = stats["relight run"]["best_s"] / stats["import torch"]["best_s"]
    table = timings_table(f"start-up: relight run on a {args.size}x{args.size} pair vs import torch ({args.rounds} rounds)", timings, stats)
    table.add_row("[bold]ratio[/bold]", f"[bold]{ratio:.2f}x[/bold]", f"{best_ratio:.2f}x", "", "", f"target at most {TARGET}x")
    Console(width=160).print(table)
    write_record(args.json, {
        "benchmark": "startup", "size": args.size, "weights": args.weights or "bundled default", "rounds": args.rounds,
        "seconds": times, "cpu_seconds": timings.cpu, "stats": stats, "ratio": ratio, "ratio_best": best_ratio,
        "target": TARGET, **machine(),
    }, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
