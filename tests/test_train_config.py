"""``relight.train.config``: field metadata, refusals worded per audience, TOML round trip, the workers default."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from relight.cli._errors import cli_words
from relight.errors import InvalidSetting, RelightError
from relight.train import TrainConfig, TrainError, default_workers, load_toml, size_setting
from relight.train.config import FEW_BATCHES


def _refusal(**changes: object) -> TrainError:
    config = TrainConfig(data=["d"], out="r", backbone="narrow", **changes)
    with pytest.raises(TrainError) as caught:
        config.validate()
    return caught.value


def test_every_field_has_help_that_names_no_flag() -> None:
    names = {f.name for f in fields(TrainConfig)}
    for f in fields(TrainConfig):
        assert f.metadata.get("help"), f.name
        assert "--" not in f.metadata["help"], f.name
        assert "flags" not in f.metadata, f.name  # the command line owns flags
        assert set(re.findall(r"\{(\w+)\}", f.metadata["help"])) <= names, f.name  # {name} names a setting


@pytest.mark.parametrize(("changes", "python", "cli"), [
    ({"lr": 0.0}, "TrainConfig(lr) must be positive, not 0.0", "--lr must be positive, not 0.0"),
    ({"batch_size": -1}, "TrainConfig(batch_size) must be positive", "--batch-size must be positive, not -1"),
    ({"beta1": 1.0}, "TrainConfig(beta1) must be in [0, 1)", "--beta1 must be in [0, 1), not 1.0"),
    ({"workers": -2}, "TrainConfig(workers) must be 0 or more", "--workers must be 0 or more, not -2"),
    ({"milestones": [5, 2]}, "TrainConfig(milestones=[5, 2]): expected", "--milestones [5, 2]: expected increasing"),
    ({"imagenet": True}, "use TrainConfig(imagenet=False)",
     "--imagenet: the narrow backbone has no ImageNet weights; use --no-imagenet"),
    ({"crop": [128, 128], "size": [64, 64]}, "TrainConfig(crop=[128, 128]) is larger than",
     "--crop 128x128 is larger than --size 64x64: crops are cut from the images resized to --size"),
    ({"val_data": "v", "val_scenes": 1}, "give either TrainConfig(val_data)", "give either --val-data or --val-scenes, not both"),
    ({"val_gt_dir": "g"}, "TrainConfig(val_gt_dir) needs TrainConfig(val_data)", "--val-gt-dir needs --val-data"),
])
def test_refusals_name_settings_in_python_and_flags_on_the_command_line(changes: dict, python: str, cli: str) -> None:
    error = _refusal(**changes)
    assert isinstance(error, InvalidSetting)
    assert isinstance(error, ValueError)
    assert isinstance(error, RelightError)
    assert python in str(error)
    assert "--" not in str(error)
    assert cli in error.render(cli_words)


def test_missing_data_and_run_folder() -> None:
    with pytest.raises(TrainError) as caught:
        TrainConfig().validate()
    assert caught.value.render(cli_words) == "no training data: give one or more DATA folders"
    with pytest.raises(TrainError) as caught:
        TrainConfig(data=["d"]).validate()
    assert caught.value.render(cli_words) == "no run folder: pass --out RUN_DIR"


def test_size_setting_names_the_setting_it_was_given_for() -> None:
    assert size_setting("64") == [64, 64]
    assert size_setting("64x96", "crop") == [64, 96]
    assert size_setting(None) is None
    with pytest.raises(TrainError) as caught:
        size_setting("7x", "crop")
    assert caught.value.render(cli_words).startswith("--crop '7x': expected N or HxW")
    assert str(caught.value).startswith("TrainConfig(crop='7x'): expected N or HxW")
    assert caught.value.setting.name == "crop"


def test_toml_round_trip_and_a_bad_key(tmp_path: Path) -> None:
    config = TrainConfig(data=[str(tmp_path)], out=str(tmp_path / "run"), lr=0.5, milestones=[2, 3], size=[64, 96])
    (tmp_path / "c.toml").write_text(config.to_toml())
    assert TrainConfig(**load_toml(tmp_path / "c.toml")) == config
    (tmp_path / "c.toml").write_text("learning_rate = 1\n")
    with pytest.raises(TrainError, match="unknown setting 'learning_rate'"):
        load_toml(tmp_path / "c.toml")


def test_workers_default_follows_the_cores_and_the_epoch() -> None:
    assert default_workers(1000, cores=1) == default_workers(1000, cores=2) == 0
    assert default_workers(1000, cores=3) == 2
    assert default_workers(1000, cores=64) == 4
    assert default_workers(FEW_BATCHES - 1, cores=64) == 0
    assert TrainConfig(workers=3).loader_workers(1) == 3  # given: used as given
    assert TrainConfig().loader_workers(FEW_BATCHES) == default_workers(FEW_BATCHES)


@pytest.mark.subprocess
def test_importing_the_config_loads_no_torch() -> None:
    code = "import sys, relight.train; from relight.train import TrainConfig; print('torch' in sys.modules, 'numpy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
