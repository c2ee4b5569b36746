"""Scene families: which generator a data set draws from, and the sub-ranges of its parameters.

Two generators draw scenes: the classic one (:mod:`~relight.data.synth.scene`: relight 0.x's scenes, the
bundled models' data, byte for byte) and the world (:mod:`~relight.data.synth.world`: domain
randomisation). A family names one of them and sub-ranges of some of its parameters; families of the
same generator that set different parameters combine, and ``vary`` narrows any parameter after them.
``world`` is the default: the widest scenes, for new training data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields, replace

from relight.data.synth.scene import CLASSIC_FAMILIES, FULL, SceneRanges, classic_scene
from relight.data.synth.shapes import SynthScene
from relight.data.synth.world import WORLD, WORLD_FAMILIES, WorldRanges
from relight.data.synth.worldscene import world_scene
from relight.errors import InvalidSetting
from relight.errors import Setting as Param

Ranges = SceneRanges | WorldRanges
#: Every family: its generator's full ranges, and what it narrows.
FAMILIES: dict[str, tuple[Ranges, dict[str, object]]] = {
    **{name: (FULL, settings) for name, settings in CLASSIC_FAMILIES.items()},
    **{name: (WORLD, settings) for name, settings in WORLD_FAMILIES.items()},
}
#: The family a data set is drawn from when none is named: the widest.
DEFAULT_FAMILY = "world"
#: Every parameter ``vary`` may name, in either generator.
PARAMETERS = tuple(dict.fromkeys(f.name for f in (*fields(SceneRanges), *fields(WorldRanges))))
_CHOICE_NAMES = {*SceneRanges.CHOICES, *WorldRanges.CHOICES}


def _refuse(name: str, value: object, shown: str, problem: str) -> InvalidSetting:
    setting = Param(name, value, owner="scene_ranges", shown=shown)
    return InvalidSetting(setting, setting, f": {problem}")


def parse_vary(text: str) -> tuple[str, tuple[float, float] | tuple[str, ...]]:
    """``"camera_height=0.5:1.0"`` -> ``("camera_height", (0.5, 1.0))``; ``"objects=4"`` -> ``(4, 4)``;
    ``"shapes=cone,capsule"`` -> ``("shapes", ("cone", "capsule"))``."""
    name, sep, value = text.partition("=")
    name = name.strip().replace("-", "_")
    setting = Param("vary", text, owner="parse_vary", shown=text)
    if not sep or name not in PARAMETERS:
        raise InvalidSetting(setting, setting, f": expected NAME=LOW:HIGH with NAME one of {', '.join(PARAMETERS)}")
    if name in _CHOICE_NAMES:
        return name, tuple(part.strip() for part in value.split(",") if part.strip())
    low, _, high = value.partition(":")
    try:
        bounds = (float(low), float(high if high.strip() else low))
    except ValueError:
        raise InvalidSetting(setting, setting, ": expected numbers as LOW:HIGH (or one number)") from None
    return name, bounds


def scene_ranges(family: str | Sequence[str] = (), vary: Mapping[str, Sequence[float] | Sequence[str]] | None = None) -> Ranges:
    """The ranges of the named families (of one generator, each setting different parameters), then
    ``vary``'s overrides. With no family, :data:`DEFAULT_FAMILY`'s generator. Every range must lie
    within its generator's full ranges."""
    names = [family] if isinstance(family, str) else list(family)
    full: Ranges = FAMILIES[names[0]][0] if names and names[0] in FAMILIES else FAMILIES[DEFAULT_FAMILY][0]
    if not names and not vary:
        names = [DEFAULT_FAMILY]
    chosen: dict[str, object] = {}
    setter: dict[str, str] = {}
    for name in names:
        if name not in FAMILIES:
            raise _refuse("family", name, name, f"unknown family; use one of {', '.join(FAMILIES)}")
        if FAMILIES[name][0] is not full:
            raise _refuse("family", name, name, f"is a family of the {FAMILIES[name][0].GENERATOR} scenes, "
                                                f"{names[0]} of the {full.GENERATOR} scenes; name families of one")
        for key, value in FAMILIES[name][1].items():
            if key in setter and setter[key] != name:
                raise _refuse("family", name, name, f"sets {key} as family {setter[key]} does; name one of them")
            chosen[key], setter[key] = value, name
    for key, value in (vary or {}).items():
        chosen[key] = _checked_range(full, key, value)
    return replace(full, **chosen)


def _checked_range(full: Ranges, key: str, value: Sequence[float] | Sequence[str]) -> tuple:
    choices, numeric = type(full).CHOICES, type(full).numeric()
    shown = f"{key}=" + (",".join(map(str, value)) if key in choices else ":".join(f"{v:g}" if isinstance(v, (int, float)) else str(v) for v in value))
    if key in choices:
        unknown = [v for v in value if v not in choices[key]]
        if unknown or not value:
            raise _refuse("vary", {key: value}, shown, f"choose {key} from {', '.join(choices[key])}")
        return tuple(value)
    if key not in numeric or len(value) != 2:
        raise _refuse("vary", {key: value}, shown, f"the {full.GENERATOR} scenes take one of {', '.join(numeric + tuple(choices))} with (low, high)")
    low, high = value
    full_low, full_high = getattr(full, key)
    if not full_low <= low <= high <= full_high:
        raise _refuse("vary", {key: value}, shown, f"must be a range within {full_low:g}:{full_high:g}, low first")
    if key in type(full).INTEGERS:
        if low != int(low) or high != int(high):
            raise _refuse("vary", {key: value}, shown, f"{key} are counted in whole numbers")
        return int(low), int(high)
    return float(low), float(high)


def random_scene(seed: int, ranges: Ranges | None = None, aspect: float = 1.0) -> SynthScene:
    """The random scene of ``seed`` within ``ranges`` (the default family's if None), from the generator
    the ranges belong to; a world scene is drawn for images ``aspect`` (width over height) wide."""
    ranges = ranges or scene_ranges()
    if isinstance(ranges, WorldRanges):
        return world_scene(seed, ranges, aspect)
    return classic_scene(seed, ranges)
