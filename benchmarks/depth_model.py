"""The default depth model's architecture at full size: its file layout against the pinned file, and what
estimating depth costs a photo, side by side with a run given a depth file.

No machine relight is built on reaches the Hugging Face Hub, so the trained Depth Anything V2 Small is not
here. This script builds its architecture (transformers' ``DepthAnythingForDepthEstimation``: a DINOv2
ViT-S/14 encoder, 12 layers of 384, and the DPT head with 48/96/192/384 neck channels and 64 fusion
channels) with **random weights**, and the image processor its model card describes (the shorter side to
518, aspect kept, multiples of 14, bicubic, ImageNet mean and std). Then:

* its ``model.safetensors`` is compared, byte count for byte count, with the size of the pinned file
  (99,173,660 bytes): the safetensors header names every tensor with its shape, so equal sizes mean the
  same tensors of the same shapes;
* ``relight depth PHOTO -o OUT --depth-model DIR``, ``relight run PHOTO -o OUT --depth-model DIR`` (depth
  estimated) and ``relight run PHOTO DEPTH -o OUT`` (a depth file) run in fresh processes, taking turns,
  and their wall time and peak RSS are printed with the ratio of the estimated-depth run to the other.

Timings and memory do not depend on the weights' values. Run from the repository root:

    .venv/bin/python benchmarks/depth_model.py --json runs/depth_model.json
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
from pathlib import Path

from rich.table import Table

from relight.cli import console, out_console
from wholeprocess import machine, peak_process, write_record

ROOT = Path(__file__).resolve().parents[1]
#: The size of the pinned ``model.safetensors`` of depth-anything/Depth-Anything-V2-Small-hf.
PINNED_MODEL_BYTES = 99_173_660


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=4000, help="photo width (default 4000: a 12 MP photo)")
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the three commands, in turns")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, default=None, help="also write the record as JSON here")
    return parser.parse_args(argv)


def build_small(folder: Path) -> Path:
    """Depth Anything V2 Small's architecture and image processor with random weights, saved as
    transformers saves a model folder."""
    import torch
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config, DPTImageProcessor

    backbone = Dinov2Config(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, intermediate_size=1536,
                            image_size=518, patch_size=14, out_indices=[3, 6, 9, 12], apply_layernorm=True,
                            reshape_hidden_states=False)
    config = DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=384, patch_size=14,
                                 neck_hidden_sizes=[48, 96, 192, 384], fusion_hidden_size=64, depth_estimation_type="relative")
    torch.manual_seed(0)
    model = DepthAnythingForDepthEstimation(config)
    model.save_pretrained(folder)
    DPTImageProcessor(size={"height": 518, "width": 518}, keep_aspect_ratio=True, ensure_multiple_of=14, resample=3,
                      image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]).save_pretrained(folder)
    return folder


def measure(args: argparse.Namespace, folder: Path) -> dict:
    from photo24mp import make_photo

    model = build_small(folder / "depth-anything-v2-small-random")
    size = (model / "model.safetensors").stat().st_size
    parameters = _parameters(model)
    console.print(f"[dim]architecture: {parameters:,} parameters, model.safetensors {size:,} bytes "
                  f"({'the same as' if size == PINNED_MODEL_BYTES else 'NOT the same as'} the pinned file's {PINNED_MODEL_BYTES:,})[/dim]")
    image, depth = make_photo(folder, args.height, args.width)
    relight = [sys.executable, "-m", "relight"]
    device = ["--device", args.device]
    commands = {
        "relight depth (estimate only)": [*relight, "depth", str(image), "-o", str(folder / "depth"), "--depth-model", str(model), *device],
        "relight run, depth estimated": [*relight, "run", str(image), "-o", str(folder / "estimated.png"), "--depth-model", str(model), *device],
        "relight run, depth file": [*relight, "run", str(image), str(depth), "-o", str(folder / "given.png"), *device],
    }
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for round_ in range(args.rounds):
        for name in commands if round_ % 2 == 0 else list(commands)[::-1]:
            seconds, peak, _ = peak_process(commands[name], cwd=ROOT)
            runs[name].append((seconds, peak))
            console.print(f"[dim]round {round_ + 1}: {name}: {seconds:.1f} s, peak RSS {peak:,.0f} MB[/dim]")
    rows = [{"run": name, "median_s": round(statistics.median(s for s, _ in done), 2),
             "peak_rss_mb": round(max(p for _, p in done), 1), "runs_s": [round(s, 2) for s, _ in done]} for name, done in runs.items()]
    estimated, given = rows[1], rows[2]
    return {
        "photo": [args.height, args.width], "device": args.device, "machine": machine(),
        "architecture": {"parameters": parameters, "model_bytes": size, "pinned_model_bytes": PINNED_MODEL_BYTES,
                         "same_size_as_pinned": size == PINNED_MODEL_BYTES, "weights": "random (timing only)"},
        "rows": rows,
        "estimated_over_given": {"time": round(estimated["median_s"] / given["median_s"], 2),
                                 "peak_rss": round(estimated["peak_rss_mb"] / given["peak_rss_mb"], 2)},
    }


def _parameters(folder: Path) -> int:
    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), "np") as f:
        return sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())


def print_table(record: dict) -> None:
    height, width = record["photo"]
    table = Table(title=f"Depth Anything V2 Small's architecture (random weights) on a {width}x{height} photo "
                        f"({height * width / 1e6:.0f} MP), {record['device']}")
    for column in ("run", "median s", "peak RSS MB", "runs (s)"):
        table.add_column(column, justify="left" if column == "run" else "right", no_wrap=True)
    for row in record["rows"]:
        table.add_row(row["run"], f"{row['median_s']:.1f}", f"{row['peak_rss_mb']:,.0f}", ", ".join(f"{s:.1f}" for s in row["runs_s"]))
    ratio = record["estimated_over_given"]
    table.add_row("estimated / depth file", f"{ratio['time']:.2f}x", f"{ratio['peak_rss']:.2f}x", "")
    out_console.print(table)
    arch = record["architecture"]
    out_console.print(f"{arch['parameters']:,} parameters; model.safetensors {arch['model_bytes']:,} bytes, pinned file "
                      f"{arch['pinned_model_bytes']:,}: {'same layout' if arch['same_size_as_pinned'] else 'DIFFERENT'}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="relight-depth-model-") as tmp:
        record = measure(args, Path(tmp))
    print_table(record)
    write_record(args.json, record, console)
    if not record["architecture"]["same_size_as_pinned"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
