"""The authors' checkpoints converted once: ``weight.pkl`` as relight's safetensors in :func:`user_home`.

The first load of the authors' ``.pkl``/``.pth`` writes its conversion to ``converted/<sha256 of the
file>.safetensors`` (atomically); later loads read that instead, which needs no unpickling (safetensors
runs no code) and no key mapping.

Hashing the 613 MB checkpoint costs about as much as converting it (``docs/performance.md``), so the
file's sha256 is remembered in ``converted/index.json`` under its resolved path with its size, mtime,
ctime and inode: a file seen before in the same state is not hashed again. The ONNX exports' cache
names any weights file by the same remembered sha256 (:func:`checkpoint_sha256`).
A file replaced or changed in place changes its ctime (which no program can set back), so it is hashed
again; a copy elsewhere hashes to the same name and reuses the conversion.

Each new conversion removes the earlier ones no remembered file still holds (a checkpoint changed,
replaced or deleted since): the cache keeps one 600 MB conversion per checkpoint there is, not one per
version there was. A conversion younger than :data:`GRACE_SECONDS` is never removed, so that another
process that has just written one (and whose index entry a concurrent write may have lost) keeps it.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relight.errors import RelightError, first_line
from relight.weights.registry import sha256_file, user_home

if TYPE_CHECKING:
    from relight.model.checkpoint import LoadedModel

FOLDER = "converted"
INDEX = "index.json"
#: A conversion this young is kept even when no remembered file holds it.
GRACE_SECONDS = 3600
_CONVERSION = re.compile(r"[0-9a-f]{64}\.safetensors")


def conversion_folder() -> Path:
    """Where conversions live: ``converted/`` in :func:`user_home`."""
    return user_home() / FOLDER


def _state(path: Path) -> dict[str, int]:
    info = path.stat()
    return {"size": info.st_size, "mtime_ns": info.st_mtime_ns, "ctime_ns": info.st_ctime_ns, "inode": info.st_ino}


def _read_index(folder: Path) -> dict[str, Any]:
    """The remembered hashes; an unreadable index is only a cache miss (everything is hashed again)."""
    try:
        data = json.loads((folder / INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remember(folder: Path, key: str, state: dict[str, int], sha256: str) -> None:
    from relight.io import write_json

    index = _read_index(folder)
    index[key] = {**state, "sha256": sha256}
    try:
        write_json(folder / INDEX, index)
    except (OSError, RelightError):
        pass  # not remembered: the next load hashes the file again and finds the same conversion, if no
        # conversion since has pruned it (an hour after it was written): then it is converted again


def _held(index: dict[str, Any]) -> set[str]:
    """The sha256 of the remembered files still there as they were when hashed, and of those that cannot
    be looked at now (an unmounted disk: kept, not judged)."""
    held = set()
    for key, known in index.items():
        if not isinstance(known, dict):
            continue
        try:
            if _unchanged(known, _state(Path(key))):
                held.add(str(known.get("sha256")))
        except FileNotFoundError:
            continue
        except OSError:  # cannot be looked at now: kept
            held.add(str(known.get("sha256")))
    return held


def _unchanged(known: dict[str, Any], state: dict[str, int]) -> bool:
    """Whether a remembered entry was taken of the file as it is now (``state``: :func:`_state`)."""
    return {k: known.get(k) for k in state} == state


def prune_conversions(keep: Path) -> tuple[int, int]:
    """Remove the conversions beside ``keep`` that no remembered file holds any more and that are older
    than :data:`GRACE_SECONDS`; how many were removed and their bytes. Only ``<sha256>.safetensors``
    files are conversions (temporaries, another process's among them, are left alone); the index is
    only read, so that no entry another process writes meanwhile is lost."""
    folder = keep.parent
    wanted = {keep.name} | {f"{sha}.safetensors" for sha in _held(_read_index(folder))}
    removed = freed = 0
    for conversion in folder.glob("*.safetensors"):
        if not _CONVERSION.fullmatch(conversion.name) or conversion.name in wanted:
            continue
        try:
            info = conversion.stat()
            if time.time() - info.st_mtime < GRACE_SECONDS:
                continue
            conversion.unlink()
        except OSError:
            continue  # gone already, or not ours to remove: left as it is
        removed, freed = removed + 1, freed + info.st_size
    return removed, freed


def checkpoint_sha256(path: Path) -> str:
    """``path``'s sha256, from the index when the file is as it was when last hashed."""
    folder, key, state = conversion_folder(), str(path.resolve()), _state(path)
    known = _read_index(folder).get(key)
    if isinstance(known, dict) and _unchanged(known, state) and isinstance(known.get("sha256"), str):
        return known["sha256"]
    sha256 = sha256_file(path)
    _remember(folder, key, state, sha256)
    return sha256


@dataclass
class Converted:
    """An authors' checkpoint loaded, and how: ``cache`` is its conversion, ``note`` says what happened to it."""

    loaded: LoadedModel
    cache: Path
    note: str


def load_converted(path: Path, provenance: dict[str, Any]) -> Converted:
    """Load the authors' checkpoint at ``path`` from its conversion, converting (and keeping) it first if need be.

    A conversion that cannot be read is converted again; one that cannot be written (a read-only or
    full cache) is said in the note, and the checkpoint converted in memory is used as it is.
    """
    from relight.io import remove_stale_temporaries
    from relight.model.authors import load_authors_checkpoint
    from relight.model.checkpoint import CheckpointError, LoadedModel, load_checkpoint, save_checkpoint

    cache = conversion_folder() / f"{checkpoint_sha256(path)}.safetensors"
    redo = ""
    if cache.is_file():
        try:
            return Converted(load_checkpoint(cache), cache, f"converted before: {cache}")
        except CheckpointError as exc:
            redo = f" (the earlier conversion was unreadable: {first_line(exc)})"
    model = load_authors_checkpoint(path).eval()
    # Room first: a conversion killed mid-write leaves a 600 MB temporary, and those of checkpoints
    # changed or gone 600 MB each, which a disk with space for one more conversion may need.
    remove_stale_temporaries(cache.parent)
    removed, freed = prune_conversions(cache)
    pruned = f"; removed {removed} earlier conversion{'s' * (removed != 1)} ({freed / 1e6:,.0f} MB) of checkpoints changed or gone" if removed else ""
    try:
        save_checkpoint(model, cache, provenance)
    except (OSError, RelightError) as exc:
        return Converted(LoadedModel(model, provenance), cache, f"converted in memory; not kept: {first_line(exc)}{redo}{pruned}")
    del model  # read back, so that the first run uses the very tensors every later run reads (0.1 s)
    return Converted(load_checkpoint(cache), cache, f"converted once to {cache}{redo}{pruned}")


__all__ = ["FOLDER", "GRACE_SECONDS", "INDEX", "Converted", "checkpoint_sha256", "conversion_folder", "load_converted", "prune_conversions"]
