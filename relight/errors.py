"""The one exception type the command line turns into a one-line message instead of a traceback."""


class RelightError(Exception):
    """A problem with the user's input, files or environment, explained in one line by ``str()``."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name if it has none), for one-line errors."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
