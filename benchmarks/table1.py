"""Does training learn, and do the paper's two ideas help? A CPU-sized version of MBNet's Table 1.

Generates a synthetic any-to-any data set of classic scenes (training scenes, plus held-out scenes rendered apart and never
trained on), trains the narrow MBNet for the same number of steps in three configurations and scores each
on the held-out scenes (6500-N -> 4500-E, full resolution), next to the identity baseline (input as output):

* baseline: no extra data, no residual learning;
* + extra data: neighbouring-direction inputs and mirrored pairs (section 3.3);
* + extra data + residual learning: the paper's full model.

All rows start from the same initial weights (same seed; the residual switch has no parameters) and see
the same number of examples. The perceptual term is off by default: its VGG-19 weights are usually not in
the torch cache, and the output says so. Run from the repository root:

    .venv/bin/python benchmarks/table1.py --out runs/table1
"""

from __future__ import annotations

import argparse
import csv
import platform
import shlex
import sys
import time
from pathlib import Path

import torch
from rich.table import Table

from relight.cli import console, out_console, progress_bar
from relight.cli._progress import tracked
from relight.cli.train import ProgressMonitor
from relight.data.synth import scene_ranges, write_dataset
from relight.errors import RelightError
from relight.evaluation.evaluate import evaluate, evaluation_pairs, identity_report
from relight.inference import Relighter
from relight.io import write_json
from relight.model.checkpoint import load_checkpoint
from relight.evaluation.score import Scorer
from relight.train import LAST, METRICS_FILE, TrainConfig, train

