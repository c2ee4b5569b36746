"""Importing the authors' ``weight.pkl``: converted once into relight's safetensors and registered by name."""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from relight.errors import RelightError, Setting
from relight.model.provenance import AUTHORS_TRAINED_AT, TRAINED_AT
from relight.weights.errors import InvalidWeightsSetting, WeightsRefused, WeightsUnavailable
from relight.weights.load import AUTHORS_ILLUMINATION, naming
from relight.weights.registry import NAME, USER_REGISTRY_FORMAT, ModelEntry, load_registry, read_builtin, read_user, sha256_file

_OWNER = "import_authors_checkpoint"


def _write_user_registry(path: Path, models: dict[str, dict[str, Any]]) -> None:
    from relight.io import write_text

    text = json.dumps({"format": USER_REGISTRY_FORMAT, "models": models}, indent=2, sort_keys=True) + "\n"
    write_text(path, text)


def _check_name(name: str, shipped: dict[str, Any] | None, user_models: dict[str, Any], user_path: Path, force: bool) -> None:
    """Refuse the name of a shipped model, or of one imported before (unless ``force``)."""
    setting = Setting("name", name, owner=_OWNER, shown=name)
    if shipped is not None and "page" not in (shipped.get("location") or {}):
        raise InvalidWeightsSetting(setting, setting, ": that is a model shipped with relight; choose another name")
    if name in user_models and not force:
        raise InvalidWeightsSetting(
            setting, setting, f": already imported ({user_path}); add ", Setting("force", True), " to replace it"
        )


def import_authors_checkpoint(
    checkpoint: str | os.PathLike[str],
    name: str,
    *,
    force: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> ModelEntry:
    """Convert the authors' ``weight.pkl`` into our fp32 safetensors in :func:`user_home` and register it as ``name``.

    Converting once saves the key mapping on every later load, and the registry entry makes the name
    usable wherever weights are asked for. ``force`` replaces an earlier import of the same name.
    """
    import torch

    from relight.model.authors import model_from_authors_state, read_authors_checkpoint
    from relight.model.checkpoint import save_checkpoint

    step = on_step or (lambda _: None)
    src = Path(checkpoint).expanduser()
    if not NAME.fullmatch(name):
        setting = Setting("name", name, owner=_OWNER, shown=repr(name))
        raise InvalidWeightsSetting(setting, setting, ": use letters, digits, '.', '_' and '-' (it must not look like a path)")
    if not src.is_file():
        raise WeightsUnavailable(src, f"{src}: no such file" if not src.exists() else f"{src}: not a file")
    registry = load_registry()
    shipped = read_builtin(registry.builtin_path)[0].get(name)
    user_models = read_user(registry.user_path)
    _check_name(name, shipped, user_models, registry.user_path, force)

    step(f"reading {src.name}")
    try:
        state = read_authors_checkpoint(src)
        step("converting")
        model = model_from_authors_state(state)
    except RelightError as exc:
        raise WeightsRefused(*naming(src, exc), path=src) from None
    del state
    step(f"hashing {src.name}")
    imported_from = {
        "path": str(src.resolve()),
        "sha256": sha256_file(src),
        "size_bytes": src.stat().st_size,
        "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    source, target = AUTHORS_ILLUMINATION
    step("writing")
    relative = Path("models") / f"{name}.safetensors"
    dest = registry.user_path.parent / relative
    provenance = {
        "source": source,
        "target": target,
        "origin": "authors' checkpoint, imported with `relight weights import`",
        "imported_from": imported_from,
        TRAINED_AT: list(AUTHORS_TRAINED_AT),
    }
    save_checkpoint(model, dest, provenance, dtype=torch.float32)
    step("hashing the result")
    record: dict[str, Any] = {
        "location": {"file": relative.as_posix()},
        "sha256": sha256_file(dest),
        "size_bytes": dest.stat().st_size,
        "imported_from": imported_from,
    }
    if shipped is None:
        record.update(
            description=f"the authors' MBNet checkpoint, imported from {src.name}",
            architecture=json.loads(model.config.to_json()),
            source=source,
            target=target,
            licence="as the imported file (the authors state none for their weight.pkl)",
        )
    _write_user_registry(registry.user_path, {**user_models, name: record})
    return load_registry(registry.builtin_path, registry.user_path)[name]
