"""``relight batch`` against the authors' own inference loop, end to end, as whole processes.

Writes ``--images`` random 512 x 512 PNGs with VIDIT-style depth files and the paper model's weights
in the authors' layout (``{"state_dict": ...}`` by ``torch.save``, made with the spec's deterministic
recipe, ``tests/reference.py``) to a temporary folder. Then, after one untimed run of each (the first
relight run converts the checkpoint into relight's cache, and is reported), ``--rounds`` rounds each
time both, the order flipping every round:

* the authors' loop, re-implemented here from their ``code/demo.py``: build the network, load
  ``torch.load(weight.pkl)["state_dict"]``, then per image Pillow + torchvision's ``ToTensor``,
  ``np.load(allow_pickle=True)`` of the depth dict, a forward pass *without* ``torch.no_grad`` and
  ``torchvision.utils.save_image``. The network is relight's reference :class:`~relight.model.MBNet`
  (eager, the authors' formulation) holding their weights, its key names mapped by
  :func:`~relight.model.convert_authors_state_dict`;
* ``relight batch DIR --weights weight.pkl``.

The ratio that counts is median(authors' loop) / median(relight batch); the target is at least 1.5x.
The outputs of the last round are compared (8-bit levels). Run from the repository root:

    .venv/bin/python benchmarks/authors_loop.py --rounds 3 --json runs/bench-authors-loop.json
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from wholeprocess import Timings, alternate, machine, process_stats, time_process, timings_table, write_record

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=6, help="images in the folder")
    parser.add_argument("--size", type=int, default=512, help="image side in pixels (a multiple of 32, as the authors' loop needs)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds, each running both")
    parser.add_argument("--backend", default="auto", help="what relight batch runs the network on: auto, torch or onnxruntime (its --backend)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    parser.add_argument("--authors-loop", nargs=3, metavar=("FOLDER", "WEIGHTS", "OUT"), default=None,
                        help="(internal) run the authors' loop itself over FOLDER into OUT, in this process")
    return parser.parse_args(argv)


def authors_loop(folder: Path, weights: Path, out: Path) -> None:
    """The authors' demo.py on the CPU: their imports, loading, per-image reading, forward and saving."""
    import numpy as np
    import torch
    import torchvision
    from PIL import Image

    from relight.model import MBNet, MBNetConfig, convert_authors_state_dict

    network = MBNet(MBNetConfig.paper())  # their constructor initialises the network before loading
    network.load_state_dict(convert_authors_state_dict(torch.load(weights)["state_dict"], network))
    network.eval().cpu()
    to_tensor = torchvision.transforms.Compose([torchvision.transforms.ToTensor()])
    out.mkdir(parents=True, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".npy"):
            continue
        image = to_tensor(Image.open(folder / name)).unsqueeze(0)[:, :3, :, :]
        depth = np.load(folder / name.replace(".png", ".npy"), allow_pickle=True).item()["normalized_depth"]
        depth = torch.unsqueeze(torch.unsqueeze(torch.from_numpy(depth), 0), 0)
        relit = network(image, depth).detach().cpu()
        torchvision.utils.save_image(relit, out / name)


def write_inputs(root: Path, count: int, size: int) -> tuple[Path, Path]:
    """The folder of images and depth files, and the authors'-layout checkpoint."""
    import numpy as np
    import torch
    from PIL import Image

    sys.path.insert(0, str(ROOT / "tests"))
    from reference import read_tsv, reference_state_dict

    folder = root / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        coarse = rng.random((8, 8, 4), dtype=np.float32)
        smooth = np.stack([np.asarray(Image.fromarray(coarse[..., c], mode="F").resize((size, size), Image.BILINEAR))
                           for c in range(4)], axis=-1)
        smooth = np.clip(smooth + rng.normal(0, 0.01, smooth.shape), 0, 1)
        Image.fromarray(np.round(smooth[..., :3] * 255).astype(np.uint8)).save(folder / f"scene{i:03d}.png")
        record = {"normalized_depth": smooth[..., 3].astype(np.float32), "ref_center_dis": np.float32(1.0)}
        np.save(folder / f"scene{i:03d}.npy", np.array(record, dtype=object), allow_pickle=True)
    weights = root / "weight.pkl"
    torch.save({"state_dict": reference_state_dict(read_tsv())}, weights)
    return folder, weights


def compare(authors: Path, relit: Path) -> int:
    """The largest difference between the two loops' 8-bit outputs, over every image."""
    import numpy as np
    from PIL import Image

    worst = 0
    for file in sorted(authors.glob("*.png")):
        a = np.asarray(Image.open(file), dtype=np.int16)
        b = np.asarray(Image.open(relit / file.name), dtype=np.int16)
        worst = max(worst, int(np.abs(a - b).max()))
    return worst


def report(args: argparse.Namespace, timings: Timings, first: float, worst: int) -> dict[str, object]:
    """Print the table; return the JSON record."""
    from rich.console import Console

    times = timings.wall
    stats = process_stats(timings)
    ratio = stats["authors' loop"]["median_s"] / stats["relight batch"]["median_s"]
    rounds = [a / r for a, r in zip(times["authors' loop"], times["relight batch"])]
    table = timings_table(f"{args.images} images of {args.size}x{args.size}, paper MBNet, authors' weight.pkl, CPU ({args.rounds} rounds)",
                          timings, stats)
    table.add_row("relight batch, first run", f"{first:.2f}", "", "", "", "converting weight.pkl into the cache")
    table.add_row("[bold]ratio[/bold]", f"[bold]{ratio:.2f}x[/bold]", f"{max(rounds):.2f}x", f"{min(rounds):.2f}x", "",
                  f"per round: {', '.join(f'{r:.2f}' for r in rounds)}; target at least {TARGET}x")
    Console(width=160).print(table)
    Console(stderr=True).print(f"[dim]largest difference between the two outputs: {worst} of 255[/dim]")
    return {
        "benchmark": "authors_loop", "images": args.images, "size": args.size, "rounds": args.rounds,
        "seconds": times, "cpu_seconds": timings.cpu, "stats": stats, "relight_first_run_s": first,
        "ratio": ratio, "ratio_per_round": rounds,
        "target": TARGET, "max_output_difference_8bit": worst, **machine(),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.authors_loop:
        authors_loop(*(Path(p) for p in args.authors_loop))
        return 0
    from rich.console import Console

    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="relight-bench-authors-") as tmp:
        root = Path(tmp)
        console.print(f"[dim]writing {args.images} images and the authors' weight.pkl to {root}[/dim]")
        folder, weights = write_inputs(root, args.images, args.size)
        env = {**os.environ, "RELIGHT_HOME": str(root / "home")}

        commands = {
            "authors' loop": [sys.executable, __file__, "--authors-loop", str(folder), str(weights), str(root / "authors")],
            "relight batch": [sys.executable, "-m", "relight", "batch", str(folder), "--weights", str(weights),
                              "-o", str(root / "relight"), "--overwrite", "--backend", args.backend],
        }
        first = time_process(commands["relight batch"], env)[0]  # converts weight.pkl into relight's cache
        time_process(commands["authors' loop"], env)
        timings = alternate(commands, args.rounds, env,
                          on_run=lambda name, r, s: console.print(f"[dim]round {r + 1}: {name} {s:.2f} s[/dim]"))
        worst = compare(root / "authors", root / "relight")
    write_record(args.json, report(args, timings, first, worst), console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
