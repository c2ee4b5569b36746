"""`relight ui`: the page's service in Python terms, and the `/relight` endpoint through gradio_client
against a server the test starts on a loopback port (tiny random models the tests build)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from badfiles import header_only_png
from pageserver import LOOPBACK, free_port, served
from tmpfs import small_tmpfs
from relight.errors import InvalidSetting, RelightError, Setting, action
from relight.io import read_image
from relight.io.images import MAX_PIXELS
from relight.lighting import ALL_LIGHTS
from relight.ui import Service, page_message, private_cache
from relight.ui.app import _with_direction, _with_temperature, initial_target, light_note
from relight.ui.service import ModelInfo, check_upload, depth_picture, page_words

def _relight(url: str, image: Path, depth: Path | None, target: str) -> Path:
    client = Client(url, verbose=False)
    return Path(client.predict(handle_file(str(image)), handle_file(str(depth)) if depth else None, target, api_name="/relight"))


def test_the_endpoint_gives_what_relight_run_writes(cli, tmp_path, sample_pair, narrow_checkpoint, one_to_one_url):
    image, depth = sample_pair
    out = tmp_path / "run.png"
    code, _, err = cli(["run", str(image), str(depth), "-o", str(out), "-w", str(narrow_checkpoint), "--device", "cpu"])
    assert code == 0, err
    served = _relight(one_to_one_url, image, depth, "")
    assert served.name == "scene_relit.png"  # the model records no pair, so the name has no light
    got, want = read_image(served), read_image(out)
    assert got.size == want.size == (40, 56)
    assert got.alpha is not None  # alpha and metadata kept, as run writes them
    assert np.abs(got.rgb - want.rgb).max() <= 2 / 255
    assert served.read_bytes() == out.read_bytes()  # in fact the very file `relight run -o NAME.png` writes


def test_a_photo_keeps_its_orientation_profile_and_metadata_as_run_keeps_them(cli, tmp_path, narrow_checkpoint, one_to_one_url):
    from PIL import Image, ImageCms

    photo = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112], exif[0x010F] = 6, "relight test camera"  # turned a quarter: shown 40 x 24 from 24 x 40 stored
    pixels = np.random.default_rng(2).integers(0, 256, (40, 24, 3), dtype=np.uint8)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(pixels).save(photo, exif=exif, icc_profile=icc, quality=95)
    depth = tmp_path / "turned.npy"
    np.save(depth, np.random.default_rng(3).random((24, 40), dtype=np.float32))
    out = tmp_path / "run.png"
    code, _, err = cli(["run", str(photo), str(depth), "-o", str(out), "-w", str(narrow_checkpoint), "--device", "cpu"])
    assert code == 0, err
    served = _relight(one_to_one_url, photo, depth, "")
    assert served.read_bytes() == out.read_bytes()
    kept = read_image(served)
    assert kept.size == (24, 40)
    assert kept.meta.icc == icc
    assert b"relight test camera" in (kept.meta.exif or b"")


def test_a_bad_upload_is_a_message_and_the_next_call_works(tmp_path, sample_pair, one_to_one_url):
    image, depth = sample_pair
    bad = tmp_path / "holiday.png"
    bad.write_text("not a picture")
    with pytest.raises(AppError) as caught:
        _relight(one_to_one_url, bad, depth, "")
    message = str(caught.value)
    assert "holiday.png: " in message
    assert "not a readable" in message
    assert str(tmp_path) not in message  # the name given, not the server's path
    assert "Traceback" not in message
    served = _relight(one_to_one_url, image, depth, "")
    assert read_image(served).size == (40, 56)


@pytest.mark.parametrize("side", [9000, 20000])  # over relight's limit; the second also over Pillow's own
def test_an_upload_over_the_pixel_limit_is_refused_before_decoding(tmp_path, sample_pair, one_to_one_url, side):
    _, depth = sample_pair
    huge = header_only_png(tmp_path / "huge.png", side, side)
    with pytest.raises(AppError, match=f"huge.png: image header claims .*over the {MAX_PIXELS:,}-pixel limit"):
        _relight(one_to_one_url, huge, depth, "")


def test_a_one_to_one_model_asked_for_another_light_says_so(sample_pair, one_to_one_url):
    image, depth = sample_pair
    with pytest.raises(AppError, match=r"target light 2500-W: this model is one-to-one \(\? -> \?\) and relights to its own target only"):
        _relight(one_to_one_url, image, depth, "2500-W")


@pytest.fixture(scope="module")
def default_url() -> Iterator[str]:
    """The page as `relight ui` serves it without --weights: the registry's default model."""
    yield from served(None)


