"""Per-parameter random streams for world scenes: each parameter (and each object's part) draws from a
generator of its own, seeded by the scene's seed and the parameter's name, so that no other draw moves it;
and what both generators' ranges share."""

from __future__ import annotations

import zlib
from dataclasses import fields
from typing import ClassVar

import numpy as np


class RangesBase:
    """What both generators' ranges say about themselves: the generator's name, the parameters that are
    choices (and their options), the ones counted in whole numbers, and the numeric ones."""

    GENERATOR: ClassVar[str]
    CHOICES: ClassVar[dict[str, tuple[str, ...]]]
    INTEGERS: ClassVar[tuple[str, ...]]

    @classmethod
    def numeric(cls) -> tuple[str, ...]:
        """The parameters drawn from numeric ranges (the others are choices)."""
        return tuple(f.name for f in fields(cls) if f.name not in cls.CHOICES)


def stream(seed: int, name: str) -> np.random.Generator:
    """The generator of ``name`` (a parameter, or an object's part such as ``"shape 3"``) in scene ``seed``."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def draw(seed: int, ranges: RangesBase, name: str) -> float:
    """Parameter ``name``'s value in scene ``seed``: uniform in ``ranges``' range for it (a whole number
    where the range's ends are)."""
    low, high = getattr(ranges, name)
    rng = stream(seed, name)
    if isinstance(low, int) and isinstance(high, int):
        return int(rng.integers(low, high + 1))
    return float(rng.uniform(low, high))
