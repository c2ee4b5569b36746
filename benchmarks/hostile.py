"""Hostile and big inputs, each with its peak memory and time: this checkout against another one side by side.

Each input runs the real command line (or a ``relight ui`` started for it, called through
``gradio_client``) in a fresh process, once with this checkout's relight and once with the one ``--before``
names (a worktree of an older commit, put first on ``PYTHONPATH``), and records the process's peak RSS
(``wait4``; the page's from ``/proc/PID/status`` VmHWM before it stops), the wall time and what it said:

* ``run``, depth a .npy of 5 MB of pickle ``EMPTY_SET`` opcodes, and the same deflated in a 20 KB .npz;
* ``run --to all -o OUT.jpg --sheet`` on a 12 MP photo (``--side``) with the bundled any-to-any model;
* ``batch`` of six 12 MP photos to two lights each (12 outputs): also when the first output appeared, and
  how many outputs a SIGTERM ``--term-after`` seconds in left;
* the page: the deflated .npz uploaded as depth, All 40 of a 4096 x 4096 photo and of a 2048 x 2048 one;
* ``run`` with a checkpoint holding one NaN ``running_mean``.

Photos are flat colour (a small file, a big image). Run from the repository root:

    git worktree add /tmp/relight-before <older commit>
    .venv/bin/python benchmarks/hostile.py --before /tmp/relight-before --json runs/hostile.json
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from relight.cli import console
from relight.io import write_json
from wholeprocess import measured_process

ROOT = Path(__file__).resolve().parents[1]
FLOOD = b"\x80\x03" + b"\x8f" * 5_000_000 + b"."


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="a checkout of the relight to compare with (its root)")
    parser.add_argument("--side", default="4000x3000", help="the big photo, WIDTHxHEIGHT (12 MP)")
    parser.add_argument("--photos", type=int, default=6, help="photos in the batch")
    parser.add_argument("--term-after", type=float, default=12.0, help="seconds into the batch to send SIGTERM")
    parser.add_argument("--only", default="", help="comma-separated input numbers to run (default: all)")
    parser.add_argument("--json", type=Path, default=None, help="also write the table as JSON here")
    return parser.parse_args(argv)


def flat(path: Path, width: int, height: int) -> tuple[Path, Path]:
    """A photo of one colour and its depth, a .npy an eighth of its size (read at the photo's)."""
    Image.new("RGB", (width, height), (120, 110, 100)).save(path)
    depth = path.with_suffix(".npy")
    np.save(depth, np.full((max(1, height // 8), max(1, width // 8)), 0.5, np.float32))
    return path, depth


def flood_files(folder: Path) -> tuple[Path, Path]:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(np.empty((), object)))
    npy = folder / "flood.npy"
    npy.write_bytes(header.getvalue() + FLOOD)
    npz = folder / "flood.npz"
    with zipfile.ZipFile(npz, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("normalized_depth.npy", header.getvalue() + FLOOD)
    return npy, npz


def nan_checkpoint(folder: Path) -> Path:
    import torch

    from relight.model import MBNet, MBNetConfig
    from relight.model.checkpoint import save_checkpoint

    torch.manual_seed(0)
    model = MBNet(MBNetConfig.narrow(width=8, decoder_channels=16))
    with torch.no_grad():
        next(t for name, t in model.state_dict().items() if name.endswith("running_mean"))[0] = float("nan")
    return save_checkpoint(model, folder / "nan.safetensors", {})


def _env(tree: Path | None) -> dict[str, str]:
    return {"OMP_NUM_THREADS": "1", "RELIGHT_OFFLINE": "1", "HF_HUB_OFFLINE": "1", **({"PYTHONPATH": str(tree)} if tree else {})}


def run_cli(args: list[str], tree: Path | None, cwd: Path) -> dict:
    seconds, peak, code, lines = measured_process([sys.executable, "-m", "relight", *args], cwd=cwd, env=_env(tree))
    return {"peak_mb": round(peak), "seconds": round(seconds, 1), "said": f"exit {code}: {(lines or [''])[-1][:110]}"}


def _watch(command: list[str], tree: Path | None, cwd: Path, tick: Callable[[float], bool]) -> tuple[float, float, int]:
    """Run ``command``, calling ``tick(seconds so far)`` every 0.1 s until it returns True or the process
    ends; its wall seconds, peak RSS (MB, ``wait4``) and exit code."""
    child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **_env(tree)})
    started = time.perf_counter()
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            return time.perf_counter() - started, usage.ru_maxrss / 1024, child.returncode
        if tick(time.perf_counter() - started):
            child.send_signal(signal.SIGTERM)
            tick = lambda _: False  # noqa: E731 - once
        time.sleep(0.1)


def _outputs(folder: Path) -> list[Path]:
    return [p for p in folder.glob("*.png") if not p.name.startswith(".")]


def batch_run(folder: Path, out: Path, tree: Path | None, cwd: Path, term_after: float) -> dict:
    """The batch to its end (peak, time, when the first output appeared), then again afresh with SIGTERM
    after ``term_after`` seconds: how many outputs it left."""
    command = [sys.executable, "-m", "relight", "batch", str(folder), "-o", str(out), "-w", "relight-synth-any", "--to", "2500-W,6500-E"]
    first: list[float] = []

    def look(seconds: float) -> bool:
        if not first and _outputs(out):
            first.append(seconds)
        return False

    seconds, peak, code = _watch(command, tree, cwd, look)
    written = len(_outputs(out))
    for path in out.iterdir():
        path.unlink()
    _watch(command, tree, cwd, lambda seconds: seconds >= term_after)
    left = len(_outputs(out))
    for path in out.iterdir():
        path.unlink()
    return {"peak_mb": round(peak), "seconds": round(seconds, 1),
            "said": f"exit {code}: {written} outputs, the first at {first[0]:.1f} s; SIGTERM at {term_after:g} s left {left}" if first
            else f"exit {code}: no output"}


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def page_call(call: Callable[[object], object], tree: Path | None, cwd: Path) -> dict:
    """A fresh ``relight ui`` over the bundled any-to-any model, one call through gradio_client: the
    server's growth over the call (VmHWM less its size once serving) and the call's time."""
    import socket

    from gradio_client import Client

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "relight", "ui", "--port", str(port), "-w", "relight-synth-any", "--device", "cpu"]
    child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **_env(tree)})
    try:
        for line in child.stdout:  # type: ignore[union-attr]
            if "serving on" in line:
                break
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        start = _status_mb(child.pid, "VmRSS")
        started = time.perf_counter()
        try:
            call(client)
            said = "served"
        except Exception as exc:  # noqa: BLE001 - the page's refusal is what this row records
            said = f"refused: {str(exc)[:100]}"
        seconds = time.perf_counter() - started
        peak = _status_mb(child.pid, "VmHWM")
        return {"peak_mb": round(peak), "seconds": round(seconds, 1), "said": f"{said} (the server grew {peak - start:,.0f} MB from {start:,.0f})"}
    finally:
        child.send_signal(signal.SIGTERM)
        child.communicate(timeout=60)


