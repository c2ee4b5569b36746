"""Which geometry hints make the better any-to-any MBNet? none, normals, normals+shadows and
normals+shadows+shading, on the same data and budget, scored on a held-out folder; with how well the
shadow hints agree with a renderer's own shadows, and what the hints cost a forward pass.

Three parts, side by side in one run:

* **designs**: each design of ``--designs`` is trained by ``relight train DATA --any-to-any --hints
  DESIGN`` with the same seed, steps, batch and every other option (the options after ``--`` go to each
  run as they are: ``-- --init relight-synth-narrow --width 16 ...``), then its last checkpoint is
  scored on the held-out any-to-any folder as ``benchmarks/anytoany_heldout.py`` scores a model: the
  mean PSNR gain over identity on a seeded sample of (scene, source, target) triples with no source
  given, opposite directions told apart, warmer at 2500 K than at 6500 K. For the design comparison of
  issue 22 the held-out folder is the leave-one-renderer-out set;
* **agreement**: on ``--agreement`` ray-cast synthetic scenes of the ``classic`` family, the shadow hint of each compass light
  (computed from the depth map alone, the camera assumed as a model assumes it) against the ray caster's
  own point-light shadows: intersection over union, recall and precision over the pixels facing the light;
  with ``--agreement-judge DIR``, also on a set of the judge (the renderer relight never trains on, with
  its own cameras and light rigs) against its cast-shadow masks, over every pixel but the judge's attached
  shadows (surfaces facing away from the light, which the hint does not mark);
* **cost**: one image relit to 8 lights in one pass by a narrow model of each design, at ``--cost-size``:
  seconds and the ratio to ``none`` (shadows make the depth stream depend on the light, so it runs once
  per light where the RGB stream runs once).

Run from the repository root (``--steps 0`` skips the training, ``--agreement 0`` and ``--cost-size 0``
the other parts):

    .venv/bin/relight synth /tmp/h/train --scenes 64 --size 128 --seed 31
    .venv/bin/relight synth /tmp/h/heldout --scenes 16 --size 128 --seed 32 --start-index 900 --renderer raster
    .venv/bin/python benchmarks/hints.py /tmp/h/train /tmp/h/heldout --steps 400 --json runs/hints.json -- \\
        --backbone narrow --width 16 --decoder-channels 32 --perceptual-weight 0 --batch-size 8 --lr 5e-4
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from anytoany_heldout import SceneCache, complete_scenes, sample_triples, score_triples, summarise
from relight.cli import console, out_console, progress_bar
from relight.model.config import HINT_CHANNELS, HINTS
from relight.inference import Relighter
from relight.lighting import DIRECTIONS, Light, encode_lights
from relight.model import MBNet, MBNetConfig
from relight.model.hints import GeometryHints
from wholeprocess import write_record


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    argv = list(sys.argv[1:] if argv is None else argv)
    passed = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, nargs="?", help="any-to-any training folder (relight synth)")
    parser.add_argument("heldout", type=Path, nargs="?", help="held-out any-to-any folder (all 40 lights a scene)")
    parser.add_argument("--designs", default=",".join(HINTS), help="comma-separated: " + ", ".join(HINTS))
    parser.add_argument("--steps", type=int, default=400, help="training steps per design (0: no training)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every run and of the triple sample")
    parser.add_argument("--triples", type=int, default=200, help="held-out (scene, source, target) triples scored")
    parser.add_argument("--runs", type=Path, default=None, help="keep the run folders here (default: a temporary folder)")
    parser.add_argument("--agreement", type=int, default=12, help="ray-cast scenes for the shadow agreement (0: none)")
    parser.add_argument("--agreement-size", type=int, default=128, help="their size in pixels")
    parser.add_argument("--agreement-judge", type=Path, default=None, metavar="DIR",
                        help="also the shadow agreement on a judge set with cast-shadow masks (generalise.py's DIR/renderer-judge)")
    parser.add_argument("--cost-size", type=int, default=256, help="image side for the cost of a forward (0: none)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    args = parser.parse_args(own)
    args.train_options = passed
    args.designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    unknown = set(args.designs) - set(HINTS)
    if unknown:
        parser.error(f"unknown design {', '.join(sorted(unknown))}; choose from {', '.join(HINTS)}")
    if args.steps and (args.data is None or args.heldout is None):
        parser.error("training the designs needs DATA and HELDOUT (or --steps 0)")
    if args.agreement_judge is not None:
        judge_scenes(args.agreement_judge)  # before the designs' training, not after it
    return args


def train_design(design: str, args: argparse.Namespace, runs: Path) -> tuple[Path, float]:
    """``relight train`` for one design; its last checkpoint and the seconds it took."""
    out = runs / design.replace("+", "-")
    command = [sys.executable, "-m", "relight", "train", str(args.data), "--out", str(out), "--any-to-any", "--hints", design,
               "--max-steps", str(args.steps), "--seed", str(args.seed), *args.train_options]
    console.print(f"[dim]{' '.join(command[1:])}[/dim]")
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"training {design} failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
    return out / "last.safetensors", time.perf_counter() - started


def compare_designs(args: argparse.Namespace, runs: Path) -> list[dict[str, object]]:
    scenes = complete_scenes(args.heldout)
    triples = sample_triples(scenes, args.triples, args.seed)
    cache = SceneCache()
    rows = []
    for design in args.designs:
        checkpoint, seconds = train_design(design, args, runs)
        relighter = Relighter.from_weights(checkpoint, device="cpu", precision="fp32")
        with progress_bar() as progress:
            scored = score_triples(relighter, triples, cache, progress)
        rows.append({"design": design, "variant": relighter.loaded.config.describe(), "train_s": round(seconds, 1),
                     "checkpoint": str(checkpoint), **summarise(scored)})
    return rows


#: The target light's shadow among the depth stream's input planes: after the depth and the normals.
TARGET_SHADOW = 1 + HINT_CHANNELS["normals"]


class Overlap:
    """Intersection over union, recall and precision of predicted shadow masks against true ones, each the
    mean over the (scene, light) pairs where it is defined."""

    def __init__(self) -> None:
        self.ious: list[float] = []
        self.recalls: list[float] = []
        self.precisions: list[float] = []

    def add(self, truth: np.ndarray, predicted: np.ndarray) -> None:
        both, either = (truth & predicted).sum(), (truth | predicted).sum()
        if either:
            self.ious.append(both / either)
        if truth.any():
            self.recalls.append(both / truth.sum())
        if predicted.any():
            self.precisions.append(both / predicted.sum())

    def means(self) -> dict[str, float]:
        return {"iou": float(np.mean(self.ious)), "recall": float(np.mean(self.recalls)), "precision": float(np.mean(self.precisions))}


def compass_shadows(depth: np.ndarray) -> np.ndarray:
    """``8 x H x W`` bool: the shadow hint of each compass light (:data:`DIRECTIONS`) for an ``H x W`` depth map,
    the camera assumed as a model assumes it by default."""
    config = MBNetConfig()
    hints = GeometryHints("normals+shadows", config.hint_fov_deg, config.hint_pitch_deg)
    with torch.no_grad():
        planes = hints(torch.from_numpy(depth)[None, None], encode_lights([Light(6500, d) for d in DIRECTIONS]))
    return planes[:, TARGET_SHADOW].numpy() > 0.5


def agreement(scenes: int, size: int) -> dict[str, float]:
    """The shadow hints of the 8 compass lights against the ray caster's point-light shadows (see the module doc)."""
    from relight.data.synth.camera import camera_rays, central_hit, light_positions, normalised_depth
    from relight.data.synth.families import random_scene, scene_ranges
    from relight.data.synth.shapes import dot, first_hit, occluded

    overlap = Overlap()
    config = MBNetConfig()
    for seed in range(scenes):
        scene = random_scene(seed, scene_ranges("classic"))  # the camera the hints assume by default
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            origin, rays = camera_rays(scene, size)
            centre, central = central_hit(scene)
            lights = light_positions(scene, (centre, central))
            t, index, normal = first_hit(scene.primitives, np.broadcast_to(origin, rays.shape), rays)
        seen = (index >= 0) & (t < np.inf)
        depth = normalised_depth(np.where(seen, t, np.inf), seen, central, size)
        seen &= depth.reshape(-1) < 1.0
        points = origin + np.where(seen, t, 0.0)[:, None] * rays
        normal = np.where((dot(normal, rays) > 0)[:, None], -normal, normal)
        shadows = compass_shadows(depth)
        for i, direction in enumerate(DIRECTIONS):
            towards = lights[direction] - points
            distance = np.sqrt(dot(towards, towards))
            unit = towards / distance[:, None]
            facing = seen & (dot(normal, unit) > 0)
            truth = np.zeros(len(points), dtype=bool)
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                truth[facing] = occluded(scene.primitives, points[facing] + 1e-5 * normal[facing], unit[facing], distance[facing])
            overlap.add(truth, shadows[i].reshape(-1) & facing)
    return {"scenes": scenes, "size": size, "fov_deg": config.hint_fov_deg, "pitch_deg": config.hint_pitch_deg, **overlap.means()}


