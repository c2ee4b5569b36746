"""The one table that words library errors for the command line.

Library errors (:mod:`relight.errors`) carry their settings and suggested actions as parts; here each
part is worded with the command line's own flags and commands, so the library never names a flag:

* a :class:`~relight.errors.Setting` becomes its flag (``FLAGS``, by ``owner.name`` or by name, where the
  flag is not ``--name-with-dashes``), then ``--x``/``--no-x`` for a bool, the flag alone without a value, else the
  flag and ``shown`` (or the value);
* an :class:`~relight.errors.Action` is worded by ``ACTIONS[kind]``; unknown kinds keep their Python wording.
"""

from __future__ import annotations

from collections.abc import Callable

from relight.errors import Action, Interrupted, RelightError, Setting, Wording, first_line, labelled

#: Setting name -> its command-line flag, where the flag is not ``--`` + the name with dashes.
FLAGS: dict[str, str] = {
    "data": "DATA",
    "config_file": "--config",
    "Relighter.relight.source": "--from",  # ``from`` is a Python keyword; train's ``source`` stays --source
    "mirror_average": "--mirror-avg",  # short enough for the help's table at 80 columns
}

#: Action kind -> how the command line suggests it.
ACTIONS: dict[str, Callable[[Action], str]] = {
    "download": lambda a: f"run `relight weights download {a.arg('name')}`",
    "import": lambda a: f"run `relight weights import {a.arg('file')} --name {a.arg('name')}`",
    "list-weights": lambda a: "`relight weights list`",
    "pass-weights": lambda a: f"pass --weights {a.arg('what')}",
    "give-depth": lambda a: "give a depth file",
    "export": lambda a: "export the weights with `relight export WEIGHTS -o FILE.onnx`",
}


def flag(setting: Setting) -> str:
    """The command-line flag of ``setting``: ``FLAGS`` by ``owner.name`` first (one name may be two commands'
    flags), then by name, else ``--name-with-dashes``."""
    owned = FLAGS.get(f"{setting.owner}.{setting.name}") if setting.owner else None
    return owned or FLAGS.get(setting.name, "--" + setting.name.replace("_", "-"))


def _negated(name: str) -> str:
    return "--no-" + name.removeprefix("--")


#: Settings and actions in command-line terms (the rules above).
cli_words = Wording(labelled(flag, negated=_negated), ACTIONS)
#: A message (a plain string, or an error or warning made of parts) in command-line terms.
cli_text = cli_words.text


def is_click_error(exc: BaseException, name: str) -> bool:
    """Whether ``exc`` is click's ``name`` error, from whichever click typer uses (recent typers bundle
    their own copy, so the class cannot be imported from one place)."""
    return any(cls.__name__ == name for cls in type(exc).__mro__)


def message(exc: BaseException) -> str:
    """The one line the command line prints for ``exc``, its label (``error:``, ``interrupted``) first."""
    if isinstance(exc, Interrupted):
        text = exc.render(cli_words)
        return f"interrupted: {text}" if text else "interrupted"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, RelightError):
        return f"error: {exc.render(cli_words)}"
    if is_click_error(exc, "UsageError"):
        context = exc.ctx  # type: ignore[attr-defined]
        hint = f" (see {context.command_path} --help)" if context is not None else ""
        return f"error: {exc.format_message()}{hint}"  # type: ignore[attr-defined]
    if is_click_error(exc, "Abort"):
        return "aborted"
    return f"error: unexpected {type(exc).__name__}: {first_line(exc)} (run with --debug for the traceback)"
