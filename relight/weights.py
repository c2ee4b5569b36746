"""Finding and loading weights: what ``--weights`` accepts, in one place.

``--weights`` takes a registry name, a path to our ``.safetensors``, a path to the authors'
``.pkl``/``.pth`` (converted on the fly) or ``hf://owner/repo/file[@revision]``. The registry is data:
``weights/registry.toml`` ships with relight (its header documents the fields) and the user's
``registry.json`` in :func:`user_home` adds what ``relight weights import`` made. Hub downloads go
through ``huggingface_hub``, so its cache, ``HF_HOME``, ``HF_ENDPOINT``, ``HF_HUB_OFFLINE`` and tokens
all apply, and every file with a recorded sha256 is checked before it is loaded.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import importlib.metadata
import json
import logging
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relight.errors import RelightError, first_line
from relight.io import write_text
from relight.model.config import MBNetConfig
from relight.paths import shipped

if TYPE_CHECKING:  # loading and importing models need torch; listing and downloading do not
    from relight.model.checkpoint import LoadedModel

AUTHORS_SUFFIXES = (".pkl", ".pth", ".pt")
WEIGHTS_SUFFIXES = (".safetensors", *AUTHORS_SUFFIXES)
#: The model ``--weights`` falls back to once it ships (see :func:`default_weights`).
DEFAULT_MODEL = "relight-synth-narrow"
#: The registry shipped with relight; ``file`` locations in it are relative to its folder.
BUILTIN_REGISTRY = shipped("weights") / "registry.toml"
USER_REGISTRY = "registry.json"
USER_REGISTRY_FORMAT = "relight-registry/1"
#: Marks a registry value nobody has measured yet; read as "unknown".
PLACEHOLDER = "PLACEHOLDER"
#: The illumination of the authors' checkpoint: NTIRE 2021 track 1 maps 6500 K from N to 4500 K from E.
AUTHORS_ILLUMINATION = ("6500-N", "4500-E")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

#: ``report(bytes_done, total_bytes_or_None)``, called as a download progresses.
ByteProgress = Callable[[int, "int | None"], None]


class WeightsError(RelightError):
    """Weights that cannot be found, fetched, verified or loaded."""


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


@dataclass(frozen=True)
class HubFile:
    """One file of a Hugging Face Hub model repository at one revision."""

    repo: str
    filename: str
    revision: str = "main"

    @property
    def spec(self) -> str:
        return f"hf://{self.repo}/{self.filename}@{self.revision}"


def parse_hf_spec(spec: str) -> HubFile:
    """``hf://owner/repo/path/to/file[@revision]`` -> :class:`HubFile` (revision defaults to ``main``)."""
    body = spec.removeprefix("hf://")
    body, at, revision = body.rpartition("@") if "@" in body else (body, "", "")
    parts = body.split("/")
    if len(parts) < 3 or not all(parts) or (at and not revision):
        raise WeightsError(f"{spec}: expected hf://owner/repo/file[@revision], e.g. hf://me/mbnet/model.safetensors@main")
    return HubFile("/".join(parts[:2]), "/".join(parts[2:]), revision or "main")


@dataclass(frozen=True)
class Location:
    """Where a registry entry's file is: a local ``file``, a pinned ``hub`` file, or a ``page`` to fetch by hand."""

    kind: str
    path: Path | None = None
    hub: HubFile | None = None
    page: str | None = None
    filename: str | None = None
    download_url: str | None = None

    def describe(self) -> str:
        if self.kind == "file":
            return str(self.path)
        if self.kind == "hub":
            return self.hub.spec  # type: ignore[union-attr]
        return f"not on the Hub: {self.filename} from {self.page}"

    def short(self) -> str:
        """A few words for a table column; :meth:`describe` has the full address."""
        if self.kind == "file":
            home = Path.home()
            return f"~/{self.path.relative_to(home)}" if self.path.is_relative_to(home) else str(self.path)  # type: ignore[union-attr]
        if self.kind == "hub":
            return f"hf://{self.hub.repo}"  # type: ignore[union-attr]
        return f"{self.filename}, not on the Hub"


