"""Shared fixtures: a small random-weight checkpoint written by the tests themselves, and sample inputs."""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from relight.model import MBNet, MBNetConfig
from relight.model.checkpoint import save_checkpoint

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def narrow_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A narrow MBNet with random weights (not trained: only for plumbing tests)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "narrow-random.safetensors"
    return save_checkpoint(MBNet(MBNetConfig.narrow(width=8, decoder_channels=16)), path, {"note": "random test weights"})


@pytest.fixture
def sample_pair(tmp_path: Path) -> tuple[Path, Path]:
    """A 40 x 56 RGBA PNG (opaque, like VIDIT) and a VIDIT-style pickled-dict depth file."""
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (40, 56, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    image = tmp_path / "scene.png"
    Image.fromarray(rgba, "RGBA").save(image)
    depth = tmp_path / "scene.npy"
    record = {"normalized_depth": rng.random((40, 56), dtype=np.float32), "ref_center_dis": np.float32(2.0)}
    np.save(depth, np.array(record, dtype=object), allow_pickle=True)
    return image, depth


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """Run the real console entry point in-process; returns (exit code, stdout, stderr)."""
    from relight import cli

    monkeypatch.setattr(sys, "argv", ["relight", *args])
    monkeypatch.setitem(cli._state, "debug", False)
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk (length, type, data, CRC), written here independently of relight's own encoder."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
