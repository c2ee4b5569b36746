"""relight: depth-guided image relighting with MBNet.

The public API: :class:`~relight.inference.Relighter` to run a model, :class:`~relight.model.MBNet`
and :class:`~relight.model.MBNetConfig` for the network, :mod:`relight.io` for files. They are imported
when first asked for, so that ``import relight`` (and the command line's start, ``relight --help``)
does not load torch.
"""

from __future__ import annotations

from relight.errors import RelightError
from relight.lazy import lazy_attributes

__version__ = "0.1.0"

__getattr__ = lazy_attributes(__name__, {"Relighter": "relight.inference", "MBNet": "relight.model", "MBNetConfig": "relight.model"})


__all__ = ["MBNet", "MBNetConfig", "RelightError", "Relighter", "__version__"]
