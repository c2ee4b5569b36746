"""relight's own checkpoint format: safetensors, with the variant and provenance in its metadata.

Safetensors holds tensors only, so loading never runs code. The metadata carries ``config`` (the
:class:`MBNetConfig` as JSON, enough to rebuild the right network) and ``provenance`` (JSON: source and
target illumination, training data, metrics, the command that made it).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from relight.errors import InputFileError, Part, first_line, shown
from relight.io.output import atomic_output, cannot_write
from relight.model.config import MBNetConfig
from relight.model.mbnet import MBNet
from relight.model.provenance import provenance_problem

FORMAT = "relight-mbnet/1"


class CheckpointError(InputFileError):
    """A checkpoint file that is not ours, is damaged, or does not fit its own config; the message starts with the path."""

    def __init__(self, path: str | os.PathLike[str], *parts: Part, **facts: Any) -> None:
        super().__init__(Path(path), *parts, **facts)


@dataclass
class LoadedModel:
    """A network ready to use, with what is known about where it came from."""

    model: MBNet
    provenance: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def config(self) -> MBNetConfig:
        return self.model.config


def save_checkpoint(
    model: MBNet,
    path: str | os.PathLike[str],
    provenance: dict[str, Any] | None = None,
    dtype: torch.dtype = torch.float32,
    shown_as: str | os.PathLike[str] | None = None,
) -> Path:
    """Write ``model`` atomically; ``dtype=torch.float16`` halves the file (weights are cast back on load).

    ``shown_as`` is the file a write error names, where ``path`` is a stage on the way to it (a run's
    ``.last.step-N.safetensors`` becomes ``last.safetensors``): the user knows that name."""
    tensors = {
        k: (v.detach().to(dtype) if v.is_floating_point() else v.detach()).contiguous().cpu()
        for k, v in model.state_dict().items()
    }
    metadata = {
        "format": FORMAT,
        "config": model.config.to_json(),
        "provenance": json.dumps(provenance or {}, sort_keys=True),
    }
    failure: OSError | None = None
    try:
        with atomic_output(path) as tmp:
            try:
                save_file(tensors, str(tmp), metadata=metadata)
            except SafetensorError as exc:  # its I/O errors (a full disk) are not OSErrors: make them one, for atomic_output
                failure = _os_error(exc)
                raise failure from None
    except OSError:
        if failure is None or shown_as is None:
            raise
        raise cannot_write(Path(shown_as), failure) from None
    return Path(path)


def _os_error(exc: SafetensorError) -> OSError:
    """safetensors' I/O error as the OSError it wraps, its errno recovered from the text ("... (os error 28)"),
    so that a full disk is a :class:`~relight.errors.DiskFullError`."""
    text = first_line(exc).removeprefix("Error while serializing: ")
    code = re.search(r"\(os error (\d+)\)", text)
    return OSError(int(code[1]), text) if code is not None else OSError(text)


def read_checkpoint_metadata(path: str | os.PathLike[str]) -> tuple[MBNetConfig, dict[str, Any]]:
    """The config and provenance of a checkpoint, without reading its tensors."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(path, f"not a readable safetensors file ({exc})") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(path, f"not a relight checkpoint (metadata format {meta.get('format')!r})")
    try:
        config, provenance = MBNetConfig.from_json(meta["config"]), json.loads(meta.get("provenance", "{}"))
    except (KeyError, ValueError, TypeError, RecursionError) as exc:
        raise CheckpointError(path, f"damaged checkpoint metadata ({shown(first_line(exc))})") from None
    problem = provenance_problem(provenance)
    if problem is not None:
        raise CheckpointError(path, f"its metadata's provenance field {problem[0]!r} holds {problem[1]}", field=problem[0])
    return config, provenance


def check_finite(path: Path, state: dict[str, torch.Tensor]) -> None:
    """Refuse weights holding NaN or infinities (one ``running_mean`` is enough to turn every output black)."""
    for key in sorted(state):
        tensor = state[key]
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            count = int((~torch.isfinite(tensor)).sum())
            raise CheckpointError(path, f"{key} holds {count} NaN or infinite value(s); the weights are damaged", key=key)


def load_checkpoint(path: str | os.PathLike[str]) -> LoadedModel:
    """Rebuild the network described by the checkpoint's metadata and load its weights (as float32)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such file")
    config, provenance = read_checkpoint_metadata(path)
    with torch.device("meta"):  # every tensor comes from the file: no random initialisation first
        model = MBNet(config)
    expected = model.state_dict()  # names, shapes and dtypes
    with safe_open(str(path), framework="pt") as fh:
        keys = set(fh.keys())
        missing, extra = sorted(set(expected) - keys), sorted(keys - set(expected))
        if missing or extra:
            raise CheckpointError(path, f"weights do not fit {config.describe()} ({len(missing)} missing, {len(extra)} unexpected)")
        state = {k: fh.get_tensor(k).to(expected[k].dtype) for k in keys}
    for key, tensor in state.items():
        if tensor.shape != expected[key].shape:
            raise CheckpointError(path, f"{key} has shape {tuple(tensor.shape)}, expected {tuple(expected[key].shape)}")
    check_finite(path, state)
    model.load_state_dict(state, assign=True)
    return LoadedModel(model.eval(), provenance, str(path))
