"""``relight train``: config precedence, exact resume, NaN stop, best checkpoint, missing-weights messages.

Every run is a narrow MBNet (width 8) on 64 x 64 synthetic scenes, one to three steps an epoch.
"""

from __future__ import annotations

import csv
import shutil
import json
import os
import tomllib
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from relight.model.checkpoint import load_checkpoint, read_checkpoint_metadata
from relight.train import resolve_config, state_digest

TINY = ["--backbone", "narrow", "--width", "8", "--decoder-channels", "16", "--perceptual-weight", "0", "--workers", "0"]


def _rows(run: Path) -> list[dict[str, str]]:
    with (run / "metrics.csv").open() as fh:
        return list(csv.DictReader(fh))


def _one_line_error(code: int, err: str, expected: int) -> str:
    """The one error line of a run that exits ``expected``: 2 for a setting refused, 1 for work that failed."""
    assert code == expected, err
    lines = [line for line in err.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err, err
    return lines[0]


def test_config_precedence_cli_over_toml_over_defaults(cli, scenes: Path, tmp_path: Path) -> None:
    config_dir = tmp_path / "configs"
    config_dir.mkdir()
    (config_dir / "run.toml").write_text(
        f'data = ["{os.path.relpath(scenes, config_dir)}"]\n'
        "lr = 0.002\nepochs = 7\nbatch-size = 2\nmirror = false\nmilestones = [3, 5]\nout = \"../run\"\n"
    )
    run = tmp_path / "run"
    code, _, err = cli(["train", "--config", str(config_dir / "run.toml"), *TINY, "--lr", "0.003", "--max-steps", "1", "--no-neighbours"])
    assert code == 0, err
    saved = tomllib.loads((run / "config.toml").read_text())
    assert saved["lr"] == 0.003  # command line beats the file
    assert saved["epochs"] == 7  # file beats defaults
    assert saved["batch_size"] == 2
    assert saved["milestones"] == [3, 5]
    assert saved["beta1"] == 0.5  # defaults
    assert saved["ssim_weight"] == 1.1
    assert saved["target"] == "4500-E"
    assert saved["out"] == str(run.resolve())  # relative to the TOML file's folder
    # The settings are the ones actually used, not just recorded.
    state = torch.load(run / "last.state.pt", weights_only=True)
    assert state["optimizer"]["param_groups"][0]["lr"] == 0.003
    assert state["optimizer"]["param_groups"][0]["betas"] == (0.5, 0.999)
    assert state["step"] == 1
    _, provenance = read_checkpoint_metadata(run / "last.safetensors")
    assert provenance["config"]["epochs"] == 7
    assert provenance["step"] == 1
    assert provenance["source"] == "6500-N"
    assert "train" in provenance["command"]
    # The saved config is itself a valid --config file.
    assert resolve_config({"out": str(tmp_path / "again")}, run / "config.toml").lr == 0.003
    # A second run into the same folder is refused instead of overwriting it.
    code, _, err = cli(["train", str(scenes), "--out", str(run), *TINY])
    assert "already holds a run" in _one_line_error(code, err, 1)


def test_bad_config_file_is_one_line(cli, scenes: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("learning_rate = 0.1\n")
    code, _, err = cli(["train", str(scenes), "--out", str(tmp_path / "r"), "--config", str(bad)])
    line = _one_line_error(code, err, 2)
    assert str(bad) in line
    assert "unknown setting 'learning_rate'" in line
    bad.write_text('epochs = "many"\n')
    code, _, err = cli(["train", str(scenes), "--out", str(tmp_path / "r"), "--config", str(bad)])
    assert "epochs = 'many' should be int" in _one_line_error(code, err, 2)
    code, _, err = cli(["train", str(scenes), "--out", str(tmp_path / "r"), *TINY, "--crop", "128", "--size", "64"])
    assert "--crop 128x128 is larger than --size 64x64" in _one_line_error(code, err, 2)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("options", [[], ["--scales", "0.5,1.5"]], ids=["one-scale", "several-scales"])
def test_resume_is_exact(cli, scenes: Path, tmp_path: Path, options: list[str]) -> None:
    # 3 scenes x 3 inputs (direct + 2 neighbours) = 9 pairs, batch 4: 3 steps an epoch. Stopping at step 2 is
    # mid-epoch; the resumed half crosses the epoch end (validation, lr milestone) into epoch 2. At several
    # scales each step's batch is rescaled by its own factor, drawn again on resume.
    common = [str(scenes), *TINY, "--no-mirror", "--batch-size", "4", "--epochs", "3", "--milestones", "1",
              "--lr", "1e-3", "--val-scenes", "1", *options]
    straight, split = tmp_path / "straight", tmp_path / "split"
    code, _, err = cli(["train", *common, "--out", str(straight), "--max-steps", "4"])
    assert code == 0, err
    code, _, err = cli(["train", *common, "--out", str(split), "--max-steps", "2"])
    assert code == 0, err
    halfway = load_file(split / "last.safetensors")
    state = torch.load(split / "last.state.pt", weights_only=True)
    assert (state["epoch"], state["step"], state["epoch_step"]) == (0, 2, 2)
    assert json.loads((split / "summary.json").read_text())["epoch"] == pytest.approx(2 / 3)  # two of three steps
    code, _, err = cli(["train", "--resume", str(split), "--max-steps", "4", "--workers", "2"])
    assert code == 0, err
    a, b = load_file(straight / "last.safetensors"), load_file(split / "last.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], halfway[k]) for k in a)  # the resumed half did train
    assert state_digest(a) == state_digest(b)
    # Same losses, validation and lr decay at the same steps.
    rows_a = {r["step"]: r for r in _rows(straight)}
    rows_b = {r["step"]: r for r in _rows(split)}
    assert set(rows_a) == {"3", "4"}
    assert set(rows_b) == {"2", "3", "4"}
    for step in ("3", "4"):
        assert rows_a[step]["val_psnr"] == rows_b[step]["val_psnr"]
    assert rows_a["4"]["loss"] == rows_b["4"]["loss"]
    assert float(rows_a["4"]["lr"]) == pytest.approx(1e-4)
    _, provenance = read_checkpoint_metadata(split / "last.safetensors")
    assert provenance["scales"] == ([0.5, 1.5] if options else None)
    assert provenance["trained_at"] == ([55, 55] if options else [64, 64])  # 64 x the middle of the range, sqrt(0.75)


def test_several_scales_rescale_each_step_by_its_own_factor(scenes: Path, tmp_path: Path) -> None:
    """The factors are log-uniform in the range, a function of (seed, epoch, step) alone, and the step
    trains on the batch at that size: a run at scales 2,2 equals one on images resized to twice the size."""
    from relight.train.step import rescaled, step_scale
    from relight.train import TrainConfig, train

    factors = [step_scale([0.5, 2.0], 0, epoch, step) for epoch in range(3) for step in range(20)]
    assert all(0.5 <= f <= 2.0 for f in factors)
    assert len(set(factors)) == len(factors)
    assert factors == [step_scale([0.5, 2.0], 0, epoch, step) for epoch in range(3) for step in range(20)]
    assert step_scale(None, 0, 0, 0) == 1.0
    assert rescaled(torch.rand(2, 3, 64, 48), 0.5).shape == (2, 3, 32, 24)
    common = dict(data=[str(scenes)], backbone="narrow", width=8, decoder_channels=16, perceptual_weight=0, workers=0,
                  neighbours=False, mirror=False, batch_size=2, max_steps=2, margin=0)
    train(TrainConfig(out=str(tmp_path / "doubled"), scales=[2.0, 2.0], **common), command=["test"])
    train(TrainConfig(out=str(tmp_path / "resized"), size=[128, 128], **common), command=["test"])
    a, b = load_file(tmp_path / "doubled" / "last.safetensors"), load_file(tmp_path / "resized" / "last.safetensors")
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-4) for k in a)


def test_nan_loss_stops_with_last_checkpoint_intact(cli, scenes: Path, tmp_path: Path) -> None:
    # lr 1e30: the first step is finite, its update makes every later activation overflow.
    run = tmp_path / "run"
    code, _, err = cli(["train", str(scenes), "--out", str(run), *TINY, "--no-neighbours", "--no-mirror", "--batch-size", "4",
         "--epochs", "3", "--lr", "1e30"])
    line = _one_line_error(code, err, 1)
    assert "loss became nan at step 2" in line
    assert f"{run / 'last.safetensors'} (step 1) kept" in line
    assert sorted(p.name for p in run.iterdir()) == ["config.toml", "last.safetensors", "last.state.pt", "metrics.csv"]
    loaded = load_checkpoint(run / "last.safetensors")
    assert loaded.provenance["step"] == 1
    assert all(torch.isfinite(t).all() for t in loaded.model.state_dict().values() if t.is_floating_point())
    assert torch.load(run / "last.state.pt", weights_only=True)["step"] == 1
    assert [r["step"] for r in _rows(run)] == ["1"]


def test_best_checkpoint_is_kept_when_validation_gets_worse(cli, scenes: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    common = [*TINY, "--no-neighbours", "--no-mirror", "--batch-size", "3", "--val-scenes", "1"]
    code, _, err = cli(["train", str(scenes), "--out", str(run), *common, "--epochs", "2", "--lr", "1e-3"])
    assert code == 0, err
    # Two more epochs with a wild learning rate wreck the model: validation PSNR falls.
    code, _, err = cli(["train", "--resume", str(run), "--epochs", "4", "--lr", "0.1"])
    assert code == 0, err
    # The command line's lr wins over the one stored with the optimizer state.
    assert torch.load(run / "last.state.pt", weights_only=True)["optimizer"]["param_groups"][0]["lr"] == 0.1
    assert tomllib.loads((run / "config.toml").read_text())["epochs"] == 4  # the resolved config is saved again
    rows = _rows(run)
    psnrs = [float(r["val_psnr"]) for r in rows]
    assert len(rows) == 4
    assert max(psnrs) > psnrs[-1]
    best_row = rows[psnrs.index(max(psnrs))]
    _, best = read_checkpoint_metadata(run / "best.safetensors")
    _, last = read_checkpoint_metadata(run / "last.safetensors")
    assert best["step"] == int(best_row["step"]) < last["step"] == 4
    assert best["val"]["psnr"] == pytest.approx(max(psnrs), abs=1e-5)
    # The file holds the weights that scored that PSNR: evaluate them again.
    from relight.data.vidit import load_pairs, split_scenes
    from relight.evaluation.evaluate import evaluate
    from relight.inference import Relighter

    _, val_pairs = split_scenes(load_pairs(scenes, use_neighbours=False, use_mirror=False).pairs, 1, seed=0)
    report = evaluate(Relighter(load_checkpoint(run / "best.safetensors"), "cpu", backend="torch"), val_pairs, workers=0)  # as validation runs it
    assert report.means["psnr"] == pytest.approx(max(psnrs), abs=1e-4)


def test_missing_vgg_weights_is_one_clear_line(cli, scenes: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-cache"))
    run = tmp_path / "run"
    code, _, err = cli(["train", str(scenes), "--out", str(run), "--backbone", "narrow", "--workers", "0"])
    line = _one_line_error(code, err, 1)
    assert "vgg19-dcbb9e9d.pth" in line
    assert "VGG-19" in line
    assert "--perceptual-weight 0" in line
    assert str(tmp_path / "empty-cache") in line
    assert not run.exists()


def test_missing_imagenet_weights_is_one_clear_line(cli, scenes: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-cache"))
    run = tmp_path / "run"
    code, _, err = cli(["train", str(scenes), "--out", str(run), "--backbone", "resnet18", "--perceptual-weight", "0", "--workers", "0"])
    line = _one_line_error(code, err, 1)
    assert "ImageNet weights for resnet18 not found" in line
    assert "resnet18-f37072fd.pth" in line
    assert line.count("--no-imagenet") == 1
    assert not run.exists()
    code, _, err = cli(["train", str(scenes), "--out", str(run), *TINY, "--imagenet"])
    assert "narrow backbone has no ImageNet weights" in _one_line_error(code, err, 2)


def test_a_run_folder_that_cannot_be_made_is_one_line_before_any_work(cli, scenes: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    for out, problem in ((tmp_path / "a-file", "is a file, not a folder"), (tmp_path / "a-file" / "run", "is a file, not a folder")):
        code, _, err = cli(["train", str(scenes), "--out", str(out), *TINY, "--max-steps", "1"])
        line = _one_line_error(code, err, 1)
        assert str(tmp_path / "a-file") in line
        assert problem in line
    assert (tmp_path / "a-file").read_text() == "x"


def test_a_stopped_run_says_how_to_resume_and_resumes(sigterm_when, scenes: Path, tmp_path: Path) -> None:
    """SIGTERM (a scheduler's stop) is handled like Ctrl-C: one line naming --resume, and --resume goes on."""
    import os
    import subprocess
    import sys

    run = tmp_path / "run"
    command = [sys.executable, "-m", "relight", "train", str(scenes), "--out", str(run), *TINY, "--epochs", "500"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    code, err = sigterm_when(command, env, (run / "last.state.pt").is_file, within=90)
    assert code == 143, err
    assert "Traceback" not in err, err
    assert f"interrupted: --resume {run} continues from the last checkpoint" in err
    assert not [p for p in run.iterdir() if p.name.startswith(".")], "temporary files left behind"
    done = subprocess.run([sys.executable, "-m", "relight", "train", "--resume", str(run), "--max-steps", "1"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "resumed" in done.stderr, done.stderr


def test_training_says_once_per_run_what_reading_its_depth_had_to_say(cli, scenes: Path, tmp_path: Path) -> None:
    """Depth files of distances are converted as ``auto`` reads them (as run, batch and eval do) and each
    file's note is said once, not every epoch nor every validation; before, training dropped them silently.
    Told ``--depth-kind metric``, it trains to the same weights and has nothing to say."""
    import numpy as np

    from relight.io.depth import read_depth

    data = tmp_path / "metric"
    shutil.copytree(scenes, data)
    for depth in sorted(data.glob("*.npy")):
        np.save(depth, (read_depth(depth) * np.float32(9.5)).astype(np.float32))
    common = [*TINY, "--no-neighbours", "--no-mirror", "--batch-size", "3", "--val-scenes", "1", "--epochs", "2"]
    code, out, err = cli(["train", str(data), "--out", str(tmp_path / "run"), *common])
    assert code == 0, err
    noted = [line for line in (out + err).splitlines() if "read as distances" in line]
    assert sorted(line.split(".npy")[0].rsplit("/", 1)[1] for line in noted) == [d.stem for d in sorted(data.glob("*.npy"))], noted
    code, out, err = cli(["train", str(data), "--out", str(tmp_path / "told"), *common, "--depth-kind", "metric"])
    assert code == 0, out + err
    assert ".npy" not in out + err, out + err
    told, auto = load_file(tmp_path / "told" / "last.safetensors"), load_file(tmp_path / "run" / "last.safetensors")
    assert told.keys() == auto.keys()
    assert all(torch.equal(told[k], auto[k]) for k in told)
    code, _, err = cli(["train", str(data), "--out", str(tmp_path / "bad"), *common, "--depth-kind", "feet"])
    assert "--depth-kind 'feet': expected auto, normalised, metric or disparity" in _one_line_error(code, err, 2)


def test_nothing_of_a_run_outlives_train_without_a_collection(scenes: Path, tmp_path: Path) -> None:
    """Once ``train()`` returns, its Trainer and model are freed by reference counting alone: a library user
    training in a loop gets the memory back at once, not at some later collection. Before, the Validator
    held a bound method of the Trainer, a cycle that kept the model alive. The first run in a process is
    not measured: modules it imports lazily call ``torch.fx.wrap``, whose frame holds itself in a local, a
    cycle that keeps the importing frames (and so their callers' locals) until a collection."""
    import gc

    from relight.model import MBNet
    from relight.train import TrainConfig, Trainer, train

    config = TrainConfig(data=[str(scenes)], out=str(tmp_path / "run"), backbone="narrow", width=8, decoder_channels=16,
                         perceptual_weight=0, workers=0, neighbours=False, val_scenes=1, max_steps=1)
    train(config, command=["test"])
    config.out = str(tmp_path / "again")
    gc.collect()
    gc.disable()
    try:
        # Other tests in this process may hold models of their own (fixtures, caches): only new ones count.
        before = {id(o) for o in gc.get_objects() if isinstance(o, (Trainer, MBNet))}
        train(config, command=["test"])
        alive = [type(o).__name__ for o in gc.get_objects() if isinstance(o, (Trainer, MBNet)) and id(o) not in before]
    finally:
        gc.enable()
    assert alive == []
