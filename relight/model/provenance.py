"""What a checkpoint records about where it came from, read without torch: its training size.

Every checkpoint's metadata holds a ``provenance`` (:mod:`relight.model.checkpoint`); the registry and
the scale the network runs at (:mod:`relight.inference.scale`) read parts of it without loading a network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: The provenance key that records a checkpoint's training size, ``[height, width]``: the scale the
#: network runs at by default.
TRAINED_AT = "trained_at"
#: The training size of the authors' checkpoint (the paper trains at 1024 x 1024, section 3.4).
AUTHORS_TRAINED_AT = (1024, 1024)


def trained_at(provenance: Mapping[str, Any]) -> tuple[int, int] | None:
    """The (height, width) a checkpoint was trained at, as its provenance records it; None when it does not."""
    value = provenance.get(TRAINED_AT)
    if isinstance(value, Sequence) and len(value) == 2 and all(isinstance(v, int) and v > 0 for v in value):
        return int(value[0]), int(value[1])
    return None


__all__ = ["AUTHORS_TRAINED_AT", "TRAINED_AT", "trained_at"]