def inputs(folder: Path, args: argparse.Namespace) -> list[tuple[str, Callable[[Path | None], dict]]]:
    """Each input: its label and how to run it with the relight of a tree (None: this checkout)."""
    from gradio_client import handle_file

    width, height = (int(v) for v in args.side.split("x"))
    small, small_depth = ROOT / "examples/validation/Image900.png", ROOT / "examples/validation/Image900.npy"
    npy, npz = flood_files(folder)
    big, big_depth = flat(folder / "big.png", width, height)
    batch_folder = folder / "photos"
    batch_folder.mkdir()
    for i in range(args.photos):
        flat(batch_folder / f"photo{i}.png", width, height)
    out, batch_out = folder / "out", folder / "batch-out"
    out.mkdir()
    batch_out.mkdir()
    page4k, page4k_depth = flat(folder / "page4k.png", 4096, 4096)
    page2k, page2k_depth = flat(folder / "page2k.png", 2048, 2048)
    nan = nan_checkpoint(folder)

    def sheet(photo: Path, depth: Path) -> Callable[[object], object]:
        return lambda client: client.predict(handle_file(str(photo)), handle_file(str(depth)), api_name="/sheet")  # type: ignore[attr-defined]

    return [
        ("run, depth: 5 MB of pickled EMPTY_SET (.npy)", lambda tree: run_cli(["run", str(small), str(npy), "-o", str(out / "a.png"), "-w", "relight-synth-any", "--to", "2500-W"], tree, folder)),
        ("run, depth: the same deflated (.npz, 20 KB)", lambda tree: run_cli(["run", str(small), str(npz), "-o", str(out / "a.png"), "-w", "relight-synth-any", "--to", "2500-W"], tree, folder)),
        (f"run --to all -o --sheet, {width}x{height} photo", lambda tree: run_cli(["run", str(big), str(big_depth), "--to", "all", "-w", "relight-synth-any", "-o", str(out / "all.jpg"), "--sheet", str(out / "sheet.png")], tree, folder)),
        (f"batch, {args.photos} photos of {width}x{height} to 2 lights", lambda tree: batch_run(batch_folder, batch_out, tree, folder, args.term_after)),
        ("page /relight, depth: the deflated .npz", lambda tree: page_call(lambda client: client.predict(handle_file(str(small)), handle_file(str(npz)), "2500-W", api_name="/relight"), tree, folder)),  # type: ignore[attr-defined]
        ("page /sheet (All 40), 4096x4096 photo", lambda tree: page_call(sheet(page4k, page4k_depth), tree, folder)),
        ("page /sheet (All 40), 2048x2048 photo", lambda tree: page_call(sheet(page2k, page2k_depth), tree, folder)),
        ("run, a checkpoint with one NaN running_mean", lambda tree: run_cli(["run", str(small), str(small_depth), "-o", str(out / "nan.png"), "-w", str(nan)], tree, folder)),
    ]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    chosen = {int(n) for n in args.only.split(",") if n}
    rows = []
    with tempfile.TemporaryDirectory(prefix="relight-hostile-") as tmp:
        for number, (label, run) in enumerate(inputs(Path(tmp), args), 1):
            if chosen and number not in chosen:
                continue
            row = {"input": label}
            for when, tree in (("before", args.before.resolve()), ("after", None)):
                row[when] = run(tree)
                console.print(f"[dim]{number}. {label}, {when}: {row[when]}[/dim]")
            rows.append(row)
    print_table(rows)
    if args.json is not None:
        write_json(args.json, {"before": str(args.before), "rows": rows})


def print_table(rows: list[dict]) -> None:
    """The rows as a Markdown table (peak MB and seconds before and after, then what each said)."""
    lines = ["| input | before: peak MB | before: s | after: peak MB | after: s | ratio of peaks |", "|---|--:|--:|--:|--:|--:|"]
    for row in rows:
        before, after = row["before"], row["after"]
        lines.append(f"| {row['input']} | {before['peak_mb']:,} | {before['seconds']:.1f} | {after['peak_mb']:,} | {after['seconds']:.1f} "
                     f"| {before['peak_mb'] / max(1, after['peak_mb']):.1f}x |")
    lines += ["", "| input | before said | after said |", "|---|---|---|"]
    lines += [f"| {row['input']} | {row['before']['said']} | {row['after']['said']} |" for row in rows]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
