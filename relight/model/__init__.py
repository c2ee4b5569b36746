"""The MBNet network, its variants, and the authors' checkpoint import."""

from relight.model.authors import CheckpointMismatchError, convert_authors_state_dict, load_authors_checkpoint
from relight.model.config import MBNetConfig
from relight.model.mbnet import STRIDE, MBNet

__all__ = [
    "STRIDE",
    "CheckpointMismatchError",
    "MBNet",
    "MBNetConfig",
    "convert_authors_state_dict",
    "load_authors_checkpoint",
]
