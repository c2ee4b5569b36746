"""The page under hostile input: uploads a visitor can send through ``gradio_client`` to a ``relight ui``
the test starts on a loopback port, each answered with one line, and the server's peak memory (from
/proc) bounded; and the service's own bounds in Python terms (the cost of a request, a depth model that
failed to load, running out of memory)."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import time
import zlib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from badfiles import png_chunk
from bigphotos import flat_photo
from relight.errors import DeviceOutOfMemory, InputFileError, RelightError, Setting
from relight.io import read_image
from relight.ui import Service, build_app
from relight.ui import service as service_module
from relight.ui.service import page_message

LOOPBACK = "127.0.0.1"
#: A 5 MB flood of EMPTY_SET opcodes pickled in a .npy, deflated in a .npz of some 20 KB.
FLOOD = b"\x80\x03" + b"\x8f" * 5_000_000 + b"."


def _status(pid: int, field: str) -> float:
    """A field of /proc/PID/status in MB (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1e3
    raise AssertionError(f"no {field} for {pid}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, small_scale_any_to_any: Path) -> Iterator[tuple[str, int]]:
    """``relight ui`` over a tiny any-to-any model, offline (no depth model to be had), in a child
    process: its address and process id."""
    from socket import socket

    with socket() as sock:
        sock.bind((LOOPBACK, 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RELIGHT_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
           "GRADIO_TEMP_DIR": str(tmp_path_factory.mktemp("gradio-hostile"))}
    command = [sys.executable, "-m", "relight", "ui", "--port", str(port), "-w", str(small_scale_any_to_any), "--device", "cpu"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        for line in child.stdout:  # type: ignore[union-attr]
            if "serving on" in line:
                break
        assert child.poll() is None, "the page did not start"
        yield f"http://{LOOPBACK}:{port}/", child.pid
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _flood_npz(path: Path) -> Path:
    header = __import__("io").BytesIO()
    np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(np.empty((), object)))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("normalized_depth.npy", header.getvalue() + FLOOD)
    return path


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (Path.touch, (self.marker,))


def _header_only_png(path: Path, width: int, height: int) -> Path:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 16)) + png_chunk(b"IEND", b""))
    return path


def _refusal(call) -> str:
    with pytest.raises(AppError) as caught:
        call()
    return str(caught.value)


def test_hostile_uploads_are_one_line_each_and_the_server_stays_small(tmp_path, server, sample_pair):
    """Each hostile upload is refused in one line and the next visitor is served; the server's peak memory
    stays within a few hundred MB of its start (a 20 KB .npz once took it from 0.95 to 5.5 GB, and All 40
    of a 4096 x 4096 photo to 9.8 GB)."""
    url, pid = server
    client = Client(url, verbose=False)
    start = _status(pid, "VmRSS")
    image, depth = sample_pair

    def relight(photo: Path, depth_file: Path | None, target: str = "4500-E") -> str:
        return client.predict(handle_file(str(photo)), handle_file(str(depth_file)) if depth_file else None, target, api_name="/relight")

    def sheet(photo: Path, depth_file: Path | None) -> str:
        return client.predict(handle_file(str(photo)), handle_file(str(depth_file)) if depth_file else None, api_name="/sheet")

    marker = tmp_path / "pwned"
    np.save(tmp_path / "evil.npy", np.array({"normalized_depth": _Payload(marker)}, dtype=object), allow_pickle=True)
    bad_name = tmp_path / "bad\x1b[31m name.png"
    bad_name.write_text("not a picture")
    big, big_depth = flat_photo(tmp_path / "big.png", 8192)  # 196 KB of PNG, 805 MB as floats; its sheet: 32 GB kept
    refused = {
        "deflated EMPTY_SET flood": (lambda: relight(image, _flood_npz(tmp_path / "flood.npz")), "over 2,000 containers"),
        "a pickle that runs code": (lambda: relight(image, tmp_path / "evil.npy"), "unsafe pickle"),
        "a bomb header": (lambda: relight(_header_only_png(tmp_path / "bomb.png", 100_000, 100_000), depth), "over the 67,108,864-pixel limit"),
        "All 40 of 8192 x 8192": (lambda: sheet(big, big_depth), "more than this page relights in one request"),
        "a control character in the name": (lambda: relight(bad_name, depth), "not a readable"),
        "no depth, offline": (lambda: relight(image, None), "depth cannot be estimated"),
        "no depth, offline, again": (lambda: relight(image, None), "depth cannot be estimated"),
    }
    for name, (call, expected) in refused.items():
        message = _refusal(call)
        assert expected in message, (name, message)
        assert "\n" not in message, (name, message)
        assert "\x1b" not in message, (name, message)
        assert "Traceback" not in message, name
    assert not marker.exists()

    one_bit = tmp_path / "one-bit.png"
    Image.fromarray(np.indices((40, 56)).sum(axis=0) % 2 == 0).convert("1").save(one_bit)
    assert read_image(relight(image, one_bit)).size == (40, 56)  # a 1-bit PNG is depth, near and far
    medium, medium_depth = flat_photo(tmp_path / "medium.png", 2048)  # All 40 kept: 40 x 48 MB
    assert read_image(sheet(medium, medium_depth)).size[1] > 1000
    grown = _status(pid, "VmHWM") - start
    assert grown < 900, f"the server grew {grown:.0f} MB over the calls"


