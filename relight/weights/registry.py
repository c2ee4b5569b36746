"""The registry of known models, as data: ``weights/registry.toml`` ships with relight (its header
documents the fields, and its top-level ``default`` names the model used when none is given) and the
user's ``registry.json`` in :func:`user_home` adds the models imported there.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from relight.errors import Action, Part, RelightError, action, first_line, listed, shown
from relight.model.config import MBNetConfig
from relight.paths import shipped
from relight.weights.errors import RegistryError, UnknownWeights
from relight.weights.hub import HubFile

#: The registry shipped with relight; ``file`` locations in it are relative to its folder.
BUILTIN_REGISTRY = shipped("weights") / "registry.toml"
USER_REGISTRY = "registry.json"
USER_REGISTRY_FORMAT = "relight-registry/1"
#: Marks a registry value nobody has measured yet; read as "unknown".
PLACEHOLDER = "PLACEHOLDER"

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
#: A Hub repository id as the Hub allows it: ``owner/name``, each letters, digits, ``-``, ``_`` and ``.``,
#: neither starting nor ending with ``-`` or ``.``, without ``--`` or ``..``, at most 96 characters.
_REPO_PART = r"(?!.*(?:--|\.\.))[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
REPO_ID = re.compile(rf"^{_REPO_PART}/{_REPO_PART}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def user_home() -> Path:
    """Where relight keeps the user's registry and imported models: ``$RELIGHT_HOME``, else the XDG cache."""
    if os.environ.get("RELIGHT_HOME"):
        return Path(os.environ["RELIGHT_HOME"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "relight"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in chunks so a 600 MB checkpoint does not sit in memory twice."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def list_weights_action() -> Action:
    """The suggestion to look at the registry's names (``relight weights list`` on the command line)."""
    return action("list-weights", "relight.weights.load_registry()")


@dataclass(frozen=True)
class FileLocation:
    """A file on this machine: shipped with relight, or made by ``import_authors_checkpoint``."""

    path: Path
    kind: ClassVar[str] = "file"

    def describe(self) -> str:
        return str(self.path)

    def short(self) -> str:
        """A few words for a table column; :meth:`describe` has the full address."""
        home = Path.home()
        return f"~/{self.path.relative_to(home)}" if self.path.is_relative_to(home) else str(self.path)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": str(self.path)}


@dataclass(frozen=True)
class HubLocation:
    """A file on the Hugging Face Hub, pinned to one commit."""

    hub: HubFile
    kind: ClassVar[str] = "hub"

    def describe(self) -> str:
        return self.hub.spec

    def short(self) -> str:
        return f"hf://{self.hub.repo}"

    def to_dict(self) -> dict[str, Any]:
        hub = self.hub
        return {"kind": self.kind, **{f.name: getattr(hub, f.name) for f in fields(hub)}, "spec": hub.spec}


@dataclass(frozen=True)
class PageLocation:
    """A file published on a page relight cannot fetch from: the user downloads it and imports it."""

    page: str
    filename: str
    download_url: str | None = None
    kind: ClassVar[str] = "page"

    def describe(self) -> str:
        return f"not on the Hub: {self.filename} from {self.page}"

    def short(self) -> str:
        return f"{self.filename}, not on the Hub"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **{f.name: getattr(self, f.name) for f in fields(self)}}


#: Where a registry entry's file is.
Location = FileLocation | HubLocation | PageLocation


def _config_json(config: MBNetConfig) -> dict[str, Any]:
    return {"variant": config.describe(), "architecture": json.loads(config.to_json())}


#: How a :class:`ModelEntry` field that is not JSON as it is goes into :meth:`ModelEntry.to_dict`.
_JSON: dict[str, Callable[[Any], dict[str, Any]]] = {
    "config": _config_json,
    "location": lambda location: {"location": location.to_dict()},
    "placeholders": lambda names: {"placeholders": list(names)},
    "trained_at": lambda size: {"trained_at": None if size is None else list(size)},
}


@dataclass(frozen=True, kw_only=True)
class ModelEntry:
    """One registry entry, parsed and checked; ``origin`` says which registry file(s) it came from."""

    name: str
    description: str
    config: MBNetConfig
    source: str
    target: str
    location: Location
    sha256: str | None = None
    size_bytes: int | None = None
    licence: str | None = None
    training_data: str | None = None
    trained_with: str | None = None
    #: (height, width) of its training images, for the scale it runs at (:mod:`relight.inference.scale`).
    trained_at: tuple[int, int] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    metrics_note: str | None = None
    imported_from: dict[str, Any] | None = None
    origin: str
    placeholders: tuple[str, ...] = ()

    @property
    def illumination(self) -> str:
        """The light it applies: its pair ``6500-N->4500-E`` (one-to-one), or ``any-to-any`` for a model
        that takes the target light as an input (``config.conditioning``)."""
        return "any-to-any" if self.config.any_to_any else f"{self.source}->{self.target}"

    @property
    def mapping(self) -> str:
        """``one-to-one`` or ``any-to-any``."""
        return "any-to-any" if self.config.any_to_any else "one-to-one"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, for ``--json`` output: every field, in order (see :data:`_JSON`)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out.update(_JSON[f.name](value) if f.name in _JSON else {f.name: value})
        return out


@dataclass(frozen=True)
class Availability:
    """Whether an entry's file can be loaded right now, without touching the network."""

    status: str  # "ready", "missing", "not downloaded" or "import needed"
    path: Path | None = None

    @property
    def ready(self) -> bool:
        return self.status == "ready"


class Registry(Mapping[str, ModelEntry]):
    """The shipped registry merged with the user's; a read-only mapping from name to :class:`ModelEntry`.

    ``default`` is the model the shipped registry names for use when none is given (None if it names none).
    """

    def __init__(self, entries: dict[str, ModelEntry], builtin_path: Path, user_path: Path, default: str | None = None) -> None:
        self._entries = entries
        self.builtin_path = builtin_path
        self.user_path = user_path
        self.default = default

    def __getitem__(self, name: str) -> ModelEntry:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, name: str) -> ModelEntry:
        """The entry called ``name``, or a one-line error listing the names there are."""
        if name not in self._entries:
            raise UnknownWeights(
                f"{name}: not a weights file and not a registry name (known: {', '.join(self) or 'none'}; see ",
                list_weights_action(), ")", name=name,
            )
        return self._entries[name]


