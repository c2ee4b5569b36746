"""``relight train --any-to-any``: exact resume, ``--init`` from a one-to-one model (identity to 1e-5),
the checkpoint saying any-to-any, the fixed validation sample, and the settings it refuses.

Every run is a narrow MBNet (width 8) on 64 x 64 synthetic scenes.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from relight.cli._errors import cli_words
from relight.data.anytoany import load_scenes
from relight.data.synth import write_dataset
from relight.lighting import Light, encode_lights
from relight.model import MBNet
from relight.model.checkpoint import read_checkpoint_metadata, save_checkpoint
from relight.train import TrainConfig, TrainError, state_digest
from relight.train.anytoany import validation_sample
from relight.train.loop import build_model

TINY = ["--backbone", "narrow", "--width", "8", "--decoder-channels", "16", "--perceptual-weight", "0", "--workers", "0"]


@pytest.fixture(scope="module")
def one_to_one(tiny_config, randomise_batchnorm, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A narrow one-to-one model with random weights and BatchNorm statistics that are not the defaults."""
    torch.manual_seed(1)
    model = randomise_batchnorm(MBNet(tiny_config))
    return save_checkpoint(model, tmp_path_factory.mktemp("ckpt") / "one.safetensors", {"source": "6500-N", "target": "4500-E"})


def _rows(run: Path) -> list[dict[str, str]]:
    with (run / "metrics.csv").open() as fh:
        return list(csv.DictReader(fh))


NEW_OPTIONS = ["--identity-pairs", "0.5", "--identity-claims", "0.5", "--cycle-weight", "0.5", "--scales", "0.6,1.4", "--hints",
               "normals+shadows"]


@pytest.mark.parametrize("options", [[], NEW_OPTIONS], ids=["plain", "identity-cycle-scales-hints"])
def test_resume_is_exact_in_any_to_any_mode(cli, scenes: Path, tmp_path: Path, options: list[str]) -> None:
    # 3 training scenes, 3 pairs an epoch, batch 2: 2 steps an epoch. Stopping at step 1 is mid-epoch; the
    # resumed half crosses the epoch end (validation, a new draw, the lr milestone) into the second epoch.
    common = [str(scenes), *TINY, "--any-to-any", "--pairs-per-epoch", "3", "--batch-size", "2", "--epochs", "2",
              "--milestones", "1", "--lr", "1e-3", "--val-scenes", "1", "--val-pairs", "2", *options]
    straight, split = tmp_path / "straight", tmp_path / "split"
    code, _, err = cli(["train", *common, "--out", str(straight), "--max-steps", "4"])
    assert code == 0, err
    code, _, err = cli(["train", *common, "--out", str(split), "--max-steps", "1"])
    assert code == 0, err
    halfway = load_file(split / "last.safetensors")
    assert torch.load(split / "last.state.pt", weights_only=True)["epoch_step"] == 1
    code, _, err = cli(["train", "--resume", str(split), "--max-steps", "4"])
    assert code == 0, err
    a, b = load_file(straight / "last.safetensors"), load_file(split / "last.safetensors")
    assert a.keys() == b.keys()
    assert any(k.startswith("condition.") for k in a)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert state_digest(a) == state_digest(b)
    assert not all(torch.equal(a[k], halfway[k]) for k in a)
    rows_a, rows_b = {r["step"]: r for r in _rows(straight)}, {r["step"]: r for r in _rows(split)}
    assert set(rows_a) == {"2", "4"}
    assert set(rows_b) == {"1", "2", "4"}
    for step in ("2", "4"):
        assert rows_a[step]["val_psnr"] == rows_b[step]["val_psnr"]
    assert rows_a["4"]["loss"] == rows_b["4"]["loss"]  # the mean since the row before: both rows cover steps 3 and 4
    config, provenance = read_checkpoint_metadata(straight / "last.safetensors")
    assert config.hints == "normals+shadows"  # the any-to-any default, or as told
    assert config.margin == 16
    assert provenance["identity_pairs"] == (0.5 if options else 0.1)
    assert provenance["identity_claims"] == (0.5 if options else 0.0)
    assert provenance["cycle_weight"] == (0.5 if options else 0.0)
    assert config.conditioning == "film"
    assert provenance["mapping"] == "any-to-any"
    assert len(provenance["sources"]) == 40
    assert "source" not in provenance
    assert provenance["training_data"]["pairs_per_epoch"] == 3
    assert provenance["training_data"]["val_pairs"] == 2
    assert (straight / "best.safetensors").is_file()


