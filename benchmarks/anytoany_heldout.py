"""How well does an any-to-any model relight held-out scenes to any light, told nothing of the source?

Issue 13's targets for the bundled any-to-any model, measured on a folder of held-out any-to-any scenes
(``relight synth OUT --renderer raster --seed S ...``: a seed and a renderer never trained on):

* over a seeded sample of (scene, source, target) triples with source != target, relit with no source
  given: the mean PSNR gain over identity (the source image taken as the answer), overall, by target
  direction and by target temperature;
* opposite directions told apart: the output asked for a target is closer (PSNR) to the ground truth of
  that target than to the ground truth of the opposite direction at the same temperature (E against W,
  N against S, ...), as a share of the triples, overall and per opposite pair;
* warmth: the same image relit to the target's direction at 2500 K has a higher mean R / mean B than
  relit to it at 6500 K, as a share of the triples;
* the one-to-one task 6500-N -> 4500-E on every scene, against a one-to-one model (``--baseline``,
  default relight-synth-narrow), with and without the source told.

Outputs are rounded to 8-bit levels before scoring, as saved files (and ``relight eval``) hold them.
The network runs at the model's training scale unless ``--native`` (as ``relight run`` does). ``--json
PATH`` also writes the results to PATH; ``--json`` alone prints them on stdout, the tables then on
stderr. Run from the repository root:

    .venv/bin/python benchmarks/anytoany_heldout.py weights/relight-synth-any.safetensors /tmp/heldout --json
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from judge.measures import as_saved, psnr, warmth
from judge.triples import OPPOSITE, Triple, complete_scenes, sample_triples
from relight.cli import console, out_console, progress_bar
from relight.data.vidit import Scene
from relight.inference import Relighter
from relight.io import json_text, read_depth, read_image, write_json
from relight.lighting import DEFAULT_SOURCE, DEFAULT_TARGET, DIRECTIONS, TEMPERATURES, Light

WARM, COLD = min(TEMPERATURES), max(TEMPERATURES)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="any-to-any model: registry name, .safetensors file or hf:// address")
    parser.add_argument("heldout", type=Path, help="folder of held-out any-to-any scenes (all 40 lights each)")
    parser.add_argument("--triples", type=int, default=200, help="(scene, source, target) triples to sample (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the triple sample (default 0)")
    parser.add_argument("--baseline", default="relight-synth-narrow", help="one-to-one model for 6500-N -> 4500-E ('' for none)")
    parser.add_argument("--device", default="cpu", help="device to run on (default cpu)")
    parser.add_argument("--native", action="store_true", help="run the network at each image's own size, not at the model's training scale")
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                        help="write the results as JSON to PATH, or print them on stdout (alone or '-': tables then go to stderr)")
    args = parser.parse_args(argv)
    if args.triples < 1:
        parser.error("--triples must be at least 1")
    return args


class SceneCache:
    """Each scene's depth and images read once, as float32 arrays in [0, 1]."""

    def __init__(self) -> None:
        self.depths: dict[str, np.ndarray] = {}
        self.images: dict[tuple[str, Light], np.ndarray] = {}

    def depth(self, scene: Scene) -> np.ndarray:
        if scene.name not in self.depths:
            self.depths[scene.name] = read_depth(scene.depth)  # type: ignore[arg-type]
        return self.depths[scene.name]

    def image(self, scene: Scene, light: Light) -> np.ndarray:
        key = (scene.name, light)
        if key not in self.images:
            self.images[key] = np.asarray(read_image(scene.images[light]).rgb, dtype=np.float32)
        return self.images[key]


def score_triples(relighter: Relighter, triples: Sequence[Triple], cache: SceneCache, progress: object) -> list[dict[str, object]]:
    """One row per triple: PSNR of the output and of identity, the opposite test and the warmth test."""
    task = progress.add_task("triples", total=len(triples), rate="")  # type: ignore[attr-defined]
    rows = []
    for t in triples:
        rgb, depth = cache.image(t.scene, t.source), cache.depth(t.scene)
        warm, cold = Light(WARM, t.target.direction), Light(COLD, t.target.direction)
        out, out_warm, out_cold = (as_saved(x) for x in relighter.relight_many(rgb, depth, [t.target, warm, cold]))
        gt = cache.image(t.scene, t.target)
        opposite = cache.image(t.scene, Light(t.target.temperature, OPPOSITE[t.target.direction]))
        score, identity = psnr(out, gt), psnr(rgb, gt)
        rows.append({
            "scene": t.scene.name, "source": str(t.source), "target": str(t.target),
            "psnr_db": score, "identity_psnr_db": identity, "gain_db": score - identity,
            "opposite_told_apart": score > psnr(out, opposite),
            "warmer_at_2500": warmth(out_warm) > warmth(out_cold),
        })
        progress.advance(task)  # type: ignore[attr-defined]
    return rows


def summarise(rows: Iterable[dict[str, object]]) -> dict[str, float | int]:
    rows = list(rows)
    return {
        "triples": len(rows),
        "psnr_db": float(np.mean([r["psnr_db"] for r in rows])),
        "identity_psnr_db": float(np.mean([r["identity_psnr_db"] for r in rows])),
        "gain_db": float(np.mean([r["gain_db"] for r in rows])),
        "opposite_pct": 100.0 * float(np.mean([r["opposite_told_apart"] for r in rows])),
        "warmer_pct": 100.0 * float(np.mean([r["warmer_at_2500"] for r in rows])),
    }