def _known(value: Any) -> Any:
    return None if value == PLACEHOLDER else value


def _parse_location(raw: Any, base: Path, where: str) -> Location:
    if not isinstance(raw, dict):
        raise RegistryError(f"{where}: needs a location table (file, hub or page)")
    kinds = [k for k in ("file", "hub", "page") if k in raw]
    if len(kinds) != 1:
        raise RegistryError(f"{where}: location needs exactly one of file, hub or page (got {', '.join(kinds) or 'none'})")
    kind = kinds[0]
    texts = [key for key in (kind, "filename", "revision", "download_url") if key in raw and not isinstance(raw[key], str)]
    if texts:
        raise RegistryError(f"{where}: location {texts[0]} must be text (got {type(raw[texts[0]]).__name__} {shown(repr(raw[texts[0]]))})")
    if kind == "file":
        path = Path(raw["file"]).expanduser()
        return FileLocation(path if path.is_absolute() else base / path)
    if not raw.get("filename"):
        raise RegistryError(f"{where}: a {kind} location needs a filename")
    if kind == "hub":
        revision = str(raw.get("revision", ""))
        if not _COMMIT.fullmatch(revision):
            raise RegistryError(f"{where}: hub revision must be pinned to a full 40-hex commit (got {shown(repr(revision))})")
        if not REPO_ID.fullmatch(raw["hub"]):
            raise RegistryError(f"{where}: hub repository {shown(repr(raw['hub']))} is not owner/name as the Hub allows it")
        return HubLocation(HubFile(raw["hub"], raw["filename"], revision))
    return PageLocation(str(raw["page"]), str(raw["filename"]), raw.get("download_url"))


def _parse_entry(name: str, raw: dict[str, Any], location: Location, origin: str, where: str) -> ModelEntry:
    if not NAME.fullmatch(name):
        raise RegistryError(f"{where}: bad model name {name!r} (use letters, digits, '.', '_' and '-')")
    try:
        config = MBNetConfig.from_dict(dict(raw.get("architecture") or {}))
    except (TypeError, ValueError) as exc:
        raise RegistryError(f"{where}: bad architecture ({exc})") from None
    sha256 = _known(raw.get("sha256"))
    if sha256 is not None and not _SHA256.fullmatch(str(sha256)):
        raise RegistryError(f"{where}: sha256 must be 64 lower-case hex digits (got {sha256!r})")
    if isinstance(location, HubLocation) and sha256 is None:
        raise RegistryError(f"{where}: a hub entry needs the sha256 of its file, so downloads can be verified")
    size = _known(raw.get("size_bytes"))
    if size is not None and (not isinstance(size, int) or size < 0):
        raise RegistryError(f"{where}: size_bytes must be a whole number (got {size!r})")
    trained_at = _known(raw.get("trained_at"))
    if trained_at is not None and not (isinstance(trained_at, list) and len(trained_at) == 2
                                       and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in trained_at)):
        raise RegistryError(f"{where}: trained_at must be [height, width] in pixels (got {trained_at!r})")
    metrics = dict(raw.get("metrics") or {})
    placeholders = [k for k, v in raw.items() if v == PLACEHOLDER]
    placeholders += [f"metrics.{k}" for k, v in metrics.items() if v == PLACEHOLDER]
    return ModelEntry(
        name=name,
        description=str(raw.get("description", "")),
        config=config,
        source=str(_known(raw.get("source")) or "?"),
        target=str(_known(raw.get("target")) or "?"),
        location=location,
        origin=origin,
        sha256=sha256,
        size_bytes=size,
        licence=_known(raw.get("licence")),
        training_data=_known(raw.get("training_data")),
        trained_with=_known(raw.get("trained_with")),
        trained_at=None if trained_at is None else (trained_at[0], trained_at[1]),
        metrics={k: v for k, v in metrics.items() if v != PLACEHOLDER},
        metrics_note=_known(raw.get("metrics_note")),
        imported_from=raw.get("imported_from"),
        placeholders=tuple(placeholders),
    )