README_EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "validation"


@pytest.mark.parametrize("target", ["2500-W", "4500-E", ""])
def test_the_readme_call_works_on_a_page_started_without_a_model(cli, target, tmp_path, default_url):
    """docs/ui.md's call (image, depth, target) against `relight ui` with no options gives what `relight run`
    gives for that target, and for the model's own target (""): both run the one default model."""
    image, depth = README_EXAMPLE / "Image900.png", README_EXAMPLE / "Image900.npy"
    client = Client(default_url, verbose=False)
    served_file = Path(client.predict(handle_file(str(image)), handle_file(str(depth)), target, api_name="/relight"))
    out = tmp_path / "run.png"
    code, _, err = cli(["run", str(image), str(depth), "-o", str(out), "--device", "cpu", *(["--to", target] if target else [])])
    assert code == 0, err
    assert served_file.name == f"Image900_{target.replace('-', '_') or '4500_E'}.png"
    assert served_file.read_bytes() == out.read_bytes()


def test_the_readme_sheet_call_works_on_a_page_started_without_a_model(default_url):
    from relight.evaluation.sheet import light_sheet

    image, depth = README_EXAMPLE / "Image900.png", README_EXAMPLE / "Image900.npy"
    sheet = read_image(Client(default_url, verbose=False).predict(handle_file(str(image)), handle_file(str(depth)), api_name="/sheet"))
    assert sheet.size == light_sheet({light: np.zeros((128, 128, 3), np.float32) for light in ALL_LIGHTS}).shape[:2]


def test_the_model_list_holds_what_can_run_and_says_how_to_get_the_rest(narrow_checkpoint):
    """mbnet-ntire21 (the authors' checkpoint, not imported here) is not offered; the page says how to
    get it in its own words: a command to run on the server, no Python function."""
    from relight.ui.app import missing_note

    service = Service(device="cpu")
    try:
        assert service.models() == ["relight-synth-any", "relight-synth-narrow"]
        note = missing_note(service)
        assert "mbnet-ntire21: relight cannot download it: get weight.pkl from " in note
        assert "import it on the server with `relight weights import weight.pkl`, named mbnet-ntire21" in note
        assert "relight.weights" not in note
        assert "import_authors_checkpoint" not in note
        assert Service(str(narrow_checkpoint), device="cpu").models()[0] == str(narrow_checkpoint)  # the model given comes first
    finally:
        service.close()


def test_a_service_nobody_closes_takes_its_files_with_it(narrow_checkpoint, sample_pair):
    """A Python user who never calls close() leaves no folder behind: its files go with the service."""
    import gc

    service = Service(str(narrow_checkpoint), device="cpu")
    image, depth = sample_pair
    written = service.relight(str(image), str(depth)).relit
    root = service._root
    assert written.is_file() and root in written.parents
    del service
    gc.collect()
    assert not root.exists()


def test_a_model_that_cannot_load_leaves_the_list_on_the_model_in_use(tmp_path, narrow_checkpoint, monkeypatch):
    """Picking a model that fails to load warns, and the list goes back to the model that still runs: it
    never shows one model while the next Relight runs another."""
    import gradio as gr

    from relight.ui.app import _pick_model

    warned: list[str] = []
    monkeypatch.setattr(gr, "Warning", warned.append)
    service = Service(str(narrow_checkpoint), device="cpu")
    try:
        pick = _pick_model(service)
        gone = str(tmp_path / "gone.safetensors")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # nothing on the server's console either
            state, listed, *rest = pick(gone, str(narrow_checkpoint))
            assert state == str(narrow_checkpoint)
            assert listed["value"] == str(narrow_checkpoint)
            assert warned == [f"{gone}: no such weights file"]
            assert len(rest) == 13
            state, listed, line, *_ = pick(str(narrow_checkpoint), gone)
        assert state == listed["value"] == str(narrow_checkpoint)
        assert line.startswith(f"{narrow_checkpoint}: narrow-w8-d16")
    finally:
        service.close()


