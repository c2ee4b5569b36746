"""Backends side by side: torch eager, relight's torch path, torch.compile and ONNX Runtime.

Two measures, for a bundled model (``--bundled``, by default ``relight-synth-narrow``; an any-to-any one,
such as the default ``relight-synth-any``, relights to :data:`LIGHT` with no source told, as ``relight
batch`` does without ``--to``) and the paper-size network (ResNet-50, random weights: its speed, not its
output, is measured), at each of ``--sizes``:

* **the network alone**, in this process: one call per path in turn, round after round (the order
  flipping every round), after an untimed first call each (compiling, for torch.compile); the median
  call counts. ``eager`` is the network as built (BatchNorm, the authors' unfold DDPM, fp32), ``torch``
  relight's torch path (``Relighter(backend="torch")``), ``compile`` that through ``torch.compile``,
  ``onnxruntime`` relight's ONNX Runtime path (``Relighter(backend="onnxruntime")``). Each prints its
  largest difference to eager.
* **whole processes** on a folder of ``--images`` PNG + depth pairs (fresh processes, in turn, the order
  flipping every round; wall time and peak RSS from the kernel): ``relight batch --native`` on each
  backend (``auto`` is ONNX Runtime here; ``compile`` is ``--backend torch --compile``), a plain
  20-line ONNX Runtime loop (:func:`ort_loop`: read, pad, run, write, on relight's export of the same
  weights), a plain torch eager loop (the same loop calling the network as built), and with
  ``--old DIR`` the ``relight batch --native`` of another checkout (the code before ONNX Runtime).

``--cuda SIZE`` measures, instead, the paper-size network alone on CUDA at ``SIZE`` x ``SIZE``:
relight's torch path in bf16 (the CUDA default) and fp32, and ONNX Runtime's CUDA execution provider
(fp32, and the fp16 export) and TensorRT's (fp16), each through ``Relighter``, so host copies count;
its record names the fastest, which ``relight.inference.backend.CUDA_MEASURED`` then follows
(``benchmarks/device_check.sh`` runs it).

``--split`` measures, instead, how ``relight batch`` on ONNX Runtime shares two cores between the
network and the decode/encode threads (streams x intra-op threads), in this process.

Run from the repository root (the paper rows at 1024 are slow on two cores; keep rounds few):

    .venv/bin/python benchmarks/backends.py --json runs/backends.json --old /tmp/main-before
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from relight.lighting import encode_lights
from wholeprocess import machine, write_record

console = Console(stderr=True)
ROOT = Path(__file__).resolve().parents[1]
NETWORK_PATHS = ("eager", "torch", "compile", "onnxruntime")
#: The network alone, not run by default: torch.compile of the paper network past 256 (minutes per size on two cores).
SKIP = "paper:compile:512,paper:compile:1024"
PROCESS_PATHS = ("relight onnxruntime", "relight torch", "relight compile", "ORT loop", "eager loop", "old relight")
#: The light an any-to-any model relights to here: the bundled one's own default target, which ``relight batch`` takes without ``--to``.
LIGHT = "4500-E"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="bundled,paper",
                        help="comma-separated: bundled (relight-synth-narrow), paper (the paper-size network)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (and so ONNX Runtime's) for the network alone (default: one per core); whole processes keep their defaults")
    parser.add_argument("--sizes", default="256,512,1024", help="square image sizes")
    parser.add_argument("--rounds", type=int, default=3, help="network-alone rounds (bundled; paper: --paper-rounds)")
    parser.add_argument("--paper-rounds", type=int, default=2, help="network-alone rounds for the paper network")
    parser.add_argument("--process-rounds", type=int, default=2, help="whole-process rounds (bundled; paper: 1)")
    parser.add_argument("--images", default="12,12,6", help="images per folder at each size, bundled")
    parser.add_argument("--paper-images", default="2,2,1", help="images per folder at each size, paper network")
    parser.add_argument("--skip", default=SKIP, help="model:path:size triples not run, comma-separated (torch.compile takes minutes per "
                                                          "network and size on two cores, and a whole process compiles again every run)")
    parser.add_argument("--process-compile", default="bundled:512",
                        help="model:size pairs run as whole `relight batch --compile` processes (each compiles again: minutes on two cores)")
    parser.add_argument("--old", type=Path, default=None, help="a checkout of relight before ONNX Runtime, run as `old relight`")
    parser.add_argument("--bundled", default="relight-synth-narrow",
                        help="the bundled model's weights (with --old: weights that checkout reads, such as the bundled file of its time)")
    parser.add_argument("--no-network", action="store_true", help="whole processes only")
    parser.add_argument("--no-processes", action="store_true", help="the network alone only")
    parser.add_argument("--cuda", type=int, default=None, metavar="SIZE", help="measure the backends on CUDA at SIZE instead")
    parser.add_argument("--split", action="store_true", help="measure relight batch's thread split on ONNX Runtime instead")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    parser.add_argument("--ort-loop", nargs=3, metavar=("MODEL", "FOLDER", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--eager-loop", nargs=3, metavar=("WEIGHTS", "FOLDER", "OUT"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def ort_loop(model: str, folder: str, out: str) -> None:
    """The plain ONNX Runtime loop a user would write: every PNG + .npy pair, padded to 32, run, written."""
    import onnxruntime as ort
    from PIL import Image

    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    os.makedirs(out, exist_ok=True)
    for name in sorted(f for f in os.listdir(folder) if f.endswith(".png")):
        rgb = np.asarray(Image.open(os.path.join(folder, name)).convert("RGB"), dtype=np.float32) / 255
        depth = np.load(os.path.join(folder, name[:-4] + ".npy")).astype(np.float32)
        h, w = depth.shape
        ph, pw = -h % 32, -w % 32
        x = np.pad(rgb.transpose(2, 0, 1)[None], ((0, 0), (0, 0), (0, ph), (0, pw)), mode="reflect")
        d = np.pad(depth[None, None], ((0, 0), (0, 0), (0, ph), (0, pw)), mode="reflect")
        feeds = {"rgb": x, "depth": d}
        if "light" in {given.name for given in session.get_inputs()}:  # an any-to-any export: the light as an input row
            feeds["light"] = encode_lights(LIGHT).numpy()
        (y,) = session.run(None, feeds)
        pixels = (np.clip(y[0, :, :h, :w].transpose(1, 2, 0), 0, 1) * 255 + 0.5).astype(np.uint8)
        Image.fromarray(pixels).save(os.path.join(out, name))


def eager_loop(weights: str, folder: str, out: str) -> None:
    """The same loop on the network as built, in torch eager mode (no relight inference code)."""
    from PIL import Image

    from relight.model.checkpoint import load_checkpoint

    model = load_checkpoint(weights).model.eval()
    light = encode_lights(LIGHT) if model.config.any_to_any else None
    os.makedirs(out, exist_ok=True)
    for name in sorted(f for f in os.listdir(folder) if f.endswith(".png")):
        rgb = torch.from_numpy(np.asarray(Image.open(os.path.join(folder, name)).convert("RGB"), dtype=np.float32) / 255)
        depth = torch.from_numpy(np.load(os.path.join(folder, name[:-4] + ".npy")).astype(np.float32))
        h, w = depth.shape
        pad = (0, -w % 32, 0, -h % 32)
        x = torch.nn.functional.pad(rgb.permute(2, 0, 1)[None], pad, mode="reflect")
        d = torch.nn.functional.pad(depth[None, None], pad, mode="reflect")
        with torch.no_grad():
            y = model(x, d, light)[0, :, :h, :w].permute(1, 2, 0).clamp(0, 1).numpy()
        Image.fromarray((y * 255 + 0.5).astype(np.uint8)).save(os.path.join(out, name))


def paper_checkpoint(folder: Path) -> Path:
    """The paper-size network with seeded random weights, as a relight checkpoint (no training size: it runs as given)."""
    from relight.model import MBNet, MBNetConfig
    from relight.model.checkpoint import save_checkpoint

    path = folder / "paper-random.safetensors"
    if not path.is_file():
        torch.manual_seed(0)
        save_checkpoint(MBNet(MBNetConfig.paper()), path, {"note": "random weights, for timing only"})
    return path


def write_folder(folder: Path, count: int, size: int) -> None:
    """``count`` smooth random RGB PNGs of ``size`` x ``size`` with random depth, as relight writes them."""
    from relight.io import write_image

    rng = np.random.default_rng(size)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        coarse = torch.from_numpy(rng.random((1, 3, 16, 16), dtype=np.float32))
        rgb = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic").clamp(0, 1)[0].permute(1, 2, 0).numpy()
        write_image(folder / f"img{i:02d}.png", rgb)
        np.save(folder / f"img{i:02d}.npy", rng.random((size, size), dtype=np.float32))


def skipped(args: argparse.Namespace, model: str, path: str, size: int) -> bool:
    return f"{model}:{path}:{size}" in {s.strip() for s in args.skip.split(",") if s.strip()}


def network_alone(args: argparse.Namespace, model: str, weights: Path, sizes: list[int]) -> list[dict[str, object]]:
    """Per size, the median seconds of one call per path, the paths in turn, and the largest difference to eager."""
    from relight.inference import Relighter
    from relight.weights import load_weights

    rows = []
    rounds = args.rounds if model == "bundled" else args.paper_rounds
    eager = load_weights(weights).model.eval()
    light = encode_lights(LIGHT) if eager.config.any_to_any else None
    for size in sizes:
        paths = {}
        for name in NETWORK_PATHS:
            if skipped(args, model, name, size):
                continue
            if name == "eager":
                paths[name] = eager
            else:
                paths[name] = Relighter(load_weights(weights), "cpu", backend="onnxruntime" if name == "onnxruntime" else "torch",
                                        compile=name == "compile", native=True, inplace=True).relight_tensor
        g = torch.Generator().manual_seed(size)
        rgb, depth = torch.rand(1, 3, size, size, generator=g), torch.rand(1, 1, size, size, generator=g)
        with torch.no_grad():
            reference = eager(rgb, depth, light)
            difference = {name: float((fn(rgb, depth, light) - reference).abs().max()) for name, fn in paths.items()}  # also the warm-up
            times: dict[str, list[float]] = {name: [] for name in paths}
            for round_ in range(rounds):
                for name in list(paths) if round_ % 2 == 0 else list(paths)[::-1]:
                    start = time.perf_counter()
                    paths[name](rgb, depth, light)
                    times[name].append(time.perf_counter() - start)
        row = {"model": model, "size": size, "seconds": {n: statistics.median(t) for n, t in times.items()}, "runs": times,
               "max_difference_to_eager": difference}
        console.print(f"network alone, {model} {size}: " + ", ".join(f"{n} {s:.3f} s" for n, s in row["seconds"].items()))
        rows.append(row)
        del paths
    return rows


def processes(args: argparse.Namespace, model: str, weights: Path, onnx: Path, sizes: list[int], counts: list[int], work: Path,
              env: dict[str, str]) -> list[dict[str, object]]:
    """Per size, each whole-process command's median wall seconds and peak RSS over the rounds, in turn."""
    rows = []
    rounds = args.process_rounds if model == "bundled" else 1
    python = sys.executable
    for size, count in zip(sizes, counts):
        folder = work / f"{model}-{size}"
        write_folder(folder, count, size)
        batch = [python, "-m", "relight", "batch", str(folder), "--weights", str(weights), "--native", "--overwrite"]
        commands = {
            "relight onnxruntime": [*batch, "-o", str(work / "out-ort"), "--backend", "onnxruntime"],
            "relight torch": [*batch, "-o", str(work / "out-torch"), "--backend", "torch"],
            "ORT loop": [python, __file__, "--ort-loop", str(onnx), str(folder), str(work / "out-loop")],
            "eager loop": [python, __file__, "--eager-loop", str(weights), str(folder), str(work / "out-eager")],
        }
        if args.old is not None:
            commands["old relight"] = [python, "-m", "relight", "batch", str(folder), "--weights", str(weights), "--native", "--overwrite",
                                       "-o", str(work / "out-old")]
        if f"{model}:{size}" in args.process_compile.split(","):
            commands["relight compile"] = [*batch, "-o", str(work / "out-compile"), "--backend", "torch", "--compile"]
        wall: dict[str, list[float]] = {name: [] for name in commands}
        peak: dict[str, list[float]] = {name: [] for name in commands}
        for round_ in range(rounds):
            for name in list(commands) if round_ % 2 == 0 else list(commands)[::-1]:
                old = name == "old relight"
                child_env = {**env, "PYTHONPATH": str(args.old)} if old else env
                seconds, rss = _peak(commands[name], child_env, cwd=args.old if old else ROOT)
                wall[name].append(seconds)
                peak[name].append(rss)
        row = {"model": model, "size": size, "images": count, "seconds": {n: statistics.median(v) for n, v in wall.items()},
               "peak_rss_mb": {n: statistics.median(v) for n, v in peak.items()}, "runs": wall}
        console.print(f"whole process, {model} {size} ({count} images): " +
                      ", ".join(f"{n} {s:.2f} s / {row['peak_rss_mb'][n]:.0f} MB" for n, s in row["seconds"].items()))
        rows.append(row)
    return rows


