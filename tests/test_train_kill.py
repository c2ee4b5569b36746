"""A checkpoint save is all-or-nothing: a training process SIGKILLed at any instant resumes to the same weights.

Each run is a real process (forked, so torch is imported once) that an audit hook kills at its Nth
file-system operation inside the run folder: before each open for writing, rename, removal or
truncation, and "torn" variants that first cut the temporary about to be renamed into place to half its
length (a kill inside its write) or leave half a row in the metrics log. After the kill, the user's next step is
taken: ``resume`` where :func:`relight.train.resumable` says so, else the same fresh command. Every
such run must end as the uninterrupted run does, bit for bit, with the same metrics and files.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from relight.data.synth import write_dataset
from relight.train import TrainConfig, resolve_config, resumable, train

pytestmark = [pytest.mark.slow, pytest.mark.subprocess,
              pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="needs os.fork (Linux)")]

_WATCHED = ("open", "os.rename", "os.remove", "os.truncate")


def _config(data: Path, out: Path) -> TrainConfig:
    # 3 training scenes x 3 inputs = 9 pairs, batch 4: 3 steps an epoch, 2 epochs, validation (and a
    # best checkpoint) at each; the lr milestone after epoch 1.
    return TrainConfig(
        data=[str(data)], out=str(out), backbone="narrow", width=8, decoder_channels=16, perceptual_weight=0.0,
        workers=0, mirror=False, batch_size=4, epochs=2, milestones=[1], lr=1e-3, val_scenes=1,
    )


def _in_child(work: Callable[[], None]) -> int:
    """Run ``work`` in a forked process; its exit status (-9 when SIGKILLed)."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            torch.set_num_threads(1)
            work()
        except BaseException:  # noqa: BLE001 - reported to the parent through the exit code
            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _writes(event: str, args: tuple) -> bool:
    if event != "open":
        return True
    mode, flags = args[1], args[2]
    return (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool(flags & (os.O_WRONLY | os.O_RDWR))


def _kill_at(run: Path, at: int, torn: bool, log: int | None = None) -> None:
    """Install the hook: log each watched operation inside ``run`` (to fd ``log``), SIGKILL at number ``at``."""
    prefix, seen, dying = str(run), [0], [False]

    def hook(event: str, args: tuple) -> None:
        if dying[0] or event not in _WATCHED or not isinstance(args[0], (str, os.PathLike)):
            return
        path = os.fspath(args[0])
        if not path.startswith(prefix) or not _writes(event, args):
            return
        n = seen[0]
        seen[0] += 1
        if log is not None:
            os.write(log, f"{event} {os.path.basename(path)} {args[1] if event == 'open' else ''}\n".encode())
        if n != at:
            return
        dying[0] = True
        if torn and event == "os.rename" and ".tmp" in os.path.basename(path):
            os.truncate(path, os.path.getsize(path) // 2)  # killed while this file was being written
        elif torn and event == "open" and path.endswith(".csv") and os.path.isfile(path):
            with open(path, "a") as fh:  # killed halfway through appending a row
                fh.write("1.5,4,0.00")
        os.kill(os.getpid(), signal.SIGKILL)

    sys.addaudithook(hook)


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


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "train"
    write_dataset(out, scenes=4, size=64, seed=3)
    return out


def test_a_run_killed_at_any_instant_resumes_to_the_uninterrupted_weights(scenes: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    log = tmp_path / "operations.log"
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    def counted() -> None:
        _kill_at(reference, at=-1, torn=False, log=fd)
        train(_config(scenes, reference))

    assert _in_child(counted) == 0
    os.close(fd)
    expected = _outcome(reference)
    operations = log.read_text().splitlines()
    assert len(operations) > 10, operations
    failures = []
    for at, operation in enumerate(operations):
        for torn in (False, True):
            if torn and not ((operation.startswith("os.rename") and ".tmp" in operation)
                             or ("metrics.csv" in operation and "a" in operation.split()[-1])):
                continue
            run = tmp_path / f"run-{at}-{'torn' if torn else 'kill'}"
            assert _in_child(lambda: (_kill_at(run, at, torn), train(_config(scenes, run)))) == -signal.SIGKILL, operation
            if resumable(run):
                status = _in_child(lambda: train(resolve_config(resume=run), resume=True))
            else:
                status = _in_child(lambda: train(_config(scenes, run)))
            outcome = "resume failed" if status != 0 else ", ".join(_same(_outcome(run), expected))
            if outcome:
                failures.append(f"killed at {at} ({operation}{', torn' if torn else ''}): {outcome}")
    assert not failures, "\n".join(failures)
