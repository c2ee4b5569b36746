"""``--to`` and ``--from``, shared by ``run`` and ``batch``: the lights asked for, checked against the model,
and the mapping a run applies said once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from relight.cli._console import console

if TYPE_CHECKING:
    from relight.inference.relighter import Relighter
    from relight.lighting import Light


def parse_targets(to: list[str] | None) -> tuple[Light | None, ...]:
    """``--to`` as lights (comma-separated, repeated, or ``all``); ``(None,)`` without it: the model's own target."""
    from relight.data.anytoany import parse_lights

    if not to:
        return (None,)
    return parse_lights(",".join(to), name="to", owner="Relighter.relight")


def parse_source(source: str | None) -> Light | None:
    """``--from`` as a light, refused before anything loads; None without it."""
    from relight.lighting import setting_light

    return None if source is None else setting_light("source", source)


def check_lights_early(weights: str | None, targets: tuple[Light | None, ...], source: Light | None, mirrored: bool) -> None:
    """``--to``, ``--from`` and ``--mirror-avg`` checked against what ``weights`` (None: the default model)
    record, before anything slow loads (the depth model, the network, its export): a one-to-one model's
    refusal, seconds sooner and in place of a later error it would hide. The loaded model checks again."""
    from relight.inference.relighter import check_lights
    from relight.weights import default_weights
    from relight.weights.load import recorded_illumination

    illumination = recorded_illumination(weights or default_weights())
    if illumination is not None:
        check_lights(illumination, targets, source, mirrored)


def resolve_lights(relighter: Relighter, targets: tuple[Light | None, ...], source: Light | None, placed: bool = False) -> list[Light | None]:
    """Each target checked against the model (a one-to-one model refuses another target, naming the
    any-to-any models), and the mapping the run applies said once: ``6500-N -> 2500-W``, ``? -> 2500-W``.
    ``placed``: the results go on a contact sheet, which needs every target light known."""
    from relight.errors import InvalidSetting, Setting, listed

    resolved = [relighter.lights(target, source) for target in targets]
    if placed and any(target is None for target, _ in resolved):
        setting = Setting("to", owner="Relighter.relight")
        raise InvalidSetting(setting, "a contact sheet places each version by its light, and this model's target is not "
                             "recorded; name the lights with ", setting)
    lit = resolved[0][1]
    wanted = [str(target or "?") for target, _ in resolved]
    shown = ", ".join(wanted) if len(wanted) <= 8 else f"{len(wanted)} lights: {listed(wanted, 4)}"
    kind = "" if relighter.illumination.any_to_any else " (one-to-one model)"
    console.print(f"relighting {lit or '?'} -> {shown}{kind}", soft_wrap=True)
    return [target for target, _ in resolved]
