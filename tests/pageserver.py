"""The web page served on a free loopback port, for the tests that call it (gradio_client) or load it (a browser)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def served(weights: Path | None) -> Iterator[str]:
    """The page over ``weights`` (None: as ``relight ui`` starts without a model) on the CPU and the torch
    backend, served on a free loopback port: its address, for a fixture to ``yield from``; page and service
    are closed after. The backend is named because a module's fixture starts before the tests' own setting
    (``RELIGHT_BACKEND``), and the page's runs are compared with the command line's."""
    from relight.ui import Service, build_app, serve

    service = Service(None if weights is None else str(weights), device="cpu", backend="torch")
    page = build_app(service)
    try:
        yield serve(page, LOOPBACK, free_port())
    finally:
        page.close()
        service.close()
