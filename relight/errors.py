"""The one exception type the command line turns into a one-line message instead of a traceback."""


class RelightError(Exception):
    """A problem with the user's input, files or environment, explained in one line by ``str()``."""
