"""How much faster and leaner is relight's inference path than the plain reference forward? Side by side.

For each variant (the paper's ResNet-50 MBNet, the narrow one) and size, with the same random weights
(BatchNorm statistics randomised, so folding has real work to do), the paths are timed in alternation
within one process, so a busy machine slows them alike:

* ``reference``: eager float32, the authors' unfold DDPM, BatchNorm as is, contiguous tensors;
* ``optimized``: :class:`~relight.inference.relighter.Relighter`'s torch path (folded BatchNorm, shift DDPM,
  channels-last, inference mode, the banded full-resolution tail; bf16/fp16 autocast on CUDA); ONNX
  Runtime against it is ``benchmarks/backends.py``'s;
* ``optimized+compile``: the same through ``torch.compile`` (``relight run --compile``).

Beside each variant's one-to-one network, its conditioned (any-to-any) forms (``--conditioning``, default
film and planes; identity-initialised from the same weights) run the optimised path in alternation with
it, relighting to one target light: ``x one-to-one`` is the cost of conditioning (issue 13 allows 5 %).

Warm-up calls (which include compiling) are excluded; the median of ``--repeats`` timed calls counts.
Peak memory is measured per configuration in fresh subprocesses (CUDA: max allocated; CPU: peak RSS),
so one path's allocations never pollute another's; the median of ``--memory-runs`` of them counts, since
on the CPU glibc's heap fragmentation moves one process's peak by tens of megabytes. Run from the
repository root:

    .venv/bin/python benchmarks/inference.py --variants paper --sizes 512 --repeats 5 --json runs/bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table
from torch import nn

from relight.cli import console, out_console, progress_bar
from relight.device import cudnn_autotune, default_precision, is_out_of_memory, select_device
from relight.errors import DeviceOutOfMemory
from relight.inference import Relighter
from relight.lighting import encode_lights
from relight.model import MBNet, MBNetConfig
from wholeprocess import write_record

VARIANTS = {"paper": MBNetConfig.paper, "narrow": MBNetConfig.narrow}
PATHS = ("reference", "optimized", "optimized+compile")
CONDITIONINGS = ("film", "planes")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default="paper,narrow", help="comma-separated: paper, narrow")
    parser.add_argument("--sizes", default="256,512,1024", help="comma-separated square sizes")
    parser.add_argument("--paths", default=",".join(PATHS), help="comma-separated subset of: " + ", ".join(PATHS))
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per path (median reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls per path first (compiling happens here)")
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: best available)")
    parser.add_argument("--precision", default=None, help="precision of the optimised paths (default: bf16/fp16 on CUDA, fp32 elsewhere)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--conditioning", default=",".join(CONDITIONINGS),
                        help="conditioned forms timed beside each variant's one-to-one network, optimised path ('' for none)")
    parser.add_argument("--no-memory", dest="memory", action="store_false", help="skip the peak-memory subprocesses")
    parser.add_argument("--memory-runs", type=int, default=3,
                        help="fresh processes per configuration for peak memory, interleaved across paths (median reported)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    parser.add_argument("--measure-memory", nargs=3, metavar=("VARIANT", "SIZE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    args.conditioning = [c.strip() for c in args.conditioning.split(",") if c.strip()]
    for name, chosen, known in (("variant", args.variants, VARIANTS), ("path", args.paths, PATHS),
                                ("conditioning", args.conditioning, CONDITIONINGS)):
        unknown = set(chosen) - set(known)
        if unknown:
            parser.error(f"unknown {name} {', '.join(sorted(unknown))}; choose from {', '.join(known)}")
    return args


def build_model(variant: str) -> MBNet:
    """Seeded random weights with non-trivial BatchNorm statistics (a fresh network's are 0 and 1)."""
    torch.manual_seed(0)
    model = MBNet(VARIANTS[variant]())
    with torch.no_grad():
        for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 1.5)
    return model.eval()


def make_relighter(model: MBNet, path: str, device: torch.device, precision: str, inplace: bool) -> Relighter:
    """The relighter for one path; ``inplace`` when the caller no longer needs ``model`` as it is."""
    if path == "reference":
        return Relighter(model, device, precision="fp32", optimize=False, inplace=inplace)
    return Relighter(model, device, backend="torch", precision=precision, compile=path == "optimized+compile", inplace=inplace,
                     warn=lambda m: console.print(f"[yellow]warning:[/yellow] {m}"))


