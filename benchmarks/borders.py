"""Border fringes and halos of trained models on a plain textured wall, with and without their fixes.

Two measurements, each side by side on the same inputs:

* **fringe**: a textured wall at constant depth, relit (6500-N -> 4500-E) at each ``--sizes`` side, run
  at that size. Of the change the model makes (log output over input, per channel), the mean along each
  border is taken at 0 and 1 pixels from it and compared with the median of 2 to 8 pixels in: the
  largest such jump over the four sides, in colour (each channel's jump less the mean channel's, the
  largest) and in brightness (the mean channel's), in per cent. A model's own margin against the input
  reflected by 16 pixels on every side first (``MBNetConfig.margin``, set on the loaded model);
* **halo** (with ``--halo-data``, a ``relight synth`` folder of scenes larger than the model's training
  size): each scene relit (6500-N -> 4500-E) at the model's training scale and brought back to full size
  as ``--upscale change`` does, with the depth-guided resize and with a plain one; the mean error against
  the ground truth (8-bit levels) in bands of full-size pixels from the nearest depth edge (a step of
  over 5 % between neighbouring pixels).

Run from the repository root:

    .venv/bin/relight synth /tmp/held1024 --scenes 8 --size 1024 --seed 2 --start-index 900
    .venv/bin/python benchmarks/borders.py --halo-data /tmp/held1024 --json runs/borders.json
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from rich.console import Console
from rich.table import Table
from scipy import ndimage

import relight.inference.relighter as relighter_module
from relight.cli import console, out_console
from relight.inference import Relighter
from relight.tensors import resize
from relight.weights import load_weights
from wholeprocess import write_record


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", default="relight-synth-any,relight-synth-narrow", help="comma-separated models")
    parser.add_argument("--sizes", default="128,100", help="wall sides for the fringe, comma-separated")
    parser.add_argument("--halo-data", type=Path, default=None, help="relight synth folder of large scenes for the halo")
    parser.add_argument("--halo-scenes", type=int, default=8, help="at most this many of its scenes")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    args.weights = [w for w in args.weights.split(",") if w]
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    return args


def texture(height: int, width: int, seed: int) -> np.ndarray:
    """``H x W x 3`` in [0, 1]: colour blotches at three scales and a brick-like mortar grid, no line on a border."""
    rng = np.random.default_rng(seed)
    image = np.ones((height, width, 3)) * np.array([0.55, 0.45, 0.35])
    for cell, amount in ((64, 0.15), (16, 0.1), (4, 0.06)):
        noise = torch.from_numpy(rng.random((1, 3, height // cell + 2, width // cell + 2))).float()
        big = F.interpolate(noise, size=(height + 2 * cell, width + 2 * cell), mode="bilinear")[0].permute(1, 2, 0).numpy()
        image += amount * (big[cell : cell + height, cell : cell + width] - 0.5)
    yy, xx = np.mgrid[7 : height + 7, 13 : width + 13]
    image[((yy % 23) < 2) | (((xx + 24 * ((yy // 23) % 2)) % 47) < 2)] *= 0.6
    return np.clip(image, 0, 1).astype(np.float32)


def relight(model: Relighter, rgb: np.ndarray, depth: np.ndarray) -> np.ndarray:
    source = "6500-N" if model.illumination.any_to_any else None
    return model.relight(rgb, depth, to="4500-E", source=source)


def log_change(out: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    return np.log(np.clip(out, 1e-3, None)) - np.log(np.clip(rgb, 1e-3, None))


def fringe(out: np.ndarray, rgb: np.ndarray) -> tuple[float, float]:
    """The largest jump of the change at a border (colour, brightness), in per cent (see the module doc)."""
    change = log_change(out, rgb)
    colour, brightness = change - change.mean(axis=2, keepdims=True), change.mean(axis=2)
    worst = [0.0, 0.0]
    for axis in (0, 1):  # rows along the top and bottom, columns along the left and right
        for values, index in ((colour, 0), (brightness, 1)):
            profile = values.mean(axis=1 - axis)
            for side in (profile, profile[::-1]):
                inner = np.median(side[2:9], axis=0)
                worst[index] = max(worst[index], max(float(np.abs(side[k] - inner).max()) for k in (0, 1)))
    return 100 * worst[0], 100 * worst[1]


def measure_fringes(args: argparse.Namespace) -> list[dict[str, object]]:
    rows = []
    for name in args.weights:
        loaded = load_weights(name)
        own = loaded.model.config
        for margin in sorted({own.margin, 16}):
            loaded.model.config = replace(own, margin=margin)
            model = Relighter(loaded, "cpu", native=True)
            for size in args.sizes:
                rgb = texture(size, size, 0)
                colour, brightness = fringe(relight(model, rgb, np.full((size, size), 0.3, np.float32)), rgb)
                rows.append({"model": name, "margin": margin, "own_margin": margin == own.margin, "size": size,
                             "colour_pct": round(colour, 2), "brightness_pct": round(brightness, 2)})
        loaded.model.config = own
    return rows


def measure_halo(name: str, data: Path, scenes: int) -> dict[str, object]:
    """Error of ``name`` (6500-N -> 4500-E, run at its training scale) by distance from the depth edges of
    synthetic scenes with ground truth, the change brought back guided by depth and plainly."""
    from relight.data.pairs import InferencePair, load_pair
    from relight.io import read_image

    model = Relighter(load_weights(name), "cpu")
    bands = [(0, 2), (2, 4), (4, 8), (8, 16), (16, 10_000)]
    errors: dict[str, list[list[float]]] = {"guided": [], "plain": []}
    found = sorted(data.glob("*_6500_N.png"))[:scenes]
    if not found:
        raise SystemExit(f"{data}: no *_6500_N.png with its depth and *_4500_E.png (relight synth writes them)")
    for image in found:
        scene = image.name.removesuffix("_6500_N.png")
        item = load_pair(InferencePair(scene, image, data / f"{scene}.npy"))
        truth = read_image(data / f"{scene}_4500_E.png").rgb
        depth = item.depth
        jump = np.maximum(np.abs(np.diff(depth, axis=0, append=depth[-1:])), np.abs(np.diff(depth, axis=1, append=depth[:, -1:])))
        apart = ndimage.distance_transform_edt(jump <= 0.05 * np.maximum(depth, 1e-3))  # pixels from a depth edge
        guided = relighter_module.guided_resize
        outputs = {"guided": model.relight(item.image.rgb, depth)}
        relighter_module.guided_resize = lambda x, _small, full: resize(x, tuple(full.shape[-2:]))
        try:
            outputs["plain"] = model.relight(item.image.rgb, depth)
        finally:
            relighter_module.guided_resize = guided
        for way, out in outputs.items():
            error = np.abs(np.round(np.clip(out, 0, 1) * 255) - np.round(truth * 255)).mean(axis=2)
            errors[way].append([float(error[(apart > lo) & (apart <= hi)].mean()) for lo, hi in bands])
    size = item.image.size
    return {"model": name, "data": str(data), "scenes": len(found), "size": list(size), "run_at": list(model.run_size(size)),
            "bands_px": bands, **{way: [round(v, 2) for v in np.mean(rows, axis=0)] for way, rows in errors.items()}}


def print_tables(record: dict[str, object]) -> None:
    screen = out_console if out_console.is_terminal else Console(width=160)
    table = Table(title="border fringe of a textured wall: the largest jump of the change at a border (per cent)")
    for column in ("model", "margin", "size", "colour %", "brightness %"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for r in record["fringe"]:  # type: ignore[union-attr]
        margin = f"{r['margin']}{' (its own)' if r['own_margin'] else ''}"
        table.add_row(str(r["model"]), margin, str(r["size"]), f"{r['colour_pct']:.1f}", f"{r['brightness_pct']:.1f}")
    screen.print(table)
    halo = record["halo"]
    if halo:
        table = Table(title=f"error by distance from depth edges: {halo['model']}, {halo['scenes']} scenes of "
                            f"{halo['size'][0]} px run at {halo['run_at'][0]} (8-bit levels)")
        table.add_column("brought back")
        for lo, hi in halo["bands_px"]:
            table.add_column(f"{lo}-{hi} px" if hi < 10_000 else f"over {lo} px", justify="right")
        for way in ("guided", "plain"):
            table.add_row(way, *(f"{v:.2f}" for v in halo[way]))
        screen.print(table)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with torch.inference_mode():
        record = {"benchmark": "borders", "command": " ".join([Path(sys.executable).name, *sys.argv]),
                  "fringe": measure_fringes(args),
                  "halo": measure_halo(args.weights[0], args.halo_data, args.halo_scenes) if args.halo_data else None}
    print_tables(record)
    write_record(args.json, record, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
