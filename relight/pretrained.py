"""Pretrained ImageNet weights (ResNet encoders, VGG-19 for the loss, AlexNet for LPIPS) from the torch cache.

relight never downloads them: they are read from where torchvision would have put them, so a cache
filled by any torchvision program works as it is, and an absent file is one line saying where it goes.
"""

from __future__ import annotations

from pathlib import Path

import torch

from relight.errors import MissingWeightsError, Part, first_line

__all__ = ["MissingWeightsError", "load_cached_state_dict", "missing_cached", "torch_cache_file"]


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
    cache (following ``TORCH_HOME`` / :func:`torch.hub.set_dir`), and its URL.

    A file named in ``preferred`` that is in the cache's ``checkpoints`` folder comes first (with its
    URL on download.pytorch.org), so a cache filled by an older torchvision release serves as it is.
    """
    import torch.hub
    from torchvision.models import get_weight

    url = get_weight(weights_name).url
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    for name in preferred:
        if (folder / name).is_file():
            return folder / name, url.rsplit("/", 1)[0] + "/" + name
    return folder / Path(url).name, url


def load_cached_state_dict(
    weights_name: str, what: str, alternative: tuple[Part, ...] = (), error: type[MissingWeightsError] = MissingWeightsError,
    preferred: tuple[str, ...] = (),
) -> dict[str, torch.Tensor]:
    """Read torchvision weights (or a ``preferred`` file, see :func:`torch_cache_file`) from the torch
    cache with ``weights_only=True``; never downloads."""
    path, url = torch_cache_file(weights_name, preferred)
    if not path.is_file():
        raise missing_cached(path, url, "not found", what, alternative, error)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure to read is a broken download
        raise missing_cached(path, url, f"unreadable ({first_line(exc)})", what, alternative, error) from None
    if not isinstance(state, dict):
        raise missing_cached(path, url, f"are a {type(state).__name__}, not a state dict", what, alternative, error)
    return state