#: A launcher that imports nothing heavy: a child forked from this process (torch loaded) would start
#: with this process's resident memory counted in its peak. It prints the command's wall seconds and
#: peak RSS (KB, from the kernel's wait4).
_LAUNCH = """
import os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
err = child.stderr.read()
_, status, usage = os.wait4(child.pid, 0)
if os.waitstatus_to_exitcode(status):
    sys.exit(err.decode(errors="replace")[-2000:])
print(time.perf_counter() - start, usage.ru_maxrss)
"""


def _peak(command: list[str], env: dict[str, str], cwd: Path | None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of ``command`` in a fresh process (see :data:`_LAUNCH`)."""
    done = subprocess.run([sys.executable, "-c", _LAUNCH, *command], env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()[-2000:]}")
    seconds, kilobytes = done.stdout.split()
    return float(seconds), float(kilobytes) / 1024


def split(weights: dict[str, Path], work: Path) -> list[dict[str, object]]:
    """``relight batch`` on ONNX Runtime at 512 x 512: one stream on two threads, two streams of one, one of one."""
    from relight.data.pairs import find_inference_pairs
    from relight.inference import Relighter
    from relight.inference.batch import BatchOptions, run_batch

    rows = []
    for model, path in weights.items():
        folder = work / f"split-{model}"
        write_folder(folder, 12 if model == "bundled" else 3, 512)
        pairs = find_inference_pairs(folder)
        relighter = Relighter.from_weights(path, device="cpu", backend="onnxruntime", native=True)
        configs = {"1 stream x 2 threads": (1, 2), "2 streams x 1 thread": (2, 2), "1 stream x 1 thread": (1, 1)}
        times: dict[str, list[float]] = {name: [] for name in configs}
        for round_ in range(3):
            for name in list(configs) if round_ % 2 == 0 else list(configs)[::-1]:
                streams, threads = configs[name]
                torch.set_num_threads(threads)
                start = time.perf_counter()
                run_batch(relighter, pairs, work / "split-out", options=BatchOptions(streams=streams), overwrite=True)
                times[name].append(time.perf_counter() - start)
        torch.set_num_threads(2)
        row = {"model": model, "images": len(pairs), "seconds": {n: statistics.median(t) for n, t in times.items()}, "runs": times}
        console.print(f"thread split, {model}: " + ", ".join(f"{n} {s:.2f} s" for n, s in row["seconds"].items()))
        rows.append(row)
    return rows


def cuda_backends(size: int, rounds: int, work: Path) -> dict[str, object]:
    """The paper-size network alone on CUDA: torch bf16 and fp32, ONNX Runtime's CUDA provider (fp32, fp16)
    and TensorRT's (fp16); the fastest named. A provider ONNX Runtime lacks here is said, not timed."""
    from relight.inference import Relighter
    from relight.weights import load_weights

    try:
        import onnxruntime as ort

        available = ort.get_available_providers()
    except ImportError:
        available = []
    weights = paper_checkpoint(work)
    paths = {"torch bf16": ("torch", "bf16", None), "torch fp32": ("torch", "fp32", None),
             "onnxruntime CUDA fp32": ("onnxruntime", "fp32", "cuda"), "onnxruntime CUDA fp16": ("onnxruntime", "fp16", "cuda"),
             "onnxruntime TensorRT fp16": ("onnxruntime", "fp16", "tensorrt")}
    needs = {"cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}
    missing = {name: f"onnxruntime here has no {needs[p]} (providers: {', '.join(available)})"
               for name, (_, _, p) in paths.items() if p is not None and needs[p] not in available}
    g = torch.Generator().manual_seed(size)
    rgb, depth = torch.rand(1, 3, size, size, generator=g), torch.rand(1, 1, size, size, generator=g)
    seconds: dict[str, float] = {}
    for name, (backend, precision, provider) in paths.items():
        if name in missing:
            continue
        os.environ["RELIGHT_ORT_PROVIDER"] = provider or ""
        relighter = Relighter(load_weights(weights), "cuda", backend=backend, precision=precision, native=True, inplace=True)
        relighter.relight_tensor(rgb, depth)  # warm-up: cuDNN's autotuning, TensorRT's engine
        times = []
        for _ in range(rounds):
            torch.cuda.synchronize()
            start = time.perf_counter()
            relighter.relight_tensor(rgb, depth).cpu()
            times.append(time.perf_counter() - start)
        seconds[name] = statistics.median(times)
        console.print(f"cuda {size}: {name} {seconds[name] * 1000:.1f} ms")
        del relighter
    os.environ.pop("RELIGHT_ORT_PROVIDER", None)
    fastest = min(seconds, key=seconds.__getitem__)
    return {"size": size, "seconds": seconds, "not_measured": missing, "fastest": fastest,
            "cuda_measured": "onnxruntime" if fastest.startswith("onnxruntime") else "torch", "gpu": torch.cuda.get_device_name()}


def tables(record: dict[str, object]) -> None:
    """The tables of the record, ratios side by side."""
    if record.get("network"):
        table = Table(title="the network alone: median s per call (x eager)")
        for column in ("model", "size", *NETWORK_PATHS, "ORT / torch path"):
            table.add_column(column, justify="right")
        for row in record["network"]:
            s = row["seconds"]
            cells = [f"{s[p]:.3f} ({s['eager'] / s[p]:.2f}x)" if p in s else "not run" for p in NETWORK_PATHS]
            table.add_row(row["model"], str(row["size"]), *cells, f"{s['torch'] / s['onnxruntime']:.2f}x faster")
        console.print(table)
    if record.get("processes"):
        table = Table(title="whole process: median s / peak RSS MB")
        names = [n for n in PROCESS_PATHS if any(n in row["seconds"] for row in record["processes"])]
        for column in ("model", "size", "images", *names, "ORT loop / relight", "old / relight"):
            table.add_column(column, justify="right")
        for row in record["processes"]:
            s, m = row["seconds"], row["peak_rss_mb"]
            cells = [f"{s[n]:.2f} / {m[n]:.0f}" if n in s else "not run" for n in names]
            old = f"{s['old relight'] / s['relight onnxruntime']:.2f}x" if "old relight" in s else ""
            table.add_row(row["model"], str(row["size"]), str(row["images"]), *cells, f"{s['ORT loop'] / s['relight onnxruntime']:.2f}x", old)
        console.print(table)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.ort_loop:
        ort_loop(*args.ort_loop)
        return 0
    if args.eager_loop:
        eager_loop(*args.eager_loop)
        return 0
    from relight.inference import Relighter
    from relight.weights import resolve_weights

    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models or set(models) - {"bundled", "paper"}:
        raise SystemExit(f"--models takes bundled and/or paper, comma-separated, not {args.models!r}")
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="relight-backends-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "RELIGHT_HOME": str(work / "home"), "COLUMNS": "200"}
        os.environ["RELIGHT_HOME"] = env["RELIGHT_HOME"]
        weights = {m: resolve_weights(args.bundled) if m == "bundled" else paper_checkpoint(work) for m in models}
        record: dict[str, object] = {"machine": machine(), "torch_threads": torch.get_num_threads(), "sizes": sizes,
                                     "skipped": args.skip, "old": str(args.old) if args.old else None}
        if args.cuda:
            record["cuda"] = cuda_backends(args.cuda, max(3, args.rounds), work)
        elif args.split:
            record["split"] = split(weights, work)
        else:
            record["network"], record["processes"] = [], []
            for model, path in weights.items():
                if not args.no_network:
                    record["network"] += network_alone(args, model, path, sizes)
                if not args.no_processes:
                    # Fills relight's cache (the export, then the optimised graph the next run's session writes): the first
                    # two runs are not timed. The plain loop runs that export too, as a user of `relight export` would.
                    for _ in range(2):
                        network = Relighter.from_weights(path, device="cpu", backend="onnxruntime").network
                        network.session()
                    onnx = network.path
                    counts = [int(c) for c in (args.images if model == "bundled" else args.paper_images).split(",")]
                    record["processes"] += processes(args, model, path, onnx, sizes, counts, work, env)
            tables(record)
        record["machine"] = machine()
    write_record(args.json, record, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
