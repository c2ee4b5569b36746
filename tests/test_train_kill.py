"""A checkpoint save is all-or-nothing: a training process SIGKILLed at any instant resumes to the same weights.

The instants are the run's file-system operations inside its folder: each open for writing, rename,
removal or truncation, and "torn" variants that first cut the temporary about to be renamed into place
to half its length (a kill inside its write) or leave half a row in the metrics log. An audit hook in
the uninterrupted run leaves, before each of them, a copy of the run folder: what a SIGKILL at that
instant leaves on disk (a killed process's unflushed buffers are lost, and a copy does not see them
either). A few instants are also killed for real, in their own process, as a check on the copies.
After each, the user's next step is taken: ``resume`` where :func:`relight.train.resumable` says so,
else the same fresh command. Every such run must end as the uninterrupted run does, bit for bit, with
the same metrics and files.

Every run is a real process, forked from a fork server that has imported torch and never run autograd
(so torch is imported once, and whatever this test process ran before does not matter).
"""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from relight.train import TrainConfig, resolve_config, resumable, train

pytestmark = [pytest.mark.slow, pytest.mark.subprocess,
              pytest.mark.skipif("forkserver" not in multiprocessing.get_all_start_methods() or sys.platform == "darwin",
                                 reason="needs a fork server (Linux)")]

_WATCHED = ("open", "os.rename", "os.remove", "os.truncate")


def _config(data: Path, out: Path) -> TrainConfig:
    # 3 training scenes x 3 inputs = 9 pairs, batch 4: 3 steps an epoch, 2 epochs, validation (and a
    # best checkpoint) at each; the lr milestone after epoch 1.
    return TrainConfig(
        data=[str(data)], out=str(out), backbone="narrow", width=8, decoder_channels=16, perceptual_weight=0.0,
        workers=0, mirror=False, batch_size=4, epochs=2, milestones=[1], lr=1e-3, val_scenes=1,
    )


_SERVER = multiprocessing.get_context("forkserver") if "forkserver" in multiprocessing.get_all_start_methods() else None
if _SERVER is not None:
    # All a run imports (its first run in a process imports over a thousand modules, 2 s), and this
    # module, so that each child starts training at once.
    _SERVER.set_forkserver_preload(["torch", "torch._dynamo", "torchvision", "huggingface_hub", "relight.train", "relight.evaluation.evaluate",
                                    "relight.train.losses", "relight.weights.load", "relight.data.synth", "safetensors.torch", __name__])


def _run(work: Callable[..., object], args: tuple) -> None:
    torch.set_num_threads(1)
    work(*args)


def _in_child(work: Callable[..., object], *args: object) -> int:
    """``work(*args)`` in a process forked from the fork server; its exit status (-9 when SIGKILLed,
    1 with the traceback printed when it raised)."""
    assert _SERVER is not None
    child = _SERVER.Process(target=_run, args=(work, args))
    child.start()
    child.join()
    assert child.exitcode is not None
    return child.exitcode


def _watch(run: Path, act: Callable[[int, str, str, tuple], None]) -> None:
    """Install an audit hook calling ``act(n, event, path, args)`` before the Nth watched operation
    inside ``run``; the operations ``act`` does itself are not watched."""
    prefix, seen, busy = str(run), [0], [False]

    def hook(event: str, args: tuple) -> None:
        if busy[0] or event not in _WATCHED or not isinstance(args[0], (str, os.PathLike)):
            return
        path = os.fspath(args[0])
        if not path.startswith(prefix) or not _writes(event, args):
            return
        busy[0] = True
        try:
            act(seen[0], event, path, args)
        finally:
            seen[0] += 1
            busy[0] = False

    sys.addaudithook(hook)


def _reference(scenes: Path, run: Path, instants: Path) -> None:
    """The uninterrupted run, leaving ``instants/N-kill`` (and ``N-torn``) before its Nth watched operation:
    an ``operation`` file naming it and, once the run folder exists, ``run``, the folder as a kill leaves it."""

    def leave(n: int, event: str, path: str, args: tuple) -> None:
        operation = f"{event} {os.path.basename(path)} {args[1] if event == 'open' else ''}"
        for variant in ("kill", "torn") if _tearable(operation) else ("kill",):
            left = instants / f"{n}-{variant}"
            left.mkdir(parents=True)
            (left / "operation").write_text(operation)
            if run.exists():
                shutil.copytree(run, left / "run")
                if variant == "torn":
                    _tear(event, left / "run" / os.path.relpath(path, run))

    _watch(run, leave)
    train(_config(scenes, run))