@dataclass(frozen=True)
class ModelEntry:
    """One registry entry, parsed and checked; ``origin`` says which registry file(s) it came from."""

    name: str
    description: str
    config: MBNetConfig
    source: str
    target: str
    location: Location
    origin: str
    sha256: str | None = None
    size_bytes: int | None = None
    licence: str | None = None
    training_data: str | None = None
    trained_with: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    metrics_note: str | None = None
    imported_from: dict[str, Any] | None = None
    placeholders: tuple[str, ...] = ()

    @property
    def illumination(self) -> str:
        return f"{self.source}->{self.target}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, for ``--json`` output."""
        loc = self.location
        where: dict[str, Any] = {"kind": loc.kind}
        if loc.kind == "file":
            where["path"] = str(loc.path)
        elif loc.kind == "hub":
            where.update(repo=loc.hub.repo, filename=loc.hub.filename, revision=loc.hub.revision, spec=loc.hub.spec)  # type: ignore[union-attr]
        else:
            where.update(page=loc.page, filename=loc.filename, download_url=loc.download_url)
        return {
            "name": self.name,
            "description": self.description,
            "variant": self.config.describe(),
            "architecture": json.loads(self.config.to_json()),
            "source": self.source,
            "target": self.target,
            "location": where,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "licence": self.licence,
            "training_data": self.training_data,
            "trained_with": self.trained_with,
            "metrics": self.metrics,
            "metrics_note": self.metrics_note,
            "imported_from": self.imported_from,
            "origin": self.origin,
            "placeholders": list(self.placeholders),
        }


@dataclass(frozen=True)
class Availability:
    """Whether an entry's file can be loaded right now, without touching the network."""

    status: str  # "ready", "missing", "not downloaded" or "import needed"
    path: Path | None = None

    @property
    def ready(self) -> bool:
        return self.status == "ready"


class Registry(Mapping[str, ModelEntry]):
    """The shipped registry merged with the user's; a read-only mapping from name to :class:`ModelEntry`."""

    def __init__(self, entries: dict[str, ModelEntry], builtin_path: Path, user_path: Path) -> None:
        self._entries = entries
        self.builtin_path = builtin_path
        self.user_path = user_path

    def __getitem__(self, name: str) -> ModelEntry:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, name: str) -> ModelEntry:
        """The entry called ``name``, or a one-line error listing the names there are."""
        if name not in self._entries:
            raise WeightsError(
                f"{name}: not a weights file and not a registry name (known: {', '.join(self) or 'none'}; "
                "see `relight weights list`)"
            )
        return self._entries[name]


def _known(value: Any) -> Any:
    return None if value == PLACEHOLDER else value


def _parse_location(raw: Any, base: Path, where: str) -> Location:
    if not isinstance(raw, dict):
        raise WeightsError(f"{where}: needs a location table (file, hub or page)")
    kinds = [k for k in ("file", "hub", "page") if k in raw]
    if len(kinds) != 1:
        raise WeightsError(f"{where}: location needs exactly one of file, hub or page (got {', '.join(kinds) or 'none'})")
    kind = kinds[0]
    if kind == "file":
        path = Path(raw["file"]).expanduser()
        return Location("file", path=path if path.is_absolute() else base / path)
    if not raw.get("filename"):
        raise WeightsError(f"{where}: a {kind} location needs a filename")
    if kind == "hub":
        revision = str(raw.get("revision", ""))
        if not _COMMIT.fullmatch(revision):
            raise WeightsError(f"{where}: hub revision must be pinned to a full 40-hex commit (got {revision!r})")
        return Location("hub", hub=HubFile(str(raw["hub"]), str(raw["filename"]), revision))
    return Location("page", page=str(raw["page"]), filename=str(raw["filename"]), download_url=raw.get("download_url"))


