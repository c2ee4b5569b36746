"""Does ``relight batch`` keep the model busy? Its end-to-end rate against the model-only rate, side by side.

Writes synthetic random images with VIDIT-style depth files to a temporary folder, and a narrow MBNet
with random weights to a checkpoint. The images are 8-bit PNGs by relight's own encoder, which
relight's decoder reads without Pillow; ``--pillow-inputs`` has Pillow write them, with its adaptive
row filters, which send them back to Pillow to decode. Then it alternates, ``--repeats`` times:

* model only: :meth:`Relighter.relight_tensor` on inputs already in memory, same batch size, with
  the same number of forward passes at once (streams) and threads per stream as relight batch;
* model only, one stream on every thread (for reference: how much the streams themselves gain);
* model only, one image at a time on every thread, as ``relight run`` and a plain loop over
  :meth:`Relighter.relight` go (when relight batch groups images: how much the groups gain);
* end to end: :func:`relight.inference.batch.run_batch` over the folder, exactly as ``relight batch`` calls it
  (decode, network, encode and atomic writes, with ``--overwrite``).

The ratio that counts is the median over rounds of (end-to-end rate / model-only rate with the same
groups and streams), each round measuring them all back to back, so that a load change on a busy machine hits
them alike. Run from the repository root:

    .venv/bin/python benchmarks/batch.py --images 16 --size 256 --repeats 7 --json runs/bench-batch.json
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from rich.console import Console
from rich.table import Table

from relight.inference.batch import BatchOptions, auto_batch_size, plan_streams, run_batch
from relight.cli import console, out_console, progress_bar
from relight.data.pairs import find_inference_pairs
from relight.inference import Relighter
from relight.io import OutputOptions, write_depth_npy, write_image
from relight.model import MBNet, MBNetConfig
from relight.model.checkpoint import save_checkpoint
from wholeprocess import machine, write_record


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=16, help="synthetic images in the folder")
    parser.add_argument("--size", type=int, default=256, help="image side in pixels")
    parser.add_argument("--width", type=int, default=16, help="narrow variant's base width")
    parser.add_argument("--decoder-channels", type=int, default=32, help="narrow variant's decoder width")
    parser.add_argument("--batch-size", type=int, default=None, help="as relight batch --batch-size (default: its default)")
    parser.add_argument("--workers", type=int, default=2, help="as relight batch --workers")
    parser.add_argument("--streams", type=int, default=None, help="as relight batch --streams (default: its default)")
    parser.add_argument("--ext", default=".png", help="output extension")
    parser.add_argument("--content", choices=("smooth", "noise"), default="smooth",
                        help="smooth random colour fields with mild pixel noise (photo-like), or white noise "
                             "(worst case for PNG: encoding then costs several times more)")
    parser.add_argument("--pillow-inputs", action="store_true",
                        help="write the input PNGs with Pillow (as most tools do) rather than relight's encoder")
    parser.add_argument("--repeats", type=int, default=7, help="rounds, each timing both back to back (after one warm-up each)")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: best available)")
    parser.add_argument("--compile", action="store_true", help="use torch.compile in both measurements")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for relight batch and the model-only run with its streams, as relight batch "
                             "--threads (model only with one stream always uses the default)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    return parser.parse_args(argv)


def random_field(rng: np.random.Generator, size: int, channels: int) -> np.ndarray:
    """A smooth random field in [0, 1]: a coarse random grid upsampled bilinearly, plus mild pixel noise."""
    coarse = rng.random((6, 6, channels), dtype=np.float32)
    planes = [np.asarray(Image.fromarray(coarse[..., c], mode="F").resize((size, size), Image.BILINEAR)) for c in range(channels)]
    return np.clip(np.stack(planes, axis=-1) + rng.normal(0, 0.01, (size, size, channels)), 0, 1).astype(np.float32)


def write_folder(folder: Path, count: int, size: int, content: str = "smooth", pillow: bool = False) -> None:
    """Random RGB PNGs and VIDIT-style pickled-dict depth files, as a user's folder would hold."""
    rng = np.random.default_rng(0)
    for i in range(count):
        if content == "noise":
            rgb, depth = rng.random((size, size, 3), dtype=np.float32), rng.random((size, size), dtype=np.float32)
        else:
            rgb, depth = random_field(rng, size, 3), random_field(rng, size, 1)[..., 0]
        if pillow:
            Image.fromarray(np.round(rgb * 255).astype(np.uint8)).save(folder / f"scene{i:04d}.png")
        else:
            write_image(folder / f"scene{i:04d}.png", rgb)
        write_depth_npy(folder / f"scene{i:04d}.npy", depth)


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` torch threads, then put back the process-wide setting it had."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def make_batches(inputs: list[tuple[torch.Tensor, torch.Tensor]], count: int,
                 batch_size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``count`` images from ``inputs`` (cycled) as batches of ``batch_size``, built once, outside any timing."""
    batches = []
    for done in range(0, count, batch_size):
        members = [inputs[(done + i) % len(inputs)] for i in range(min(batch_size, count - done))]
        batches.append((torch.cat([rgb for rgb, _ in members]), torch.cat([depth for _, depth in members])))
    return batches


def model_only_rate(relighter: Relighter, batches: list[tuple[torch.Tensor, torch.Tensor]], streams: int = 1) -> float:
    """Images per second of the network alone, the result brought back to the host as ``run_batch`` does;
    ``streams`` threads each take every ``streams``-th batch, with the torch threads split between them."""

    def run(mine: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        for rgb, depth in mine:
            relighter.relight_tensor(rgb, depth).cpu()

    start = time.perf_counter()
    if streams == 1:
        run(batches)
    else:
        threads = torch.get_num_threads()
        # The stream threads' setting is also process-wide: put this thread's back afterwards.
        with torch_threads(threads), ThreadPoolExecutor(streams, initializer=torch.set_num_threads,
                                                        initargs=(max(1, threads // streams),)) as pool:
            list(pool.map(run, [batches[k::streams] for k in range(streams)]))
    return sum(rgb.shape[0] for rgb, _ in batches) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="relight-bench-batch-") as tmp:
        root = Path(tmp)
        folder, out_dir = root / "images", root / "relit"
        folder.mkdir()
        write_folder(folder, args.images, args.size, args.content, args.pillow_inputs)
        torch.manual_seed(0)
        config = MBNetConfig.narrow(args.width, args.decoder_channels)
        checkpoint = save_checkpoint(MBNet(config), root / "narrow.safetensors")
        relighter = Relighter.from_weights(checkpoint, device=args.device, compile=args.compile,
                                           warn=lambda m: console.print(f"[yellow]warning:[/yellow] {m}"))
        pairs = find_inference_pairs(folder)
        g = torch.Generator().manual_seed(0)
        inputs = [(torch.rand(1, args.size, args.size, 3, generator=g).permute(0, 3, 1, 2),
                   torch.rand(1, 1, args.size, args.size, generator=g)) for _ in range(4)]
        group = args.batch_size or auto_batch_size(args.size, args.size)
        batches = make_batches(inputs, args.images, group)
        singles = make_batches(inputs, args.images, 1)
        default_threads = torch.get_num_threads()
        batch_threads = args.threads or default_threads
        with torch_threads(batch_threads):
            streams = plan_streams(relighter, args.streams)
        console.print(f"[dim]{config.describe()} on {relighter.device} ({relighter.precision}), {args.images} {args.content} "
                      f"images of {args.size}x{args.size}, batch size {group}, {args.workers} I/O workers, "
                      f"{streams} stream(s) on {batch_threads} torch threads in relight batch, "
                      f"{default_threads} threads in model only, {os.cpu_count()} CPUs[/dim]")

        def end_to_end() -> float:
            with torch_threads(batch_threads):
                summary = run_batch(relighter, pairs, out_dir, output=OutputOptions(args.ext), overwrite=True,
                                    options=BatchOptions(args.batch_size, args.streams, args.workers),
                                    on_item=lambda _: progress.advance(task))
            if summary.failed:
                raise SystemExit(f"batch failed: {summary.failed[0][1]}")
            return len(summary.done) / summary.seconds

        one_at_a_time, one_stream, same_streams = "model only, 1 image at a time", "model only, 1 stream", f"model only, {streams} streams"
        if streams == 1:
            same_streams = one_stream
        if group == 1:
            one_at_a_time = one_stream

        def model_only(name: str) -> float:
            if name == one_at_a_time:
                return model_only_rate(relighter, singles)
            if name == one_stream:
                return model_only_rate(relighter, batches)
            with torch_threads(batch_threads):  # as relight batch has them
                return model_only_rate(relighter, batches, streams)

        rates: dict[str, list[float]] = {name: [] for name in (one_at_a_time, one_stream, same_streams, "relight batch")}
        with progress_bar() as progress:
            task = progress.add_task("benchmark", total=(args.repeats + 1) * len(rates) * args.images, rate="")
            for round_ in range(args.repeats + 1):  # round 0 is the warm-up (and compilation)
                for name in rates:
                    rate = end_to_end() if name == "relight batch" else model_only(name)
                    if name != "relight batch":
                        progress.advance(task, args.images)
                    if round_:
                        rates[name].append(rate)
    medians = {k: statistics.median(v) for k, v in rates.items()}
    ratio = statistics.median(b / m for b, m in zip(rates["relight batch"], rates[same_streams]))
    ratio_one = statistics.median(b / m for b, m in zip(rates["relight batch"], rates[one_stream]))
    ratio_single = statistics.median(b / m for b, m in zip(rates["relight batch"], rates[one_at_a_time]))
    table = Table(title=f"relight batch vs model only ({config.describe()}, {args.size}x{args.size}, "
                        f"batch {group}, {relighter.device})")
    for column in ("path", "images/s (median)", "ms/image", "runs (images/s)"):
        table.add_column(column, justify="right" if column != "path" else "left")
    for name, values in rates.items():
        table.add_row(name, f"{medians[name]:.2f}", f"{1000 / medians[name]:.1f}", ", ".join(f"{v:.2f}" for v in values))
    table.add_row("[bold]ratio[/bold]", f"[bold]{ratio:.2f}x[/bold]", "", f"median of per-round relight batch / {same_streams}")
    if streams > 1:
        table.add_row("ratio, 1 stream", f"{ratio_one:.2f}x", "", f"median of per-round relight batch / {one_stream}")
    if group > 1:
        table.add_row("ratio, 1 at a time", f"{ratio_single:.2f}x", "", f"median of per-round relight batch / {one_at_a_time}")
    (out_console if out_console.is_terminal else Console(width=160)).print(table)
    record = {
        "benchmark": "batch",
        "variant": config.describe(),
        "size": args.size,
        "images": args.images,
        "content": args.content,
        "pillow_inputs": args.pillow_inputs,
        "batch_size": group,
        "workers": args.workers,
        "streams": streams,
        "device": str(relighter.device),
        "precision": relighter.precision,
        "compiled": relighter.compiled,
        "torch_threads_model_only_1_stream": default_threads,
        "torch_threads_batch": batch_threads,
        **machine(),
        "torch": torch.__version__,
        "images_per_s": rates,
        "median_images_per_s": medians,
        "ratio": ratio,
        "ratio_vs_one_stream": ratio_one,
        "ratio_vs_one_image_at_a_time": ratio_single,
    }
    write_record(args.json, record, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