def test_the_depth_kind_control_reads_depth_as_run_does(cli, tmp_path, sample_pair, narrow_checkpoint, one_to_one_url):
    """Disparity (larger nearer) given as such on the page is what `relight run --depth-kind disparity` makes of it."""
    image, _ = sample_pair
    disparity = tmp_path / "disparity.npy"
    np.save(disparity, np.random.default_rng(4).uniform(1, 40, (40, 56)).astype(np.float32))
    out = tmp_path / "run.png"
    code, _, err = cli(["run", str(image), str(disparity), "-o", str(out), "-w", str(narrow_checkpoint), "--device", "cpu",
                            "--depth-kind", "disparity"])
    assert code == 0, err
    client = Client(one_to_one_url, verbose=False)
    as_disparity = Path(client.predict(handle_file(str(image)), handle_file(str(disparity)), "", "disparity", api_name="/relight"))
    assert as_disparity.read_bytes() == out.read_bytes()
    service = Service(str(narrow_checkpoint), device="cpu")
    try:  # auto takes values up to 40 for distances (larger farther): the control turns the depth shown around
        views = {kind: read_image(service.relight(image, disparity, depth_kind=kind).depth_view).rgb[..., 0] for kind in ("auto", "disparity")}
    finally:
        service.close()
    assert np.corrcoef(views["auto"].ravel(), views["disparity"].ravel())[0, 1] < -0.5


def test_the_photo_is_previewed_as_relight_reads_it(tmp_path, narrow_checkpoint):
    from PIL import Image

    photo = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 24 wide, 40 high; shown turned a quarter
    Image.fromarray(np.random.default_rng(2).integers(0, 256, (40, 24, 3), dtype=np.uint8)).save(photo, exif=exif)
    wide = tmp_path / "wide.png"
    Image.fromarray(np.zeros((300, 2048, 3), np.uint8)).save(wide)
    service = Service(str(narrow_checkpoint), device="cpu")
    try:
        assert read_image(service.preview(photo)).size == (24, 40)
        assert read_image(service.preview(wide)).size == (150, 1024)  # a large photo previewed smaller, its shape kept
    finally:
        service.close()


def test_two_sessions_at_once_get_their_own_results(sample_pair, any_to_any_checkpoint, any_to_any_url):
    from relight.inference import Relighter

    image, depth = sample_pair
    targets = ["2500-W", "6500-E"]
    results: dict[str, Path] = {}
    clients = [Client(any_to_any_url, verbose=False) for _ in targets]
    jobs = [c.submit(handle_file(str(image)), handle_file(str(depth)), t, api_name="/relight") for c, t in zip(clients, targets)]
    for target, job in zip(targets, jobs):
        results[target] = Path(job.result(timeout=120))
    relighter = Relighter.from_weights(any_to_any_checkpoint, device="cpu")
    loaded = read_image(image)
    depth_map = np.load(depth, allow_pickle=True).item()["normalized_depth"]
    got = {t: read_image(p).rgb for t, p in results.items()}
    for target in targets:
        want = np.clip(relighter.relight(loaded.rgb, depth_map, to=target), 0, 1)
        assert np.abs(got[target] - want).max() <= 2 / 255, target
    assert np.abs(got["2500-W"] - got["6500-E"]).max() > 4 / 255  # the two targets differ, so a mix-up would show


def test_the_mirror_box_relights_as_run_does_with_mirror_avg(cli, tmp_path, sample_pair, any_to_any_checkpoint, any_to_any_url):
    image, depth = sample_pair
    client = Client(any_to_any_url, verbose=False)
    for ticked in (True, False):
        out = tmp_path / f"run{ticked}.png"
        code, _, err = cli(["run", str(image), str(depth), "-o", str(out), "-w", str(any_to_any_checkpoint), "--device", "cpu", "--to", "2500-NE",
                            *(["--mirror-avg"] if ticked else [])])
        assert code == 0, err
        served = Path(client.predict(handle_file(str(image)), handle_file(str(depth)), "2500-NE", "auto", ticked, api_name="/relight"))
        assert served.read_bytes() == out.read_bytes(), ticked
    assert (tmp_path / "runTrue.png").read_bytes() != (tmp_path / "runFalse.png").read_bytes()


