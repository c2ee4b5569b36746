"""How long ``relight synth`` takes per scene: both renderers, the classic and the wide family, side by side.

Each round renders the same scenes in every configuration back to back (so that a load change on a
busy machine hits them alike) and, with ``--write``, writes them as ``relight synth`` does (40 PNGs
and the depth file). It prints the median seconds per scene and the ratio to the ray caster on the
classic family (the generator as it was before families and the second renderer). Run from the
repository root:

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/synth.py --sizes 128 256 --scenes 4 --repeats 3 --write
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from relight.data.synth import RENDERERS, random_scene, scene_ranges, scene_seed, write_dataset

FAMILIES = ("classic", "wide")


def _seconds(renderer: str, family: str, size: int, scenes: int, write: bool) -> float:
    """Seconds per scene for ``scenes`` scenes of the family, rendered (and written, with ``write``)."""
    ranges = scene_ranges(family)
    start = time.perf_counter()
    if write:
        with tempfile.TemporaryDirectory() as folder:
            write_dataset(Path(folder) / "set", scenes, size, seed=1, ranges=ranges, renderer=renderer)
    else:
        for index in range(scenes):
            RENDERERS[renderer](random_scene(scene_seed(1, index), ranges), size)
    return (time.perf_counter() - start) / scenes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256], help="image sizes")
    parser.add_argument("--scenes", type=int, default=4, help="scenes per configuration and round")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; the median is reported")
    parser.add_argument("--write", action="store_true", help="write the files too, as relight synth does")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    configs = [(r, f, s) for s in args.sizes for r in RENDERERS for f in FAMILIES]
    times: dict[tuple[str, str, int], list[float]] = {c: [] for c in configs}
    for _ in range(args.repeats):
        for config in configs:
            times[config].append(_seconds(*config, args.scenes, args.write))
    table = Table(title=f"relight synth, seconds per scene ({'rendered and written' if args.write else 'rendered'}), "
                        f"median of {args.repeats} rounds of {args.scenes} scenes")
    for column in ("size", "renderer", "family", "s/scene", "vs ray classic"):
        table.add_column(column, justify="right")
    rows = []
    for renderer, family, size in configs:
        median = statistics.median(times[(renderer, family, size)])
        ratio = median / statistics.median(times[("ray", "classic", size)])
        rows.append({"size": size, "renderer": renderer, "family": family, "seconds": median, "ratio": ratio})
        table.add_row(str(size), renderer, family, f"{median:.2f}", f"{ratio:.2f}x")
    Console().print(table)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
