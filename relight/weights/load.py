"""From anything ``weights`` accepts to a checked file and a loaded model.

``weights`` takes a registry name, a path to our ``.safetensors``, a path to the authors'
``.pkl``/``.pth`` (converted once into relight's cache, :mod:`relight.weights.converted`) or an
``hf://`` address; every file with a recorded sha256 is checked before it is loaded.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from relight.errors import Action, Part, RelightError, action
from relight.model.provenance import AUTHORS_TRAINED_AT, TRAINED_AT
from relight.weights.errors import WeightsRefused, WeightsUnavailable
from relight.weights.hub import ByteProgress, OlderHubAddress, download, offline, read_hf_address
from relight.weights.registry import (
    FileLocation,
    HubLocation,
    ModelEntry,
    PageLocation,
    Registry,
    availability,
    list_weights_action,
    load_registry,
    sha256_file,
)

if TYPE_CHECKING:  # loading models needs torch; finding files does not
    from relight.lighting import Illumination
    from relight.model.checkpoint import LoadedModel

AUTHORS_SUFFIXES = (".pkl", ".pth", ".pt")
WEIGHTS_SUFFIXES = (".safetensors", *AUTHORS_SUFFIXES)
#: The illumination of the authors' checkpoint: NTIRE 2021 track 1 maps 6500 K from N to 4500 K from E.
AUTHORS_ILLUMINATION = ("6500-N", "4500-E")
#: Told one-line notes (an ``hf://`` address in the older form); without one they are Python warnings.
Warn = Callable[[str], None]


def _pass_path() -> Action:
    return action("pass-weights", "pass a weights file's path instead", what="PATH")


def _tell(note: str | None, warn: Warn | None) -> None:
    if note is None:
        return
    if warn is not None:
        warn(note)
    else:
        warnings.warn(note, OlderHubAddress, stacklevel=4)


def _verify(path: Path, entry: ModelEntry | None, label: str, *, hash_it: bool) -> None:
    if entry is None:
        return
    if entry.size_bytes is not None and path.stat().st_size != entry.size_bytes:
        raise WeightsRefused(
            f"{label}: {path} has {path.stat().st_size} bytes but the registry says {entry.size_bytes}; "
            "refusing to load it (nothing was deleted)", path=path,
        )
    if hash_it and entry.sha256 is not None:
        actual = sha256_file(path)
        if actual != entry.sha256:
            raise WeightsRefused(
                f"{label}: sha256 mismatch: {path} is {actual}, the registry expects {entry.sha256}; "
                "refusing to load it (nothing was deleted)", path=path,
            )


def _hashed(entry: ModelEntry) -> bool:
    """Whether loading ``entry`` hashes its file: downloads and shipped files are; models relight
    imported itself (into its own cache) are checked by size only."""
    return isinstance(entry.location, HubLocation) or entry.imported_from is None


def describe_verification(entry: ModelEntry | None) -> str:
    """What :func:`locate_weights` checked of the file it returned for ``entry``, in a few words."""
    if entry is None:
        return "not in the registry: nothing to check it against"
    if entry.sha256 is not None and _hashed(entry):
        return "sha256 verified"
    if entry.size_bytes is not None:
        return "size checked" + ("" if entry.sha256 is None else " (imported by relight: not hashed on each load)")
    return "no sha256 or size recorded to check"


def unavailable(entry: ModelEntry) -> WeightsUnavailable | None:
    """Why ``entry`` cannot be loaded here without the network, and how to get it; None when it can (its
    file is here, or it is on the Hub, which a load downloads from)."""
    loc = entry.location
    if isinstance(loc, PageLocation):
        url = loc.download_url or loc.page
        python = f"call relight.weights.import_authors_checkpoint({loc.filename!r}, {entry.name!r}) on it"
        return WeightsUnavailable(
            None, f"{entry.name}: relight cannot download it: get {loc.filename} from {url} (published at {loc.page}), then ",
            action("import", python, file=loc.filename, name=entry.name), name=entry.name,
        )
    if isinstance(loc, FileLocation) and not loc.path.is_file():
        return WeightsUnavailable(
            loc.path, f"{entry.name}: not available here: {loc.path} does not exist (", _pass_path(),
            ", or pick another name from ", list_weights_action(), ")", name=entry.name,
        )
    if isinstance(loc, HubLocation) and offline() and not availability(entry).ready:
        fetch = action("download", f"call relight.weights.resolve_weights({entry.name!r})", name=entry.name)
        return WeightsUnavailable(None, f"{entry.name}: not downloaded ({loc.hub.spec}) and downloads are off: ", fetch,
                                  " once online", name=entry.name)
    return None


def _resolve_entry(entry: ModelEntry, progress: ByteProgress | None) -> Path:
    missing = unavailable(entry)
    if missing is not None:
        raise missing
    loc = entry.location
    path = download(loc.hub, progress=progress, name=entry.name) if isinstance(loc, HubLocation) else loc.path  # type: ignore[union-attr]
    _verify(path, entry, entry.name, hash_it=_hashed(entry))
    return path


def locate_weights(
    spec: str | os.PathLike[str], *, registry: Registry | None = None, progress: ByteProgress | None = None,
    warn: Warn | None = None,
) -> tuple[Path, ModelEntry | None]:
    """Like :func:`resolve_weights`, also returning the registry entry the file was checked against.

    A ``weights`` value names a Hub file (``hf://``; checked against its entry if registered), a
    registry entry, or a path. ``warn`` is told a note about the value (an ``hf://`` address in
    relight's older form); without it the note is a :class:`~relight.weights.hub.OlderHubAddress` warning.
    """
    if isinstance(spec, str) and spec.startswith("hf://"):
        hub, note = read_hf_address(spec)
        _tell(note, warn)
        entries = (registry or load_registry()).values()
        entry = next((e for e in entries if isinstance(e.location, HubLocation) and e.location.hub == hub), None)
        path = download(hub, progress=progress)
        _verify(path, entry, hub.spec, hash_it=True)
        return path, entry
    path = Path(spec).expanduser() if isinstance(spec, str) else Path(spec)
    if _registry_name(spec, path):
        entry = (registry or load_registry()).entry(str(spec))
        return _resolve_entry(entry, progress), entry
    if not path.exists():
        raise WeightsUnavailable(path, f"{spec}: no such weights file")
    if not path.is_file():
        raise WeightsRefused(f"{spec}: not a file (a weights file is a .safetensors or the authors' .pkl/.pth)", path=path)
    return path, None


def _registry_name(spec: str | os.PathLike[str], path: Path) -> bool:
    """Whether a ``weights`` value that is no ``hf://`` address names a registry entry rather than a file."""
    return isinstance(spec, str) and not (path.exists() or path.suffix.lower() in WEIGHTS_SUFFIXES or os.sep in spec or "/" in spec)


def recorded_illumination(spec: str | os.PathLike[str], *, registry: Registry | None = None) -> Illumination | None:
    """What the weights ``spec`` do to the light, read without loading them, so that a light they cannot give
    is refused before anything slow: a one-to-one registry entry's pair, a relight checkpoint's header, the
    authors' pair for their checkpoint. None where only loading tells, and loading checks again: an
    ``hf://`` address, an ONNX file, an any-to-any registry entry (its lights are in its file), a file
    that is not there or not readable (loading says why)."""
    from relight.errors import RelightError
    from relight.lighting import Illumination
    from relight.model.checkpoint import read_checkpoint_metadata

    if isinstance(spec, str) and spec.startswith("hf://"):
        return None
    path = Path(spec).expanduser() if isinstance(spec, str) else Path(spec)
    if _registry_name(spec, path):
        entry = (registry or load_registry()).entry(str(spec))
        return None if entry.config.any_to_any else Illumination.recorded(False, {"source": entry.source, "target": entry.target})
    if not path.is_file():
        return None
    if path.suffix.lower() in AUTHORS_SUFFIXES:
        source, target = AUTHORS_ILLUMINATION
        return Illumination.recorded(False, {"source": source, "target": target})
    if path.suffix.lower() != ".safetensors":
        return None
    try:
        config, provenance = read_checkpoint_metadata(path)
    except RelightError:
        return None
    return Illumination.recorded(config.any_to_any, provenance)


def resolve_weights(
    spec: str | os.PathLike[str], *, registry: Registry | None = None, progress: ByteProgress | None = None,
    warn: Warn | None = None,
) -> Path:
    """The local file a ``weights`` value names, downloaded and verified first if it is on the Hub."""
    return locate_weights(spec, registry=registry, progress=progress, warn=warn)[0]


def load_weights(
    spec: str | os.PathLike[str], *, registry: Registry | None = None, progress: ByteProgress | None = None,
    warn: Warn | None = None,
) -> LoadedModel:
    """Load a model from anything ``weights`` accepts (see :func:`resolve_weights`)."""
    path, entry = locate_weights(spec, registry=registry, progress=progress, warn=warn)
    return load_located(spec, path, entry)


def load_located(spec: str | os.PathLike[str], path: Path, entry: ModelEntry | None) -> LoadedModel:
    """Load what :func:`locate_weights` found for ``spec``: the file at ``path``, checked against ``entry``."""
    from relight.model.checkpoint import load_checkpoint
    from relight.weights.converted import load_converted

    if path.suffix.lower() in AUTHORS_SUFFIXES:
        source, target = AUTHORS_ILLUMINATION
        provenance = {"source": source, "target": target, "origin": "authors' checkpoint, converted once into relight's cache",
                      TRAINED_AT: list(AUTHORS_TRAINED_AT)}
        try:
            converted = load_converted(path, provenance)
        except RelightError as exc:
            raise WeightsRefused(*naming(path, exc), path=path) from None
        loaded = converted.loaded
        loaded.file, loaded.sha256 = path, converted.cache.stem  # the conversion is named by the sha256 of the authors' file
        loaded.provenance.setdefault(TRAINED_AT, list(AUTHORS_TRAINED_AT))  # a conversion kept by an older relight lacks it
        loaded.source = located_source(spec, path, entry, f"{path} ({converted.note})")
    else:
        loaded = load_checkpoint(path)
        loaded.source = located_source(spec, path, entry)
    if entry is not None:
        if loaded.config != entry.config:
            raise WeightsRefused(
                f"{entry.name}: {path} holds {loaded.config.describe()} but the registry says {entry.config.describe()}",
                path=path,
            )
        if entry.sha256 is not None and _hashed(entry):  # checked above: no need to hash it again
            loaded.sha256 = entry.sha256
        if entry.trained_at is not None:  # the checkpoint's own record wins (older ones have none)
            loaded.provenance.setdefault(TRAINED_AT, list(entry.trained_at))
    return loaded


def located_source(spec: str | os.PathLike[str], path: Path, entry: ModelEntry | None, plain: str | None = None) -> str:
    """How a model loaded from ``spec`` names where it came from: the registry name or ``hf://`` address
    and its file, else ``plain`` (default: the path)."""
    if entry is not None:
        return f"{entry.name} ({path})"
    if isinstance(spec, str) and spec.startswith("hf://"):
        return f"{spec} ({path})"
    return str(path) if plain is None else plain


def located_sha256(path: Path, entry: ModelEntry | None) -> str:
    """The sha256 that names the weights at ``path`` (their conversion, their ONNX exports): the registry's
    where loading verifies it, else the file's, remembered while the file is unchanged
    (:func:`relight.weights.converted.checkpoint_sha256`)."""
    from relight.weights.converted import checkpoint_sha256

    if entry is not None and entry.sha256 is not None and _hashed(entry):
        return entry.sha256
    return checkpoint_sha256(path)


def naming(path: Path, exc: RelightError) -> tuple[Part, ...]:
    """``exc``'s parts, prefixed with the file unless its message already names it."""
    return exc.parts if str(path) in str(exc) else (f"{path}: ", *exc.parts)


def default_weights(registry: Registry | None = None) -> str:
    """The registry name to use when no ``weights`` is given, whatever the light: the registry's ``default``
    (as shipped, an any-to-any model), if its file is here.

    The one place the command line, the page and its API decide it.
    """
    registry = registry or load_registry()
    name = registry.default
    if name is not None and name in registry:
        entry = registry[name]
        found = availability(entry)
        if found.ready:
            return name
        head = f"no model given and the default model {name} is not available ({entry.location.describe()}: {found.status}): "
        where = found.path
    else:
        head, where = f"no model given and {registry.builtin_path} names no default model: ", registry.builtin_path
    choose = action(
        "pass-weights", "pass weights (a registry name, a path or an hf:// address)", what="NAME, PATH or hf://owner/repo@revision/file"
    )
    raise WeightsUnavailable(where, head, choose, " (see ", list_weights_action(), ")")