#: The paper's Table 1 (VIDIT validation, 1024 x 1024, ResNet-50 MBNet, 200 epochs): PSNR, SSIM.
PAPER = {
    "baseline": (18.02, 0.6834),
    "extra": (18.97, 0.7103),
    "extra+residual": (19.36, 0.7175),
}
ROWS = (
    ("baseline", "baseline", False, False),
    ("extra", "+ extra data", True, False),
    ("extra+residual", "+ extra data + residual", True, True),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/table1"), help="folder for data, runs and table1.json")
    parser.add_argument("--size", type=int, default=128, help="image size of the synthetic scenes")
    parser.add_argument("--train-scenes", type=int, default=24)
    parser.add_argument("--val-scenes", type=int, default=8, help="held-out scenes, rendered after the training ones")
    parser.add_argument("--steps", type=int, default=1500, help="optimisation steps per trained row")
    parser.add_argument("--batch-size", type=int, default=3)
    parser.add_argument("--width", type=int, default=16, help="narrow backbone width")
    parser.add_argument("--decoder-channels", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-4, help="Adam lr, constant (the budget is far below one lr milestone)")
    parser.add_argument("--perceptual-weight", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="where to write the results (default: OUT/table1.json)")
    return parser.parse_args(argv)


def make_data(args: argparse.Namespace) -> tuple[Path, Path]:
    """Training and held-out scenes in two folders, so no held-out scene can reach training."""
    train_dir, val_dir = args.out / "data" / "train", args.out / "data" / "held-out"
    for folder, count, start in ((train_dir, args.train_scenes, 0), (val_dir, args.val_scenes, args.train_scenes)):
        if not (folder / f"Image{start + count - 1:03d}.npy").exists():
            with progress_bar() as progress:
                task = progress.add_task(f"rendering {folder.name}", total=count, rate="")
                write_dataset(folder, count, args.size, seed=args.seed, start_index=start, ranges=scene_ranges("classic"),
                              on_scene=lambda _i: progress.update(task, advance=1))
    return train_dir, val_dir


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    train_dir, val_dir = make_data(args)
    val_pairs = evaluation_pairs(val_dir).pairs
    scorer = Scorer("cpu")
    if args.perceptual_weight == 0:
        console.print("[yellow]perceptual loss off[/yellow] (--perceptual-weight 0): VGG-19 ImageNet weights are not "
                      "assumed to be in the torch cache; the loss is 1.0 * Charbonnier + 1.1 * (-SSIM)")
    results = [{"key": "identity", "label": "identity (input as output)", "extra_data": None, "residual": None,
                **identity_report(val_pairs, scorer).means, "steps": 0, "seconds": 0.0, "final_loss": None}]
    for key, label, extra, residual in ROWS:
        config = TrainConfig(
            data=[str(train_dir)], out=str(args.out / "runs" / key), neighbours=extra, mirror=extra,
            backbone="narrow", width=args.width, decoder_channels=args.decoder_channels, residual=residual,
            perceptual_weight=args.perceptual_weight, lr=args.lr, batch_size=args.batch_size, epochs=10**6,
            milestones=[], workers=args.workers, seed=args.seed, device="cpu", max_steps=args.steps,
        )
        console.print(f"[bold]{label}[/bold]")
        with tracked("training") as counter:
            result = train(config, monitor=ProgressMonitor(counter), command=[sys.executable, *sys.argv])
        with open(Path(config.out) / METRICS_FILE, newline="") as fh:
            final_loss = float(list(csv.DictReader(fh))[-1]["loss"])
        loaded = load_checkpoint(Path(config.out) / LAST)
        pairs = loaded.provenance["training_data"]["train_pairs"]
        report = evaluate(Relighter(loaded, "cpu"), val_pairs, scorer=scorer, workers=0)
        results.append({"key": key, "label": label, "extra_data": extra, "residual": residual, **report.means,
                        "steps": result.step, "train_pairs": pairs, "epochs": round(result.step * args.batch_size / pairs, 2),
                        "seconds": round(result.seconds, 1), "final_loss": final_loss})
    print_table(results, args)
    save_results(results, args, time.perf_counter() - started)
    return 0


def print_table(results: list[dict], args: argparse.Namespace) -> None:
    table = Table(title=f"Table 1 on synthetic VIDIT-format data: {args.val_scenes} held-out scenes, {args.size}x{args.size}, "
                        f"6500-N -> 4500-E, narrow MBNet w{args.width}, {args.steps} steps x batch {args.batch_size}")
    for column in ("configuration", "extra data", "residual", "PSNR ↑", "SSIM ↑", "vs identity",
                   "pairs", "epochs", "last loss", "time", "paper"):
        table.add_column(column, justify="left" if column == "configuration" else "right", no_wrap=True)
    base = results[0]["psnr"]
    for row in results:
        paper = PAPER.get(row["key"])
        table.add_row(
            row["label"], "-" if row["extra_data"] is None else ("yes" if row["extra_data"] else "no"),
            "-" if row["residual"] is None else ("yes" if row["residual"] else "no"),
            f"{row['psnr']:.2f}", f"{row['ssim']:.4f}", f"{row['psnr'] - base:+.2f}",
            str(row.get("train_pairs", "-")), str(row.get("epochs", "-")),
            "-" if row["final_loss"] is None else f"{row['final_loss']:.4f}",
            f"{row['seconds']:.0f} s" if row["steps"] else "-", f"{paper[0]:.2f} / {paper[1]:.4f}" if paper else "-",
        )
    out_console.print(table)
    out_console.print("PSNR in dB on the held-out scenes; paper: Table 1 of Yang et al. (VIDIT validation, ResNet-50, "
                      "1024 px, 200 epochs), for the shape of the comparison only.")


def save_results(results: list[dict], args: argparse.Namespace, seconds: float) -> None:
    path = args.json or args.out / "table1.json"
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    data = {
        "command": shlex.join([sys.executable, *sys.argv]),
        "settings": settings,
        "loss": "1.0*Charbonnier + 1.1*(-SSIM)" + (f" + {args.perceptual_weight}*VGG" if args.perceptual_weight else ""),
        "perceptual_loss_note": None if args.perceptual_weight else "off: VGG-19 ImageNet weights absent from the torch cache",
        "held_out": "scenes rendered after the training scenes, in a separate folder, never trained on",
        "rows": results,
        "paper_table1": {k: {"psnr": v[0], "ssim": v[1]} for k, v in PAPER.items()},
        "machine": {"cpu_threads": torch.get_num_threads(), "torch": torch.__version__, "python": platform.python_version()},
        "seconds": round(seconds, 1),
    }
    write_json(path, data)
    console.print(f"wrote {path}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RelightError as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        sys.exit(2)