def inputs(size: int, device: torch.device, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(size)
    return torch.rand(batch, 3, size, size, generator=g).to(device), torch.rand(batch, 1, size, size, generator=g).to(device)


def sync(device: torch.device) -> None:
    """Wait for the device's queued work, so that a timing covers it (CUDA and MPS run asynchronously)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def timed(relighter: Relighter, rgb: torch.Tensor, depth: torch.Tensor,
          light: torch.Tensor | None = None) -> tuple[float, torch.Tensor]:
    sync(relighter.device)
    start = time.perf_counter()
    out = relighter.relight_tensor(rgb, depth, light)
    sync(relighter.device)
    return time.perf_counter() - start, out


def peak_rss_mb() -> float:
    """This process's peak resident set size.

    Linux's ``VmHWM`` starts afresh at ``exec``, unlike ``ru_maxrss``, which a subprocess inherits from the
    large parent it was forked from. Elsewhere, ``ru_maxrss`` (bytes on macOS, kB otherwise).
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def measure_memory(variant: str, size: int, path: str, device: torch.device, precision: str) -> dict[str, float]:
    """Run in a fresh subprocess: build, prepare (in place, as the CLI does), warm up, run once, report the peak."""
    relighter = make_relighter(build_model(variant), path, device, precision, inplace=True)
    rgb, depth = inputs(size, device)
    relighter.relight_tensor(rgb, depth)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    timed(relighter, rgb, depth)
    if device.type == "cuda":
        return {"peak_mb": torch.cuda.max_memory_allocated(device) / 2**20}
    return {"peak_mb": peak_rss_mb()}


def memory_in_subprocess(args: argparse.Namespace, variant: str, size: int, path: str) -> dict[str, float] | None:
    command = [sys.executable, __file__, "--measure-memory", variant, str(size), path]
    for flag, value in (("--device", args.device), ("--precision", args.precision), ("--threads", args.threads)):
        if value is not None:
            command += [flag, str(value)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        console.print(f"[yellow]warning:[/yellow] memory run {variant} {size} {path} failed: {tail}")
        return None
    return json.loads(lines[-1])


def max_batch_that_fits(relighter: Relighter, size: int = 1024, limit: int = 1024) -> int:
    """The largest batch of ``size`` x ``size`` images (up to ``limit``) that ``relighter`` runs without
    running out of device memory; 0 if not even one fits."""

    def fits(batch: int) -> bool:
        try:
            relighter.relight_tensor(*inputs(size, relighter.device, batch))
            return True
        except DeviceOutOfMemory:  # how relight_tensor reports running out of memory
            return False
        except RuntimeError as exc:  # making the inputs can run out too
            if not is_out_of_memory(exc):
                raise
            return False
        finally:
            if relighter.device.type == "cuda":
                torch.cuda.empty_cache()

    low, high = 0, 1
    while high <= limit and fits(high):
        low, high = high, high * 2
    high = min(high, limit + 1)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low


def bench_variant(args: argparse.Namespace, variant: str, device: torch.device, precision: str,
                  progress: object, task: object) -> list[dict[str, object]]:
    model = build_model(variant)
    relighters = {path: make_relighter(model, path, device, precision, inplace=False) for path in args.paths}
    rows = []
    for size in args.sizes:
        rgb, depth = inputs(size, device)
        first: dict[str, float] = {}
        outputs: dict[str, torch.Tensor] = {}
        for path, relighter in relighters.items():
            for _ in range(args.warmup):
                seconds, out = timed(relighter, rgb, depth)
                first.setdefault(path, seconds)
                progress.advance(task)  # type: ignore[attr-defined]
            if args.warmup:
                outputs[path] = out.cpu()  # the last warm-up call's output, compared with the reference below
        times: dict[str, list[float]] = {path: [] for path in relighters}
        for _ in range(args.repeats):
            for path, relighter in relighters.items():
                seconds, out = timed(relighter, rgb, depth)
                times[path].append(seconds)
                if path not in outputs:  # with --warmup 0: the first timed call's output
                    outputs[path] = out.cpu()
                progress.advance(task)  # type: ignore[attr-defined]
        reference = outputs.get("reference")
        for path, relighter in relighters.items():
            ms = 1000 * statistics.median(times[path])
            rows.append({
                "variant": variant, "size": size, "path": path, "precision": relighter.precision,
                "compiled": relighter.compiled, "ms_per_image": ms, "images_per_s": 1000 / ms,
                "ms_runs": [1000 * t for t in times[path]], "first_call_s": first.get(path),
                "max_abs_diff_vs_reference": None if reference is None else float((outputs[path] - reference).abs().max()),
            })
    return rows


def bench_conditioning(args: argparse.Namespace, variant: str, device: torch.device, precision: str,
                       progress: object, task: object) -> list[dict[str, object]]:
    """The optimised path of ``variant`` one-to-one and in each conditioned form, in alternation, per size."""
    base = build_model(variant)
    models = {"none": base, **{c: MBNet.from_one_to_one(replace(base.config, conditioning=c), base).eval() for c in args.conditioning}}
    relighters = {c: make_relighter(m, "optimized", device, precision, inplace=c != "none") for c, m in models.items()}
    rows = []
    for size in args.sizes:
        rgb, depth = inputs(size, device)
        light = encode_lights(["2500-W"])
        lights = {c: None if c == "none" else light for c in relighters}
        times: dict[str, list[float]] = {c: [] for c in relighters}
        outputs: dict[str, torch.Tensor] = {}
        for round_ in range(args.warmup + args.repeats):
            for c, relighter in relighters.items():
                seconds, out = timed(relighter, rgb, depth, lights[c])
                if round_ >= args.warmup:
                    times[c].append(seconds)
                outputs[c] = out.cpu()
                progress.advance(task)  # type: ignore[attr-defined]
        for c in relighters:
            rows.append({
                "variant": variant, "size": size, "conditioning": c, "precision": relighters[c].precision,
                "ms_per_image": 1000 * statistics.median(times[c]), "ms_runs": [1000 * t for t in times[c]],
                "x_one_to_one": statistics.median(t / r for t, r in zip(times[c], times["none"])),
                "x_one_to_one_best": min(times[c]) / min(times["none"]),
                "max_abs_diff_vs_one_to_one": float((outputs[c] - outputs["none"]).abs().max()),
            })
    return rows


def print_conditioning(rows: list[dict[str, object]], device: torch.device) -> None:
    table = Table(title=f"conditioned MBNet, optimised path on {device}: medians of the timed calls",
                  caption="x one-to-one: median over rounds of this form's time / the one-to-one network's, back to back; "
                          "best: fastest call / fastest call (robust to a busy machine)")
    for column in ("variant", "size", "conditioning", "precision", "ms/image", "x one-to-one", "best x one-to-one", "max |diff|"):
        table.add_column(column, justify="left" if column in ("variant", "conditioning", "precision") else "right")
    for r in rows:
        table.add_row(str(r["variant"]), str(r["size"]), str(r["conditioning"]), str(r["precision"]),
                      f"{r['ms_per_image']:.1f}", f"{r['x_one_to_one']:.3f}x", f"{r['x_one_to_one_best']:.3f}x",
                      f"{r['max_abs_diff_vs_one_to_one']:.1e}")
    (out_console if out_console.is_terminal else Console(width=200)).print(table)


def add_ratios(rows: list[dict[str, object]]) -> None:
    """Speed-up as the median of per-round ratios (each round times every path back to back, so a load
    change on the machine hits both sides of a ratio alike), and peak memory relative to the reference."""
    reference = {(r["variant"], r["size"]): r for r in rows if r["path"] == "reference"}
    for row in rows:
        ref = reference.get((row["variant"], row["size"]))
        row["speedup_vs_reference"] = None if ref is None else statistics.median(
            r / t for r, t in zip(ref["ms_runs"], row["ms_runs"]))
        peak, ref_peak = row.get("peak_mb"), None if ref is None else ref.get("peak_mb")
        row["memory_vs_reference"] = None if peak is None or ref_peak is None else peak / ref_peak


def print_table(rows: list[dict[str, object]], device: torch.device, memory_kind: str) -> None:
    table = Table(title=f"MBNet inference on {device} ({torch.get_num_threads()} threads): medians of the timed calls",
                  caption="x reference: median over rounds of reference time / this path's time, measured back to back")
    columns = ("variant", "size", "path", "precision", "ms/image", "best ms", "images/s", "x reference",
               f"{memory_kind} MB", "memory x ref", "max |diff|", "first call s")
    for column in columns:
        table.add_column(column, justify="left" if column in ("variant", "path", "precision") else "right")

    def fmt(value: object, spec: str, suffix: str = "") -> str:
        return "-" if value is None else f"{value:{spec}}{suffix}"

    for r in rows:
        table.add_row(
            str(r["variant"]), str(r["size"]), str(r["path"]) + ("" if r["compiled"] or r["path"] != "optimized+compile" else " (eager)"),
            str(r["precision"]), fmt(r["ms_per_image"], ".1f"), fmt(min(r["ms_runs"]), ".1f"), fmt(r["images_per_s"], ".3f"),
            fmt(r["speedup_vs_reference"], ".2f", "x"), fmt(r.get("peak_mb"), ".0f"), fmt(r["memory_vs_reference"], ".2f", "x"),
            fmt(r["max_abs_diff_vs_reference"], ".1e"), fmt(r["first_call_s"], ".1f"),
        )
    (out_console if out_console.is_terminal else Console(width=200)).print(table)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = select_device(args.device)
    precision = args.precision or default_precision(device)
    with cudnn_autotune(device):  # every size runs many times, as in relight batch
        return run(args, device, precision)


def run(args: argparse.Namespace, device: torch.device, precision: str) -> int:
    if args.measure_memory:
        variant, size, path = args.measure_memory
        print(json.dumps(measure_memory(variant, int(size), path, device, precision)))
        return 0
    load_before = os.getloadavg()
    console.print(f"[dim]{device}, torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
                  f"load average {load_before[0]:.1f}[/dim]")
    rows: list[dict[str, object]] = []
    steps = len(args.variants) * len(args.sizes) * len(args.paths) * (args.warmup + args.repeats)
    conditioned: list[dict[str, object]] = []
    with progress_bar() as progress:
        task = progress.add_task("timing", total=steps, rate="")
        for variant in args.variants:
            rows += bench_variant(args, variant, device, precision, progress, task)
        if args.conditioning:
            steps = len(args.variants) * len(args.sizes) * (1 + len(args.conditioning)) * (args.warmup + args.repeats)
            task = progress.add_task("conditioning", total=steps, rate="")
            for variant in args.variants:
                conditioned += bench_conditioning(args, variant, device, precision, progress, task)
        if args.memory:
            task = progress.add_task("peak memory", total=len(rows) * args.memory_runs, rate="")
            peaks: dict[int, list[float]] = {i: [] for i in range(len(rows))}
            for _ in range(args.memory_runs):  # rounds over every path, so a drift in the machine hits all alike
                for i, row in enumerate(rows):
                    measured = memory_in_subprocess(args, str(row["variant"]), int(row["size"]), str(row["path"]))
                    if measured is not None:
                        peaks[i].append(measured["peak_mb"])
                    progress.advance(task)
            for i, row in enumerate(rows):
                row["peak_mb_runs"] = peaks[i]
                row["peak_mb"] = statistics.median(peaks[i]) if peaks[i] else None
    add_ratios(rows)
    memory_kind = "CUDA peak" if device.type == "cuda" else "peak RSS"
    print_table(rows, device, memory_kind)
    if conditioned:
        print_conditioning(conditioned, device)
    record: dict[str, object] = {
        "benchmark": "inference",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "device": str(device) if device.type != "cuda" else torch.cuda.get_device_name(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "load_average_before_after": [load_before[0], os.getloadavg()[0]],
        "memory_kind": memory_kind if args.memory else None,
        "rows": rows,
        "conditioning_rows": conditioned,
    }
    if device.type == "cuda" and "paper" in args.variants:
        record["max_batch_1024_optimized"] = max_batch_that_fits(make_relighter(build_model("paper"), "optimized", device, precision, inplace=True))
        console.print(f"largest batch of 1024x1024 images that fits (paper, optimized): {record['max_batch_1024_optimized']}")
    write_record(args.json, record, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
