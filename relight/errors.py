"""relight's exceptions: each type carries the facts a caller needs, and words itself in Python terms.

A message is made of parts: plain text, :class:`Setting` references and suggested :class:`Action` s. ``str(error)`` words a setting
as a Python caller would write it (``Relighter(size='7x')``, ``imagenet=False``); the command line and
the web page word the same parts in their own terms (``--size 7x``, ``--no-imagenet``; ``run size 7x``)
through a :class:`Wording` of theirs and :meth:`RelightError.render`, so the library never names a flag
or a control and every audience reads the same facts.

Each type also inherits the builtin a Python caller would catch (``ValueError``, ``OSError``, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_UNSET: Any = type("_Unset", (), {"__repr__": lambda self: "<unset>"})()


@dataclass(frozen=True)
class Setting:
    """A reference to one setting (a parameter, option or config key) inside a message.

    ``name`` is the Python name (``batch_size``); ``value`` the value given, if the message shows it;
    ``owner`` the call or object it belongs to (``Relighter``, ``TrainConfig``), if any; ``shown``
    how to print the value where its ``repr`` would not do (``'7x'`` against ``7x``).
    """

    name: str
    value: Any = _UNSET
    owner: str | None = None
    shown: str | None = None

    @property
    def has_value(self) -> bool:
        return self.value is not _UNSET

    def python(self) -> str:
        """How a Python caller writes it: ``name=value``, inside ``owner(...)`` when there is an owner."""
        text = f"{self.name}={shown(repr(self.value))}" if self.has_value else self.name
        return f"{self.owner}({text})" if self.owner else text


@dataclass(frozen=True)
class Action:
    """A suggested action inside a message, worded per audience.

    ``kind`` names it for the command line's table (``"download"``: run ``relight weights download``),
    ``python`` is how a Python caller does it (``relight.weights.download('x')``), and ``args`` the facts
    either wording needs (``{"name": "x"}``).
    """

    kind: str
    python: str
    args: tuple[tuple[str, Any], ...] = ()

    def arg(self, key: str, default: Any = None) -> Any:
        return dict(self.args).get(key, default)


def action(kind: str, python: str, **args: Any) -> Action:
    """An :class:`Action` with its facts as keywords."""
    return Action(kind, python, tuple(args.items()))


Part = str | Setting | Action


@dataclass(frozen=True)
class Wording:
    """How one audience reads the settings and actions of a message: Python callers (:data:`python_words`),
    the command line (its flags) and the web page (its controls) each have one.

    ``setting`` words a whole :class:`Setting` (see :func:`labelled` for "label value"); ``actions`` word
    suggested actions by kind, and an action of another kind keeps its Python wording.
    """

    setting: Callable[[Setting], str]
    actions: Mapping[str, Callable[[Action], str]] = field(default_factory=dict)

    def __call__(self, part: Setting | Action) -> str:
        if isinstance(part, Setting):
            return self.setting(part)
        wording = self.actions.get(part.kind)
        return wording(part) if wording is not None else part.python

    def text(self, message: object) -> str:
        """A message (a plain string, or an error or warning made of parts) in this audience's terms."""
        return message.render(self) if isinstance(message, RelightError) else str(message)


def labelled(label: Callable[[Setting], str], negated: Callable[[str], str] | None = None) -> Callable[[Setting], str]:
    """A :class:`Wording`'s ``setting`` that names a setting by ``label`` and then gives its value
    (``shown`` when set); a setting without a value is its label alone, and with ``negated`` a boolean
    is its label when true and ``negated(label)`` when false (``--imagenet``, ``--no-imagenet``)."""

    def word(setting: Setting) -> str:
        name = label(setting)
        if not setting.has_value:
            return name
        if negated is not None and isinstance(setting.value, bool):
            return name if setting.value else negated(name)
        return f"{name} {shown(setting.shown if setting.shown is not None else setting.value)}"

    return word


#: How ``str(error)`` words a message: as a Python caller writes settings (``Relighter(size='7x')``).
python_words = Wording(Setting.python)