def _parse_entry(name: str, raw: dict[str, Any], location: Location, origin: str, where: str) -> ModelEntry:
    if not _NAME.fullmatch(name):
        raise WeightsError(f"{where}: bad model name {name!r} (use letters, digits, '.', '_' and '-')")
    try:
        config = MBNetConfig.from_dict(dict(raw.get("architecture") or {}))
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{where}: bad architecture ({exc})") from None
    sha256 = _known(raw.get("sha256"))
    if sha256 is not None and not _SHA256.fullmatch(str(sha256)):
        raise WeightsError(f"{where}: sha256 must be 64 lower-case hex digits (got {sha256!r})")
    if location.kind == "hub" and sha256 is None:
        raise WeightsError(f"{where}: a hub entry needs the sha256 of its file, so downloads can be verified")
    size = _known(raw.get("size_bytes"))
    if size is not None and (not isinstance(size, int) or size < 0):
        raise WeightsError(f"{where}: size_bytes must be a whole number (got {size!r})")
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
        metrics={k: v for k, v in metrics.items() if v != PLACEHOLDER},
        metrics_note=_known(raw.get("metrics_note")),
        imported_from=raw.get("imported_from"),
        placeholders=tuple(placeholders),
    )


def _read_builtin(path: Path) -> dict[str, dict[str, Any]]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise WeightsError(f"{path}: not valid TOML ({exc})") from None
    return dict(data.get("models", {}))


