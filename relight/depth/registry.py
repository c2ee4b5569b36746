"""The depth models relight knows, and their files: registry entries, the Hugging Face cache, downloads.

A ``[depth_models.NAME]`` entry of ``weights/registry.toml`` (or of the user's ``registry.json``) names a
model's Hub repository, revision and each file's sha256; the files go into huggingface_hub's cache, which
later runs use without the network, and offline mode (``HF_HUB_OFFLINE`` or ``RELIGHT_OFFLINE``) uses
only. A local folder (as ``save_pretrained`` writes it) works too.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relight.errors import Part, action, listed, shown
from relight.weights.errors import HubError, RegistryError, UnknownWeights, WeightsRefused, WeightsUnavailable
from relight.weights.hub import ByteProgress, HubFile, download, offline
from relight.weights.registry import (BUILTIN_REGISTRY, NAME, PLACEHOLDER, REPO_ID, USER_REGISTRY, read_toml, read_user, sha256_file,
                                     user_home)

#: The file that makes a folder a transformers model folder (every registry entry lists it).
CONFIG_FILE = "config.json"
#: What a depth model's output is: ``disparity`` (relative inverse depth) or ``metric`` (distances).
OUTPUTS = ("disparity", "metric")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


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
    if not isinstance(location["hub"], str) or not REPO_ID.fullmatch(location["hub"]):
        raise RegistryError(f"{where}: hub repository {shown(repr(location['hub']))} is not owner/name as the Hub allows it")
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
    tables = data.get("depth_models") or {}
    if not isinstance(tables, dict):
        raise RegistryError(f"{path}: depth_models must be a table of depth models", path=path)
    return tables


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
    return action("download", f"call relight.depth.fetch_depth_model({name!r})", name=name)


def give_depth() -> Part:
    return action("give-depth", "pass a depth map")


def _unavailable(entry: DepthModelEntry, why: str | None) -> DepthModelUnavailable:
    """Not in the cache, and offline (``why`` says how) or not to be fetched here (``why`` None)."""
    from huggingface_hub import constants

    cache = Path(constants.HF_HUB_CACHE)
    return DepthModelUnavailable(
        cache, f"{entry.name}: the depth model is not in the Hugging Face cache ({cache})", f" and {why}: " if why else ": ",
        _fetch_action(entry.name), " once online, or " if why else " once, or ", give_depth(), name=entry.name,
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
        except HubError as exc:
            if not exc.facts.get("unreachable"):
                raise
            raise _unavailable(entry, f"the Hub cannot be reached ({exc.facts['reason']})") from None
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


__all__ = [
    "CONFIG_FILE", "OUTPUTS", "DepthModelEntry", "DepthModelFiles", "DepthModelUnavailable", "DepthRegistry", "depth_model_status",
    "fetch_depth_model", "give_depth", "load_depth_registry", "locate_depth_model",
]