def test_the_mirror_box_on_a_one_to_one_model_says_so_in_page_words(sample_pair, narrow_checkpoint):
    image, depth = sample_pair
    service = Service(str(narrow_checkpoint), device="cpu")
    try:
        with pytest.raises(InvalidSetting) as caught:
            service.relight(image, depth, mirror_average=True)
        assert page_message(caught.value).startswith("mirror-image box ticked: the model does not record the light it relights to")
        assert service.relight(image, depth).relit.is_file(), "unticked, the same model relights"
    finally:
        service.close()


def test_concurrent_threads_on_one_service_swap_models_safely(sample_pair, narrow_checkpoint, any_to_any_checkpoint):
    """One model in memory: calls for two models from two threads each run on their own model, every call
    giving what that model gives alone; an exception in a thread fails the test."""
    image, depth = sample_pair
    asks = {narrow_checkpoint: "", any_to_any_checkpoint: "2500-W"}
    service = Service(str(narrow_checkpoint), device="cpu")
    results: dict[Path, list[np.ndarray]] = {weights: [] for weights in asks}
    errors: dict[Path, BaseException] = {}

    def call(weights: Path, target: str) -> None:
        try:
            for _ in range(3):
                results[weights].append(read_image(service.relight(image, depth, target, str(weights)).relit).rgb)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread, which fails on it
            errors[weights] = exc

    threads = [threading.Thread(target=call, args=item) for item in asks.items()]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        service.close()
    assert not errors, errors
    for weights, target in asks.items():
        alone = Service(str(weights), device="cpu")
        try:
            want = read_image(alone.relight(image, depth, target).relit).rgb
        finally:
            alone.close()
        assert len(results[weights]) == 3, weights.name
        for i, got in enumerate(results[weights]):
            assert np.array_equal(got, want), f"{weights.name}, call {i}"
    assert not np.array_equal(results[narrow_checkpoint][0], results[any_to_any_checkpoint][0])  # a mix-up would show


def test_without_depth_the_estimate_is_used_and_shown(sample_pair, narrow_checkpoint):
    image, _ = sample_pair
    seen = []

    def estimate(rgb):
        seen.append(rgb.shape)
        return np.linspace(0, 1, rgb.shape[0] * rgb.shape[1], dtype=np.float32).reshape(rgb.shape[:2])

    service = Service(str(narrow_checkpoint), device="cpu", estimate_depth=estimate)
    try:
        result = service.relight(image)
        assert seen == [(40, 56, 3)]
        assert result.estimated
        assert result.mapping == "? -> ?"
        view = read_image(result.depth_view).rgb
        assert view.shape == (40, 56, 3)
        assert view[0, 0, 0] == 0
        assert view[-1, -1, 0] == 1  # near dark, far light
        assert read_image(result.relit).size == (40, 56)
        assert result.seconds > 0
    finally:
        service.close()


def test_the_depth_model_estimates_depth_for_a_photo_without_any(sample_pair, narrow_checkpoint, tiny_model):
    image, _ = sample_pair
    service = Service(str(narrow_checkpoint), device="cpu", depth_model=str(tiny_model))
    try:
        result = service.relight(image)
        assert result.estimated
        assert read_image(result.relit).size == (40, 56)
        assert np.ptp(read_image(result.depth_view).rgb) > 0.5  # the estimate varies across the photo, and is shown
    finally:
        service.close()


def test_no_depth_model_offline_is_a_message_on_the_page(sample_pair, one_to_one_url, hub, monkeypatch):
    image, depth = sample_pair
    monkeypatch.setenv("RELIGHT_OFFLINE", "1")  # on again: the hub fixture lifts it
    with pytest.raises(AppError) as caught:
        _relight(one_to_one_url, image, None, "")
    message = str(caught.value)
    assert message.startswith("scene.png: no depth map, and depth cannot be estimated: ")
    assert "offline mode is on" in message
    assert "with stem" not in message  # the page has no stems, only an upload
    assert message.endswith("drop a depth map beside the photo")
    assert "Traceback" not in message
    served = _relight(one_to_one_url, image, depth, "")  # and the server keeps serving
    assert read_image(served).size == (40, 56)


