"""A full disk while a checkpoint is written: a DiskFullError in one line, naming the file the user knows,
on a real small tmpfs (safetensors reports the full disk in its own error type, the errno only in its text)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from relight.errors import DiskFullError
from relight.model import MBNet
from relight.model.checkpoint import save_checkpoint
from relight.train.store import LAST, RunStore
from tmpfs import small_tmpfs


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 512 KiB tmpfs (needs root, or the right to mount): smaller than the narrow model's 1.8 MB."""
    yield from small_tmpfs(tmp_path, "512k")


def test_a_full_disk_while_saving_weights_is_a_disk_full_error(tiny_config, small_disk: Path) -> None:
    target = small_disk / "w.safetensors"
    with pytest.raises(DiskFullError) as err:
        save_checkpoint(MBNet(tiny_config), target)
    assert str(err.value) == f"{target}: cannot write here (I/O error: No space left on device (os error 28))"
    assert list(small_disk.iterdir()) == []


def test_a_full_disk_in_a_training_save_names_last_safetensors(tiny_config, small_disk: Path) -> None:
    """A DiskFullError naming RUN/last.safetensors, not an OutputFileError naming RUN/.last.step-6.safetensors."""
    store = RunStore(small_disk / "run")
    store.open("", resume=False)
    with pytest.raises(DiskFullError) as err:
        store.save(MBNet(tiny_config), {}, {"step": 6}, {"epoch": 1, "step": 6}, best=False)
    assert str(err.value) == f"{store.dir / LAST}: cannot write here (I/O error: No space left on device (os error 28))"
    assert sorted(p.name for p in store.dir.iterdir()) == ["config.toml"]
