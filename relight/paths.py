"""Where the data that ships with relight lives: the weights registry and bundled model, the examples."""

from __future__ import annotations

import sys
from pathlib import Path


def shipped(folder: str) -> Path:
    """``weights`` or ``examples``: beside the package in a checkout or editable install, else where a
    wheel install puts them (``<prefix>/share/relight/<folder>``, pyproject's data-files)."""
    beside = Path(__file__).resolve().parent.parent / folder
    installed = Path(sys.prefix) / "share" / "relight" / folder
    return installed if installed.is_dir() and not beside.is_dir() else beside
