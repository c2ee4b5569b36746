"""Render judge scenes into a folder: ``python benchmarks/judge OUT --scenes N --size S --seed K``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/judge`: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from judge.dataset import write_judge_dataset  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/judge", description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--scenes", type=int, default=4)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start-index", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        write_judge_dataset(args.out, args.scenes, args.size, args.seed, args.start_index,
                            on_scene=lambda i: print(f"Image{i:03d} ({time.perf_counter() - start:.1f} s)", file=sys.stderr))
    except ValueError as exc:
        parser.error(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