def _tearable(operation: str) -> bool:
    """A rename of a temporary into place (killed inside its write), or the metrics log opened to append."""
    return (operation.startswith("os.rename") and ".tmp" in operation) or ("metrics.csv" in operation and "a" in operation.split()[-1])


def _tear(event: str, path: Path) -> None:
    if event == "os.rename":
        os.truncate(path, os.path.getsize(path) // 2)  # killed while this file was being written
    elif path.is_file():
        with open(path, "a") as fh:  # killed halfway through appending a row
            fh.write("1.5,4,0.00")


def _killed(scenes: Path, run: Path, at: int, torn: bool) -> None:
    _kill_at(run, at, torn)
    train(_config(scenes, run))


def _fresh(scenes: Path, run: Path) -> None:
    train(_config(scenes, run))


def _resume(run: Path) -> None:
    train(resolve_config(resume=run), resume=True)


def _writes(event: str, args: tuple) -> bool:
    if event != "open":
        return True
    mode, flags = args[1], args[2]
    return (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool(flags & (os.O_WRONLY | os.O_RDWR))


def _kill_at(run: Path, at: int, torn: bool) -> None:
    """Install the hook: SIGKILL at the watched operation number ``at`` inside ``run`` (torn first, if asked)."""

    def kill(n: int, event: str, path: str, args: tuple) -> None:
        if n == at:
            if torn:
                _tear(event, Path(path))
            os.kill(os.getpid(), signal.SIGKILL)

    _watch(run, kill)


def _outcome(run: Path) -> dict[str, object]:
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    return {
        "files": sorted(p.name for p in run.iterdir()),
        "last": load_file(run / "last.safetensors"),
        "best": load_file(run / "best.safetensors"),
        "rows": [{k: v for k, v in row.items() if k != "seconds"} for row in rows],
        "step": json.loads((run / "summary.json").read_text())["step"],
        "state_step": torch.load(run / "last.state.pt", weights_only=True)["step"],
    }


def _same(a: dict[str, object], b: dict[str, object]) -> list[str]:
    differ = [key for key in ("files", "rows", "step", "state_step") if a[key] != b[key]]
    for key in ("last", "best"):
        x, y = a[key], b[key]
        if x.keys() != y.keys() or not all(torch.equal(x[k], y[k]) for k in x):
            differ.append(key)
    return differ


def _finish(scenes: Path, run: Path) -> int:
    """The user's next step after a kill: resume a committed save, else the same command afresh."""
    return _in_child(_resume, run) if resumable(run) else _in_child(_fresh, scenes, run)


#: Instants also killed for real (before the first save, inside a write, during the second epoch's save),
#: each in the half whose reference run it shares.
REAL_KILLS = {0: [(0, False), (6, True)], 1: [(17, False)]}


@pytest.mark.parametrize("half", [0, 1])
def test_a_run_killed_at_any_instant_resumes_to_the_uninterrupted_weights(scenes: Path, tmp_path: Path, half: int) -> None:
    """Every other instant (``half`` says which), so that two workers of ``pytest -n`` share them; then a
    real SIGKILL at a few instants, each followed by the user's next step, as a check on the copies."""
    reference, instants = tmp_path / "reference", tmp_path / "instants"
    code = _in_child(_reference, scenes, reference, instants)
    assert code == 0
    expected = _outcome(reference)
    left = sorted(instants.iterdir(), key=lambda p: (int(p.name.split("-")[0]), p.name))
    assert len({p.name.split("-")[0] for p in left}) > 20, left
    assert any(p.name.endswith("torn") for p in left), left
    failures = []
    for instant in left[half::2]:
        run = instant / "run"
        outcome = "resume failed" if _finish(scenes, run) != 0 else ", ".join(_same(_outcome(run), expected))
        if outcome:
            failures.append(f"killed at {instant.name} ({(instant / 'operation').read_text()}): {outcome}")
    for at, torn in REAL_KILLS[half]:
        run = tmp_path / f"killed-{at}-{torn}"
        code = _in_child(_killed, scenes, run, at, torn)
        assert code == -signal.SIGKILL, (at, torn)
        outcome = "resume failed" if _finish(scenes, run) != 0 else ", ".join(_same(_outcome(run), expected))
        if outcome:
            failures.append(f"really killed at {at}{' (torn)' if torn else ''}: {outcome}")
    assert not failures, "\n".join(failures)
