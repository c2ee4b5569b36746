"""Depth from the photo: a monocular depth model for photos that come without a depth map.

The model (Depth Anything V2 Small by default, Apache-2.0) runs through transformers'
``AutoModelForDepthEstimation`` and ``AutoImageProcessor``, the optional extra ``relight[depth]``. It is
fetched like relight's own weights: a ``[depth_models.NAME]`` entry of ``weights/registry.toml`` (or of
the user's ``registry.json``) names its Hub repository, revision and each file's sha256; the files go
into huggingface_hub's cache, which later runs use without the network, and offline mode
(``HF_HUB_OFFLINE`` or ``RELIGHT_OFFLINE``) uses only. A local folder (as ``save_pretrained`` writes it)
works too. The model's relative inverse depth (disparity) becomes relight's convention, VIDIT's
normalised depth (:func:`relight.io.depth.to_normalised`: near small, far large, in [0, 1]).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from relight.errors import Part, RelightError, action, first_line, listed
from relight.io.depth import to_normalised
from relight.weights.errors import RegistryError, UnknownWeights, WeightsRefused, WeightsUnavailable
from relight.weights.hub import ByteProgress, HubFile, download, offline
from relight.weights.registry import BUILTIN_REGISTRY, NAME, PLACEHOLDER, USER_REGISTRY, read_toml, read_user, sha256_file, user_home

if TYPE_CHECKING:
    import torch

#: The file that makes a folder a transformers model folder (every registry entry lists it).
CONFIG_FILE = "config.json"
#: What a depth model's output is: ``disparity`` (relative inverse depth) or ``metric`` (distances).
OUTPUTS = ("disparity", "metric")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: Model types whose output relight knows how to read: the relative ones give disparity.
_MODEL_TYPES = {"depth_anything": "disparity", "dpt": "disparity", "zoedepth": "metric"}


class MissingDependency(RelightError, ImportError):
    """An optional package relight needs for this (``package``) is not installed."""


class DepthModelUnavailable(WeightsUnavailable):
    """The depth model is known but not on this machine, and cannot be fetched now."""


@dataclass(frozen=True)
class DepthModelEntry:
    """One ``[depth_models.NAME]`` registry entry: a Hub repository at a revision (None: not pinned, the
    branch ``main``), its files with their sha256 (None: not recorded), and what its output is."""

    name: str
    description: str
    repo: str
    revision: str | None
    files: dict[str, str | None]
    output: str = "disparity"
    licence: str | None = None
    origin: str = "built-in"
    size_bytes: int | None = None  # all its files together

    @property
    def pinned(self) -> bool:
        return self.revision is not None and all(self.files.values())

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON data (``kind`` tells it from a relighting model's)."""
        return {"kind": "depth", "name": self.name, "description": self.description, "repo": self.repo, "revision": self.revision,
                "pinned": self.pinned, "files": dict(self.files), "size_bytes": self.size_bytes, "output": self.output,
                "licence": self.licence, "origin": self.origin}


@dataclass(frozen=True)
class DepthModelFiles:
    """A depth model's folder on this machine, what it is called, and what was checked of it."""

    folder: Path
    label: str
    verification: str
    output: str | None = None  # None: read from the folder's config


def _known(value: Any) -> Any:
    return None if value == PLACEHOLDER else value


