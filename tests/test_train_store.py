"""``relight.train.store``: a save is committed by the state file, recovery finishes or drops the rest,
a fresh run replaces only an uncommitted one, and a full disk is one line naming the file."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
import torch

from relight.cli._errors import cli_words
from relight.errors import DiskFullError
from relight.model import MBNet
from relight.model.checkpoint import read_checkpoint_metadata
from relight.train import BEST, LAST, LAST_STATE, METRICS_FILE, RunStore, TrainError, resumable



def _save(store: RunStore, model: MBNet, step: int, best: bool = False) -> None:
    # Adam's state is two tensors the size of each parameter: the state file is about twice the weights
    moments = {k: (v.detach().clone(), v.detach().clone()) for k, v in model.named_parameters()}
    state = {"step": step, "optimizer": {"state": moments}}
    store.save(model, {"step": step}, state, {"epoch": step, "step": step, "loss": "0.5"}, best=best)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def model(tiny_config) -> MBNet:
    torch.manual_seed(0)
    return MBNet(tiny_config)


def test_a_save_leaves_the_user_facing_files_only(tiny_config, tmp_path: Path, model: MBNet) -> None:
    store = RunStore(tmp_path / "run")
    store.open("lr = 1.0\n", resume=False)
    _save(store, model, 1, best=True)
    _save(store, model, 2)
    assert _names(store.dir) == [BEST, "config.toml", LAST, LAST_STATE, METRICS_FILE]
    assert read_checkpoint_metadata(store.dir / LAST)[1]["step"] == 2
    assert read_checkpoint_metadata(store.dir / BEST)[1]["step"] == 1
    assert [line.split(",")[1] for line in (store.dir / METRICS_FILE).read_text().splitlines()] == ["step", "1", "2"]
    assert RunStore(store.dir).load(tiny_config)["step"] == 2


class _Killed(BaseException):
    """Stands for the process dying at this instant."""


def test_recovery_finishes_a_committed_save_and_cuts_the_log(tiny_config, tmp_path: Path, model: MBNet, monkeypatch) -> None:
    store = RunStore(tmp_path / "run")
    store.open("", resume=False)
    _save(store, model, 1)
    real_replace = os.replace

    def dies_after_the_commit(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst).name in (LAST, BEST):  # the renames after the commit never happen
            raise _Killed
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", dies_after_the_commit)
    with pytest.raises(_Killed):
        _save(store, model, 2, best=True)
    monkeypatch.setattr(os, "replace", real_replace)
    assert read_checkpoint_metadata(store.dir / LAST)[1]["step"] == 1  # the weights still at the old step
    with (store.dir / METRICS_FILE).open("a") as fh:
        fh.write("3,3,0.1")  # half a row of a later save that never committed
    again = RunStore(store.dir)
    again.check(resume=True)
    again.recover()
    assert again.load(tiny_config)["step"] == 2
    assert read_checkpoint_metadata(store.dir / BEST)[1]["step"] == 2
    assert _names(store.dir) == [BEST, "config.toml", LAST, LAST_STATE, METRICS_FILE]
    assert (store.dir / METRICS_FILE).read_text().splitlines()[-1].split(",")[1] == "2"


def test_a_fresh_run_replaces_an_uncommitted_one_and_refuses_a_committed_one(tmp_path: Path, model: MBNet) -> None:
    run = tmp_path / "run"
    run.mkdir()
    for name in (LAST, METRICS_FILE, ".last.step-3.safetensors"):
        (run / name).write_text("left by a first save that never committed")
    store = RunStore(run)
    assert not resumable(run)
    with pytest.raises(TrainError, match="cannot resume, last.state.pt is missing") as refused:
        store.check(resume=True)
    assert refused.value.render(cli_words).endswith("start it afresh, without --resume")  # not "--resume", which fails
    store.check(resume=False)
    store.open("", resume=False)
    assert _names(run) == ["config.toml"]
    _save(store, model, 1)
    assert resumable(run)
    with pytest.raises(TrainError) as caught:
        RunStore(run).check(resume=False)
    assert caught.value.render(cli_words) == f"{run}: already holds a run; continue it with --resume {run} or choose another --out"
    assert "--" not in str(caught.value)


def _flip(path: Path, at: float) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 1
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage,named,why", [
    (lambda run: (run / METRICS_FILE).write_text(""), METRICS_FILE, "holds 0 bytes"),
    (lambda run: (run / METRICS_FILE).write_bytes(b"x" * (run / METRICS_FILE).stat().st_size), METRICS_FILE, "its sha256"),
    (lambda run: (run / METRICS_FILE).write_bytes(b"garbage\n" * 100), METRICS_FILE, "its sha256"),
    (lambda run: _flip(run / LAST, 0.9), LAST, "its sha256"),
    (lambda run: _flip(run / BEST, 0.9), BEST, "its sha256"),
    (lambda run: (run / BEST).unlink(), BEST, "it is gone"),
    (lambda run: _flip(run / LAST_STATE, 0.9), LAST_STATE, "damaged: its contents do not match the checksum saved with them"),
])
def test_a_resume_refuses_files_changed_since_the_checkpoint(tiny_config, tmp_path: Path, model: MBNet, damage, named, why) -> None:
    """An emptied metrics.csv lost its first row, a garbage one was cut to length with rows appended after
    the garbage, and a flipped bit in last.safetensors resumed silently to other weights."""
    store = RunStore(tmp_path / "run")
    store.open("", resume=False)
    _save(store, model, 1, best=True)
    _save(store, model, 2)
    kept = {name: (store.dir / name).read_bytes() for name in (METRICS_FILE, LAST, BEST)}
    damage(store.dir)
    again = RunStore(store.dir)
    with pytest.raises(TrainError) as refused:
        again.recover()
        again.load(tiny_config)
    line = refused.value.render(cli_words)
    assert line.startswith(f"{store.dir / named}: "), line
    assert why in line
    assert line.endswith("put back the file the run wrote, or start the run afresh in another folder")
    if named == METRICS_FILE:
        assert (store.dir / METRICS_FILE).read_bytes() != kept[METRICS_FILE], "the damaged log is left as it is, not cut"
    for name, data in kept.items():  # put back, it resumes
        (store.dir / name).write_bytes(data)
    if named != LAST_STATE:
        again = RunStore(store.dir)
        again.recover()
        assert again.load(tiny_config)["step"] == 2


@pytest.fixture
def small_disk(tmp_path: Path, model: MBNet) -> Path:
    """A tmpfs with room for the weights of one save but not for its training state."""
    probe = RunStore(tmp_path / "probe")
    probe.open("", resume=False)
    _save(probe, model, 1)
    weights, state = (probe.dir / LAST).stat().st_size, (probe.dir / LAST_STATE).stat().st_size
    disk = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    disk.mkdir()
    room = (weights // 4096 + 1) * 4096 + 3 * 4096 + (state // 2 // 4096) * 4096
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={room}", "tmpfs", str(disk)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root (and mount)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_full_disk_while_saving_the_state_is_one_line_naming_it(small_disk: Path, model: MBNet) -> None:
    store = RunStore(small_disk / "run")
    store.open("", resume=False)
    with pytest.raises(DiskFullError) as caught:
        _save(store, model, 1)
    error = caught.value
    assert isinstance(error, OSError)
    line = error.render(cli_words)
    assert line.startswith(f"{store.dir / LAST_STATE}: ")
    assert "no space left" in line.lower()
    assert "\n" not in line
    assert "unexpected pos" not in line
    assert "torch.save" not in line
    assert not resumable(store.dir)
    assert _names(store.dir) == ["config.toml", METRICS_FILE]
    assert (store.dir / METRICS_FILE).stat().st_size == 0  # the row of the save that failed is gone


def test_a_run_stopped_before_its_first_checkpoint_says_to_start_again_without_resume(tmp_path: Path, cli, monkeypatch) -> None:
    """It said to --resume, and --resume then failed (there is nothing to resume from)."""
    import relight.train

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(relight.train, "train", stopped)
    data = tmp_path / "data"
    data.mkdir()
    code, _, stderr = cli(["train", str(data), "--out", str(tmp_path / "run")])
    assert code == 130
    assert stderr.strip().splitlines()[-1] == "interrupted: stopped before the first checkpoint: rerun without --resume to start afresh"