def test_all_40_is_the_contact_sheet(sample_pair, any_to_any_checkpoint, narrow_checkpoint):
    from relight.evaluation.sheet import light_sheet

    image, depth = sample_pair
    service = Service(str(any_to_any_checkpoint), device="cpu")
    try:
        sheet = read_image(service.sheet(image, depth))
        blank = light_sheet({light: np.zeros((40, 56, 3), np.float32) for light in ALL_LIGHTS})
        assert sheet.size == blank.shape[:2]  # 5 rows of temperatures, 8 columns of directions, labelled
        with pytest.raises(InvalidSetting, match=r"narrow-random\.safetensors is one-to-one \? -> \?: a contact sheet of all the lights "
                                                 "needs an any-to-any model"):
            service.sheet(image, depth, str(narrow_checkpoint))
    finally:
        service.close()


def test_files_are_written_per_call(sample_pair, narrow_checkpoint):
    image, depth = sample_pair
    service = Service(str(narrow_checkpoint), device="cpu")
    try:
        first, second = service.relight(image, depth), service.relight(image, depth)
        assert first.relit != second.relit
        assert first.relit.parent != second.relit.parent
        assert first.relit.is_file()
        assert second.before.is_file()
        assert second.after.is_file()
        root = first.relit.parent.parent
    finally:
        service.close()
    assert not root.exists()


def test_check_upload_refuses_from_the_header(tmp_path):
    with pytest.raises(RelightError, match="over the 67,108,864-pixel limit"):
        check_upload(header_only_png(tmp_path / "big.png", 8193, 8192))
    check_upload(header_only_png(tmp_path / "fine.png", 64, 64))  # a header under the limit passes (decoding is later)


def test_page_words_name_page_controls_not_flags():
    target = Setting("to", "2500-W", owner="Relighter.relight", shown="2500-W")
    error = InvalidSetting(target, target, ": not this one; ", action("pass-weights", "use Relighter.from_weights('x')", what="x"))
    assert page_message(error) == "target light 2500-W: not this one; pick x in the model list"
    assert page_words(Setting("weights")) == "model"
    assert page_words(Setting("batch_size", 4)) == "batch size 4"
    assert page_words(Setting("mirror_average", True)) == "mirror-image box ticked"
    assert page_words(Setting("mirror_average", False)) == "mirror-image box unticked"
    assert page_message(RelightError("/tmp/abc/photo.png: damaged"), {"/tmp/abc/photo.png": "photo.png"}) == "photo.png: damaged"
    assert page_message(ValueError("boom\nmore")) == "unexpected ValueError: boom"


def test_the_light_picker():
    from relight.lighting import Illumination, Light

    a2a = ModelInfo("m", "narrow", Illumination(True), "cpu", "fp32")
    pair = ModelInfo("m", "narrow", Illumination(False, Light(6500, "N"), Light(4500, "E"), ()), "cpu", "fp32")
    assert initial_target(a2a) == "4500-E"
    assert initial_target(pair) == "4500-E"
    assert "one-to-one" in light_note(pair)
    assert "6500-N -> 4500-E" in light_note(pair)
    assert "Any-to-any" in light_note(a2a)
    assert _with_direction("2500-E", "NW") == "2500-NW"
    assert _with_direction("", "S") == "4500-S"
    assert _with_temperature("2500-E", "6500") == "6500-E"
    assert _with_temperature("", "3500") == "3500-E"
    assert "on cpu (fp32, " in pair.describe()


def test_depth_picture_stretches_and_survives_a_flat_map():
    assert depth_picture(np.full((2, 3), 0.5, np.float32)).max() == 0
    picture = depth_picture(np.array([[2.0, 4.0]], np.float32))
    assert picture.shape == (1, 2, 3)
    assert picture[0, 0, 0] == 0
    assert picture[0, 1, 0] == 1