def read_toml(path: Path) -> dict[str, Any] | None:
    """The tables of a TOML registry file, None when it is absent; :class:`RegistryError` when it is not TOML."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return None
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{path}: not valid TOML ({exc})", path=path) from None


def read_builtin(path: Path) -> tuple[dict[str, dict[str, Any]], str | None]:
    """The models of a shipped-style registry file and the default it names (None when it names none)."""
    data = read_toml(path)
    if data is None:
        return {}, None
    models, default = dict(data.get("models", {})), data.get("default")
    if default is not None and (not isinstance(default, str) or default not in models):
        raise RegistryError(f"{path}: default = {default!r} names none of its models", path=path)
    return models, default


@functools.cache
def shipped_default() -> str | None:
    """The default model named by the registry shipped with relight."""
    return read_builtin(BUILTIN_REGISTRY)[1]


def read_user(path: Path) -> dict[str, dict[str, Any]]:
    """The models of the user's ``registry.json`` (none when it does not exist)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise RegistryError(f"{path}: not valid JSON ({exc}); fix it or delete it to start afresh", path=path) from None
    except RecursionError:
        raise RegistryError(f"{path}: not a relight registry (nested deeper than JSON is read); fix it or delete it to start afresh",
                            path=path) from None
    if not isinstance(data, dict) or data.get("format") != USER_REGISTRY_FORMAT or not isinstance(data.get("models"), dict):
        raise RegistryError(f"{path}: not a relight registry (expected format {USER_REGISTRY_FORMAT!r})", path=path)
    return data["models"]


def load_registry(builtin: Path = BUILTIN_REGISTRY, user: Path | None = None) -> Registry:
    """The shipped registry with the user's merged over it (a user entry completes or replaces a shipped one)."""
    user = user or user_home() / USER_REGISTRY
    (shipped_models, default), mine = read_builtin(builtin), read_user(user)
    entries: dict[str, ModelEntry] = {}
    for name in [*shipped_models, *(n for n in mine if n not in shipped_models)]:
        for path, table in ((builtin, shipped_models), (user, mine)):
            if not isinstance(table.get(name, {}), dict):
                raise RegistryError(f"{path}: models.{name} must be a table of fields", path=path)
        raw = {**shipped_models.get(name, {}), **mine.get(name, {})}
        from_user = name in mine and "location" in mine[name]
        where = f"{user if name in mine else builtin}: models.{name}"
        location = _parse_location(
            mine[name]["location"] if from_user else raw.get("location"), user.parent if from_user else builtin.parent, where
        )
        origin = "user" if name not in shipped_models else ("built-in + user" if name in mine else "built-in")
        try:
            entries[name] = _parse_entry(name, raw, location, origin, where)
        except RelightError:
            raise
        except (TypeError, ValueError, AttributeError) as exc:  # a field of the wrong type, which no check above names
            raise RegistryError(f"{where}: a field of the wrong type ({shown(first_line(exc))})", path=user if name in mine else builtin) from None
    return Registry(entries, builtin, user, default)


def availability(entry: ModelEntry) -> Availability:
    """Is the entry's file here (shipped, imported or in the Hugging Face cache)? Never uses the network."""
    loc = entry.location
    if isinstance(loc, FileLocation):
        return Availability("ready", loc.path) if loc.path.is_file() else Availability("missing", loc.path)
    if isinstance(loc, HubLocation):
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(loc.hub.repo, loc.hub.filename, revision=loc.hub.revision)
        return Availability("ready", Path(cached)) if isinstance(cached, str) else Availability("not downloaded")
    return Availability("import needed")


def any_to_any_models() -> tuple[Part, ...]:
    """Message parts naming the registered any-to-any models (and how to use one), or that there is none."""
    try:
        names = [name for name, entry in load_registry().items() if entry.config.any_to_any]
    except RelightError:
        names = []
    if not names:
        return ("; no any-to-any model is registered (see ", list_weights_action(), ")")
    use = action("pass-weights", f"use Relighter.from_weights({names[0]!r})", what=names[0])
    return (f"; any-to-any models: {listed(names)} (", use, ")")
