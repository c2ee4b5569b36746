"""The model's own scale: recorded in checkpoints, chosen per image, and the two ways back to full resolution."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from rich.console import Console

from benchmark_scripts import run_benchmark
from relight.cli._errors import message
from relight.cli._stages import StageDisplay
from relight.errors import InvalidSetting, RelightWarning
from relight.inference import Relighter
from relight.inference.scale import parse_size
from relight.model import MBNet
from relight.model.checkpoint import load_checkpoint, read_checkpoint_metadata, save_checkpoint
from relight.inference.scale import RunScale, parse_run_size, run_scale, scaled_to_longer, scaled_to_pixels
from relight.model.provenance import trained_at
from relight.train.loop import training_size
from relight.tensors import guided_resize, resize
from relight.weights import load_registry, load_weights
from relight.weights.errors import RegistryError
from relight.weights.registry import BUILTIN_REGISTRY

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def trained_at_64x32(tiny_config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random model (a fixture, not a model) whose checkpoint says it was trained at 64 x 32."""
    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("scale") / "tiny32.safetensors"
    return save_checkpoint(MBNet(tiny_config), path, {"trained_at": [64, 32]})


def _photo(height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((height, width, 3), dtype=np.float32), rng.random((height, width), dtype=np.float32)


def test_a_large_photo_is_scaled_down_to_about_the_training_pixels_with_its_aspect() -> None:
    assert scaled_to_pixels((1024, 1024), 128 * 128) == (128, 128)
    assert scaled_to_pixels((4000, 6000), 1024 * 1024) == (832, 1248)  # 24 MP at the authors' scale, sides /32
    assert scaled_to_pixels((4000, 6000), 128 * 128) == (96, 160)
    h, w = scaled_to_pixels((3024, 4032), 1024 * 1024)
    assert h % 32 == 0
    assert w % 32 == 0
    assert abs(w / h - 4032 / 3024) < 0.05
    assert 0.9 < h * w / 1024**2 < 1.1


def test_never_up_and_never_past_the_photo() -> None:
    assert scaled_to_pixels((100, 90), 128 * 128) == (100, 90)  # smaller than the training size: its own
    assert scaled_to_pixels((130, 140), 128 * 128) == (128, 128)
    assert scaled_to_pixels((20, 5000), 128 * 128) == (20, 2016)  # a side under the stride stays as it is


def test_size_n_is_the_longer_side_and_hxw_is_exact() -> None:
    assert scaled_to_longer((4000, 6000), 512) == (341, 512)
    assert scaled_to_longer((600, 300), 1200) == (1200, 600)  # an explicit size may go up
    assert parse_run_size("512") == 512
    assert parse_run_size("768x1024") == (768, 1024)
    assert parse_run_size(None) is None
    assert run_scale(512, False, (128, 128)).size_for((4000, 6000)) == (341, 512)
    assert run_scale((128, 64), False, (128, 128)).size_for((4000, 6000)) == (128, 64)
    assert run_scale(None, True, (128, 128)).size_for((4000, 6000)) == (4000, 6000)
    assert run_scale(None, False, None) == RunScale()  # a model that records no training size: the image's own
    with pytest.raises(InvalidSetting) as info:
        parse_run_size("7x")
    assert str(info.value) == str(pytest.raises(InvalidSetting, parse_size, "7x").value)  # worded as parse_size words it


def test_native_and_a_size_contradict_each_other_in_both_wordings(tiny_config) -> None:
    with pytest.raises(InvalidSetting) as info:
        run_scale((768, 1024), True, None)
    assert str(info.value) == "Relighter(native=True) and Relighter(size=(768, 1024)) contradict each other; give one"
    assert message(info.value) == "error: --native and --size 768x1024 contradict each other; give one"
    with pytest.raises(InvalidSetting, match=r"upscale='sideways'\): expected change or result"):
        Relighter(MBNet(tiny_config), "cpu", upscale="sideways")


def test_checkpoints_record_their_training_size(trained_at_64x32: Path) -> None:
    assert trained_at(read_checkpoint_metadata(trained_at_64x32)[1]) == (64, 32)
    assert trained_at({"trained_at": [0, 5]}) is None
    assert trained_at({}) is None
    bundled = read_checkpoint_metadata(ROOT / "weights" / "relight-synth-narrow.safetensors")[1]
    assert bundled["trained_at"] == [136, 136]  # in the file itself (128 px at scales 0.75 to 1.5), so a path to it runs at its scale too
    registry = load_registry()
    assert registry["relight-synth-narrow"].trained_at == (136, 136)
    assert registry["mbnet-ntire21"].trained_at == (1024, 1024)


def test_a_registry_entry_supplies_the_size_a_checkpoint_lacks(tiny_config, tmp_path: Path) -> None:
    builtin = tmp_path / "registry.toml"
    save_checkpoint(MBNet(tiny_config), tmp_path / "old.safetensors")
    entry = '[models.old]\ndescription = "x"\narchitecture = { backbone = "narrow", width = 8, decoder_channels = 16 }\n'
    builtin.write_text(entry + 'trained_at = [64, 48]\n[models.old.location]\nfile = "old.safetensors"\n')
    registry = load_registry(builtin, tmp_path / "user.json")
    assert load_checkpoint(tmp_path / "old.safetensors").provenance.get("trained_at") is None
    assert load_weights("old", registry=registry).provenance["trained_at"] == [64, 48]
    builtin.write_text(entry + 'trained_at = [64]\n[models.old.location]\nfile = "old.safetensors"\n')
    with pytest.raises(RegistryError, match=r"models\.old: trained_at must be \[height, width\] in pixels \(got \[64\]\)"):
        load_registry(builtin, tmp_path / "user.json")


def test_training_records_the_size_its_images_are_seen_at(tmp_path: Path) -> None:
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((40, 56, 3), np.uint8)).save(image)
    assert training_size(None, image) == [40, 56]  # the images as they are (crops keep the scale)
    assert training_size([128, 96], image) == [128, 96]  # resized by TrainConfig.size
    assert training_size(None, None) is None