def _parse_entry(name: str, raw: Any, where: str, origin: str) -> DepthModelEntry:
    if not NAME.fullmatch(name) or not isinstance(raw, dict):
        raise RegistryError(f"{where}: a depth model needs a name of letters, digits, '.', '_', '-' and a table of fields")
    location = raw.get("location") or {}
    if not isinstance(location, dict) or not location.get("hub"):
        raise RegistryError(f"{where}: needs a location table with hub = \"owner/repo\"")
    revision = _known(str(location.get("revision", PLACEHOLDER)))
    if revision is not None and not _COMMIT.fullmatch(revision):
        raise RegistryError(f"{where}: revision must be a full 40-hex commit or {PLACEHOLDER!r} (got {revision!r})")
    hashes = raw.get("sha256") or {}
    if not isinstance(hashes, dict) or CONFIG_FILE not in hashes:
        raise RegistryError(f"{where}: needs a sha256 table naming each file, {CONFIG_FILE} among them")
    files = {str(f): _known(h) for f, h in hashes.items()}
    bad = [f for f, h in files.items() if h is not None and not _SHA256.fullmatch(str(h))]
    if bad:
        raise RegistryError(f"{where}: sha256 of {listed(bad)} must be 64 lower-case hex digits or {PLACEHOLDER!r}")
    output = str(raw.get("output", "disparity"))
    if output not in OUTPUTS:
        raise RegistryError(f"{where}: output must be {' or '.join(OUTPUTS)} (got {output!r})")
    size = _known(raw.get("size_bytes"))
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size <= 0):
        raise RegistryError(f"{where}: size_bytes must be a positive whole number of bytes or {PLACEHOLDER!r} (got {size!r})")
    return DepthModelEntry(name, str(raw.get("description", "")), str(location["hub"]), revision, files, output,
                           _known(raw.get("licence")), origin, size)


def _builtin_tables(path: Path) -> tuple[dict[str, Any], str | None]:
    data = read_toml(path)
    if data is None:
        return {}, None
    return dict(data.get("depth_models", {})), data.get("default_depth_model")


def _user_tables(path: Path) -> dict[str, Any]:
    read_user(path)  # refuses a damaged or foreign registry.json with its own line
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return dict(data.get("depth_models") or {})


@dataclass(frozen=True)
class DepthRegistry:
    """The depth models the shipped registry and the user's know, and the one used when none is named."""

    entries: dict[str, DepthModelEntry]
    default: str | None

    def entry(self, name: str) -> DepthModelEntry:
        if name not in self.entries:
            raise UnknownWeights(f"{name}: not a folder and not a depth model the registry knows (known: "
                                 f"{', '.join(self.entries) or 'none'})", name=name)
        return self.entries[name]


def load_depth_registry(builtin: Path = BUILTIN_REGISTRY, user: Path | None = None) -> DepthRegistry:
    """The ``depth_models`` tables of the shipped registry and the user's (a user entry replaces a shipped one)."""
    user = user or user_home() / USER_REGISTRY
    shipped, default = _builtin_tables(builtin)
    entries = {name: _parse_entry(name, raw, f"{builtin}: depth_models.{name}", "built-in") for name, raw in shipped.items()}
    for name, raw in _user_tables(user).items():
        entries[name] = _parse_entry(name, raw, f"{user}: depth_models.{name}", "user")
    if default is not None and default not in entries:
        raise RegistryError(f"{builtin}: default_depth_model = {default!r} names none of its depth models", path=builtin)
    return DepthRegistry(entries, default)


def _cached(entry: DepthModelEntry) -> dict[str, Path] | None:
    """The entry's files in the Hugging Face cache, without the network, or None if one is missing."""
    from huggingface_hub import try_to_load_from_cache

    found = {f: try_to_load_from_cache(entry.repo, f, revision=entry.revision or "main") for f in entry.files}
    return {f: Path(p) for f, p in found.items()} if all(isinstance(p, str) for p in found.values()) else None


def depth_model_status(entry: DepthModelEntry) -> tuple[str, Path | None]:
    """``ready`` and its folder when all of ``entry``'s files are in the Hugging Face cache (no network
    asked), else ``not downloaded``."""
    paths = _cached(entry)
    return ("ready", paths[CONFIG_FILE].parent) if paths is not None else ("not downloaded", None)


def _fetch_action(name: str) -> Part:
    return action("download", f"call relight.depth_estimation.fetch_depth_model({name!r})", name=name)


def _give_depth() -> Part:
    return action("give-depth", "pass a depth map")


def _unavailable(entry: DepthModelEntry, why: str | None) -> DepthModelUnavailable:
    """Not in the cache, and offline (``why`` says how) or not to be fetched here (``why`` None)."""
    from huggingface_hub import constants

    cache = Path(constants.HF_HUB_CACHE)
    return DepthModelUnavailable(
        cache, f"{entry.name}: the depth model is not in the Hugging Face cache ({cache})", f" and {why}: " if why else ": ",
        _fetch_action(entry.name), " once online, or " if why else " once, or ", _give_depth(), name=entry.name,
    )