def grouped(rows: Sequence[dict[str, object]], key: str, order: Sequence[str]) -> dict[str, dict[str, float | int]]:
    groups: dict[str, list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        groups[key_of(row, key)].append(row)
    return {name: summarise(groups[name]) for name in order if groups[name]}


def key_of(row: dict[str, object], key: str) -> str:
    """The row's target direction, target temperature or opposite pair (``E/W``)."""
    target = Light.parse(str(row["target"]))
    if key == "direction":
        return target.direction
    if key == "temperature":
        return str(target.temperature)
    return "/".join(sorted((target.direction, OPPOSITE[target.direction]), key=DIRECTIONS.index))


def one_to_one(models: dict[str, tuple[Relighter, Light | None]], scenes: Sequence[Scene], cache: SceneCache,
               progress: object) -> dict[str, dict[str, float | int]]:
    """Mean PSNR of each model (and identity) on 6500-N -> 4500-E over every scene."""
    task = progress.add_task("6500-N -> 4500-E", total=len(scenes), rate="")  # type: ignore[attr-defined]
    scores: dict[str, list[float]] = {name: [] for name in ["identity", *models]}
    for scene in scenes:
        rgb, depth = cache.image(scene, DEFAULT_SOURCE), cache.depth(scene)
        gt = cache.image(scene, DEFAULT_TARGET)
        scores["identity"].append(psnr(rgb, gt))
        for name, (relighter, source) in models.items():
            to = None if not relighter.illumination.any_to_any else DEFAULT_TARGET
            out = relighter.relight(rgb, depth, to=to, source=source)
            scores[name].append(psnr(as_saved(out), gt))
        progress.advance(task)  # type: ignore[attr-defined]
    base = float(np.mean(scores["identity"]))
    return {name: {"scenes": len(v), "psnr_db": float(np.mean(v)), "gain_db": float(np.mean(v)) - base}
            for name, v in scores.items()}


def table(title: str, first: str, groups: dict[str, dict[str, float | int]]) -> Table:
    out = Table(title=title)
    for column in (first, "triples", "PSNR dB", "identity dB", "gain dB", "opposite %", "warmer %"):
        out.add_column(column, justify="left" if column == first else "right")
    for name, s in groups.items():
        out.add_row(name, str(s["triples"]), f"{s['psnr_db']:.2f}", f"{s['identity_psnr_db']:.2f}",
                    f"{s['gain_db']:+.2f}", f"{s['opposite_pct']:.1f}", f"{s['warmer_pct']:.1f}")
    return out


def print_tables(record: dict[str, object], to_stderr: bool) -> None:
    where = console if to_stderr else (out_console if out_console.is_terminal else Console(width=200))
    size = record["image_size"]
    title = f"{record['model']} on {record['heldout']} ({size}, run at {record['run_scale']}), no source given"
    where.print(table(title, "", {"all": record["overall"]}))  # type: ignore[arg-type]
    for key, first in (("by_direction", "target direction"), ("by_temperature", "target K"), ("by_opposite_pair", "opposite pair")):
        where.print(table(f"by {first}", first, record[key]))  # type: ignore[arg-type]
    if record["one_to_one"]:
        pair = Table(title=f"{DEFAULT_SOURCE} -> {DEFAULT_TARGET} on all {len(record['scenes'])} scenes")  # type: ignore[arg-type]
        for column in ("model", "PSNR dB", "gain dB"):
            pair.add_column(column, justify="left" if column == "model" else "right")
        for name, s in record["one_to_one"].items():  # type: ignore[union-attr]
            pair.add_row(name, f"{s['psnr_db']:.2f}", f"{s['gain_db']:+.2f}")
        where.print(pair)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.manual_seed(0)
    scenes = complete_scenes(args.heldout)
    triples = sample_triples(scenes, args.triples, args.seed)
    relighter = Relighter.from_weights(args.model, device=args.device, precision="fp32", native=args.native)
    if not relighter.illumination.any_to_any:
        raise SystemExit(f"{args.model}: a one-to-one model ({relighter.illumination.describe()}); this benchmark takes an any-to-any one")
    cache = SceneCache()
    start = time.perf_counter()
    with progress_bar() as progress:
        rows = score_triples(relighter, triples, cache, progress)
        models: dict[str, tuple[Relighter, Light | None]] = {args.model: (relighter, None), f"{args.model} (source told)": (relighter, DEFAULT_SOURCE)}
        if args.baseline:
            baseline = Relighter.from_weights(args.baseline, device=args.device, precision="fp32", native=args.native)
            models[args.baseline] = (baseline, None)
        pair = one_to_one(models, scenes, cache, progress)
    height, width = cache.depth(scenes[0]).shape
    record = {
        "model": args.model, "heldout": str(args.heldout), "image_size": f"{width}x{height}",
        "run_scale": relighter.scale.describe(), "native": args.native,
        "scenes": [s.name for s in scenes], "seed": args.seed, "device": args.device,
        "torch": torch.__version__, "python": platform.python_version(), "seconds": round(time.perf_counter() - start, 1),
        "overall": summarise(rows),
        "by_direction": grouped(rows, "direction", DIRECTIONS),
        "by_temperature": grouped(rows, "temperature", [str(t) for t in TEMPERATURES]),
        "by_opposite_pair": grouped(rows, "pair", ["N/S", "NE/SW", "E/W", "SE/NW"]),
        "one_to_one": pair,
        "triples": rows,
    }
    print_tables(record, to_stderr=args.json == "-")
    if args.json == "-":
        sys.stdout.write(json_text(record))
    elif args.json:
        write_json(Path(args.json), record)
        console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
