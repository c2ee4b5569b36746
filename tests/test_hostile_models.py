"""Hostile checkpoints: weights holding NaN, weights that make a non-finite output, and metadata relight
would otherwise trust (a light that is none, a training size of no pixels): each refused in one line
naming the file and what is wrong, never a silent black image or a '6500-N -> ?' run with exit 0."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from relight.inference.relighter import Relighter
from relight.model import MBNet, MBNetConfig
from relight.model.checkpoint import CheckpointError, load_checkpoint, save_checkpoint


def _checkpoint(path: Path, config: MBNetConfig, provenance: dict | None = None, change=None) -> Path:
    torch.manual_seed(0)
    model = MBNet(config)
    if change is not None:
        with torch.no_grad():
            change(model)
    return save_checkpoint(model, path, provenance or {})


def _first(model: MBNet, suffix: str) -> torch.Tensor:
    return next(tensor for name, tensor in model.state_dict().items() if name.endswith(suffix))


def test_nan_weights_are_refused_at_load_naming_the_file_and_tensor(tmp_path, tiny_config, sample_pair, cli):
    """One NaN ``running_mean`` turned every output black, with exit 0 and "wrote ..."."""
    path = _checkpoint(tmp_path / "nan.safetensors", tiny_config, change=lambda m: _first(m, "running_mean").__setitem__(0, float("nan")))
    with pytest.raises(CheckpointError, match=r"running_mean holds 1 NaN or infinite value\(s\); the weights are damaged") as err:
        load_checkpoint(path)
    assert str(err.value).startswith(f"{path}: ")
    image, depth = sample_pair
    code, _, stderr = cli(["run", str(image), str(depth), "-o", str(tmp_path / "out.png"), "-w", str(path), "--device", "cpu"])
    assert code == 1
    assert stderr.strip().splitlines()[-1].startswith(f"error: {path}: ")
    assert not (tmp_path / "out.png").exists()


def test_an_output_that_is_not_finite_is_refused_naming_the_weights(tmp_path, tiny_config, sample_pair):
    """Finite weights can still make inf (a huge scale somewhere): the output is checked, not written."""
    path = _checkpoint(tmp_path / "huge.safetensors", tiny_config, change=lambda m: _first(m, "weight").fill_(1e30))
    relighter = Relighter(load_checkpoint(path), "cpu")
    rgb = np.random.default_rng(0).random((32, 32, 3), dtype=np.float32)
    with pytest.raises(Exception, match="the network's output holds NaN or infinite values; these weights cannot be used") as err:
        relighter.relight(rgb, rgb[..., 0])
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    "provenance,field,problem",
    [
        ({"target": "9999-Q"}, "target", "'9999-Q': unknown light direction 'Q'"),
        ({"source": 6500}, "source", "6500: a int, not a light such as 4500-E"),
        ({"default_target": "4500-X"}, "default_target", "unknown light direction 'X'"),
        ({"targets": ["2500-W", "bogus"]}, "targets", "'bogus': expected TEMPERATURE-DIRECTION"),
        ({"targets": []}, "targets", "not a list of lights"),
        ({"trained_at": [0, -1]}, "trained_at", "[0, -1]: a size of no pixels"),
        ({"trained_at": [1e9, 1e9]}, "trained_at", "not [height, width] in whole pixels"),
        ({"trained_at": [10**9, 10**9]}, "trained_at", "over the 67,108,864-pixel limit of an image"),
        ({"trained_at": "128x128"}, "trained_at", "not [height, width] in whole pixels"),
        ({"step": -3}, "step", "-3: not a step count"),
    ],
)
def test_checkpoint_metadata_is_checked_naming_the_file_and_field(tmp_path, tiny_config, provenance, field, problem):
    config = dataclasses.replace(tiny_config, conditioning="film") if "targets" in provenance or "default_target" in provenance else tiny_config
    path = _checkpoint(tmp_path / "meta.safetensors", config, provenance)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    message = str(err.value)
    assert message.startswith(f"{path}: its metadata's provenance field {field!r} holds ")
    assert problem in message
    assert err.value.facts["field"] == field


def test_a_long_target_in_the_metadata_is_shortened_in_one_line(tmp_path, tiny_config, sample_pair, cli):
    path = _checkpoint(tmp_path / "long.safetensors", tiny_config, {"target": "4500-" + "E" * 100_000 + "\n\x1b[31merror: fake"})
    image, depth = sample_pair
    code, _, stderr = cli(["run", str(image), str(depth), "-o", str(tmp_path / "out.png"), "-w", str(path), "--device", "cpu"])
    assert code == 1
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {path}: its metadata's provenance field 'target' holds ")
    assert len(lines[0]) < 700  # the value twice (as given, and in the reason), each cut to 200 characters
    assert "\x1b" not in lines[0]