def test_by_default_the_network_runs_at_the_training_scale_and_brings_the_change_back(trained_at_64x32: Path) -> None:
    rgb, depth = _photo(128, 64)
    told: list[str] = []
    relighter = Relighter(load_weights(trained_at_64x32), "cpu", stages=told.append, backend="torch")
    told.clear()  # the steps of exporting the model to ONNX, on its first use (tests/test_onnx.py)
    assert relighter.run_size((128, 64)) == (64, 32)  # about 64 x 32 = 2,048 pixels, aspect kept, sides /32
    out = relighter.relight(rgb, depth)
    assert out.shape == (128, 64, 3)
    assert told == ["scaling 128x64 to 64x32", "relighting at 64x32", "bringing the change back to 128x64"]
    rgb_t, depth_t = torch.from_numpy(rgb).permute(2, 0, 1)[None], torch.from_numpy(depth)[None, None]
    small_rgb = resize(rgb_t, (64, 32))
    small_depth = resize(depth_t, (64, 32))
    small = Relighter(load_weights(trained_at_64x32), "cpu", native=True, backend="torch").relight_tensor(small_rgb, small_depth)
    expected = (rgb_t + guided_resize(small - small_rgb, small_depth, depth_t)).clamp(min=0)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)  # the change brought back guided by the depth
    result = Relighter(load_weights(trained_at_64x32), "cpu", upscale="result", backend="torch").relight(rgb, depth)
    np.testing.assert_allclose(result, resize(small, (128, 64))[0].permute(1, 2, 0).numpy(), atol=1e-5)
    assert np.abs(out - result).max() > 1e-3  # the two ways back differ: one keeps the photo's detail


def test_native_and_an_unrecorded_scale_run_at_the_image_size(trained_at_64x32: Path, narrow_checkpoint: Path) -> None:
    rgb, depth = _photo(128, 64, seed=1)
    told: list[str] = []
    native = Relighter(load_weights(trained_at_64x32), "cpu", native=True, stages=told.append, backend="torch")
    with pytest.warns(RelightWarning, match="runs at 128x64, 2.0 times the scale it was trained at"):  # and says so
        assert native.run_size((128, 64)) == (128, 64)
        assert told == []
        relit = native.relight(rgb, depth)
        assert relit.shape == (128, 64, 3)
    assert told == ["relighting at 128x64"]
    assert Relighter(load_weights(narrow_checkpoint), "cpu").run_size((128, 64)) == (128, 64)  # records none: as before


def test_run_says_the_scale_and_writes_full_resolution(cli, trained_at_64x32: Path, tmp_path: Path) -> None:
    rgb, depth = _photo(128, 64, seed=2)
    image, depth_file, out = tmp_path / "p.png", tmp_path / "p.npy", tmp_path / "out.png"
    Image.fromarray((rgb * 255).astype(np.uint8)).save(image)
    np.save(depth_file, depth)
    code, _, err = cli(["run", str(image), str(depth_file), "-o", str(out), "--weights", str(trained_at_64x32), "--device", "cpu"])
    assert code == 0, err
    assert "running the network at 64x32 for 128x64: the model's training scale, about 2,048 pixels (--native runs it at full resolution); " \
           "the change is brought back to full size (--upscale)" in err
    assert Image.open(out).size == (64, 128)
    code, _, err = cli(["run", str(image), str(depth_file), "-o", str(out), "--weights", str(trained_at_64x32), "--native", "--size", "64"])
    assert code == 2
    assert err.strip() == "error: --native and --size 64 contradict each other; give one"
    code, _, err = cli(["run", str(image), str(depth_file), "-o", str(out), "--weights", str(trained_at_64x32), "--native", "--device", "cpu"])
    assert code == 0
    assert "running the network at" not in err


