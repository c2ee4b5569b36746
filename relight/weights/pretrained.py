"""Pretrained ImageNet weights (ResNet encoders, VGG-19 for the loss, AlexNet for LPIPS), kept where torchvision keeps them.

They live in the torch cache (``TORCH_HOME`` / :func:`torch.hub.set_dir`), so a cache filled by any
torchvision program works as it is. A file not there is fetched on first use, as torchvision does: with
``torch.hub.download_url_to_file``, whose hash check compares the file's sha256 with the prefix its name
carries (``vgg19-dcbb9e9d.pth``), from the base URL the registry data names (``[pretrained]`` in
``weights/registry.toml``; the user's ``registry.json`` may name another, a mirror). Offline
(``RELIGHT_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``) nothing is fetched: an absent file is one line saying
where it goes.
"""

from __future__ import annotations

import json
import re
import threading
import tomllib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relight.errors import InvalidSetting, MissingWeightsError, Part, Setting, first_line

if TYPE_CHECKING:
    import torch

    from relight.weights.hub import ByteProgress

__all__ = [
    "MissingWeightsError", "base_url", "fetch_pretrained", "imagenet_state", "load_cached_state_dict", "missing_cached",
    "reporting_downloads", "torch_cache_file",
]

#: Where torchvision's weights are published, if the registry data names no other place.
TORCHVISION_BASE_URL = "https://download.pytorch.org/models/"
#: torchvision's file names end in the first hex digits of the file's sha256: ``name-<prefix>.pth``.
_HASH_PREFIX = re.compile(r"-([0-9a-f]{6,64})\.pth?$")
#: Given a label (``vgg19-dcbb9e9d.pth``), a context that is told the bytes of that download as they come.
DownloadReporter = Callable[[str], AbstractContextManager["ByteProgress"]]
_reporter: list[DownloadReporter] = []
_fetching = threading.Lock()


@contextmanager
def reporting_downloads(reporter: DownloadReporter) -> Iterator[None]:
    """Inside the block, every pretrained download reports its bytes through ``reporter`` (the command
    line draws a progress bar); without one, downloads are silent."""
    _reporter.append(reporter)
    try:
        yield
    finally:
        _reporter.remove(reporter)


def base_url() -> str:
    """The URL the pretrained files are fetched from: the user registry's ``pretrained.base_url``, else
    the shipped registry's, else torchvision's own; always ending in ``/``."""
    from relight.weights.registry import BUILTIN_REGISTRY, USER_REGISTRY, user_home

    url: Any = None
    try:
        user = json.loads((user_home() / USER_REGISTRY).read_text(encoding="utf-8"))
        url = user.get("pretrained", {}).get("base_url") if isinstance(user, dict) else None
    except (OSError, ValueError, AttributeError):
        pass  # no user registry (or one the weights commands will refuse, in their own words)
    if not url:
        try:
            with BUILTIN_REGISTRY.open("rb") as fh:
                url = tomllib.load(fh).get("pretrained", {}).get("base_url")
        except (OSError, tomllib.TOMLDecodeError):
            url = None
    url = str(url or TORCHVISION_BASE_URL)
    return url if url.endswith("/") else url + "/"


def missing_cached(
    path: Path, url: str, problem: str, what: str, alternative: tuple[Part, ...] = (),
    error: type[MissingWeightsError] = MissingWeightsError,
) -> MissingWeightsError:
    """The one-line error for torch-cache weights that are absent or unusable: where the file goes, its URL,
    and ``alternative`` (a way to do without them, as message parts) when there is one."""
    tail = (", ", *alternative) if alternative else ()
    text = f"{path}: {what} {problem}; download {url} to that path (or point TORCH_HOME at a cache that holds it)"
    return error(path, text, *tail, url=url, problem=problem)


def torch_cache_file(weights_name: str, preferred: tuple[str, ...] = ()) -> tuple[Path, str]:
    """Where torchvision's ``weights_name`` (e.g. ``"VGG19_Weights.IMAGENET1K_V1"``) sits in the torch
    cache (following ``TORCH_HOME`` / :func:`torch.hub.set_dir`), and the URL it is fetched from
    (:func:`base_url` and its file name).

    A file named in ``preferred`` that is in the cache's ``checkpoints`` folder comes first, so a cache
    filled by an older torchvision release serves as it is.
    """
    import torch.hub
    from torchvision.models import get_weight

    name = Path(get_weight(weights_name).url).name
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    for older in preferred:
        if (folder / older).is_file():
            return folder / older, base_url() + older
    return folder / name, base_url() + name