def judge_scenes(folder: Path) -> list[str]:
    """The scenes of a judge set with cast-shadow masks; SystemExit with one line when ``folder`` is not one."""
    from judge.dataset import mask_path

    stems = sorted(p.stem for p in folder.glob("Image*.npy"))
    if not stems or not mask_path(folder, stems[0], DIRECTIONS[0], cast=True).is_file():
        raise SystemExit(f"{folder}: not a judge set with cast-shadow masks (generalise.py --renderers judge --data DIR writes "
                         "one in DIR/renderer-judge)")
    return stems


def judge_agreement(folder: Path) -> dict[str, object]:
    """The shadow hints of the 8 compass lights against the judge's cast-shadow masks (see the module doc)."""
    from judge.dataset import read_mask
    from relight.io import read_depth

    stems = judge_scenes(folder)
    config = MBNetConfig()
    overlap = Overlap()
    for stem in stems:
        for shadow, direction in zip(compass_shadows(read_depth(folder / f"{stem}.npy")), DIRECTIONS, strict=True):
            every, cast = (read_mask(folder, stem, direction, c) for c in (False, True))
            judged = ~(every & ~cast)  # the hint marks what the depth map blocks, not surfaces facing away from the light
            overlap.add(cast[judged], shadow[judged])
    return {"folder": str(folder), "scenes": len(stems), "fov_deg": config.hint_fov_deg, "pitch_deg": config.hint_pitch_deg,
            **overlap.means()}


