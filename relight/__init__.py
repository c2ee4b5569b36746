"""relight: depth-guided image relighting with MBNet.

The public API: :class:`~relight.inference.Relighter` to run a model, :class:`~relight.model.MBNet`
and :class:`~relight.model.MBNetConfig` for the network, :mod:`relight.io` for files.
"""

__version__ = "0.1.0"

from relight.errors import RelightError
from relight.inference import Relighter
from relight.model import MBNet, MBNetConfig

__all__ = ["MBNet", "MBNetConfig", "RelightError", "Relighter", "__version__"]
