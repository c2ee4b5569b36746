"""Any-to-any pairs: every scene x (source, target) light with source != target, drawn per epoch, and identity pairs.

VIDIT's any-to-any layout holds each scene under all 40 lights, so a scene gives up to 40 x 39 pairs:
far too many for one epoch. :class:`PairSampler` lists the possible pairs (limited to the ``sources``
and ``targets`` asked for) and draws ``per_epoch`` of them for each epoch from a generator seeded by
(seed, stream, epoch) alone, so a resumed run draws the same examples as one that never stopped, on any
number of processes. Each draw is, with ``mirror``, flipped half of the time: the images lit from the
mirrored lights, flipped with their depth, are a valid example of the drawn lights (a flip swaps east
and west). With probability ``withhold_source`` the network is not told the source light (its part of
the light vector is zero, flag 0), so that it learns to relight without knowing it. With probability
``identity`` a draw is an identity pair instead: its target's own image is both input and answer (source
= target), so that the network learns to give a photo back unchanged when asked for its own light.
With probability ``claimed`` a told identity pair claims a light drawn from the lights that are both
sources and targets instead of its image's own: the input is still its answer. A photograph said to be
under 2500-W need not look like relight's scenes under 2500-W, and told that source and target are one
light, the network is to give back whatever it is shown. Untold identity pairs keep their own light,
since "relight to L" of an image under another light is a real change.

A drawn pair is a :class:`LitPair`: a :class:`~relight.data.vidit.TrainPair` that also says which
lights the network sees (after the mirror) and whether the source is told.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from relight.data.vidit import ANY_TO_ANY, LeftOut, Scene, TrainPair, detect_layout, scan_any_to_any
from relight.errors import InputFileError, InvalidSetting, RelightError, Setting, shown
from relight.lighting import ALL_LIGHTS, DEFAULT_TARGET, Light, UnknownLight, light_vector

#: Pairs an epoch draws per scene unless told otherwise.
PAIRS_PER_SCENE = 4
#: Independent draws from one seed: training epochs, and the fixed validation sample.
STREAMS = {"train": 0, "validation": 1}


def parse_lights(text: str | Sequence[str], name: str = "sources", owner: str | None = "TrainConfig") -> tuple[Light, ...]:
    """``"all"`` or comma-separated lights (``"6500-N,4500-E"``) as lights in the order given, repeats dropped."""
    items = text.split(",") if isinstance(text, str) else list(text)
    cleaned = [item.strip() for item in items if item.strip()]
    if [item.lower() for item in cleaned] == ["all"]:
        return ALL_LIGHTS
    setting = Setting(name, text, owner=owner, shown=repr(text) if isinstance(text, str) else None)
    if not cleaned:
        raise InvalidSetting(setting, setting, ": expected all or lights separated by commas, e.g. 6500-N,4500-E")
    lights: list[Light] = []
    for item in cleaned:
        try:
            light = Light.parse(item)
        except UnknownLight as exc:
            reason = exc.facts.get("reason", str(exc))
            where = f" (in {shown(repr(item))})" if len(cleaned) > 1 else ""
            raise InvalidSetting(setting, setting, f": {reason}{where}") from None
        if light not in lights:
            lights.append(light)
    return tuple(lights)


def lights_text(lights: Sequence[Light]) -> str:
    """``"all"`` for the 40 lights, else the lights separated by commas: the form :func:`parse_lights` reads."""
    return "all" if set(lights) == set(ALL_LIGHTS) else ",".join(map(str, lights))


@dataclass(frozen=True)
class LitPair(TrainPair):
    """A training example with its lights: the files are those of ``TrainPair`` (flipped with ``flip``),
    ``source_light``/``target_light`` are the lights the network sees (mirrored already when flipped),
    and ``source_known`` says whether the network is told the source."""

    source_light: Light = DEFAULT_TARGET
    target_light: Light = DEFAULT_TARGET
    source_known: bool = True

    def light_vector(self) -> list[float]:
        """The pair's row of :func:`relight.lighting.encode_lights` (the source zeroed when withheld)."""
        return light_vector(self.target_light, self.source_light if self.source_known else None)

    def back_vector(self) -> list[float]:
        """The row that relights the pair's answer back to its source light, told as this pair is told: the
        second pass of a cycle (``TrainConfig.cycle_weight``)."""
        return light_vector(self.source_light, self.target_light if self.source_known else None)

    @property
    def mapping(self) -> str:
        """``6500-N -> 2500-W``, or ``? -> 2500-W`` when the source is withheld."""
        return f"{self.source_light if self.source_known else '?'} -> {self.target_light}"

    @property
    def identity(self) -> bool:
        """Whether the pair asks for the input's own light (its input is its answer)."""
        return self.source_light == self.target_light

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "source_light": str(self.source_light), "target_light": str(self.target_light),
                "source_known": self.source_known}


@dataclass(frozen=True)
class Candidate:
    """One possible pair: a scene and the lights the network sees; ``mirrorable`` when the scene also
    holds the images at the mirrored lights (so the flipped example exists)."""

    scene: Scene
    source: Light
    target: Light
    mirrorable: bool