def cost(size: int, repeats: int = 3) -> list[dict[str, object]]:
    """Seconds of one image relit to 8 lights in one pass (the median of ``repeats``), by design."""
    torch.manual_seed(0)
    rgb, depth = torch.rand(1, 3, size, size), torch.rand(1, 1, size, size)
    light = encode_lights([Light(4500, d) for d in DIRECTIONS])
    rows = []
    for design in HINTS:
        model = MBNet(MBNetConfig.narrow(16, 32, conditioning="film", hints=design, margin=16, depth_skips=True)).eval()
        times = []
        with torch.inference_mode():
            for _ in range(repeats + 1):  # the first warms up
                started = time.perf_counter()
                model(rgb, depth, light)
                times.append(time.perf_counter() - started)
        rows.append({"design": design, "seconds": float(np.median(times[1:]))})
    for row in rows:
        row["ratio"] = row["seconds"] / rows[0]["seconds"]
    return rows


def print_tables(record: dict[str, object]) -> None:
    screen = out_console if out_console.is_terminal else Console(width=160)
    if record["designs"]:
        table = Table(title=f"hint designs, {record['steps']} steps each, scored on {record['heldout']}",
                      caption="no source given; opposite: output nearer GT(target) than GT(opposite direction)")
        for column in ("design", "variant", "train s", "PSNR dB", "identity dB", "gain dB", "opposite", "warmer"):
            table.add_column(column, justify="left" if column in ("design", "variant") else "right")
        for r in record["designs"]:  # type: ignore[union-attr]
            table.add_row(r["design"], r["variant"], f"{r['train_s']:.0f}", f"{r['psnr_db']:.2f}", f"{r['identity_psnr_db']:.2f}",
                          f"{r['gain_db']:+.2f}", f"{r['opposite_pct']:.1f} %", f"{r['warmer_pct']:.1f} %")
        screen.print(table)
    for key, against in (("agreement", "the ray caster ({scenes} scenes at {size} px"),
                         ("judge_agreement", "the judge's cast shadows ({scenes} scenes of {folder}")):
        if record[key]:
            a = record[key]
            screen.print(f"shadow hints against {against.format(**a)}, fov {a['fov_deg']:g}, pitch {a['pitch_deg']:g} assumed): "
                         f"IoU {a['iou']:.3f}, recall {a['recall']:.3f}, precision {a['precision']:.3f}")
    if record["cost"]:
        table = Table(title=f"one image to 8 lights in one pass, narrow-w16-d32 FiLM, {record['cost_size']} px, CPU")
        for column in ("design", "seconds", "ratio to none"):
            table.add_column(column, justify="left" if column == "design" else "right")
        for r in record["cost"]:  # type: ignore[union-attr]
            table.add_row(r["design"], f"{r['seconds']:.3f}", f"{r['ratio']:.2f}x")
        screen.print(table)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="relight-hints-") as scratch:
        runs = args.runs or Path(scratch)
        designs = compare_designs(args, runs) if args.steps else []
    record = {
        "benchmark": "hints",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "heldout": str(args.heldout), "steps": args.steps, "seed": args.seed, "train_options": args.train_options,
        "designs": designs,
        "agreement": agreement(args.agreement, args.agreement_size) if args.agreement else None,
        "judge_agreement": judge_agreement(args.agreement_judge) if args.agreement_judge else None,
        "cost": cost(args.cost_size) if args.cost_size else None, "cost_size": args.cost_size,
        "torch": torch.__version__, "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(), "wall_s": round(time.perf_counter() - started, 1),
    }
    print_tables(record)
    write_record(args.json, record, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
