"""At which scale should the network run, and how should its result come back? Side by side, at full resolution.

For each scene of a synthetic folder (``relight synth DATA --size 1024``: ``ImageNNN_6500_N.png``, its
depth ``ImageNNN.npy`` and the ground truth ``ImageNNN_4500_E.png``), the ways are run in alternation,
so a busy machine slows them alike:

* ``identity``: the input taken as the answer (the baseline every gain is measured from);
* ``native``: the network at the photo's own resolution (``relight run --native``: relight before it
  knew the model's scale);
* ``result``: at the model's training scale, the network's output resized back (``--upscale result``);
* ``change``: at the model's training scale, the change it made brought back guided by the photo's depth
  and added to the photo (``--upscale change``);
* ``change-plain``: the same with the change resized without the depth's guide (a plain antialiased
  bilinear resize), which spreads it across depth edges.

Every output is scored at the ground truth's full resolution, rounded to 8 bits as an image file holds
it (as ``relight eval`` scores). ``gain`` is PSNR over identity, ``vs native`` over the full-resolution
run; ``s/image`` is the median time of the relight itself. Run from the repository root:

    .venv/bin/relight synth /tmp/held1024 --scenes 8 --size 1024 --seed 2 --start-index 900 --family classic
    .venv/bin/python benchmarks/scale.py /tmp/held1024 --json runs/scale.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from rich.table import Table

from relight.cli import console, out_console
from relight.data.pairs import InferencePair, load_pair
from relight.inference import Relighter
from relight.io import read_image, write_json
from relight.evaluation.metrics import psnr, ssim
from relight.inference.scale import DEFAULT_UPSCALE, UPSCALES
from relight.tensors import resize
from relight.weights import default_weights, load_weights

WAYS = ("identity", "native", *UPSCALES, "change-plain")


class PlainChange(Relighter):
    """``--upscale change`` with the change resized plainly, not guided by depth (the comparison only)."""

    def _relight(self, rgb: torch.Tensor, depth: torch.Tensor, light: torch.Tensor | None = None) -> torch.Tensor:
        import relight.inference.relighter as module

        guided = module.guided_resize
        module.guided_resize = lambda x, _small, full: resize(x, tuple(full.shape[-2:]))
        try:
            return super()._relight(rgb, depth, light)
        finally:
            module.guided_resize = guided


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="folder written by relight synth")
    parser.add_argument("--weights", default=None, help="model (default: relight's default model)")
    parser.add_argument("--scenes", type=int, default=8, help="at most this many scenes, in name order")
    parser.add_argument("--source", default="6500_N", help="input lighting, as in the file names")
    parser.add_argument("--target", default="4500_E", help="ground-truth lighting, as in the file names")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    parser.add_argument("--json", type=Path, default=None, help="also write the table as JSON here")
    return parser.parse_args(argv)


def scenes(data: Path, source: str, target: str, most: int) -> list[tuple[str, Path, Path, Path]]:
    """(name, input, depth, ground truth) of each scene in ``data`` that has all three."""
    found = []
    for image in sorted(data.glob(f"*_{source}.png")):
        scene = image.name.removesuffix(f"_{source}.png")
        depth, truth = data / f"{scene}.npy", data / f"{scene}_{target}.png"
        if depth.is_file() and truth.is_file():
            found.append((scene, image, depth, truth))
    return found[:most]


def as_tensor(rgb: np.ndarray) -> torch.Tensor:
    """An ``H x W x 3`` float image as the ``1 x 3 x H x W`` the metrics take, clamped and rounded to 8 bits."""
    return torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None].clamp(0, 1).mul(255).round().div(255)


def measure(args: argparse.Namespace) -> dict:
    found = scenes(args.data, args.source, args.target, args.scenes)
    if not found:
        sys.exit(f"error: {args.data}: no *_{args.source}.png with a depth .npy and a *_{args.target}.png ground truth")
    name = args.weights or default_weights()
    loaded = load_weights(name)
    relighters = {"native": Relighter(loaded, args.device, native=True)}
    for way in UPSCALES:
        relighters[way] = Relighter(loaded, args.device, upscale=way)
    relighters["change-plain"] = PlainChange(loaded, args.device, upscale="change")
    scores: dict[str, dict[str, list[float]]] = {way: {"psnr": [], "ssim": [], "seconds": []} for way in WAYS}
    sizes: dict[str, str] = {}
    for scene, image, depth, truth in found:
        item = load_pair(InferencePair(scene, image, depth))
        gt = as_tensor(read_image(truth).rgb)
        size = item.image.size
        for way in WAYS:
            started = time.perf_counter()
            out = item.image.rgb if way == "identity" else relighters[way].relight(item.image.rgb, item.depth)
            seconds = time.perf_counter() - started
            pred = as_tensor(out)
            run = (size if way == "identity" else relighters[way].run_size(size))
            sizes[way] = "-" if way == "identity" else f"{run[0]}x{run[1]}"
            scores[way]["psnr"].append(float(psnr(pred, gt)[0]))
            scores[way]["ssim"].append(float(ssim(pred, gt)[0]))
            scores[way]["seconds"].append(seconds)
        console.print(f"[dim]{scene}: {size[0]}x{size[1]}, " + ", ".join(
            f"{way} {scores[way]['psnr'][-1]:.2f} dB" for way in WAYS) + "[/dim]")
    rows = []
    base = statistics.fmean(scores["identity"]["psnr"])
    native = statistics.fmean(scores["native"]["psnr"])
    for way in WAYS:
        mean_psnr = statistics.fmean(scores[way]["psnr"])
        rows.append({
            "way": way, "default": way == DEFAULT_UPSCALE, "run_size": sizes[way], "psnr_db": round(mean_psnr, 3),
            "ssim": round(statistics.fmean(scores[way]["ssim"]), 4), "gain_db": round(mean_psnr - base, 3),
            "vs_native_db": round(mean_psnr - native, 3),
            "s_per_image": None if way == "identity" else round(statistics.median(scores[way]["seconds"]), 4),
        })
    return {"weights": name, "data": str(args.data), "scenes": [s[0] for s in found], "image_size": list(size),
            "trained_at": list(loaded.provenance.get("trained_at") or []), "device": args.device,
            "source": args.source, "target": args.target, "default_upscale": DEFAULT_UPSCALE, "rows": rows}


def print_table(record: dict) -> None:
    table = Table(title=f"{record['weights']} on {len(record['scenes'])} scenes of {record['image_size'][0]}x{record['image_size'][1]}, "
                        f"{record['source']} -> {record['target']} (trained at {'x'.join(map(str, record['trained_at'])) or '?'})")
    for column in ("way", "run at", "PSNR dB", "SSIM", "gain dB", "vs native", "s/image"):
        table.add_column(column, justify="left" if column == "way" else "right", no_wrap=True)
    for row in record["rows"]:
        way = f"{row['way']}*" if row["default"] else row["way"]
        seconds = "-" if row["s_per_image"] is None else f"{row['s_per_image']:.3f}"
        table.add_row(way, row["run_size"], f"{row['psnr_db']:.2f}", f"{row['ssim']:.4f}", f"{row['gain_db']:+.2f}",
                      f"{row['vs_native_db']:+.2f}", seconds)
    out_console.print(table)
    out_console.print("* the default (--upscale); gain: PSNR over identity; vs native: PSNR over the full-resolution run")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with torch.inference_mode():
        record = measure(args)
    print_table(record)
    if args.json is not None:
        write_json(args.json, record)


if __name__ == "__main__":
    main()
