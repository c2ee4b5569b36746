"""The weights code's exception types: one base, :class:`WeightsError`, and a subclass per kind of problem,
each also the builtin a Python caller would catch (``LookupError`` for an unknown name, ...).
"""

from __future__ import annotations

from relight.errors import InvalidSetting, MissingWeightsError, RelightError


class WeightsError(RelightError):
    """Weights that cannot be found, fetched, verified or loaded."""


class UnknownWeights(WeightsError, LookupError):
    """No such model: not a registry name, or the Hub has no such repository, revision or file."""


class WeightsUnavailable(WeightsError, MissingWeightsError):
    """The model is known but its file is not on this machine (and cannot be fetched now): ``path``."""


class WeightsRefused(WeightsError, ValueError):
    """A weights file that is there but is not what it should be (checksum, size, architecture, format)."""


class RegistryError(WeightsError, ValueError):
    """A registry file (shipped ``registry.toml`` or the user's ``registry.json``) that is malformed."""


class HubError(WeightsError, ConnectionError):
    """The Hugging Face Hub could not be reached, refused access, or failed the download."""


class InvalidWeightsSetting(WeightsError, InvalidSetting):
    """A weights setting whose value cannot be used: a malformed ``hf://`` address, a bad import name."""