class PairSampler:
    """The possible any-to-any pairs of ``scenes`` and a seeded draw of ``per_epoch`` of them per epoch.

    ``per_epoch`` defaults to :data:`PAIRS_PER_SCENE` per scene. Draws are without replacement while an
    epoch is no larger than the possible pairs. ``stream`` keeps the validation sample apart from the
    training epochs of the same seed. ``identity`` is the share of draws turned into identity pairs: the
    drawn pair's target light as both source and target (its source's where the target is not among
    ``sources``); the other draws are those of ``identity=0``, whose epochs are as they were before
    identity pairs existed. ``claimed`` is the share of told identity pairs that claim a light drawn from
    the lights that are both sources and targets (the module's docstring says why); it is drawn after
    everything else, so that ``claimed=0`` draws what it drew before it existed.
    """

    def __init__(self, scenes: Sequence[Scene], sources: Sequence[Light] = ALL_LIGHTS, targets: Sequence[Light] = ALL_LIGHTS,
                 per_epoch: int | None = None, seed: int = 0, mirror: bool = True, withhold_source: float = 0.5,
                 stream: str = "train", identity: float = 0.0, claimed: float = 0.0) -> None:
        self.scenes = [scene for scene in scenes if scene.depth is not None]
        self.sources, self.targets = tuple(sources), tuple(targets)
        self.seed, self.mirror, self.withhold_source, self.stream = seed, mirror, withhold_source, STREAMS[stream]
        self.identity, self.claimed = identity, claimed
        self.claimable = tuple(light for light in self.sources if light in self.targets)
        self.candidates = [
            Candidate(scene, s, t, all(light in scene.images for light in (s.mirrored(), t.mirrored())))
            for scene in self.scenes for s in self.sources if s in scene.images
            for t in self.targets if t != s and t in scene.images
        ]
        self.per_epoch = PAIRS_PER_SCENE * len(self.scenes) if per_epoch is None else per_epoch
        if not self.candidates:
            raise RelightError(f"no any-to-any pairs with source != target in {len(self.scenes)} scene(s) "
                               f"for sources {lights_text(self.sources)} and targets {lights_text(self.targets)}")

    @property
    def possible(self) -> int:
        """How many (scene, source, target) pairs there are to draw from."""
        return len(self.candidates)

    def draw(self, epoch: int) -> list[LitPair]:
        """The pairs of ``epoch``, in the order drawn: a function of (seed, stream, epoch) alone."""
        rng = np.random.default_rng([self.seed, self.stream, epoch])
        n = self.per_epoch
        chosen = rng.choice(len(self.candidates), size=n, replace=n > len(self.candidates))
        flips = rng.random(n) < 0.5
        told = rng.random(n) >= self.withhold_source
        same = rng.random(n) < self.identity  # drawn after the above, so that they do not depend on it
        claims: list[Light | None] = [None] * n
        if self.claimed > 0 and self.claimable:
            claiming = rng.random(n) < self.claimed
            drawn = rng.integers(len(self.claimable), size=n)
            claims = [self.claimable[k] if turn and known and claim else None
                      for turn, known, claim, k in zip(same, told, claiming, drawn.tolist())]
        return [self._pair(self._identity(self.candidates[i]) if turn else self.candidates[i], bool(flip and self.mirror), bool(known), claim)
                for i, flip, known, turn, claim in zip(chosen.tolist(), flips, told, same, claims)]

    def _identity(self, candidate: Candidate) -> Candidate:
        """The identity pair of ``candidate``'s scene at its target light (or its source's, where the
        target is not one of the sources), or ``candidate`` itself where neither light is both."""
        for light in (candidate.target, candidate.source):
            if light in self.sources and light in self.targets:
                return Candidate(candidate.scene, light, light, candidate.mirrorable)
        return candidate

    @staticmethod
    def _pair(candidate: Candidate, flip: bool, known: bool, claim: Light | None = None) -> LitPair:
        """The example of ``candidate`` (flipped with ``flip``); ``claim``, for an identity pair, is the
        light the network is told in place of the image's own (both images stay the candidate's)."""
        scene, source, target = candidate.scene, candidate.source, candidate.target
        flip = flip and candidate.mirrorable
        files = (source.mirrored(), target.mirrored()) if flip else (source, target)
        name = f"{scene.name}_{source.file_tag}-to-{target.file_tag}{'+mirror' if flip else ''}"
        if claim is not None:
            name, source, target = f"{name}+said-{claim.file_tag}", claim, claim
        assert scene.depth is not None
        return LitPair(name, scene.name, scene.images[files[0]], scene.depth, scene.images[files[1]], flip,
                       "mirror" if flip else "direct", source, target, known)

    def counts(self) -> dict[str, int]:
        """Scenes, possible pairs and pairs per epoch, for reports."""
        return {"scenes": len(self.scenes), "possible_pairs": self.possible, "pairs_per_epoch": self.per_epoch}


def load_scenes(
    folders: Sequence[str | os.PathLike[str]], depth_dir: str | os.PathLike[str] | None = None
) -> tuple[list[Scene], list[LeftOut]]:
    """The scenes of any-to-any folders (refusing a folder of another layout) and what was left out:
    files with other names, and scenes without depth."""
    scenes: list[Scene] = []
    skipped: list[LeftOut] = []
    for folder in folders:
        layout = detect_layout(folder)
        if layout != ANY_TO_ANY:
            raise InputFileError(Path(folder), f"any-to-any pairs need the any-to-any layout "
                                 f"(Image000_6500_N.png ... with Image000.npy), not the {layout} layout")
        found, ignored = scan_any_to_any(folder, depth_dir)
        skipped += ignored
        for name, scene in found.items():
            if scene.depth is None:
                skipped.append(LeftOut(name, f"{name}: no depth file ({name}.npy), scene left out"))
            else:
                scenes.append(scene)
    return scenes, skipped


__all__ = ["PAIRS_PER_SCENE", "Candidate", "LitPair", "PairSampler", "lights_text", "load_scenes", "parse_lights"]