def _read_user(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{path}: not valid JSON ({exc}); fix it or delete it to start afresh") from None
    if not isinstance(data, dict) or data.get("format") != USER_REGISTRY_FORMAT or not isinstance(data.get("models"), dict):
        raise WeightsError(f"{path}: not a relight registry (expected format {USER_REGISTRY_FORMAT!r})")
    return data["models"]


def load_registry(builtin: Path = BUILTIN_REGISTRY, user: Path | None = None) -> Registry:
    """The shipped registry with the user's merged over it (a user entry completes or replaces a shipped one)."""
    user = user or user_home() / USER_REGISTRY
    shipped, mine = _read_builtin(builtin), _read_user(user)
    entries: dict[str, ModelEntry] = {}
    for name in [*shipped, *(n for n in mine if n not in shipped)]:
        for path, table in ((builtin, shipped), (user, mine)):
            if not isinstance(table.get(name, {}), dict):
                raise WeightsError(f"{path}: models.{name} must be a table of fields")
        raw = {**shipped.get(name, {}), **mine.get(name, {})}
        from_user = name in mine and "location" in mine[name]
        where = f"{user if name in mine else builtin}: models.{name}"
        location = _parse_location(
            mine[name]["location"] if from_user else raw.get("location"), user.parent if from_user else builtin.parent, where
        )
        origin = "user" if name not in shipped else ("built-in + user" if name in mine else "built-in")
        entries[name] = _parse_entry(name, raw, location, origin, where)
    return Registry(entries, builtin, user)


def availability(entry: ModelEntry) -> Availability:
    """Is the entry's file here (shipped, imported or in the Hugging Face cache)? Never uses the network."""
    loc = entry.location
    if loc.kind == "file":
        return Availability("ready", loc.path) if loc.path.is_file() else Availability("missing", loc.path)  # type: ignore[union-attr]
    if loc.kind == "hub":
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(loc.hub.repo, loc.hub.filename, revision=loc.hub.revision)  # type: ignore[union-attr]
        return Availability("ready", Path(cached)) if isinstance(cached, str) else Availability("not downloaded")
    return Availability("import needed")


def _progress_class(report: ByteProgress) -> type:
    class _Bar:
        """Just enough of tqdm's interface for huggingface_hub to report bytes to ``report``."""

        def __init__(self, *args: Any, total: int | None = None, initial: int = 0, **kwargs: Any) -> None:
            self.total, self.n = total, initial
            report(self.n, self.total)

        def update(self, n: int = 1) -> None:
            self.n += n
            report(self.n, self.total)

        def close(self) -> None:
            pass

        def __enter__(self) -> "_Bar":
            return self

        def __exit__(self, *exc: object) -> None:
            self.close()

    return _Bar


def _installed_version() -> str | None:
    """relight's version for the Hub's user agent, from the installed metadata (None in a bare source tree)."""
    try:
        return importlib.metadata.version("relight")
    except importlib.metadata.PackageNotFoundError:
        return None


def download(hub: HubFile, *, progress: ByteProgress | None = None, name: str | None = None) -> Path:
    """Fetch one Hub file into the Hugging Face cache (or find it there); Hub failures become one line.

    ``name`` is what the user called it (a registry name), for the hints in the messages.
    """
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import (
        FileMetadataError,
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    label, endpoint = (f"{name} ({hub.spec})" if name else hub.spec), constants.ENDPOINT
    # Every failure below becomes one line, so the library's retry warnings would only repeat it.
    hub_logger = logging.getLogger("huggingface_hub")
    level = hub_logger.level
    hub_logger.setLevel(logging.ERROR)
    try:
        return Path(
            hf_hub_download(
                hub.repo,
                hub.filename,
                revision=hub.revision,
                library_name="relight",
                library_version=_installed_version(),
                tqdm_class=_progress_class(progress) if progress else None,
            )
        )
    except LocalEntryNotFoundError as exc:
        cause = exc.__cause__
        if constants.is_offline_mode() or isinstance(cause, OfflineModeIsEnabled):
            raise WeightsError(
                f"{label}: not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and HF_HUB_OFFLINE is set: "
                f"run `relight weights download {name or hub.spec}` once with HF_HUB_OFFLINE unset, or pass --weights PATH"
            ) from None
        if isinstance(cause, HfHubHTTPError) and cause.response is not None:
            raise WeightsError(
                f"{label}: the Hub at {endpoint} answered HTTP {cause.response.status_code} and there is no cached "
                "copy; try again later"
            ) from None
        if isinstance(cause, FileMetadataError):
            raise WeightsError(f"{label}: {endpoint} does not answer like a Hugging Face Hub; check HF_ENDPOINT") from None
        raise WeightsError(
            f"{label}: cannot reach {endpoint} and there is no cached copy; check the connection, proxy or "
            "HF_ENDPOINT (HF_HUB_OFFLINE=1 uses the cache only)"
        ) from None
    except GatedRepoError:
        raise WeightsError(f"{label}: {hub.repo} is gated: accept its terms on the Hub, then log in (`hf auth login` or HF_TOKEN)") from None
    except RepositoryNotFoundError:
        raise WeightsError(f"{label}: no repository {hub.repo} on {endpoint} (or it is private: log in with `hf auth login` or set HF_TOKEN)") from None
    except RevisionNotFoundError:
        raise WeightsError(f"{label}: {hub.repo} has no revision {hub.revision!r}") from None
    except RemoteEntryNotFoundError:
        raise WeightsError(f"{label}: {hub.repo} has no file {hub.filename!r} at revision {hub.revision}") from None
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "error"
        raise WeightsError(f"{label}: download failed: {endpoint} answered HTTP {status}; try again later") from None
    except (OSError, ValueError) as exc:  # disk full, truncated transfer, a repo id the Hub would refuse
        raise WeightsError(f"{label}: download failed ({first_line(exc)})") from None
    finally:
        hub_logger.setLevel(level)


def _verify(path: Path, entry: ModelEntry | None, label: str, *, hash_it: bool) -> None:
    if entry is None:
        return
    if entry.size_bytes is not None and path.stat().st_size != entry.size_bytes:
        raise WeightsError(
            f"{label}: {path} has {path.stat().st_size} bytes but the registry says {entry.size_bytes}; "
            "refusing to load it (nothing was deleted)"
        )
    if hash_it and entry.sha256 is not None:
        actual = sha256_file(path)
        if actual != entry.sha256:
            raise WeightsError(
                f"{label}: sha256 mismatch: {path} is {actual}, the registry expects {entry.sha256}; "
                "refusing to load it (nothing was deleted)"
            )


def _hashed(entry: ModelEntry) -> bool:
    """Whether loading ``entry`` hashes its file: downloads and shipped files are; models relight
    imported itself (into its own cache) are checked by size only."""
    return entry.location.kind == "hub" or entry.imported_from is None


def describe_verification(entry: ModelEntry | None) -> str:
    """What :func:`locate_weights` checked of the file it returned for ``entry``, in a few words."""
    if entry is None:
        return "not in the registry: nothing to check it against"
    if entry.sha256 is not None and _hashed(entry):
        return "sha256 verified"
    if entry.size_bytes is not None:
        return "size checked" + ("" if entry.sha256 is None else " (imported by relight: not hashed on each load)")
    return "no sha256 or size recorded to check"


def _resolve_entry(entry: ModelEntry, progress: ByteProgress | None) -> Path:
    loc = entry.location
    if loc.kind == "page":
        url = loc.download_url or loc.page
        raise WeightsError(
            f"{entry.name}: relight cannot download it: get {loc.filename} from {url} (published at {loc.page}), "
            f"then run `relight weights import {loc.filename} --name {entry.name}`"
        )
    if loc.kind == "hub":
        path = download(loc.hub, progress=progress, name=entry.name)  # type: ignore[arg-type]
        _verify(path, entry, entry.name, hash_it=_hashed(entry))
        return path
    path = loc.path
    if not path.is_file():  # type: ignore[union-attr]
        raise WeightsError(
            f"{entry.name}: not available here: {path} does not exist "
            "(pass --weights PATH, or pick another name from `relight weights list`)"
        )
    _verify(path, entry, entry.name, hash_it=_hashed(entry))  # type: ignore[arg-type]
    return path  # type: ignore[return-value]


def locate_weights(
    spec: str | os.PathLike[str], *, registry: Registry | None = None, progress: ByteProgress | None = None
) -> tuple[Path, ModelEntry | None]:
    """Like :func:`resolve_weights`, also returning the registry entry the file was checked against.

    A ``--weights`` value names a Hub file (``hf://``; checked against its entry if registered), a
    registry entry, or a path.
    """
    if isinstance(spec, str) and spec.startswith("hf://"):
        hub = parse_hf_spec(spec)
        entry = next((e for e in (registry or load_registry()).values() if e.location.hub == hub), None)
        path = download(hub, progress=progress)
        _verify(path, entry, hub.spec, hash_it=True)
        return path, entry
    path = Path(spec).expanduser() if isinstance(spec, str) else Path(spec)
    if isinstance(spec, str) and not (
        path.exists() or path.suffix.lower() in WEIGHTS_SUFFIXES or os.sep in spec or "/" in spec
    ):  # a registry name
        entry = (registry or load_registry()).entry(spec)
        return _resolve_entry(entry, progress), entry
    if not path.exists():
        raise WeightsError(f"{spec}: no such weights file")
    if not path.is_file():
        raise WeightsError(f"{spec}: not a file (a weights file is a .safetensors or the authors' .pkl/.pth)")
    return path, None


def resolve_weights(
    spec: str | os.PathLike[str], *, registry: Registry | None = None, progress: ByteProgress | None = None
) -> Path:
    """The local file a ``--weights`` value names, downloaded and verified first if it is on the Hub."""
    return locate_weights(spec, registry=registry, progress=progress)[0]


def load_weights(
    spec: str | os.PathLike[str], *, registry: Registry | None = None, progress: ByteProgress | None = None
) -> LoadedModel:
    """Load a model from anything ``--weights`` accepts (see :func:`resolve_weights`)."""
    from relight.model.authors import load_authors_checkpoint
    from relight.model.checkpoint import LoadedModel, load_checkpoint

    path, entry = locate_weights(spec, registry=registry, progress=progress)
    if path.suffix.lower() in AUTHORS_SUFFIXES:
        try:
            model = load_authors_checkpoint(path).eval()
        except RelightError as exc:
            raise WeightsError(_naming(path, exc)) from None
        source, target = AUTHORS_ILLUMINATION
        provenance = {"source": source, "target": target, "origin": "authors' checkpoint (converted on the fly)"}
        loaded = LoadedModel(model, provenance, str(path))
    else:
        loaded = load_checkpoint(path)
    if entry is not None:
        if loaded.config != entry.config:
            raise WeightsError(
                f"{entry.name}: {path} holds {loaded.config.describe()} but the registry says {entry.config.describe()}"
            )
        loaded.source = f"{entry.name} ({path})"
    elif isinstance(spec, str) and spec.startswith("hf://"):
        loaded.source = f"{spec} ({path})"
    return loaded


def _naming(path: Path, exc: Exception) -> str:
    """``exc``'s one line, prefixed with the file unless it already names it."""
    return str(exc) if str(path) in str(exc) else f"{path}: {exc}"


def default_weights(registry: Registry | None = None) -> str:
    """The registry name to use when no ``--weights`` is given: :data:`DEFAULT_MODEL`, if its file is here."""
    registry = registry or load_registry()
    if DEFAULT_MODEL in registry:
        entry = registry[DEFAULT_MODEL]
        found = availability(entry)
        if found.ready:
            return DEFAULT_MODEL
        why = f"{entry.location.describe()}: {found.status}"
    else:
        why = f"not in {registry.builtin_path}"
    raise WeightsError(
        f"no model given and the default model {DEFAULT_MODEL} is not available ({why}): "
        "pass --weights NAME, PATH or hf://owner/repo/file (see `relight weights list`)"
    )


def _write_user_registry(path: Path, models: dict[str, dict[str, Any]]) -> None:
    text = json.dumps({"format": USER_REGISTRY_FORMAT, "models": models}, indent=2, sort_keys=True) + "\n"
    write_text(path, text)


def import_authors_checkpoint(
    checkpoint: str | os.PathLike[str],
    name: str,
    *,
    force: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> ModelEntry:
    """Convert the authors' ``weight.pkl`` into our fp32 safetensors in :func:`user_home` and register it as ``name``.

    Converting once saves the key mapping on every later load, and the registry entry makes ``--weights
    NAME`` work. ``force`` replaces an earlier import of the same name.
    """
    import torch

    from relight.model.authors import model_from_authors_state, read_authors_checkpoint
    from relight.model.checkpoint import save_checkpoint

    step = on_step or (lambda _: None)
    src = Path(checkpoint).expanduser()
    if not _NAME.fullmatch(name):
        raise WeightsError(f"--name {name!r}: use letters, digits, '.', '_' and '-' (it must not look like a path)")
    if not src.is_file():
        raise WeightsError(f"{src}: no such file" if not src.exists() else f"{src}: not a file")
    registry = load_registry()
    shipped = _read_builtin(registry.builtin_path).get(name)
    user_models = _read_user(registry.user_path)
    if shipped is not None and "page" not in (shipped.get("location") or {}):
        raise WeightsError(f"--name {name}: that is a model shipped with relight; choose another name")
    if name in user_models and not force:
        raise WeightsError(f"--name {name}: already imported ({registry.user_path}); add --force to replace it")

    step(f"reading {src.name}")
    try:
        state = read_authors_checkpoint(src)
        step("converting")
        model = model_from_authors_state(state)
    except RelightError as exc:
        raise WeightsError(_naming(src, exc)) from None
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