def _download(entry: DepthModelEntry, progress: ByteProgress | None) -> dict[str, Path]:
    """Every file of ``entry`` from the Hub, all of one commit (the first file's, when not pinned)."""
    paths: dict[str, Path] = {}
    revision = entry.revision or "main"
    for filename in entry.files:
        try:
            paths[filename] = download(HubFile(entry.repo, filename, revision), progress=progress, name=entry.name)
        except WeightsUnavailable:  # huggingface_hub found itself offline
            raise _unavailable(entry, "offline mode is on") from None
        if entry.revision is None and _COMMIT.fullmatch(paths[filename].parent.name):
            revision = paths[filename].parent.name
    return paths


def _verify(entry: DepthModelEntry, paths: dict[str, Path]) -> str:
    """Check each file with a recorded sha256; what was checked, in a few words."""
    for filename, expected in entry.files.items():
        if expected is None:
            continue
        actual = sha256_file(paths[filename])
        if actual != expected:
            raise WeightsRefused(f"{entry.name}: sha256 mismatch: {paths[filename]} is {actual}, the registry expects {expected}; "
                                 "refusing to load it (nothing was deleted)", path=paths[filename])
    checked = sum(h is not None for h in entry.files.values())
    if entry.pinned:
        return f"sha256 verified ({checked} files)"
    return f"not pinned: revision {entry.revision or 'main'}, sha256 verified for {checked} of {len(entry.files)} files"


def locate_depth_model(spec: str | os.PathLike[str] | None = None, *, fetch: bool = True, progress: ByteProgress | None = None,
                       registry: DepthRegistry | None = None) -> DepthModelFiles:
    """The folder of the depth model ``spec`` names: a registry name (None: the default), from the
    Hugging Face cache or downloaded (when ``fetch`` and not offline) and verified; or a local folder."""
    if spec is not None and (not isinstance(spec, str) or os.sep in spec or "/" in spec or Path(spec).exists()):
        folder = Path(spec).expanduser()
        if not folder.exists():
            raise WeightsUnavailable(folder, f"{folder}: no such depth model folder")
        if not (folder / CONFIG_FILE).is_file():
            raise WeightsRefused(f"{folder}: not a depth model folder (no {CONFIG_FILE})", path=folder)
        return DepthModelFiles(folder, str(folder), "a local folder: nothing to check it against")
    registry = registry or load_depth_registry()
    name = spec or registry.default
    if name is None:
        raise RegistryError("the registry names no default depth model", path=BUILTIN_REGISTRY)
    entry = registry.entry(name)
    paths = _cached(entry)
    if paths is None:
        if offline():
            raise _unavailable(entry, "offline mode is on (RELIGHT_OFFLINE or HF_HUB_OFFLINE)")
        if not fetch:
            raise _unavailable(entry, None)
        paths = _download(entry, progress)
    return DepthModelFiles(paths[CONFIG_FILE].parent, entry.name, _verify(entry, paths), entry.output)


def fetch_depth_model(name: str | None = None, *, progress: ByteProgress | None = None) -> DepthModelFiles:
    """Download a registered depth model into the Hugging Face cache (or find it there) and verify it."""
    return locate_depth_model(name, progress=progress)


def _transformers(load: bool = True) -> Any:
    """transformers, imported (``load``) or only looked for (its import takes seconds)."""
    try:
        if not load:
            if importlib.util.find_spec("transformers") is None:
                raise ImportError("transformers")
            return None
        import transformers
    except ImportError:
        raise MissingDependency(
            "depth estimation needs the optional package transformers: install relight[depth] "
            "(pip install 'relight[depth]'), or ", _give_depth(), package="transformers",
        ) from None
    return transformers


def _output_kind(config: Any, files: DepthModelFiles) -> str:
    """What the model in ``files`` outputs: the registry says, else its config (relative ones: disparity)."""
    if files.output is not None:
        return files.output
    kind = _MODEL_TYPES.get(getattr(config, "model_type", ""))
    if kind is None:
        raise WeightsRefused(f"{files.folder}: a {getattr(config, 'model_type', 'unknown')} model; relight reads the "
                             f"output of {', '.join(sorted(_MODEL_TYPES))} depth models", path=files.folder)
    return "metric" if getattr(config, "depth_estimation_type", "relative") == "metric" else kind


