"""What a checkpoint records about where it came from, read without torch: its training size, and the
checks every field relight acts on passes before it is used.

Every checkpoint's metadata holds a ``provenance`` (:mod:`relight.model.checkpoint`); the registry and
the scale the network runs at (:mod:`relight.inference.scale`) read parts of it without loading a network.
:func:`provenance_problem` says which field holds what relight cannot act on (a light that is none, a
training size of no pixels or of more than an image may have), so that a file is refused naming it.
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


#: The fields that name one light (a one-to-one pair, an any-to-any model's default target).
LIGHT_FIELDS = ("source", "target", "default_target")


def _light_problem(value: Any) -> str | None:
    from relight.lighting import UnknownLight, as_light

    if value is None:
        return None
    if not isinstance(value, str):
        return f"a {type(value).__name__}, not a light such as 4500-E"
    try:
        as_light(value)
    except UnknownLight as exc:
        return str(exc.facts.get("reason", exc))
    return None


def _size_problem(value: Any) -> str | None:
    from relight.io.images import MAX_PIXELS

    if not (isinstance(value, list) and len(value) == 2 and all(type(v) is int for v in value)):
        return "not [height, width] in whole pixels"
    if min(value) < 1:
        return "a size of no pixels"
    if value[0] * value[1] > MAX_PIXELS:
        return f"over the {MAX_PIXELS:,}-pixel limit of an image"
    return None


def provenance_problem(provenance: Any) -> tuple[str, str] | None:
    """The first field of a checkpoint's ``provenance`` relight acts on that holds what it cannot act on,
    and why (``("target", "unknown colour temperature 9999; ...")``); None when every such field is fine
    or absent. The fields: the lights (:data:`LIGHT_FIELDS`, ``targets``), ``trained_at`` and ``step``."""
    from relight.errors import shown

    if not isinstance(provenance, dict):
        return "provenance", f"a {type(provenance).__name__}, not a JSON object"
    for key in LIGHT_FIELDS:
        problem = _light_problem(provenance.get(key))
        if problem is not None:
            return key, f"{shown(repr(provenance[key]))}: {problem}"
    targets = provenance.get("targets")
    if targets is not None:
        if not isinstance(targets, list) or not targets:
            return "targets", "not a list of lights"
        for item in targets:
            if (problem := _light_problem(item)) is not None:
                return "targets", f"{shown(repr(item))}: {problem}"
    if TRAINED_AT in provenance and (problem := _size_problem(provenance[TRAINED_AT])) is not None:
        return TRAINED_AT, f"{shown(repr(provenance[TRAINED_AT]))}: {problem}"
    step = provenance.get("step")
    if step is not None and not (type(step) is int and step >= 0):
        return "step", f"{shown(repr(step))}: not a step count"
    return None


__all__ = ["AUTHORS_TRAINED_AT", "LIGHT_FIELDS", "TRAINED_AT", "provenance_problem", "trained_at"]