def test_a_request_is_bounded_by_pixels_times_lights_and_the_page_says_so(tmp_path, small_scale_any_to_any):
    service = Service(str(small_scale_any_to_any), device="cpu")
    try:
        photo = _header_only_png(tmp_path / "wide.png", 6000, 4000)  # 24 MP: one light fits, 40 do not
        with pytest.raises(InputFileError, match=r"6000 x 4000 pixels to 40 lights is more than this page relights in one request "
                                                 r"\(537 M pixels x lights: up to 13.4 MP for 40 lights\)"):
            service.sheet(photo)
        with pytest.raises(InputFileError, match="not a readable|corrupt or truncated"):  # past the cost check: the file itself
            service.relight(photo)
        assert "537 M pixels x lights per request" in service.limits()
        assert service.limits() in str(build_app(service).config)
    finally:
        service.close()


def test_a_depth_model_that_failed_to_load_is_told_at_once_until_it_is_tried_again(sample_pair, small_scale_any_to_any, monkeypatch):
    """Every upload without depth retried the load and held the shared queue for 23 s."""
    from relight.depth.estimation import DepthEstimator

    tries = []

    def load(*args, **kwargs):
        tries.append(time.monotonic())
        raise RelightError("depth-anything-v2-small: not downloaded")

    monkeypatch.setattr(DepthEstimator, "load", classmethod(lambda cls, *a, **k: load(*a, **k)))
    image, _ = sample_pair
    service = Service(str(small_scale_any_to_any), device="cpu")
    try:
        messages = []
        for _ in range(3):
            with pytest.raises(RelightError) as err:
                service.relight(image)
            messages.append(str(err.value))
        assert len(tries) == 1, "the failure is remembered"
        assert len(set(messages)) == 1
        assert "not downloaded" in messages[0]
        monkeypatch.setattr(service_module, "DEPTH_RETRY_SECONDS", 0.0)
        with pytest.raises(RelightError):
            service.relight(image)
        assert len(tries) == 2, "tried again once the time is up"
    finally:
        service.close()


def test_running_out_of_memory_on_the_page_names_no_setting_a_visitor_cannot_change():
    error = DeviceOutOfMemory("out of memory on cpu for 40 image(s) of 4096x4096; try a smaller ", Setting("size", owner="Relighter"),
                              lower=[Setting("size", owner="Relighter")])
    message = page_message(error)
    assert message == "the server ran out of memory for this photo; try a smaller one"
    assert page_message(MemoryError()) == message