def test_a_port_in_use_is_one_line(cli, narrow_checkpoint):
    with socket.socket() as busy:
        busy.bind((LOOPBACK, 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = cli(["ui", "--port", str(port), "-w", str(narrow_checkpoint), "--device", "cpu"])
    assert code == 2
    assert f"error: --port {port}: cannot serve on {LOOPBACK}:{port}" in err
    assert "Traceback" not in err


@pytest.fixture(params=["full", "a file"])
def unusable_tempdir(request, tmp_path) -> Iterator[tuple[Path, str]]:
    """A system temporary folder where nothing can be made: a full disk (a tmpfs with no inode left), or
    a file in the folder's place; with the reason the error gives."""
    if request.param == "full":
        for disk in small_tmpfs(tmp_path, "64k", "; the other case covers the wording", inodes=1):
            yield disk, "No space left on device"
    else:
        (tmp_path / "tmp").write_text("a file where the temporary folder should be")
        yield tmp_path / "tmp", "Not a directory"


@pytest.mark.parametrize("chosen", [False, True], ids=["system temporary folder", "GRADIO_TEMP_DIR"])
def test_the_private_cache_is_the_services_own_and_the_variable_comes_back(chosen, tmp_path, narrow_checkpoint, monkeypatch):
    """In ``$GRADIO_TEMP_DIR`` (made when missing) when that is set, else in the service's own folder."""
    chosen_folder = tmp_path / "chosen" / "gradio"
    if chosen:
        monkeypatch.setenv("GRADIO_TEMP_DIR", str(chosen_folder))
    else:
        monkeypatch.delenv("GRADIO_TEMP_DIR")
    before = os.environ.get("GRADIO_TEMP_DIR")
    service = Service(str(narrow_checkpoint), device="cpu")
    with private_cache(service) as folder:
        assert os.environ["GRADIO_TEMP_DIR"] == str(folder)
        assert folder.is_dir()
        assert folder.name.startswith("relight-ui-")
        if chosen:
            assert folder.parent == chosen_folder
        else:  # the service's own folder, in the system's temporary folder
            assert folder.parent.parent == Path(tempfile.gettempdir())
            assert folder.parent.name.startswith("relight-ui-")
    assert os.environ.get("GRADIO_TEMP_DIR") == before
    service.close()
    assert not folder.exists()


def test_a_temporary_folder_that_cannot_be_made_is_one_line_naming_it(cli, unusable_tempdir, narrow_checkpoint, monkeypatch):
    """The page keeps each call's files in a folder under the system's temporary folder; a full or
    unwritable one is said as such before serving (CI once met a full /tmp: "unexpected OSError")."""
    folder, reason = unusable_tempdir
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    code, _, err = cli(["ui", "--port", str(free_port()), "-w", str(narrow_checkpoint), "--device", "cpu"])
    assert code == 1, err
    assert err.strip() == f"error: {folder}: cannot write here ({reason})", err


def test_only_loopback_hosts_pass_without_a_warning():
    from relight.cli.ui import _is_loopback

    assert _is_loopback("127.0.0.1")
    assert _is_loopback("::1")
    assert _is_loopback("localhost")
    assert not _is_loopback("0.0.0.0")
    assert not _is_loopback("192.168.1.4")


def test_unknown_weights_fail_before_serving(cli):
    code, _, err = cli(["ui", "-w", "no-such-model", "--port", str(free_port())])
    assert code == 1
    assert "no-such-model" in err
    assert "serving on" not in err


def test_the_command_prints_its_address_serves_and_stops_leaving_other_pages_files(narrow_checkpoint, one_to_one_url, auto_backend):
    """Stopping, ``relight ui`` deletes only its own files. Gradio names cached files by their content in one
    folder per machine, so the child's examples are those this process's page cached, and Gradio deletes
    what a server cached when it stops: before relight ui kept its cache apart, the child took them along."""
    shared = Path(os.environ["GRADIO_TEMP_DIR"])
    cached = sorted(shared.rglob("Image90*"))
    assert cached, "the page of one_to_one_url cached the examples"
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "relight", "ui", "--port", str(port), "-w", str(narrow_checkpoint), "--device", "cpu"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = []
        for line in child.stdout:
            lines.append(line)
            if "serving on" in line:
                break
        assert f"relight ui: serving on http://{LOOPBACK}:{port}/" in "".join(lines), "".join(lines)
        assert "narrow-w8-d16, one-to-one ? -> ?, on cpu (fp32, onnxruntime)" in "".join(lines)
        import urllib.request

        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/", timeout=30) as page:
            assert page.status == 200
            assert b"relight" in page.read()
        assert [folder.name for folder in shared.glob("relight-ui-*")], "the child's own cache folder"
        child.send_signal(signal.SIGTERM)
        rest, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        assert "relight ui: stopped" in rest
        assert [path.name for path in cached if not path.exists()] == []
        assert not list(shared.glob("relight-ui-*")), "the child's cache folder went with it"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_the_package_and_the_command_load_neither_gradio_nor_torch():
    code = "import sys, relight.ui, relight.cli; assert not {'gradio', 'torch'} & set(sys.modules), sorted({'gradio', 'torch'} & set(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-1000:]
