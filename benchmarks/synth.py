"""How long ``relight synth`` takes per scene: both renderers, the classic, wide and world families, side by side.

Each round renders the same scenes in every configuration back to back (so that a load change on a
busy machine hits them alike) and, with ``--write``, writes them as ``relight synth`` does (40 PNGs,
the depth file and, with ``--masks``, the 8 shadow masks). It prints the median wall-clock and CPU
seconds per scene (CPU time is what a busy machine's other work does not inflate), the ratio to the ray
caster on the classic family (the generator as it was before families and the second renderer), and
how long a data set of ``--estimate`` scenes would take on ``--processes`` processes (``relight synth``
runs with different ``--start-index``) at that CPU time per scene. Run from the repository root:

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

FAMILIES = ("classic", "wide", "world")


def _seconds(renderer: str, family: str, size: int, scenes: int, write: bool, masks: bool) -> tuple[float, float]:
    """Wall-clock and CPU seconds per scene for ``scenes`` scenes of the family, rendered (and written,
    with ``write``)."""
    ranges = scene_ranges(family)
    start, cpu = time.perf_counter(), time.process_time()
    if write:
        with tempfile.TemporaryDirectory() as folder:
            write_dataset(Path(folder) / "set", scenes, size, seed=1, ranges=ranges, renderer=renderer, masks=masks)
    else:
        for index in range(scenes):
            RENDERERS[renderer](random_scene(scene_seed(1, index), ranges), size)
    return (time.perf_counter() - start) / scenes, (time.process_time() - cpu) / scenes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256], help="image sizes")
    parser.add_argument("--scenes", type=int, default=4, help="scenes per configuration and round")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; the median is reported")
    parser.add_argument("--write", action="store_true", help="write the files too, as relight synth does")
    parser.add_argument("--masks", action="store_true", help="with --write, the shadow masks too")
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), help="families to time (classic is always timed)")
    parser.add_argument("--estimate", type=int, default=300, help="scenes in the data set whose time is estimated")
    parser.add_argument("--processes", type=int, default=2, help="processes the estimate shares the scenes among")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    families = list(dict.fromkeys(["classic", *args.families]))
    configs = [(r, f, s) for s in args.sizes for r in RENDERERS for f in families]
    times: dict[tuple[str, str, int], list[tuple[float, float]]] = {c: [] for c in configs}
    for _ in range(args.repeats):
        for config in configs:
            times[config].append(_seconds(*config, args.scenes, args.write, args.masks))
    table = Table(title=f"relight synth, seconds per scene ({'rendered and written' if args.write else 'rendered'}), "
                        f"median of {args.repeats} rounds of {args.scenes} scenes")
    for column in ("size", "renderer", "family", "s/scene", "CPU s/scene", "CPU vs ray classic", f"{args.estimate} scenes, {args.processes} proc."):
        table.add_column(column, justify="right")
    rows = []
    for renderer, family, size in configs:
        wall = statistics.median(t[0] for t in times[(renderer, family, size)])
        cpu = statistics.median(t[1] for t in times[(renderer, family, size)])
        ratio = cpu / statistics.median(t[1] for t in times[("ray", "classic", size)])
        minutes = cpu * args.estimate / args.processes / 60
        rows.append({"size": size, "renderer": renderer, "family": family, "seconds": wall, "cpu_seconds": cpu, "cpu_ratio": ratio,
                     "estimate_minutes": minutes})
        table.add_row(str(size), renderer, family, f"{wall:.2f}", f"{cpu:.2f}", f"{ratio:.2f}x", f"{minutes:.0f} min")
    Console().print(table)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
