"""The spec's deterministic weight recipe for the authors' checkpoint layout, ported for the golden tests."""

from __future__ import annotations

import math
from pathlib import Path

import torch

DATA = Path(__file__).parent / "data"
TSV = DATA / "mbnet-official-state-dict.tsv"
GOLDEN = DATA / "mbnet-reference-golden.npz"


def read_tsv(path: Path = TSV) -> list[tuple[str, tuple[int, ...]]]:
    """(key, shape) of every tensor of the authors' checkpoint, in file order."""
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, shape, _ = line.split("\t")
        out.append((key, tuple(int(s) for s in shape.strip("()").split(",") if s.strip())))
    return out


def constant_state_dict(keys_and_shapes: list[tuple[str, tuple[int, ...]]], scale: float = 1.0) -> dict[str, torch.Tensor]:
    """Each tensor one constant broadcast to its shape (the Nth is ``scale * 1e-3 * N``): saved with
    ``torch.save``, a file of some 400 KB that loads as the whole 613 MB paper network, for tests of
    loading and converting that need no real values."""
    return {key: torch.zeros(shape, dtype=torch.int64) if key.endswith("num_batches_tracked")
            else torch.full((1,) * len(shape), scale * 1e-3 * (i + 1)).expand(shape)
            for i, (key, shape) in enumerate(keys_and_shapes)}


def reference_state_dict(keys_and_shapes: list[tuple[str, tuple[int, ...]]]) -> dict[str, torch.Tensor]:
    """One seeded generator per tensor, in file order, exactly as the spec's reference_weights.py."""
    sd = {}
    for i, (key, shape) in enumerate(keys_and_shapes):
        u = torch.rand(shape, generator=torch.Generator().manual_seed(1000 + i), dtype=torch.float64)
        leaf = key.rsplit(".", 1)[-1]
        if leaf == "num_batches_tracked":
            t = torch.zeros(shape, dtype=torch.int64)
        elif leaf == "running_mean":
            t = (u - 0.5) * 0.2
        elif leaf == "running_var":
            t = 0.5 + u
        elif len(shape) == 4:
            t = (u * 2 - 1) * math.sqrt(3.0 / (shape[1] * shape[2] * shape[3]))
        elif leaf == "weight":
            t = 0.5 + u
        else:
            t = (u - 0.5) * 0.2
        sd[key] = t.to(torch.float32) if t.dtype == torch.float64 else t
    return sd
