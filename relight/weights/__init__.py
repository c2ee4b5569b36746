"""Finding and loading weights: what ``weights`` (``--weights`` on the command line) accepts, in one place.

* :mod:`~relight.weights.registry`: the registry of known models, as data (``weights/registry.toml``
  shipped with relight, which also names the default model, and the user's ``registry.json``);
* :mod:`~relight.weights.hub`: ``hf://`` addresses and Hugging Face Hub downloads;
* :mod:`~relight.weights.load`: from a name, path or address to a checked file and a loaded model;
* :mod:`~relight.weights.importer`: the authors' ``weight.pkl`` converted once and registered by name;
* :mod:`~relight.weights.errors`: the exception types.

Importing this package loads neither torch nor huggingface_hub.
"""

from __future__ import annotations

from relight.weights.errors import (
    HubError,
    InvalidWeightsSetting,
    RegistryError,
    UnknownWeights,
    WeightsError,
    WeightsRefused,
    WeightsUnavailable,
)
from relight.weights.hub import ByteProgress, HubFile, OlderHubAddress, download, parse_hf_spec, read_hf_address
from relight.weights.importer import import_authors_checkpoint
from relight.weights.load import (
    AUTHORS_ILLUMINATION,
    AUTHORS_SUFFIXES,
    WEIGHTS_SUFFIXES,
    default_weights,
    describe_verification,
    load_located,
    load_weights,
    locate_weights,
    resolve_weights,
)
from relight.weights.registry import (
    BUILTIN_REGISTRY,
    PLACEHOLDER,
    USER_REGISTRY,
    USER_REGISTRY_FORMAT,
    Availability,
    FileLocation,
    HubLocation,
    Location,
    ModelEntry,
    PageLocation,
    Registry,
    availability,
    load_registry,
    sha256_file,
    shipped_default,
    user_home,
)

__all__ = [
    "AUTHORS_ILLUMINATION",
    "AUTHORS_SUFFIXES",
    "BUILTIN_REGISTRY",
    "DEFAULT_MODEL",
    "PLACEHOLDER",
    "USER_REGISTRY",
    "USER_REGISTRY_FORMAT",
    "WEIGHTS_SUFFIXES",
    "Availability",
    "ByteProgress",
    "FileLocation",
    "HubError",
    "HubFile",
    "HubLocation",
    "InvalidWeightsSetting",
    "Location",
    "ModelEntry",
    "OlderHubAddress",
    "PageLocation",
    "Registry",
    "RegistryError",
    "UnknownWeights",
    "WeightsError",
    "WeightsRefused",
    "WeightsUnavailable",
    "availability",
    "default_weights",
    "describe_verification",
    "download",
    "import_authors_checkpoint",
    "load_registry",
    "load_located",
    "load_weights",
    "locate_weights",
    "parse_hf_spec",
    "read_hf_address",
    "resolve_weights",
    "sha256_file",
    "shipped_default",
    "user_home",
]


def __getattr__(name: str) -> object:
    # DEFAULT_MODEL is data (registry.toml's ``default``), read when first asked for.
    if name == "DEFAULT_MODEL":
        return shipped_default()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
