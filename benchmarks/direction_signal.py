"""How much does the light's direction change each scene's ground truth, and which drawn parameters of
the `world` family weaken it? (issue 22)

A model learns direction from how far apart a scene's images under opposite lights are. This measures
that for each scene of any-to-any folders (``relight synth`` or the judge): the **directional contrast**,
the mean absolute difference between the images lit from opposite directions (N/S, E/W, NE/SW, SE/NW),
over the scene's mean brightness, averaged over the five temperatures. For each folder it prints the
median and quartiles. ``--world FOLDER:SEED`` also redraws each scene's parameters from the seed that
``relight synth --seed SEED`` made the folder with (the full `world` ranges, or ``--family``'s), and
ranks them by how strongly they go with the contrast (Spearman), with the median contrast in each
parameter's lowest and highest third.

    .venv/bin/python benchmarks/direction_signal.py /tmp/train_ray /tmp/classic /tmp/gen/renderer-judge \\
        --world /tmp/train_ray:41 --every 2 --json runs/direction.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from judge.triples import OPPOSITE
from relight.data.synth.draws import draw
from relight.data.synth.families import scene_ranges
from relight.data.synth.scene import scene_seed
from relight.io import read_image
from relight.lighting import DIRECTIONS, TEMPERATURES
from wholeprocess import write_record

#: Opposite directions, each pair once (N/S, NE/SW, E/W, SE/NW).
PAIRS = tuple((d, OPPOSITE[d]) for d in DIRECTIONS[:4])
#: The world parameters drawn as numbers (the choices, such as layouts, are left out).
PARAMETERS = ("light_radius", "light_elevation", "light_size", "falloff", "sky", "ambient", "bounce", "exposure", "tone", "gamma",
              "camera_height", "pitch", "fov", "roll", "objects", "object_size", "occluders")


def scenes(folder: Path) -> list[str]:
    """The scene stems of an any-to-any folder (``ImageNNN``), in order."""
    return sorted(p.name[: -len("_6500_N.png")] for p in folder.glob("Image*_6500_N.png"))


def contrast(folder: Path, stem: str) -> float:
    """The scene's directional contrast (see the module's docstring)."""
    values = []
    for temperature in TEMPERATURES:
        images = {d: read_image(folder / f"{stem}_{temperature}_{d}.png").rgb for d in DIRECTIONS}
        brightness = float(np.mean([image.mean() for image in images.values()])) + 1e-3
        values.append(float(np.mean([np.abs(images[a] - images[b]).mean() for a, b in PAIRS])) / brightness)
    return float(np.mean(values))


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    rank = lambda v: np.argsort(np.argsort(v, kind="stable"), kind="stable").astype(float)  # noqa: E731
    return float(np.corrcoef(rank(x), rank(y))[0, 1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", type=Path, help="any-to-any folders whose contrast to compare")
    parser.add_argument("--world", default=None, metavar="FOLDER:SEED", help="a world folder and its synth seed: rank its parameters")
    parser.add_argument("--family", default="world", help="the family --world's folder was drawn from (default world)")
    parser.add_argument("--every", type=int, default=1, help="take every Nth scene (default 1: all)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    record: dict[str, object] = {"folders": {}, "parameters": {}}
    table = Table(title="directional contrast per scene")
    for column in ("folder", "scenes", "median", "25 %", "75 %"):
        table.add_column(column, justify="left" if column == "folder" else "right")
    world_folder, world_seed = (None, None)
    if args.world:
        name, _, seed = args.world.rpartition(":")
        world_folder, world_seed = Path(name), int(seed)
    folders = list(args.folders) + ([world_folder] if world_folder and world_folder not in args.folders else [])
    found: dict[Path, dict[str, float]] = {}
    for folder in folders:
        stems = scenes(folder)[:: args.every]
        if not stems:
            raise SystemExit(f"{folder}: no any-to-any scenes (ImageNNN_6500_N.png ...)")
        found[folder] = {stem: contrast(folder, stem) for stem in stems}
        values = list(found[folder].values())
        q1, median, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else (values[0],) * 3
        record["folders"][str(folder)] = {"scenes": len(values), "median": median, "q1": q1, "q3": q3, "per_scene": found[folder]}
        table.add_row(str(folder), str(len(values)), f"{median:.3f}", f"{q1:.3f}", f"{q3:.3f}")
    console.print(table)
    if world_folder is not None:
        ranges = scene_ranges(args.family)
        per_scene = found[world_folder]
        seeds = [scene_seed(world_seed, int(stem[len("Image"):])) for stem in per_scene]
        signal = np.array(list(per_scene.values()))
        ranked = Table(title=f"{world_folder}: world parameters against the contrast")
        for column in ("parameter", "Spearman", "contrast, lowest third", "contrast, highest third"):
            ranked.add_column(column, justify="left" if column == "parameter" else "right")
        rows = []
        for name in PARAMETERS:
            drawn = np.array([draw(seed, ranges, name) for seed in seeds])
            low, high = np.percentile(drawn, [100 / 3, 200 / 3])
            rows.append((name, spearman(drawn, signal), float(np.median(signal[drawn <= low])), float(np.median(signal[drawn >= high]))))
        for name, rho, low, high in sorted(rows, key=lambda r: -abs(r[1])):
            ranked.add_row(name, f"{rho:+.2f}", f"{low:.3f}", f"{high:.3f}")
            record["parameters"][name] = {"spearman": rho, "low_third_median": low, "high_third_median": high}
        console.print(ranked)
    write_record(args.json, record, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
