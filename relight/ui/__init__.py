"""``relight ui``: relight in a local web page (Gradio, the optional extra ``relight[ui]``).

:mod:`~relight.ui.service` holds the one model and the relight call in Python terms (no Gradio);
:mod:`~relight.ui.app` builds the page over it and serves it. Names are imported on first use, so that
importing this package loads neither Gradio nor torch.
"""

from __future__ import annotations

from relight.lazy import lazy_attributes

_HOMES = {
    **dict.fromkeys(("Service", "ModelInfo", "Result", "page_message"), "relight.ui.service"),
    **dict.fromkeys(("build_app", "private_cache", "serve"), "relight.ui.app"),
}

__getattr__ = lazy_attributes(__name__, _HOMES)

__all__ = sorted(_HOMES)
