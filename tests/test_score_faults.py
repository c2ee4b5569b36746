"""`relight score` over entries that are not readable files: each is named as a file that cannot be read,
on the side it is on, and the exit code is 1. Through the real command line in its own process, so
that a FIFO opened (a hang) fails by the timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from relight.io import write_image

ODD = ("loop", "gone", "fifo", "folder")


def _make_odd(folder: Path, kind: str, name: str) -> Path:
    path = folder / name
    if kind == "loop":
        path.symlink_to(name)
    elif kind == "gone":
        path.symlink_to(folder / "nowhere.png")
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    return path


def _problem(kind: str, folder: Path) -> str:
    return {"loop": "a symlink loop, which leads to no file", "gone": f"a symlink to {folder / 'nowhere.png'}, which does not exist",
            "fifo": "a FIFO (named pipe), not a regular file", "folder": "a folder, not a file"}[kind]


def _folders(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(3)
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    for name in ("good", *ODD):
        write_image(pred / f"{name}.png", rng.random((32, 32, 3), dtype=np.float32))
        write_image(gt / f"{name}.png", rng.random((32, 32, 3), dtype=np.float32))
    return pred, gt


def _score(pred: Path, gt: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    env = {**os.environ, "TORCH_HOME": str(tmp_path / "torch-home"), "OMP_NUM_THREADS": "1"}  # no AlexNet (the suite is offline): PSNR and SSIM
    done = subprocess.run([sys.executable, "-m", "relight", "score", str(pred), str(gt), "--json", str(tmp_path / "s.json"),
                           "--device", "cpu"], capture_output=True, text=True, env=env, timeout=180)
    return done, json.loads((tmp_path / "s.json").read_text()) if (tmp_path / "s.json").exists() else {}


@pytest.mark.parametrize("side", ["ground truth", "prediction"])
def test_an_unreadable_entry_is_named_on_its_side_and_fails_the_run(tmp_path: Path, side: str) -> None:
    pred, gt = _folders(tmp_path)
    folder = gt if side == "ground truth" else pred
    for kind in ODD:
        (folder / f"{kind}.png").unlink()
        _make_odd(folder, kind, f"{kind}.png")
    done, data = _score(pred, gt, tmp_path)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    refused = sorted(line for line in done.stdout.splitlines() if line.startswith("not scored:"))
    assert refused == sorted(f"not scored: {folder / kind}.png: {side} cannot be read ({_problem(kind, folder)})" for kind in ODD), done.stdout
    assert "have no ground truth" not in done.stdout
    assert "have no prediction" not in done.stdout
    assert data["count"] == 1
    assert sorted(f["name"] for f in data["failed"]) == sorted(ODD)
    assert data["missing_predictions"] == []
    assert data["missing_ground_truth"] == []


def test_an_unreadable_entry_without_a_partner_is_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    """A broken ground truth with no prediction of its stem is not "no prediction": it cannot be read."""
    pred, gt = _folders(tmp_path)
    for kind in ODD:
        (pred / f"{kind}.png").unlink()
        (gt / f"{kind}.png").unlink()
    _make_odd(gt, "fifo", "lonely.png")
    _make_odd(pred, "loop", "stray.png")
    done, data = _score(pred, gt, tmp_path)
    assert done.returncode == 1, done.stderr
    assert sorted(f["reason"] for f in data["failed"]) == [
        f"{gt / 'lonely.png'}: ground truth cannot be read (a FIFO (named pipe), not a regular file)",
        f"{pred / 'stray.png'}: prediction cannot be read (a symlink loop, which leads to no file)",
    ]
    assert data["missing_predictions"] == []
    assert data["missing_ground_truth"] == []
    assert data["count"] == 1