@pytest.mark.parametrize(("conditioning", "hints"), [("film", "none"), ("planes", "none"), ("film", "normals"),
                                                    ("planes", "normals+shadows")])
def test_init_starts_from_the_one_to_one_outputs(tiny_config, one_to_one: Path, conditioning: str, hints: str) -> None:
    """Hints' stem channels and depth skips start at zero, and the run keeps the model's margin unless told another."""
    config = TrainConfig(data=["d"], out="r", backbone="narrow", width=8, decoder_channels=16, any_to_any=True,
                         conditioning=conditioning, hints=hints, init=str(one_to_one))
    config.validate()
    model = build_model(config, resume=False).eval()
    assert (model.config.conditioning, model.config.hints) == (conditioning, hints)
    assert (model.config.margin, model.config.depth_skips) == (0, True)
    reference = MBNet(tiny_config)
    reference.load_state_dict(load_file(one_to_one))
    reference.eval()
    g = torch.Generator().manual_seed(0)
    rgb, depth = torch.rand(3, 3, 64, 64, generator=g), torch.rand(3, 1, 64, 64, generator=g)
    lights = encode_lights(["2500-W", "6500-E", "4500-N"], [None, "6500-N", "3500-SW"])
    with torch.no_grad():
        expected, got = reference(rgb, depth), model(rgb, depth, lights)
    assert torch.allclose(got, expected, atol=1e-5, rtol=0)
    config.margin = 16
    assert build_model(config, resume=False).config.margin == 16


@pytest.mark.parametrize(("start", "run"), [("none", "normals"), ("normals+shadows", "normals+shadows+shading")])
def test_init_from_a_film_model_keeps_its_conditioning_to_fine_tune(tiny_config, randomise_batchnorm, tmp_path: Path,
                                                                     start: str, run: str) -> None:
    """An any-to-any (FiLM) model as --init: its own conditioning kept, the hints and depth skips it lacks
    starting at zero, so step 0 gives its outputs for every light."""
    torch.manual_seed(2)
    film = randomise_batchnorm(MBNet(dataclasses.replace(tiny_config, conditioning="film", hints=start)))
    with torch.no_grad():
        film.condition.out.weight.normal_(0, 0.1)  # a conditioning that is not the identity
    path = save_checkpoint(film, tmp_path / "film.safetensors")
    config = TrainConfig(data=["d"], out="r", backbone="narrow", width=8, decoder_channels=16, any_to_any=True, hints=run,
                         init=str(path))
    model = build_model(config, resume=False).eval()
    assert (model.config.hints, model.config.depth_skips) == (run, True)
    g = torch.Generator().manual_seed(3)
    rgb, depth = torch.rand(3, 3, 64, 64, generator=g), torch.rand(3, 1, 64, 64, generator=g)
    lights = encode_lights(["2500-W", "6500-E", "4500-N"], [None, "6500-N", "3500-SW"])
    with torch.no_grad():
        expected, got = film.eval()(rgb, depth, lights), model(rgb, depth, lights)
    assert not torch.allclose(expected[0], expected[1], atol=1e-3)  # the lights matter
    assert torch.allclose(got, expected, atol=1e-5, rtol=0)


def test_init_refuses_a_planes_model(tiny_config, tmp_path: Path) -> None:
    planes = save_checkpoint(MBNet(dataclasses.replace(tiny_config, conditioning="planes")), tmp_path / "planes.safetensors")
    config = TrainConfig(data=["d"], out="r", backbone="narrow", width=8, decoder_channels=16, any_to_any=True, init=str(planes))
    with pytest.raises(TrainError) as caught:
        build_model(config, resume=False)
    assert caught.value.render(cli_words) == (f"{planes}: holds narrow-w8-d16-planes; --init {planes} takes a one-to-one model, "
                                              "or a FiLM any-to-any model for a run with --conditioning film")