def test_a_run_far_from_the_training_scale_says_so_and_by_how_much(trained_at_64x32: Path, tmp_path: Path, cli) -> None:
    """Trained at 64 x 32: --native on a 256 x 128 photo runs at 4 times that on a side, a --size of 512 at
    8 times, and a 16 x 8 image (never scaled up) at a quarter; each run says so once, and the way back."""
    rgb, depth = _photo(256, 128, seed=3)
    image, depth_file = tmp_path / "p.png", tmp_path / "p.npy"
    Image.fromarray((rgb * 255).astype(np.uint8)).save(image)
    np.save(depth_file, depth)
    base = ["run", str(image), str(depth_file), "-o", str(tmp_path / "out.png"), "--weights", str(trained_at_64x32), "--device", "cpu"]
    code, _, err = cli([*base, "--native"])
    assert code == 0, err
    assert "warning: the network runs at 256x128, 4.0 times the scale it was trained at (64x32) on a side: outside its " \
        "training scale it relights little or wrongly; without --native it runs at its training scale" in err, err
    code, _, err = cli([*base, "--size", "512"])
    assert code == 0
    assert "runs at 512x256, 8.0 times the scale it was trained at (64x32) on a side" in err
    assert "without --size it runs" in err
    code, _, err = cli(base)  # the default: its training scale, nothing to say
    assert code == 0, err
    assert "warning:" not in err, err
    told: list[object] = []
    relighter = Relighter(load_weights(trained_at_64x32), "cpu", warn=told.append)
    small_rgb, small_depth = _photo(16, 8, seed=4)
    for _ in range(2):
        relighter.relight(small_rgb, small_depth)
    assert [str(note) for note in told] == ["the network runs at 16x8, 1/4.0 of the scale it was trained at (64x32) on a side: outside its "
                                            "training scale it relights little or wrongly; the image is smaller than that and is not "
                                            "scaled up unless asked: Relighter(size=64) runs it there"]  # once, in Python terms
    assert Relighter(load_weights(trained_at_64x32), "cpu", native=True).scale_warning((128, 64)) is not None  # twice: far enough
    assert Relighter(load_weights(trained_at_64x32), "cpu", native=True).scale_warning((96, 48)) is None  # 1.5 times: near


def test_the_stage_display_shows_on_a_terminal_after_a_moment_and_ends_done() -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=80)
    display = StageDisplay(show_after=0.0, where=terminal)
    display("relighting at 128x128")
    display._timer.join()
    display.close(ok=True)
    assert display.shown
    assert "done" in screen.getvalue()
    quiet = io.StringIO()
    display = StageDisplay(show_after=0.0, where=Console(file=quiet, force_terminal=False))
    display("reading")
    display.close(ok=True)
    assert not display.shown
    assert quiet.getvalue() == ""  # a log or a pipe gets only the run's own lines


def test_the_scale_benchmark_runs_and_writes_its_table(trained_at_64x32: Path, tmp_path: Path) -> None:
    from relight.data.synth import write_dataset

    write_dataset(tmp_path / "data", scenes=2, size=64, seed=2, start_index=900)
    out = tmp_path / "scale.json"
    assert run_benchmark("scale", str(tmp_path / "data"), "--weights", str(trained_at_64x32), "--json", str(out)) == 0
    record = json.loads(out.read_text())
    rows = {row["way"]: row for row in record["rows"]}
    assert set(rows) == {"identity", "native", "change", "result", "change-plain"}
    assert rows["change"]["default"]
    assert rows["change"]["run_size"] == "32x32"
    assert rows["native"]["run_size"] == "64x64"
    assert rows["identity"]["gain_db"] == 0
    assert record["scenes"] == ["Image900", "Image901"]
    assert record["trained_at"] == [64, 32]


def test_the_photo_benchmark_runs_and_writes_its_table(tmp_path: Path) -> None:
    out = tmp_path / "photo.json"
    assert run_benchmark("photo24mp", "--width", "300", "--height", "200", "--models", "bundled", "--json", str(out)) == 0
    rows = {row["run"]: row for row in json.loads(out.read_text())["rows"]}
    assert set(rows) == {"photo only", "bundled"}
    assert rows["bundled"]["network_at"] == "96x160"
    assert all(row["peak_rss_mb"] > 0 and row["seconds"] > 0 for row in rows.values())


def test_the_builtin_registry_stays_readable() -> None:
    assert BUILTIN_REGISTRY.is_file()
    assert load_registry(BUILTIN_REGISTRY, Path("/nonexistent/user.json"))["relight-synth-narrow"]


@pytest.mark.parametrize("command", ["batch", "eval"])
def test_batch_and_eval_take_native_and_upscale_like_run(cli, command: str, tmp_path: Path, narrow_checkpoint: Path) -> None:
    from relight.data.synth import write_dataset

    write_dataset(tmp_path / "data", 1, 32)
    code, _, err = cli([command, str(tmp_path / "data"), "--weights", str(narrow_checkpoint), "--native", "--size", "64"])
    assert code == 2
    assert "--native and --size 64 contradict each other" in err  # refused before the model loads
    code, _, err = cli([command, str(tmp_path / "data"), "--weights", str(narrow_checkpoint), "--upscale", "sideways"])
    assert code == 2
    assert "--upscale" in err
