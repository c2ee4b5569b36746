"""Output names for relit images: one name per (input, target light), checked before any work.

By default one target keeps the input's stem (``Image000_6500_N.png``) and several targets append the
target as VIDIT files spell a light (``Image000_6500_N_2500_W.png``). A ``template`` names the outputs
itself with the fields of :data:`FIELDS`: ``{stem}``, ``{scene}``, ``{source}``, ``{target}``. VIDIT
any-to-any names (``Image000_6500_N``) give the scene (``Image000``) and the source light (``6500_N``),
so that ``{scene}_4500_E`` names the 4500-E results as VIDIT names their ground truth and ``relight
score`` pairs them without renaming. Lights in names are written ``6500_N``; the extension is added.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

from relight.data.pairs import VIDIT_NAME, InferencePair
from relight.errors import InvalidSetting, Setting
from relight.io.output import name_too_long
from relight.lighting import Light, LightLike, as_light

#: The fields an output-name template may use.
FIELDS = ("stem", "scene", "source", "target")
#: The template for one target, and for several.
ONE_TARGET, SEVERAL_TARGETS = "{stem}", "{stem}_{target}"


def _setting(template: str) -> Setting:
    return Setting("name", template, owner="run_batch", shown=repr(template))


def template_fields(template: str) -> set[str]:
    """The fields ``template`` uses, refusing unknown ones, conversions, format specs and unpaired braces."""
    setting = _setting(template)
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InvalidSetting(setting, setting, f": {exc}; use fields such as {{stem}} or {{target}}") from None
    used: set[str] = set()
    for _text, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in FIELDS or spec or conversion:
            shown = "{" + field + ("!" + conversion if conversion else "") + (":" + spec if spec else "") + "}"
            raise InvalidSetting(setting, setting, f": unknown field {shown}; use {', '.join('{' + f + '}' for f in FIELDS)}")
        used.add(field)
    if not used and not template.strip():
        raise InvalidSetting(setting, setting, ": an empty name")
    return used


def name_fields(stem: str, source: LightLike | None = None) -> dict[str, str | None]:
    """The template fields of an input ``stem``: ``scene`` and ``source`` from a VIDIT name, the stem itself
    and no source otherwise; a ``source`` given (the input's known light) wins over the name's."""
    match = VIDIT_NAME.match(stem)
    scene, named = stem, None
    if match is not None:
        scene = match["scene"]
        try:
            named = Light(int(match["temp"]), match["dir"]).file_tag
        except ValueError:
            named = None
    return {"stem": stem, "scene": scene, "source": as_light(source).file_tag if source is not None else named}


@dataclass(frozen=True)
class Output:
    """One output of a batch: the input pair, the light it is relit to (None: the model's own target),
    and the output's file name (extension included)."""

    pair: InferencePair
    target: Light | None
    name: str


def output_name(stem: str, target: Light | None, template: str, source: LightLike | None = None) -> str:
    """The file stem ``template`` gives one input relit to ``target`` (unchecked for collisions)."""
    used = template_fields(template)
    fields = name_fields(stem, source)
    fields["target"] = target.file_tag if target is not None else None
    for field in ("source", "target"):
        if field in used and fields[field] is None:
            setting = _setting(template)
            why = ("its light is not in its name (SCENE_TEMP_DIR) and was not given" if field == "source"
                   else "the model's target light is not recorded")
            raise InvalidSetting(setting, setting, f": {{{field}}} is unknown for {stem} ({why})")
    name = template.format(**{key: value or "" for key, value in fields.items()})
    if not name.strip() or name in (".", "..") or any(ch in name for ch in "/\\\0"):
        setting = _setting(template)
        raise InvalidSetting(setting, setting, f": gives {name!r} for {stem}, which is not a file name")
    return name


def plan_outputs(pairs: Sequence[InferencePair], targets: Sequence[Light | None] = (None,), ext: str = ".png",
                 template: str | None = None, source: LightLike | None = None) -> list[list[Output]]:
    """Each pair's outputs, one per target, named by ``template`` (default: :data:`ONE_TARGET` for one
    target, :data:`SEVERAL_TARGETS` for several). Refused before any work: a template that gives two
    different (input, target) the same name. Two inputs of one stem (``a.jpg``, ``a.png``) are left to
    the batch, which reports the second as that pair's failure."""
    targets = list(targets) or [None]
    chosen = template if template is not None else (ONE_TARGET if len(targets) == 1 else SEVERAL_TARGETS)
    plan = [[Output(pair, target, output_name(pair.stem, target, chosen, source) + ext) for target in targets] for pair in pairs]
    claimed: dict[str, Output] = {}
    for output in (o for outputs in plan for o in outputs):
        if (problem := name_too_long(output.name)) is not None:
            setting = _setting(chosen)
            raise InvalidSetting(setting, setting, f": gives {problem} for {output.pair.image.name}", name=output.name)
        first = claimed.setdefault(output.name, output)
        if first is not output and (first.pair.stem, first.target) != (output.pair.stem, output.target):
            setting = _setting(chosen)
            missing = "{target}" if first.pair.stem == output.pair.stem else "{stem} or {source}"
            raise InvalidSetting(setting, setting, f": {_what(first)} and {_what(output)} would both be written as "
                                 f"{output.name}; put {missing} in the name", name=output.name)
    return plan


#: Stands in for the model's own target before the model is loaded: the longest a light is in a name.
_LONGEST = Light(6500, "NE")


def check_names(pairs: Sequence[InferencePair], targets: Sequence[Light | None], ext: str, template: str | None = None,
                source: LightLike | None = None) -> None:
    """:func:`plan_outputs`' refusals (a template that gives no file name, too long a name, two outputs of
    one name) before the model is loaded, the model's own target (None) standing in as its longest."""
    plan_outputs(pairs, [target or _LONGEST for target in targets], ext, template, source)


def _what(output: Output) -> str:
    return output.pair.image.name + (f" to {output.target}" if output.target is not None else "")


__all__ = ["FIELDS", "ONE_TARGET", "SEVERAL_TARGETS", "Output", "check_names", "name_fields", "output_name", "plan_outputs",
           "template_fields"]
