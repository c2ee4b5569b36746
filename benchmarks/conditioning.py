"""Which conditioning makes the better any-to-any MBNet? FiLM against light planes, on the same data and budget.

Every design starts from the same one-to-one network (one seed; the conditioned ones through
:func:`relight.model.MBNet.from_one_to_one`, so their shared weights start equal and their
conditioning as the identity) and trains for the same steps on the same draws of (scene, source, target)
from classic ``relight synth`` scenes (``--family classic``, 64 px by default): source != target, the source withheld from the light
vector half of the time, mirrored (flipped image and depth, mirrored lights) half of the time. ``none``,
the one-to-one network trained on the same draws without the light, is the control: it cannot know the
target, so it shows what is learnt without conditioning.

Held-out scenes (other seeds) are scored on a seeded sample of (scene, source, target) triples with no
source given: the PSNR gain over identity (the source image as the answer), and the opposite-direction
test of issue 13 (the output for a target is closer to the ground truth of that target than to the one
of the opposite direction at the same temperature). Run from the repository root:

    .venv/bin/python benchmarks/conditioning.py --json runs/conditioning.json
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table

from relight.cli import console, out_console, progress_bar
from relight.data.synth import generate_scene, scene_ranges
from relight.lighting import ALL_LIGHTS, Light, encode_lights
from relight.model import MBNet, MBNetConfig
from judge.triples import OPPOSITE
from wholeprocess import write_record

DESIGNS = ("none", "film", "planes")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--designs", default=",".join(DESIGNS), help="comma-separated: " + ", ".join(DESIGNS))
    parser.add_argument("--size", type=int, default=64, help="scene size in pixels (a multiple of 32)")
    parser.add_argument("--train-scenes", type=int, default=24, help="training scenes (seeds 0 ..)")
    parser.add_argument("--test-scenes", type=int, default=8, help="held-out scenes (seeds 10000 ..)")
    parser.add_argument("--steps", type=int, default=240, help="training steps per design")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    parser.add_argument("--width", type=int, default=8, help="narrow backbone width")
    parser.add_argument("--decoder-channels", type=int, default=16)
    parser.add_argument("--triples", type=int, default=200, help="held-out (scene, source, target) triples scored")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    args.designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    unknown = set(args.designs) - set(DESIGNS)
    if unknown:
        parser.error(f"unknown design {', '.join(sorted(unknown))}; choose from {', '.join(DESIGNS)}")
    if args.size % 32:
        parser.error("--size must be a multiple of 32")
    return args


def render(seeds: range, size: int, progress: object, task: object) -> tuple[torch.Tensor, torch.Tensor]:
    """``S x 40 x 3 x H x W`` images (ALL_LIGHTS order) in [0, 1] and ``S x 1 x H x W`` depth."""
    images, depths = [], []
    for seed in seeds:
        scene = generate_scene(seed, size, scene_ranges("classic"))
        by_name = {str(light): array for light, array in scene["images"].items()}  # type: ignore[union-attr]
        images.append(np.stack([by_name[str(light)] for light in ALL_LIGHTS]))
        depths.append(np.asarray(scene["depth"], dtype=np.float32)[None])
        progress.advance(task)  # type: ignore[attr-defined]
    rgb = torch.from_numpy(np.stack(images)).permute(0, 1, 4, 2, 3).float() / 255
    return rgb.contiguous(), torch.from_numpy(np.stack(depths))


def draw(rng: np.random.Generator, scenes: int, count: int) -> list[tuple[int, int, int]]:
    """``count`` (scene, source index, target index) triples with source != target."""
    out = []
    for _ in range(count):
        source, target = rng.choice(len(ALL_LIGHTS), 2, replace=False)
        out.append((int(rng.integers(scenes)), int(source), int(target)))
    return out


def batch(data: tuple[torch.Tensor, torch.Tensor], rng: np.random.Generator, size: int, withhold: float = 0.5):
    """One training batch: inputs, depth, targets and light vectors, mirrored and withheld at random."""
    images, depth = data
    triples = draw(rng, images.shape[0], size)
    flips = rng.random(size) < 0.5
    known = rng.random(size) >= withhold
    rgb = torch.stack([images[s, a] for s, a, _ in triples])
    gt = torch.stack([images[s, b] for s, _, b in triples])
    dep = torch.stack([depth[s] for s, _, _ in triples])
    flip = torch.from_numpy(flips)[:, None, None, None]
    rgb, gt, dep = (torch.where(flip, x.flip(-1), x) for x in (rgb, gt, dep))
    lights = [(ALL_LIGHTS[a].mirrored() if f else ALL_LIGHTS[a], ALL_LIGHTS[b].mirrored() if f else ALL_LIGHTS[b])
              for (_, a, b), f in zip(triples, flips)]
    light = encode_lights([t for _, t in lights], [s if k else None for (s, _), k in zip(lights, known)])
    return rgb, dep, gt, light


def build(design: str, base: MBNet) -> MBNet:
    model = MBNet(base.config) if design == "none" else MBNet.from_one_to_one(replace(base.config, conditioning=design), base)
    if design == "none":
        model.load_state_dict(base.state_dict())
    return model


def train(model: MBNet, data: tuple[torch.Tensor, torch.Tensor], args: argparse.Namespace, progress: object, task: object) -> float:
    """The same draws for every design (one seed); returns the seconds it took."""
    rng = np.random.default_rng(args.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.999))
    conditioned = model.config.any_to_any
    model.train()
    start = time.perf_counter()
    for _ in range(args.steps):
        rgb, dep, gt, light = batch(data, rng, args.batch_size)
        out = model(rgb, dep, light if conditioned else None)
        loss = F.l1_loss(out, gt)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        progress.advance(task)  # type: ignore[attr-defined]
    return time.perf_counter() - start


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a.clamp(0, 1) - b) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


@torch.no_grad()
def evaluate(model: MBNet, data: tuple[torch.Tensor, torch.Tensor], triples: list[tuple[int, int, int]]) -> dict[str, float]:
    """Mean PSNR, identity PSNR and the opposite-direction rate over ``triples``, without the source."""
    images, depth = data
    model.eval()
    gains, scores, identity, told = [], [], [], 0
    for s, a, b in triples:
        target = ALL_LIGHTS[b]
        light = encode_lights([target]) if model.config.any_to_any else None
        out = model(images[s, a][None], depth[s][None], light)[0].clamp(0, 1)
        gt = images[s, b]
        opposite = images[s, ALL_LIGHTS.index(Light(target.temperature, OPPOSITE[target.direction]))]
        score, base = psnr(out, gt), psnr(images[s, a], gt)
        scores.append(score)
        identity.append(base)
        gains.append(score - base)
        told += float(((out - gt) ** 2).mean()) < float(((out - opposite) ** 2).mean())
    return {"psnr_db": float(np.mean(scores)), "identity_psnr_db": float(np.mean(identity)),
            "gain_db": float(np.mean(gains)), "opposite_told_apart": told / len(triples)}


def print_table(rows: list[dict[str, object]], args: argparse.Namespace) -> None:
    table = Table(title=f"conditioning designs: narrow-w{args.width}-d{args.decoder_channels}, {args.steps} steps of "
                        f"{args.batch_size} at {args.size} px, {args.train_scenes} training scenes",
                  caption=f"held out: {args.triples} (scene, source, target) triples of {args.test_scenes} other scenes, "
                          "no source given; opposite: output closer to GT(target) than GT(opposite direction)")
    for column in ("design", "extra params", "train s", "PSNR dB", "identity dB", "gain dB", "opposite told apart"):
        table.add_column(column, justify="left" if column == "design" else "right")
    for r in rows:
        table.add_row(str(r["design"]), f"{r['extra_params']:,}", f"{r['train_s']:.0f}", f"{r['psnr_db']:.2f}",
                      f"{r['identity_psnr_db']:.2f}", f"{r['gain_db']:+.2f}", f"{100 * r['opposite_told_apart']:.1f} %")
    (out_console if out_console.is_terminal else Console(width=160)).print(table)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    with progress_bar() as progress:
        task = progress.add_task("rendering scenes", total=args.train_scenes + args.test_scenes, rate="")
        train_data = render(range(args.train_scenes), args.size, progress, task)
        test_data = render(range(10_000, 10_000 + args.test_scenes), args.size, progress, task)
        triples = draw(np.random.default_rng(args.seed + 1), args.test_scenes, args.triples)
        torch.manual_seed(args.seed)
        base = MBNet(MBNetConfig.narrow(args.width, args.decoder_channels))
        base_params = sum(p.numel() for p in base.parameters())
        rows: list[dict[str, object]] = []
        for design in args.designs:
            task = progress.add_task(f"training {design}", total=args.steps, rate="")
            model = build(design, base)
            seconds = train(model, train_data, args, progress, task)
            rows.append({"design": design, "extra_params": sum(p.numel() for p in model.parameters()) - base_params,
                         "train_s": seconds, **evaluate(model, test_data, triples)})
    print_table(rows, args)
    record = {
        "benchmark": "conditioning",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "settings": {k: v for k, v in vars(args).items() if k != "json"} | {"json": None},
        "torch": torch.__version__, "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(), "wall_s": time.perf_counter() - started,
        "rows": rows,
    }
    write_record(args.json, record, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
