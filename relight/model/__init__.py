"""The MBNet network, its variants, and the authors' checkpoint import.

Imported on first use, so that code needing only :class:`MBNetConfig` (the weights registry, the CLI)
does not load torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from relight.lazy import lazy_attributes

if TYPE_CHECKING:
    from relight.model.authors import CheckpointMismatchError, convert_authors_state_dict, load_authors_checkpoint
    from relight.model.config import STRIDE, MBNetConfig
    from relight.model.mbnet import MBNet

__all__ = [
    "STRIDE",
    "CheckpointMismatchError",
    "MBNet",
    "MBNetConfig",
    "convert_authors_state_dict",
    "load_authors_checkpoint",
]

__getattr__ = lazy_attributes(__name__, {
    "STRIDE": "relight.model.config",
    "MBNet": "relight.model.mbnet",
    "MBNetConfig": "relight.model.config",
    "CheckpointMismatchError": "relight.model.authors",
    "convert_authors_state_dict": "relight.model.authors",
    "load_authors_checkpoint": "relight.model.authors",
})
