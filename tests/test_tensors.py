"""The tensor helpers below inference and data, and the data package's errors as typed settings."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from relight.data.dataset import LoadFailure, PairDataset, make_loader
from relight.data.vidit import TrainPair
from relight.errors import InputFileError, InvalidSetting, RelightError
from relight.io import write_depth_npy, write_image
from relight.inference.shards import parse_shard
from relight.tensors import depth_tensor, image_tensor, resize


def test_tensor_helpers_keep_layout_and_share_memory() -> None:
    rgb = np.random.default_rng(0).random((4, 6, 3), dtype=np.float32)
    tensor = image_tensor(rgb)
    assert tensor.shape == (1, 3, 4, 6)
    assert torch.equal(tensor[0, 1], torch.from_numpy(rgb[..., 1]))
    assert tensor.data_ptr() == torch.from_numpy(rgb).data_ptr()  # no copy for a float32 array
    assert depth_tensor(rgb[..., 0]).shape == (1, 1, 4, 6)
    assert resize(tensor, (8, 12)).shape == (1, 3, 8, 12)


def test_the_data_loaders_do_not_import_inference() -> None:
    code = "import sys, relight.data.dataset\nprint('relight.inference.relighter' in sys.modules, 'relight.io.output' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120).stdout
    assert out.split() == ["False", "True"]


def test_a_shard_is_refused_as_a_setting() -> None:
    with pytest.raises(InvalidSetting) as err:
        parse_shard("3/2")
    assert str(err.value) == "shard='3/2': K must be between 1 and N"
    assert err.value.setting.name == "shard"
    assert parse_shard("2/2").take([1, 2, 3]) == [2]


def _pair(folder: Path, name: str, size: tuple[int, int]) -> TrainPair:
    write_image(folder / f"{name}.png", np.zeros((*size, 3), np.float32))
    write_image(folder / f"{name}_gt.png", np.zeros((*size, 3), np.float32))
    write_depth_npy(folder / f"{name}.npy", np.zeros(size, np.float32))
    return TrainPair(name, name, folder / f"{name}.png", folder / f"{name}.npy", folder / f"{name}_gt.png")


def test_a_batch_of_mixed_sizes_names_the_settings_that_fix_it(tmp_path: Path) -> None:
    dataset = PairDataset([_pair(tmp_path, "a", (8, 8)), _pair(tmp_path, "b", (8, 12))])
    with pytest.raises(RelightError) as err:
        list(make_loader(dataset, [0, 1], batch_size=2, workers=0))
    assert str(err.value) == "images of different sizes in one batch: a (8x8), b (8x12); train with TrainConfig(size) or TrainConfig(crop)"
    assert [s.name for s in err.value.settings()] == ["size", "crop"]


def test_a_worker_s_error_comes_back_with_its_type(tmp_path: Path) -> None:
    """A DataLoader worker's error crosses the process boundary as it was raised, not as a string."""
    pair = _pair(tmp_path, "a", (8, 8))
    (tmp_path / "a.npy").unlink()
    with pytest.raises(InputFileError) as err:
        list(make_loader(PairDataset([pair]), [0], batch_size=1, workers=1))
    assert err.value.path == tmp_path / "a.npy"
    assert str(err.value) == f"{tmp_path / 'a.npy'}: no such file"
    failure = pickle.loads(pickle.dumps(LoadFailure(err.value)))
    assert failure.message == str(err.value)
    assert type(failure.error) is type(err.value)


def test_a_dataset_size_is_refused_as_a_setting_of_pair_dataset() -> None:
    with pytest.raises(InvalidSetting) as err:
        PairDataset([], size=(0, 4))
    assert str(err.value) == "PairDataset(size=(0, 4)): expected N or (height, width) with positive sides"
