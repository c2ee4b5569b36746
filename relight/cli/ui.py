"""``relight ui``: relight in a local web page (Gradio), until Ctrl-C."""

from __future__ import annotations

import ipaddress
import threading
from typing import Annotated

import typer

from relight.cli._console import console, warn
from relight.cli._depth import DepthModelOpt
from relight.cli._options import BackendOpt, DeviceOpt, PrecisionOpt, WeightsOpt

HostOpt = Annotated[str, typer.Option(help="Interface to serve on; 127.0.0.1 (the default) is this machine only, 0.0.0.0 every interface.")]
PortOpt = Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on.")]


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def ui(
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 7860,
    weights: WeightsOpt = None,
    device: DeviceOpt = None,
    precision: PrecisionOpt = None,
    backend: BackendOpt = None,
    depth_model: DepthModelOpt = None,
) -> None:
    r"""Serve relight as a web page: drop a photo, pick the light, compare before and after (needs the ui extra: pip install 'relight\[ui]')."""
    from relight.ui import Service, build_app, private_cache, serve

    service = Service(weights, device, precision=precision, backend=backend, depth_model=depth_model, warn=warn)
    try:
        info = service.describe()  # a model that cannot load fails here, before the server starts
        console.print(f"[dim]model {info.describe()}[/dim]")
        with private_cache(service):  # another page on this machine stopping cannot delete this one's files
            page = build_app(service)
            url = serve(page, host, port)
            if not _is_loopback(host):
                console.print(f"[yellow]warning:[/yellow] --host {host}: the page is open to the network, without a password")
            console.print(f"relight ui: serving on {url} (Ctrl-C stops)")
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                console.print("relight ui: stopped")
            finally:
                page.close()
    finally:
        service.close()
