"""Finding and loading weights: what ``--weights`` accepts, in one place."""

from __future__ import annotations

import os
from pathlib import Path

from relight.errors import RelightError
from relight.model.authors import load_authors_checkpoint
from relight.model.checkpoint import LoadedModel, load_checkpoint

AUTHORS_SUFFIXES = (".pkl", ".pth", ".pt")


class WeightsError(RelightError):
    """Weights that cannot be found, fetched, verified or loaded."""


def load_weights(spec: str | os.PathLike[str]) -> LoadedModel:
    """Load a model from a path to our ``.safetensors`` or to the authors' ``.pkl``/``.pth``."""
    path = Path(spec)
    if not path.exists():
        raise WeightsError(f"{spec}: no such weights file")
    if path.suffix.lower() in AUTHORS_SUFFIXES:
        return LoadedModel(
            load_authors_checkpoint(path).eval(),
            {"source": "6500-N", "target": "4500-E", "origin": "authors' checkpoint (converted on the fly)"},
            str(path),
        )
    return load_checkpoint(path)
