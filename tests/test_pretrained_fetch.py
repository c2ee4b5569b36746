"""Pretrained parts fetched on first use, as torchvision fetches them, from a loopback HTTP server the test starts.

The base URL comes from registry data (the user's ``registry.json`` names a mirror), the file lands in
``TORCH_HOME``, its name carries its sha256 prefix and torch.hub's check holds it to that.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from relight.errors import MissingWeightsError
from relight.train.losses import VGG19_WEIGHTS, RelightLoss
from relight.weights.pretrained import base_url, fetch_pretrained, load_cached_state_dict, reporting_downloads, torch_cache_file
from relight.weights.registry import USER_REGISTRY, USER_REGISTRY_FORMAT


class FileServer:
    """Serves ``files`` (name -> bytes) under ``/models/`` on 127.0.0.1 and records every path asked for."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append(self.path)
                data = server.files.get(self.path.removeprefix("/models/"))
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.http.server_address[:2]
        return f"http://{host}:{port}/models/"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FileServer]:
    """The server, named as the pretrained base URL by the user's registry; an empty TORCH_HOME; online."""
    from huggingface_hub import constants

    files = FileServer()
    files.thread.start()
    home = tmp_path / "relight-home"
    home.mkdir()
    (home / USER_REGISTRY).write_text(json.dumps({"format": USER_REGISTRY_FORMAT, "models": {}, "pretrained": {"base_url": files.url}}))
    monkeypatch.setenv("RELIGHT_HOME", str(home))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv("RELIGHT_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    try:
        yield files
    finally:
        files.http.shutdown()
        files.http.server_close()


def _state_file(value: float) -> tuple[str, bytes]:
    """A tiny saved state dict and a torchvision-style name for it: ``tiny-<first 8 hex of its sha256>.pth``."""
    buffer = io.BytesIO()
    torch.save({"weight": torch.full((2,), value)}, buffer)
    data = buffer.getvalue()
    return f"tiny-{hashlib.sha256(data).hexdigest()[:8]}.pth", data


def _cache() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def test_the_base_url_is_registry_data(server: FileServer) -> None:
    assert base_url() == server.url
    path, url = torch_cache_file(VGG19_WEIGHTS)
    assert path == _cache() / "vgg19-dcbb9e9d.pth"
    assert url == server.url + "vgg19-dcbb9e9d.pth"


def test_the_shipped_registry_names_torchvisions_own_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELIGHT_HOME", str(tmp_path / "no-registry-here"))
    assert base_url() == "https://download.pytorch.org/models/"


def test_a_file_is_fetched_once_then_read_from_the_cache(server: FileServer) -> None:
    name, data = _state_file(1.5)
    server.files[name] = data
    seen: list[tuple[str, int, int | None]] = []

    @contextmanager
    def reporter(label: str) -> Iterator[object]:
        yield lambda done, total: seen.append((label, done, total))

    with reporting_downloads(reporter):
        path = fetch_pretrained(_cache() / name, server.url + name, "tiny weights")
    assert path.read_bytes() == data
    assert server.requests == [f"/models/{name}"]
    assert seen[-1] == (name, len(data), len(data))  # the bytes reported as they came, against the length announced
    again = fetch_pretrained(_cache() / name, server.url + name, "tiny weights")
    assert again == path
    assert len(server.requests) == 1  # the cached copy: no second request
    assert list(_cache().iterdir()) == [path]


@pytest.mark.parametrize("switch", ["RELIGHT_OFFLINE", "HF_HUB_OFFLINE"])
def test_offline_nothing_is_fetched_and_the_line_says_where_the_file_goes(server: FileServer, switch: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    name, data = _state_file(2.0)
    server.files[name] = data
    if switch == "RELIGHT_OFFLINE":
        monkeypatch.setenv(switch, "1")
    else:
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # what HF_HUB_OFFLINE=1 sets when huggingface_hub loads
    with pytest.raises(MissingWeightsError) as info:
        fetch_pretrained(_cache() / name, server.url + name, "tiny weights")
    assert str(info.value) == (f"{_cache() / name}: tiny weights not found; download {server.url}{name} to that path "
                               "(or point TORCH_HOME at a cache that holds it)")
    assert server.requests == []
    assert not (_cache() / name).exists()


def test_a_file_that_fails_its_hash_check_is_refused_and_nothing_is_left(server: FileServer) -> None:
    """The real VGG-19 name, tiny wrong content: torch.hub's check refuses it, the loss says so in one
    line (with its way out), and neither the file nor its partial download stays in the cache."""
    server.files["vgg19-dcbb9e9d.pth"] = _state_file(3.0)[1]
    with pytest.raises(MissingWeightsError) as info:
        RelightLoss()
    message = str(info.value)
    assert "\n" not in message
    assert "failed its check" in message
    assert 'expected "dcbb9e9d"' in message
    assert message.startswith(f"{_cache() / 'vgg19-dcbb9e9d.pth'}: ImageNet VGG-19 weights (for the perceptual loss) not found")
    assert message.endswith("or train with TrainConfig(perceptual_weight=0)")
    assert server.requests == ["/models/vgg19-dcbb9e9d.pth"]
    assert list(_cache().iterdir()) == []


def test_an_unreachable_mirror_is_one_line_naming_it(server: FileServer) -> None:
    with pytest.raises(MissingWeightsError, match=r"tiny weights not found, and fetching it failed \(HTTP Error 404"):
        fetch_pretrained(_cache() / "tiny-00000000.pth", server.url + "tiny-00000000.pth", "tiny weights")
    assert list(_cache().iterdir()) == []


def test_torchvision_names_load_through_the_fetch(server: FileServer) -> None:
    """A state dict fetched under the name its torchvision weights enum gives reads back as it was saved
    (the hash check needs the real file's prefix, so the file is placed where the fetch would put it)."""
    name, data = _state_file(4.0)
    path, _ = torch_cache_file(VGG19_WEIGHTS)
    server.files[name] = data
    fetch_pretrained(_cache() / name, server.url + name, "tiny weights")
    (_cache() / name).rename(path)
    assert torch.equal(load_cached_state_dict(VGG19_WEIGHTS, "VGG-19")["weight"], torch.full((2,), 4.0))
    assert server.requests == [f"/models/{name}"]
