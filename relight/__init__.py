"""relight: depth-guided image relighting with MBNet.

The public API: :class:`~relight.inference.Relighter` to run a model, :class:`~relight.model.MBNet`
and :class:`~relight.model.MBNetConfig` for the network, :mod:`relight.io` for files. They are imported
when first asked for, so that ``import relight`` (and the command line's start, ``relight --help``)
does not load torch.
"""

from __future__ import annotations

import importlib

from relight.errors import RelightError

__version__ = "0.1.0"

_LAZY = {"Relighter": "relight.inference", "MBNet": "relight.model", "MBNetConfig": "relight.model"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'relight' has no attribute {name!r}")


__all__ = ["MBNet", "MBNetConfig", "RelightError", "Relighter", "__version__"]