class RelightError(Exception):
    """A problem with the user's input, files or environment, explained in one line.

    Build it from parts (``RelightError("image is ", Setting("size", 0), ", expected > 0")``) or from one
    string; keyword arguments become attributes (the facts), e.g. ``path=...``.
    """

    def __init__(self, *parts: Part, **facts: Any) -> None:
        self.parts: tuple[Part, ...] = parts
        self.facts: dict[str, Any] = facts
        for key, value in facts.items():
            setattr(self, key, value)
        super().__init__(self.render(python_words))

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its parts and facts (a DataLoader worker's error crosses a process boundary).
        return _rebuild, (type(self), self.parts, self.facts)

    def render(self, words: Wording) -> str:
        """The message with every :class:`Setting` worded by ``words``."""
        return "".join(part if isinstance(part, str) else words(part) for part in self.parts)

    def settings(self) -> list[Setting]:
        """The settings the message names, for a caller that wants to point at them."""
        return [part for part in self.parts if isinstance(part, Setting)]

    def __str__(self) -> str:
        return self.render(python_words)


class InvalidSetting(RelightError, ValueError):
    """A setting's value is malformed, out of range or at odds with another one: ``setting`` names it."""

    def __init__(self, setting: Setting, *parts: Part, **facts: Any) -> None:
        super().__init__(*parts, setting=setting, **facts)


def _about(path: str | Path | None, parts: tuple[Part, ...]) -> tuple[Part, ...]:
    """A file's message starts with the file (``photo.png: no such file``), so one line says which and what."""
    return parts if path is None else (f"{path}: ", *parts)


class InputFileError(RelightError, ValueError):
    """An input file (or folder) that is missing, unreadable, damaged or of an unsupported kind: ``path``,
    which the message starts with."""

    def __init__(self, path: str | Path | None, *parts: Part, **facts: Any) -> None:
        super().__init__(*_about(path, parts), path=None if path is None else Path(path), **facts)


class UnsafeFileError(InputFileError):
    """An input file relight refuses to read because reading it could run code (a crafted pickle)."""


class OutputFileError(RelightError, OSError):
    """An output that cannot be written where it was asked for: ``path``, which the message starts with."""

    def __init__(self, path: str | Path | None, *parts: Part, **facts: Any) -> None:
        RelightError.__init__(self, *_about(path, parts), path=None if path is None else Path(path), **facts)


class DiskFullError(OutputFileError):
    """The disk (or quota) filled up while writing ``path``; nothing partial was left behind."""


class MissingWeightsError(RelightError, FileNotFoundError):
    """Pretrained weights a step needs are not on this machine: ``path`` is where they were looked for."""

    def __init__(self, path: str | Path | None, *parts: Part, **facts: Any) -> None:
        RelightError.__init__(self, *parts, path=path, **facts)


class DeviceOutOfMemory(RelightError, MemoryError):
    """The device ran out of memory; ``lower`` lists the settings that would need less."""


class Interrupted(RelightError):
    """Work stopped by Ctrl-C or SIGTERM; the message says what was done and how to go on."""


def _rebuild(cls: type[RelightError], parts: tuple[Part, ...], facts: dict[str, Any]) -> RelightError:
    error = cls.__new__(cls)
    RelightError.__init__(error, *parts, **facts)
    return error


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name if it has none), for one-line errors."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


#: The most characters of a value a message echoes (:func:`shown`).
SHOWN_CHARACTERS = 200


def _escaped(char: str) -> str:
    """A control or line-breaking character as Python writes it in a string (``\\x1b``, ``\\n``), any other as it is."""
    return char if char.isprintable() else repr(char)[1:-1]


def shown(value: object, most: int = SHOWN_CHARACTERS) -> str:
    """``value`` as a message echoes it: control characters escaped, so that a file name cannot start a
    second line or colour the terminal, and at most ``most`` characters, its middle cut out."""
    text = "".join(map(_escaped, str(value)))
    if len(text) <= most:
        return text
    keep = (most - 3) // 2
    return f"{text[:keep]}...{text[len(text) - keep:]}"


def one_line(text: str) -> str:
    """A whole message as one line: its control characters escaped (the values in it are :func:`shown` where
    they are echoed; this is what a printed line passes through last)."""
    return "".join(map(_escaped, text))


def listed(items: Iterable[object], most: int = 3) -> str:
    """At most ``most`` items joined by commas, then how many more: messages stay one short line."""
    items = [shown(item) for item in items]
    text = ", ".join(items[:most])
    return text if len(items) <= most else f"{text} and {len(items) - most} more"


class RelightWarning(RelightError, RuntimeWarning):
    """A warning made of parts like an error's (never raised: given to a ``warn`` callback or
    :func:`warnings.warn`), so that each audience reads the settings it names in its own terms."""


class InvalidEnvironment(RelightError, ValueError):
    """An environment variable that relight cannot use: a launcher's (torchrun's ``RANK``, SLURM's
    ``SLURM_ARRAY_TASK_ID``) or relight's own (``RELIGHT_BACKEND``). ``name`` and ``value`` say which;
    the message names the variable, no flag."""
