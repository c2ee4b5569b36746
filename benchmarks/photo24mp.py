"""A 24 MP photo through `relight run`: wall time and peak memory, with the network at the model's own scale.

The script makes the photo (6000 x 4000 by default: a smooth colour field with fine noise, as a JPEG) and
a depth map for it, then runs the real command line, ``relight run PHOTO DEPTH -o OUT.png``, once per
model in a fresh process, and reads that process's peak RSS from the kernel (``wait4``). The models:

* ``paper``: the paper's network (two ResNet-50 encoders, 153 M parameters) with **random weights** in
  its architecture (the timing and memory do not depend on the values), saved with the training size
  of the authors' checkpoint, 1024 x 1024: it runs at about 1 MP;
* ``bundled``: relight's default model, trained at 128 x 128.

``photo only`` is the same photo read and written with no network (``--native`` would run it at 24 MP,
which is what bounded the memory before). ``--native`` adds the bundled model at the photo's own size.
Run from the repository root:

    .venv/bin/python benchmarks/photo24mp.py --json runs/photo24mp.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from rich.table import Table

from relight.cli import console, out_console
from relight.io import write_json
from wholeprocess import peak_process

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=6000)
    parser.add_argument("--height", type=int, default=4000)
    parser.add_argument("--models", default="paper,bundled", help="comma-separated: paper, bundled")
    parser.add_argument("--native", action="store_true", help="also run the bundled model at the photo's own resolution")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, default=None, help="also write the table as JSON here")
    return parser.parse_args(argv)


def make_photo(folder: Path, height: int, width: int) -> tuple[Path, Path]:
    """A JPEG photo (smooth colours and fine noise) and a depth .npy in [0, 1] for it."""
    from PIL import Image

    rng = np.random.default_rng(0)
    coarse = rng.random((height // 100 + 2, width // 100 + 2, 3), dtype=np.float32)
    smooth = np.asarray(Image.fromarray((coarse * 255).astype(np.uint8)).resize((width, height), Image.BILINEAR), dtype=np.float32)
    photo = np.clip(smooth + rng.normal(0, 12, (height, width, 3)).astype(np.float32), 0, 255).astype(np.uint8)
    image = folder / "photo.jpg"
    Image.fromarray(photo).save(image, quality=90)
    del photo, smooth
    rows = np.linspace(0.2, 0.9, height, dtype=np.float32)[:, None]
    depth = folder / "photo_depth.npy"
    np.save(depth, np.broadcast_to(rows, (height, width)).copy())
    return image, depth


def paper_checkpoint(folder: Path) -> Path:
    """The paper's architecture with random weights, saved (fp16, to halve the file) with the authors' training size."""
    import torch

    from relight.model import MBNet, MBNetConfig
    from relight.model.checkpoint import save_checkpoint
    from relight.model.provenance import AUTHORS_TRAINED_AT, TRAINED_AT

    torch.manual_seed(0)
    provenance = {"note": "random weights in the paper's architecture, for timing only", TRAINED_AT: list(AUTHORS_TRAINED_AT)}
    return save_checkpoint(MBNet(MBNetConfig.paper()), folder / "paper-random.safetensors", provenance, dtype=torch.float16)


def photo_only(image: Path, out: Path) -> None:
    """Read the photo and write it back, as `relight run` does around the network."""
    from relight.io import read_image, write_image

    photo = read_image(image)
    write_image(out, photo.rgb, photo.alpha, None, photo.meta)


def measure(args: argparse.Namespace, folder: Path) -> dict:
    console.print(f"[dim]making a {args.width}x{args.height} photo in {folder}[/dim]")
    image, depth = make_photo(folder, args.height, args.width)
    relight = [sys.executable, "-m", "relight", "run", str(image), str(depth), "--device", args.device]
    runs: list[tuple[str, list[str]]] = [("photo only", [sys.executable, __file__, "--photo-only", str(image), str(folder / "copy.png")])]
    models = args.models.split(",")
    if "paper" in models:
        runs.append(("paper (random weights)", [*relight, "-o", str(folder / "paper.png"), "--weights", str(paper_checkpoint(folder))]))
    if "bundled" in models:
        runs.append(("bundled", [*relight, "-o", str(folder / "bundled.png")]))
        if args.native:
            runs.append(("bundled --native", [*relight, "-o", str(folder / "native.png"), "--native"]))
    rows = []
    for label, command in runs:
        seconds, peak, lines = peak_process(command, cwd=ROOT)
        said = next((line for line in lines if "running the network at" in line), "")
        run_at = said.split("running the network at ", 1)[1].split(" ", 1)[0] if said else f"{args.height}x{args.width}"
        rows.append({"run": label, "network_at": "-" if label == "photo only" else run_at, "seconds": round(seconds, 2),
                     "peak_rss_mb": round(peak, 1)})
        console.print(f"[dim]{label}: {seconds:.1f} s, peak RSS {peak:,.0f} MB[/dim]")
    return {"photo": [args.height, args.width], "device": args.device, "rows": rows}


def print_table(record: dict) -> None:
    height, width = record["photo"]
    table = Table(title=f"relight run on a {width}x{height} photo ({height * width / 1e6:.0f} MP), {record['device']}")
    for column in ("run", "network at", "wall s", "peak RSS MB"):
        table.add_column(column, justify="left" if column == "run" else "right", no_wrap=True)
    for row in record["rows"]:
        table.add_row(row["run"], row["network_at"], f"{row['seconds']:.1f}", f"{row['peak_rss_mb']:,.0f}")
    out_console.print(table)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="relight-24mp-") as tmp:
        record = measure(args, Path(tmp))
    print_table(record)
    if args.json is not None:
        write_json(args.json, record)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--photo-only":
        photo_only(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
