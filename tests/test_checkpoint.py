"""Our safetensors checkpoints rebuild the right variant, carry provenance, and refuse foreign files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from relight.model import MBNet, MBNetConfig
from relight.model.checkpoint import CheckpointError, load_checkpoint, read_checkpoint_metadata, save_checkpoint


@pytest.mark.parametrize(
    "config",
    [MBNetConfig.narrow(width=8, decoder_channels=16), MBNetConfig.narrow(width=12, decoder_channels=24, residual=False), MBNetConfig(backbone="resnet18")],
    ids=lambda c: c.describe(),
)
def test_round_trip_rebuilds_the_variant(randomise_batchnorm, tmp_path: Path, config: MBNetConfig) -> None:
    torch.manual_seed(0)
    model = randomise_batchnorm(MBNet(config).eval())  # non-trivial BatchNorm statistics must survive too
    provenance = {"source": "6500-N", "target": "4500-E", "metrics": {"psnr": 20.5}}
    path = save_checkpoint(model, tmp_path / "m.safetensors", provenance)
    loaded = load_checkpoint(path)
    assert loaded.config == config
    assert loaded.provenance == provenance
    x, d = torch.rand(1, 3, 64, 64), torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x, d), loaded.model(x, d))


def test_fp16_checkpoint_is_half_the_size_and_close(tmp_path: Path) -> None:
    model = MBNet(MBNetConfig.narrow()).eval()
    full = save_checkpoint(model, tmp_path / "f32.safetensors")
    half = save_checkpoint(model, tmp_path / "f16.safetensors", dtype=torch.float16)
    assert half.stat().st_size < 0.55 * full.stat().st_size
    loaded = load_checkpoint(half).model
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    x, d = torch.rand(1, 3, 64, 64), torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        assert (model(x, d) - loaded(x, d)).abs().max() < 1e-2


def test_foreign_and_damaged_files_are_refused(tmp_path: Path) -> None:
    save_file({"w": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(CheckpointError, match="not a relight checkpoint"):
        load_checkpoint(tmp_path / "other.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        read_checkpoint_metadata(tmp_path / "junk.safetensors")
    good = save_checkpoint(MBNet(MBNetConfig.narrow()), tmp_path / "g.safetensors")
    config, _ = read_checkpoint_metadata(good)
    assert config == MBNetConfig.narrow()


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="unknown backbone"):
        MBNetConfig(backbone="vgg")
    with pytest.raises(ValueError, match="fixed width"):
        MBNetConfig(backbone="resnet50", width=32)
    assert MBNetConfig.from_json(MBNetConfig.narrow().to_json()) == MBNetConfig.narrow()


def test_a_full_disk_while_saving_is_one_line_and_leaves_nothing(tiny_config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """safetensors reports a write that fails (a full disk) as its own SafetensorError, not an OSError."""
    from safetensors import SafetensorError

    import relight.model.checkpoint as checkpoint
    from relight.errors import OutputFileError

    def disk_full(tensors: object, filename: str, metadata: object = None) -> None:
        Path(filename).write_bytes(b"partial")
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(checkpoint, "save_file", disk_full)
    with pytest.raises(OutputFileError) as err:
        save_checkpoint(MBNet(tiny_config), tmp_path / "m.safetensors")
    assert str(err.value) == f"{tmp_path / 'm.safetensors'}: cannot write here (I/O error: No space left on device (os error 28))"
    assert list(tmp_path.iterdir()) == []
