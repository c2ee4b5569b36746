"""Held-out any-to-any sets as the benchmarks sample them: complete scenes, and seeded (scene, source,
target) triples with source != target (benchmarks/anytoany_heldout.py and benchmarks/generalise.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from relight.data.anytoany import load_scenes
from relight.data.vidit import Scene
from relight.lighting import ALL_LIGHTS, DIRECTIONS, Light

#: The direction across the scene from each direction (N <-> S, NE <-> SW, E <-> W, SE <-> NW).
OPPOSITE = {d: DIRECTIONS[(i + 4) % 8] for i, d in enumerate(DIRECTIONS)}


@dataclass(frozen=True)
class Triple:
    scene: Scene
    source: Light
    target: Light


def complete_scenes(folder: Path) -> list[Scene]:
    """The scenes of ``folder`` that hold all 40 lights and a depth file (the tests need every light)."""
    scenes, _ = load_scenes([folder])
    complete = [s for s in scenes if all(light in s.images for light in ALL_LIGHTS)]
    if not complete:
        raise SystemExit(f"{folder}: no scene with all 40 lights and a depth file")
    return sorted(complete, key=lambda s: s.name)


def sample_triples(scenes: Sequence[Scene], count: int, seed: int) -> list[Triple]:
    """``count`` distinct (scene, source, target) triples with source != target, drawn with ``seed``
    (every possible one, once each, when ``count`` is larger)."""
    lights = len(ALL_LIGHTS)
    possible = len(scenes) * lights * (lights - 1)
    rng = np.random.default_rng(seed)
    picks = rng.choice(possible, size=min(count, possible), replace=False)
    triples = []
    for index in picks.tolist():
        scene, rest = divmod(index, lights * (lights - 1))
        source, other = divmod(rest, lights - 1)
        target = other + (other >= source)  # skip the source itself
        triples.append(Triple(scenes[scene], ALL_LIGHTS[source], ALL_LIGHTS[target]))
    return triples