def test_init_through_the_command_line_and_a_mismatched_model(
    tiny_config, cli, scenes: Path, one_to_one: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    code, _, err = cli(["train", str(scenes), "--out", str(run), *TINY, "--any-to-any", "--init", str(one_to_one),
                            "--targets", "2500-W,2500-E", "--max-steps", "1"])
    assert code == 0, err
    assert "any-to-any (all -> 2500-W,2500-E, film)" in err
    config, provenance = read_checkpoint_metadata(run / "last.safetensors")
    assert config == dataclasses.replace(tiny_config, conditioning="film", hints="normals+shadows", depth_skips=True)  # the margin: the model's
    assert provenance["init"] == str(one_to_one)
    assert provenance["targets"] == ["2500-W", "2500-E"]
    code, _, err = cli(["train", str(scenes), "--out", str(tmp_path / "r2"), "--any-to-any", "--init", str(one_to_one),
                            "--perceptual-weight", "0", "--workers", "0", "--max-steps", "1"])
    assert code == 1, err
    assert (f"error: {one_to_one}: holds narrow-w8-d16, but the run asks for resnet50; train it with "
            "--backbone narrow --width 8 --decoder-channels 16") in err
    assert not (tmp_path / "r2" / "last.safetensors").exists()


def test_validation_sample_is_fixed_unmirrored_and_without_repeats(scenes: Path) -> None:
    val_scenes, _ = load_scenes([scenes])
    config = TrainConfig(data=[str(scenes)], out="r", any_to_any=True, seed=4, val_pairs=10)
    first = validation_sample(config, val_scenes)
    assert len(first) == 10
    assert first == validation_sample(config, val_scenes)
    assert not any(p.flip for p in first)
    assert len({p.name for p in first}) == 10
    few = TrainConfig(data=[str(scenes)], out="r", any_to_any=True, sources="6500-N", targets="4500-E", val_pairs=50)
    assert len(validation_sample(few, val_scenes)) == 4  # one pair per scene is all there is


@pytest.mark.parametrize(("changes", "cli"), [
    ({"sources": "6500-N"}, "--sources needs --any-to-any"),
    ({"init": "x.safetensors"}, "--init needs --any-to-any"),
    ({"conditioning": "film"}, "--conditioning film: a one-to-one model has no conditioning; train any-to-any with --any-to-any"),
    ({"any_to_any": True, "conditioning": "none"}, "--conditioning none: an any-to-any model needs the lights as an input"),
    ({"any_to_any": True, "withhold_source": 1.5}, "--withhold-source must be in [0, 1], not 1.5"),
    ({"any_to_any": True, "targets": "6500-Q"}, "--targets '6500-Q': unknown light direction 'Q'"),
    ({"any_to_any": True, "pairs_per_epoch": 0}, "--pairs-per-epoch must be at least 1, not 0"),
    ({"any_to_any": True, "val_data": "v", "val_gt_dir": "g"}, "--val-gt-dir does not apply to --any-to-any"),
    ({"any_to_any": True, "target": "2500-W"}, "--target does not apply to --any-to-any: it draws from --targets"),
    ({"identity_pairs": 0.5}, "--identity-pairs needs --any-to-any"),
    ({"any_to_any": True, "identity_pairs": -0.1}, "--identity-pairs must be in [0, 1], not -0.1"),
    ({"identity_claims": 0.5}, "--identity-claims needs --any-to-any"),
    ({"any_to_any": True, "identity_claims": 2.0}, "--identity-claims must be in [0, 1], not 2.0"),
    ({"cycle_weight": 0.5}, "--cycle-weight needs --any-to-any"),
    ({"any_to_any": True, "cycle_weight": -1.0}, "--cycle-weight must be at least 0, not -1.0"),
    ({"hints": "normals+shadows"}, "--hints normals+shadows: shadows need the lights as an input; train any-to-any with --any-to-any"),
    ({"hints": "normals+shadows+shading"},
     "--hints normals+shadows+shading: shadows need the lights as an input; train any-to-any with --any-to-any"),
    ({"hints": "shadows"}, "--hints shadows: expected none, normals, normals+shadows, normals+shadows+shading"),
    ({"hint_fov": 0.0}, "--hint-fov must be in (0, 180) degrees and --hint-pitch in (-90, 90), not 0 and 19"),
    ({"margin": 8}, "--margin must be 0 or 16, not 8"),
    ({"scales": [2.0, 1.0]}, "--scales 2,1: expected LOW,HIGH with 0 < LOW <= HIGH <= 4, e.g. 0.5,1.5"),
])
def test_any_to_any_refusals_name_their_settings(changes: dict, cli: str) -> None:
    config = TrainConfig(data=["d"], out="r", backbone="narrow", **changes)
    with pytest.raises(TrainError) as caught:
        config.validate()
    assert cli in caught.value.render(cli_words)
    assert "--" not in str(caught.value)


def test_init_refuses_a_model_with_more_hints_than_the_run(tiny_config, tmp_path: Path) -> None:
    hinted = save_checkpoint(MBNet(dataclasses.replace(tiny_config, hints="normals")), tmp_path / "hinted.safetensors")
    config = TrainConfig(data=["d"], out="r", backbone="narrow", width=8, decoder_channels=16, any_to_any=True, init=str(hinted),
                         hints="none")
    with pytest.raises(TrainError) as caught:
        build_model(config, resume=False)
    assert caught.value.render(cli_words) == (f"{hinted}: holds a model given normals hints, more than the run's none; "
                                              "train it with --hints normals")


def test_a_one_to_one_run_still_records_its_pair() -> None:
    config = TrainConfig(data=["d"], out="r", backbone="narrow")
    config.validate()
    assert config.model_config().conditioning == "none"
    assert config.mapping() == "6500-N -> 4500-E"
    assert TrainConfig(data=["d"], out="r", any_to_any=True).model_config().conditioning == "film"
    assert config.model_config().hints == "none"  # the paper's network, unless asked
    assert TrainConfig(data=["d"], out="r", any_to_any=True).model_config().hints == "normals+shadows"  # what measured best
    assert Light.parse(TrainConfig().target) == Light(4500, "E")


def test_the_cycle_loss_relights_the_output_back_to_the_source_and_adds_its_loss(tiny_config) -> None:
    """With ``cycle_weight`` W the step's loss is the pair's loss plus W times the loss of its (detached)
    output relit by the back vector, against the input; computed here by hand on a copy of the model."""
    import copy

    from relight.train.losses import RelightLoss
    from relight.train.step import TrainStep

    torch.manual_seed(0)
    model = MBNet(dataclasses.replace(tiny_config, conditioning="film"))
    by_hand = copy.deepcopy(model)
    loss_fn = RelightLoss(perceptual_weight=0.0)
    g = torch.Generator().manual_seed(1)
    rgb, depth, target = torch.rand(2, 3, 64, 64, generator=g), torch.rand(2, 1, 64, 64, generator=g), torch.rand(2, 3, 64, 64, generator=g)
    light, back = encode_lights(["2500-W", "4500-E"], ["6500-N", None]), encode_lights(["6500-N", "3500-S"], ["2500-W", None])
    batch = {"rgb": rgb, "depth": depth, "target": target, "light": light, "back": back}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    step = TrainStep(model, loss_fn, optimizer, torch.amp.GradScaler(enabled=False), torch.device("cpu"), "fp32", cycle_weight=0.5)
    got, parts = step(batch)
    pred = by_hand(rgb, depth, light)
    forward, expected_parts = loss_fn(pred, target)
    cycle, _ = loss_fn(by_hand(pred.detach(), depth, back), rgb)
    assert got == pytest.approx(float((forward + 0.5 * cycle).detach()), abs=1e-5)
    assert parts == pytest.approx({k: float(v) for k, v in expected_parts.items()}, abs=1e-5), "the parts are the pair's own"
    assert got != pytest.approx(float(forward.detach()), abs=1e-4)


def test_two_process_gloo_any_to_any_training_keeps_replicas_identical(tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    data = tmp_path / "data"
    write_dataset(data, scenes=3, size=64, seed=11)
    run = tmp_path / "run"
    # 4 pairs an epoch: each rank gets 2 (the same draw on both, split by the sampler), one batch of 2.
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "relight", "train", str(data), "--out", str(run), *TINY, "--any-to-any", "--pairs-per-epoch", "4",
               "--batch-size", "2", "--val-scenes", "1", "--val-pairs", "3", "--lr", "1e-3", "--epochs", "3", "--max-steps", "2",
               "--cycle-weight", "0.5"]  # its second pass runs on the bare model: the replicas must still agree
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RELIGHT_DEBUG": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2
    assert summary["step"] == 2
    assert summary["epoch"] == 2
    assert len(set(summary["replica_digests"])) == 1
    assert state_digest(load_file(run / "last.safetensors")) == summary["replica_digests"][0]
    assert [r["step"] for r in _rows(run)] == ["1", "2"]
    assert all(r["val_psnr"] for r in _rows(run))


def test_a_run_saved_before_identity_pairs_margins_and_hints_existed_resumes_as_it_was(tmp_path: Path) -> None:
    from relight.train import resolve_config

    run = tmp_path / "old"
    run.mkdir()
    (run / "config.toml").write_text('data = ["d"]\nany_to_any = true\nbackbone = "narrow"\n')
    resumed = resolve_config({}, resume=run)
    assert (resumed.identity_pairs, resumed.margin, resumed.model_config().hints) == (0.0, 0, "none")
    fresh = resolve_config({"data": ["d"], "out": str(tmp_path / "new"), "any_to_any": True, "backbone": "narrow"})
    assert (fresh.identity_pairs, fresh.model_config().margin, fresh.model_config().hints) == (0.1, 16, "normals+shadows")
