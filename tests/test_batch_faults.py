"""Batch under faults: odd files in the folder, a disk that fills up, a killed run's temporaries, and
two processes on one folder. Each goes through the real command line in its own process where a
hang (a FIFO opened) or a kill is the fault."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from relight.io import read_image
from tmpfs import small_tmpfs


def _batch(folder: Path, out: Path, checkpoint: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "relight", "batch", str(folder), "-o", str(out), "-w", str(checkpoint),
            "--threads", "1", "--streams", "1", *extra]


def _env() -> dict[str, str]:
    """This environment without a launcher's slicing variables, one thread."""
    drop = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT")
    return {**{k: v for k, v in os.environ.items() if k not in drop}, "OMP_NUM_THREADS": "1"}


def _counts(stdout: str) -> list[str]:
    """The summary table's relit, already there and failed columns."""
    row = [line for line in stdout.splitlines() if "│" in line][-1]
    return [c.strip() for c in row.split("│")[1:4]]


def test_odd_files_are_reported_by_name_and_counted_and_a_fifo_never_blocks(pair_folder, tmp_path: Path, narrow_checkpoint: Path) -> None:
    folder = pair_folder(2)
    (folder / "loop.png").symlink_to("loop.png")
    shutil.copy(folder / "Image000.npy", folder / "loop.npy")
    (folder / "gone.png").symlink_to(tmp_path / "nowhere.png")
    shutil.copy(folder / "Image000.npy", folder / "gone.npy")
    (folder / "x.png").mkdir()
    shutil.copy(folder / "Image000.npy", folder / "x.npy")
    shutil.copy(folder / "Image000.png", folder / "y.png")
    os.mkfifo(folder / "y.npy")
    out = tmp_path / "out"
    done = subprocess.run(_batch(folder, out, narrow_checkpoint), capture_output=True, text=True, env=_env(), timeout=180)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    failed = sorted(line for line in done.stderr.splitlines() if line.startswith("failed:"))
    assert failed == sorted([
        f"failed: {folder / 'gone.png'}: a symlink to {tmp_path / 'nowhere.png'}, which does not exist",
        f"failed: {folder / 'loop.png'}: a symlink loop, which leads to no file",
        f"failed: {folder / 'x.png'}: a folder, not a file",
        f"failed: {folder / 'y.npy'}: a FIFO (named pipe), not a regular file",
    ]), done.stderr
    assert _counts(done.stdout) == ["2", "0", "4"]
    assert sorted(p.name for p in out.iterdir()) == ["Image000.png", "Image001.png"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 256 KiB tmpfs (needs root, or the right to mount): a disk that fills up as disks do."""
    yield from small_tmpfs(tmp_path, "256k")


def test_a_full_output_disk_is_given_up_on_after_a_few_errors(pair_folder, cli, tmp_path: Path, small_disk: Path, narrow_checkpoint: Path) -> None:
    """20 outputs of 40 KB on a 256 KiB disk: a few are written, three full-disk errors are listed, and
    the rest are counted as not written in one line, instead of one identical error each."""
    folder = pair_folder(20, size=(48, 64))  # 48 x 64 x 3 float32: 36 KiB as .npy
    code, stdout, err = cli(["batch", str(folder), "-o", str(small_disk), "-w", str(narrow_checkpoint), "--ext", ".npy",
                                 "--workers", "1"])
    assert code == 1, err
    assert "Traceback" not in err, err
    failed = [line for line in err.splitlines() if line.startswith("failed:")]
    assert len(failed) == 3, err
    assert all("cannot write here (" in line and "o space left on" in line for line in failed), err
    written = sorted(p.name for p in small_disk.iterdir())
    assert written
    assert all(not name.startswith(".") for name in written)  # no temporary left behind
    line = next(line for line in err.splitlines() if line.startswith("not written:"))
    unwritten = 20 - len(written) - 3
    assert line == (f"not written: {unwritten} output(s): {small_disk} was given up on after 3 full-disk errors; "
                    "free some space and run the same command again")
    assert _counts(stdout) == [str(len(written)), "0", str(20 - len(written))]


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) if folder.is_dir() else []


def test_a_rerun_after_a_sigkill_removes_the_killed_batch_s_temporaries(pair_folder, tmp_path: Path, narrow_checkpoint: Path) -> None:
    folder = pair_folder(60, size=(256, 256))
    out = tmp_path / "out"
    command = _batch(folder, out, narrow_checkpoint, "--bit-depth", "16", "--workers", "1")
    left: list[str] = []
    for _attempt in range(5):  # killed while a temporary exists; it may be renamed before the kill lands
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
        deadline = time.monotonic() + 120
        while not _temporaries(out) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        left = _temporaries(out)
        if left:
            break
    assert left, "no batch was killed while writing"
    done = subprocess.run(command, capture_output=True, text=True, env=_env(), timeout=300)
    assert done.returncode == 0, done.stderr
    assert _temporaries(out) == []
    assert len(list(out.iterdir())) == 60
    assert f"removed {len(left)} stale temporary file(s) that killed processes left in {out}" in done.stderr


def test_two_plain_batches_on_one_folder_leave_whole_outputs(pair_folder, tmp_path: Path, narrow_checkpoint: Path) -> None:
    """Without slicing both redo the work (no claim files), but every output is written whole (atomic
    renames), so neither leaves a partial file or a temporary behind."""
    folder = pair_folder(12, size=(64, 64))
    out = tmp_path / "out"
    procs = [subprocess.Popen(_batch(folder, out, narrow_checkpoint), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_env()) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    assert _temporaries(out) == []
    assert len(list(out.iterdir())) == 12
    assert all(read_image(p).size == (64, 64) for p in out.iterdir())
