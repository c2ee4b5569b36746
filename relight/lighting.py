"""The light of a scene, in one place: VIDIT's 40 illuminations and their encoding for the network.

A :class:`Light` is one VIDIT illumination, a colour temperature and a direction, written ``6500-N``
(:meth:`Light.parse` also takes ``6500_N`` and ``6500K-n``). There are 8 :data:`DIRECTIONS` (compass
order, clockwise seen from above, so east is to the camera's right, with :data:`AZIMUTHS` in degrees
from north) and 5 :data:`TEMPERATURES`; :data:`ALL_LIGHTS` lists the 40, temperature-major.
:func:`mirror` says what a horizontal flip does to a direction (E <-> W, NE <-> NW, SE <-> SW), and
:func:`mirror_rows` to the encoded lights.

The conditioned networks take the lights as a vector per image, made by :func:`encode_lights`::

    encode_lights(targets, sources=None) -> torch.Tensor of shape (N, LIGHT_FEATURES), float32

``targets`` is one light or a sequence of N (a :class:`Light` or its text); ``sources`` is None (unknown
for all), one light or None for all, or a sequence of N lights-or-None. Each row is, in this order
(:data:`FEATURES` names them):

* target direction as ``sin``, ``cos`` of its azimuth (E is (1, 0), N is (0, 1));
* target temperature as normalised mired: ``1e6 / K`` mapped linearly so 6500 K is -1 and 2500 K is +1;
* the same three for the source, or zeros when the source is not known;
* the "source known" flag: 1.0, or 0.0 when the source is withheld.

:func:`light_vector` gives one row as plain floats, without torch. :class:`Illumination` is what a
model does to the light as its checkpoint records it (one pair, or any target): it checks a requested
target and source and words the mapping applied (``6500-N -> 2500-W``, ``? -> 2500-W``).
This module imports no torch at load.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from relight.errors import InvalidSetting, Part, RelightError, Setting, shown

if TYPE_CHECKING:
    import torch

#: Light directions in compass order, clockwise seen from above (east is to the camera's right).
DIRECTIONS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
#: Each direction's azimuth in degrees, clockwise from north.
AZIMUTHS = {direction: 45.0 * i for i, direction in enumerate(DIRECTIONS)}
#: Colour temperatures of the light, in kelvin.
TEMPERATURES = (2500, 3500, 4500, 5500, 6500)

#: The names of the columns of :func:`encode_lights`.
FEATURES = (
    "target_sin", "target_cos", "target_mired",
    "source_sin", "source_cos", "source_mired",
    "source_known",
)
LIGHT_FEATURES = len(FEATURES)

_MIRED_LOW, _MIRED_HIGH = 1e6 / max(TEMPERATURES), 1e6 / min(TEMPERATURES)


class UnknownLight(RelightError, ValueError):
    """Text or values that name no VIDIT light (an unknown direction or temperature, or a malformed ``6500-N``)."""


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise UnknownLight(f"unknown light direction {shown(repr(direction))}; use one of {' '.join(DIRECTIONS)}")


def mirror(direction: str) -> str:
    """The direction a horizontal flip turns ``direction`` into: E<->W, NE<->NW, SE<->SW; N and S stay."""
    _check_direction(direction)
    return direction.translate(str.maketrans("EW", "WE"))


def neighbours(direction: str) -> tuple[str, str]:
    """The two directions 45 degrees either side of ``direction`` (clockwise one first): N -> (NE, NW)."""
    _check_direction(direction)
    i = DIRECTIONS.index(direction)
    return DIRECTIONS[(i + 1) % 8], DIRECTIONS[(i - 1) % 8]


@dataclass(frozen=True)
class Light:
    """One VIDIT illumination: colour temperature (K) and light direction; written ``6500-N``."""

    temperature: int
    direction: str

    def __post_init__(self) -> None:
        _check_direction(self.direction)
        if self.temperature not in TEMPERATURES:
            raise UnknownLight(
                f"unknown colour temperature {self.temperature}; use one of {', '.join(map(str, TEMPERATURES))}"
            )

    @classmethod
    def parse(cls, text: str) -> Light:
        """``"6500-N"`` (also ``6500_N``, ``6500K-n``) -> ``Light(6500, "N")``."""
        cleaned = text.strip().upper().replace("_", "-")
        temp, sep, direction = cleaned.partition("-")
        temp = temp.removesuffix("K")
        if not sep or not temp.isdigit():
            reason = "expected TEMPERATURE-DIRECTION, e.g. 6500-N or 4500-E"
            raise UnknownLight(f"setting {shown(repr(text))}: {reason}", text=text, reason=reason)
        try:
            return cls(int(temp), direction)
        except RelightError as exc:
            raise UnknownLight(f"setting {shown(repr(text))}: {exc}", text=text, reason=str(exc)) from None

    def __str__(self) -> str:
        return f"{self.temperature}-{self.direction}"

    @property
    def file_tag(self) -> str:
        """How any-to-any file names spell the light: ``6500_N``."""
        return f"{self.temperature}_{self.direction}"

    @property
    def azimuth(self) -> float:
        """Degrees clockwise from north."""
        return AZIMUTHS[self.direction]

    def mirrored(self) -> Light:
        """The light a horizontal flip of the image turns this one into."""
        return Light(self.temperature, mirror(self.direction))

    @classmethod
    def all(cls) -> list[Light]:
        """The 40 lights of a VIDIT scene, temperature-major."""
        return [cls(t, d) for t in TEMPERATURES for d in DIRECTIONS]


#: The 40 VIDIT lights, temperature-major (2500-N, 2500-NE, ..., 6500-NW).
ALL_LIGHTS: tuple[Light, ...] = tuple(Light.all())
#: The paper's (and NTIRE 2021 track 1's) one-to-one pair.
DEFAULT_SOURCE = Light(6500, "N")
DEFAULT_TARGET = Light(4500, "E")

LightLike = Union[Light, str]


def as_light(value: LightLike) -> Light:
    """A :class:`Light` from itself or its text (``"2500-W"``)."""
    if isinstance(value, Light):
        return value
    if isinstance(value, str):
        return Light.parse(value)
    raise UnknownLight(f"expected a Light or text such as '2500-W', not {type(value).__name__} {shown(repr(value))}")


def _three(light: Light) -> tuple[float, float, float]:
    angle = math.radians(light.azimuth)
    mired = 1e6 / light.temperature
    scaled = 2.0 * (mired - _MIRED_LOW) / (_MIRED_HIGH - _MIRED_LOW) - 1.0
    return round(math.sin(angle), 12), round(math.cos(angle), 12), scaled  # exact 0 and 1 at the compass points


def light_vector(target: LightLike, source: LightLike | None = None) -> list[float]:
    """One row of :func:`encode_lights` as :data:`LIGHT_FEATURES` floats (no torch)."""
    row = list(_three(as_light(target)))
    if source is None:
        return row + [0.0, 0.0, 0.0, 0.0]
    return row + list(_three(as_light(source))) + [1.0]


def _per_item(values: LightLike | Sequence[LightLike | None] | None, count: int | None) -> list[LightLike | None]:
    if values is None or isinstance(values, (Light, str)):
        return [values] * (count or 1)
    values = list(values)
    if count is not None and len(values) != count:
        raise UnknownLight(f"{len(values)} sources for {count} targets; give one source, one per target, or None")
    return values


def encode_lights(
    targets: LightLike | Sequence[LightLike],
    sources: LightLike | Sequence[LightLike | None] | None = None,
) -> torch.Tensor:
    """The ``(N, LIGHT_FEATURES)`` float32 tensor of the module docstring, on the CPU."""
    import torch

    wanted = _per_item(targets, None)
    given = _per_item(sources, len(wanted))
    if not wanted:
        raise UnknownLight("no target lights given")
    rows = [light_vector(t, s) for t, s in zip(wanted, given)]  # type: ignore[arg-type]
    return torch.tensor(rows, dtype=torch.float32)


#: The columns of :func:`encode_lights` a horizontal flip negates: the sines of the azimuths (east is +1).
MIRRORED_FEATURES = (FEATURES.index("target_sin"), FEATURES.index("source_sin"))


def mirror_rows(rows: torch.Tensor) -> torch.Tensor:
    """Rows of :func:`encode_lights` for the mirrored lights (:meth:`Light.mirrored`), on ``rows``' device:
    a copy with the azimuths' sines negated (an unknown source's zeros stay zeros)."""
    out = rows.clone()
    out[:, list(MIRRORED_FEATURES)] *= -1
    return out


def _recorded(value: Any) -> Light | None:
    try:
        return as_light(value) if isinstance(value, (Light, str)) else None
    except UnknownLight:
        return None


def setting_light(name: str, value: LightLike) -> Light:
    """The light a setting of ``Relighter.relight`` (``to``, ``source``) names; a refusal names the setting."""
    try:
        return as_light(value)
    except UnknownLight as exc:
        setting = Setting(name, value, owner="Relighter.relight", shown=repr(value) if isinstance(value, str) else None)
        raise InvalidSetting(setting, setting, f": {exc.facts.get('reason', exc)}") from None


def _setting(name: str, value: Any = None) -> Setting:
    owner = "Relighter.relight"
    return Setting(name, owner=owner) if value is None else Setting(name, str(value), owner=owner, shown=str(value))


@dataclass(frozen=True)
class Illumination:
    """What a model does to the light: one pair (one-to-one) or any target (any-to-any), as its
    checkpoint records it; it checks a requested ``to``/``source`` and says the mapping applied.

    One-to-one: ``source``/``target`` are its pair (None where not recorded). Any-to-any: ``target`` is
    the default target if the checkpoint records one, ``targets`` the lights it was trained to give.
    """

    any_to_any: bool
    source: Light | None = None
    target: Light | None = None
    targets: tuple[Light, ...] = ALL_LIGHTS

    @classmethod
    def recorded(cls, any_to_any: bool, provenance: Mapping[str, Any]) -> Illumination:
        """From a checkpoint's provenance: ``source``/``target`` (one-to-one); ``default_target`` and
        ``targets`` (any-to-any; missing or unreadable ones mean all)."""
        if not any_to_any:
            return cls(False, _recorded(provenance.get("source")), _recorded(provenance.get("target")), ())
        listed_targets = provenance.get("targets")
        targets = ALL_LIGHTS
        if isinstance(listed_targets, list) and listed_targets and all(_recorded(t) for t in listed_targets):
            targets = tuple(as_light(t) for t in listed_targets)
        return cls(True, None, _recorded(provenance.get("default_target")), targets)

    def describe(self) -> str:
        """``one-to-one 6500-N -> 4500-E`` or ``any-to-any``."""
        if self.any_to_any:
            return "any-to-any"
        return f"one-to-one {self.source or '?'} -> {self.target or '?'}"

    def resolve(self, to: LightLike | None = None, source: LightLike | None = None,
                others: Sequence[Part] = ()) -> tuple[Light | None, Light | None]:
        """The (target, source) a relight applies, checked against the model; ``others`` is told after a
        one-to-one model's refusal (where any-to-any models are). A one-to-one model's own pair needs no
        ``to``; it refuses another target, or a source other than its own, or any source when its own is
        not recorded (it could not be checked, and would change nothing)."""
        target = setting_light("to", to) if to is not None else self.target
        lit = setting_light("source", source) if source is not None else None
        if not self.any_to_any:
            if to is not None and target != self.target:
                pair = f"{self.source or '?'} -> {self.target or '?'}"
                raise InvalidSetting(_setting("to", target), _setting("to", target),
                                     f": this model is one-to-one ({pair}) and relights to {self.target or 'its own target'} only",
                                     *others, pair=pair)
            if lit is not None and self.source is None:
                raise InvalidSetting(_setting("source", lit), _setting("source", lit), ": this model is one-to-one and does not record the "
                                     "light of its inputs, so this cannot be checked and would change nothing; leave it out")
            if lit is not None and lit != self.source:
                pair = f"{self.source} -> {self.target or '?'}"
                raise InvalidSetting(_setting("source", lit), f"this model is one-to-one ({pair}): its input must be lit {self.source}, "
                                     f"not {lit}", *others, pair=pair)
            return target, lit or self.source
        if target is None:
            raise InvalidSetting(_setting("to"), "this model is any-to-any: name the light to relight to, e.g. ",
                                 _setting("to", Light(2500, "W")))
        if target not in self.targets:
            raise InvalidSetting(_setting("to", target), _setting("to", target),
                                 f": this model was trained to relight to {len(self.targets)} lights only, not this one")
        return target, lit

    def mapping(self, to: LightLike | None = None, source: LightLike | None = None) -> str:
        """The mapping a relight with these arguments applies: ``6500-N -> 2500-W``, ``? -> 2500-W``."""
        target, lit = self.resolve(to, source)
        return f"{lit or '?'} -> {target or '?'}"


__all__ = [
    "ALL_LIGHTS",
    "AZIMUTHS",
    "DEFAULT_SOURCE",
    "DEFAULT_TARGET",
    "DIRECTIONS",
    "FEATURES",
    "Illumination",
    "LIGHT_FEATURES",
    "MIRRORED_FEATURES",
    "TEMPERATURES",
    "Light",
    "LightLike",
    "UnknownLight",
    "as_light",
    "encode_lights",
    "light_vector",
    "mirror",
    "mirror_rows",
    "neighbours",
    "setting_light",
]