def fetch_pretrained(
    path: Path, url: str, what: str, alternative: tuple[Part, ...] = (), error: type[MissingWeightsError] = MissingWeightsError,
) -> Path:
    """``path`` in the torch cache, fetched from ``url`` first when it is not there (and downloads are on).

    The download goes through ``torch.hub.download_url_to_file``: into a temporary file beside ``path``,
    checked against the sha256 prefix in the file's name, then renamed; a failed check leaves nothing.
    """
    from relight.weights.hub import offline

    with _fetching:  # two threads asking for one file fetch it once
        if path.is_file():
            return path
        if offline():
            raise missing_cached(path, url, "not found", what, alternative, error)
        prefix = _HASH_PREFIX.search(path.name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _download(url, path, prefix[1] if prefix else None)
        except RuntimeError as exc:  # torch.hub's hash check
            raise missing_cached(path, url, f"not found, and the download failed its check ({first_line(exc)})", what,
                                 alternative, error) from None
        except OSError as exc:  # unreachable, HTTP errors, a full disk
            raise missing_cached(path, url, f"not found, and fetching it failed ({first_line(exc)})", what, alternative,
                                 error) from None
    return path


def _download(url: str, path: Path, hash_prefix: str | None) -> None:
    """torch.hub's download; its byte counter (tqdm's interface) reports to the reporter, if there is one."""
    import torch.hub

    if not _reporter:
        torch.hub.download_url_to_file(url, str(path), hash_prefix=hash_prefix, progress=False)
        return
    from relight.weights.hub import _progress_class

    with _reporter[-1](path.name) as report:
        counter = torch.hub.tqdm
        torch.hub.tqdm = _progress_class(report)  # torch.hub reads its tqdm from its module: its bytes come here
        try:
            torch.hub.download_url_to_file(url, str(path), hash_prefix=hash_prefix, progress=True)
        finally:
            torch.hub.tqdm = counter


def load_cached_state_dict(
    weights_name: str, what: str, alternative: tuple[Part, ...] = (), error: type[MissingWeightsError] = MissingWeightsError,
    preferred: tuple[str, ...] = (),
) -> dict[str, torch.Tensor]:
    """Read torchvision weights (or a ``preferred`` file, see :func:`torch_cache_file`) from the torch
    cache with ``weights_only=True``, fetched there first if need be (:func:`fetch_pretrained`)."""
    import torch

    path, url = torch_cache_file(weights_name, preferred)
    fetch_pretrained(path, url, what, alternative, error)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to read is a broken download
        raise missing_cached(path, url, f"unreadable ({first_line(exc)})", what, alternative, error) from None
    if not isinstance(state, dict):
        raise missing_cached(path, url, f"are a {type(state).__name__}, not a state dict", what, alternative, error)
    return state


def imagenet_state(backbone: str) -> dict[str, torch.Tensor]:
    """torchvision's ImageNet weights for ``backbone`` from the user's torch cache (fetched there on first
    use), without the classifier, for :meth:`relight.model.MBNet.init_from_imagenet`. Offline, a missing
    file is a clear error that says where torchvision looks and how to place the file there.
    """
    from relight.model.backbone import BACKBONE_SPECS

    spec = BACKBONE_SPECS[backbone]
    if spec.torchvision_weights is None:
        setting = Setting("backbone", backbone, owner="MBNetConfig", shown=repr(backbone))
        raise InvalidSetting(setting, f"backbone {backbone!r} has no ImageNet weights; train it from scratch")
    without = ("or train without ImageNet initialisation (", Setting("imagenet", False, owner="TrainConfig"), ")")
    state = load_cached_state_dict(
        spec.torchvision_weights, f"ImageNet weights for {backbone}", without, preferred=spec.preferred_files,
    )
    return {k: v for k, v in state.items() if not k.startswith("fc.")}