class DepthEstimator:
    """A monocular depth model in memory: a photo in, depth in relight's convention out, at the photo's size.

    Calls are serialised (batch decodes in several threads; one model forward at a time is enough).
    """

    def __init__(self, model: Any, processor: Any, output: str, files: DepthModelFiles, device: torch.device) -> None:
        self.model, self.processor, self.output, self.files, self.device = model, processor, output, files, device
        self._lock = threading.Lock()

    @classmethod
    def load(cls, spec: str | os.PathLike[str] | None = None, *, device: str | None = None, fetch: bool = True,
             progress: ByteProgress | None = None) -> DepthEstimator:
        """Find (:func:`locate_depth_model`) and load a depth model onto ``device`` (default: the best there is)."""
        from relight.inference import select_device

        _transformers(load=False)  # before a download that could not be used
        files = locate_depth_model(spec, fetch=fetch, progress=progress)
        transformers = _transformers()
        place = select_device(device)
        logging, bars = transformers.utils.logging, transformers.utils.logging.is_progress_bar_enabled()
        verbosity = logging.get_verbosity()
        logging.set_verbosity_error()  # its loading report and bars would bury relight's one line
        logging.disable_progress_bar()
        try:
            model = transformers.AutoModelForDepthEstimation.from_pretrained(files.folder, local_files_only=True)
            processor = transformers.AutoImageProcessor.from_pretrained(files.folder, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise WeightsRefused(f"{files.label}: transformers cannot load it ({first_line(exc)})", path=files.folder) from None
        finally:
            logging.set_verbosity(verbosity)
            if bars:
                logging.enable_progress_bar()
        return cls(model.to(place).eval(), processor, _output_kind(model.config, files), files, place)

    @property
    def label(self) -> str:
        return self.files.label

    def raw(self, rgb: np.ndarray) -> np.ndarray:
        """The model's own output (disparity or distances) for ``rgb`` (``H x W x 3`` in [0, 1]), at its size."""
        import torch

        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise RelightError(f"rgb must be an H x W x 3 array, not one of shape {tuple(rgb.shape)}")
        pixels = np.round(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)
        with self._lock, torch.inference_mode():
            inputs = self.processor(images=pixels, return_tensors="pt")
            predicted = self.model(pixel_values=inputs["pixel_values"].to(self.device)).predicted_depth
            full = torch.nn.functional.interpolate(predicted[:, None].float(), size=rgb.shape[:2], mode="bilinear", align_corners=False)
        return full[0, 0].cpu().numpy().astype(np.float64)

    def estimate(self, rgb: np.ndarray) -> np.ndarray:
        """Depth for ``rgb`` in relight's convention (VIDIT's normalised depth), ``H x W`` float32."""
        try:
            return to_normalised(self.raw(rgb), self.output).depth
        except RelightError as exc:
            raise RelightError(f"{self.label}: its estimate cannot be used: ", *exc.parts) from None

    __call__ = estimate


@functools.lru_cache(maxsize=1)
def _shared(spec: str | None, device: str | None) -> DepthEstimator:
    return DepthEstimator.load(spec, device=device)


def estimate_depth(rgb: np.ndarray, model: str | None = None, device: str | None = None) -> np.ndarray:
    """Depth for ``rgb`` (``H x W x 3`` in [0, 1]) in relight's convention, from the depth model
    ``model`` (a registry name or folder; None: the default), loaded once and kept for later calls."""
    return _shared(None if model is None else str(model), device).estimate(rgb)


def unavailable_estimator(error: RelightError) -> Any:
    """A stand-in for a :class:`DepthEstimator` that cannot be had: each call raises ``error`` (so a
    batch reports every image without depth with the reason, and does the others)."""

    def estimate(rgb: np.ndarray) -> np.ndarray:
        raise error

    return estimate


__all__ = [
    "DepthEstimator",
    "DepthModelEntry",
    "DepthModelFiles",
    "DepthModelUnavailable",
    "DepthRegistry",
    "MissingDependency",
    "depth_model_status",
    "estimate_depth",
    "fetch_depth_model",
    "load_depth_registry",
    "locate_depth_model",
    "offline",
    "unavailable_estimator",
]
