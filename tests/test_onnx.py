"""The ONNX Runtime backend: `relight export`, the backend choice, the export cache, and the same files as torch.

The models are tiny ones built here (random weights: plumbing only); the paper network's golden outputs
through ONNX Runtime are checked in tests/test_golden.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from relight.errors import InvalidEnvironment, InvalidSetting
from relight.inference import Relighter
from relight.inference import backend as backends
from relight.inference.backend import OnnxNetwork, choose
from relight.inference.export import ExportError, cache_folder, cache_path, facts_path, read_exported, seeded_inputs
from relight.io import read_image
from relight.model import MBNet, MBNetConfig
from relight.model.checkpoint import LoadedModel, save_checkpoint
from relight.weights import load_weights
from relight.weights.registry import sha256_file

#: Every test here is about the backend a user gets, which the suite's RELIGHT_BACKEND would pin to torch.
pytestmark = pytest.mark.usefixtures("auto_backend")

ONE_LEVEL = 1 / 255 + 1e-6


@pytest.fixture(scope="module")
def scaled_checkpoint(tmp_path_factory: pytest.TempPathFactory, tiny_config: MBNetConfig) -> Path:
    """A tiny one-to-one model that records its pair and a 32 x 32 training size (so larger images take the scale path)."""
    torch.manual_seed(3)
    path = tmp_path_factory.mktemp("scaled") / "tiny-scaled.safetensors"
    return save_checkpoint(MBNet(tiny_config), path, {"source": "6500-N", "target": "4500-E", "trained_at": [32, 32]})


@pytest.fixture(scope="module")
def film_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny any-to-any (FiLM) model whose conditioning is not the identity, so the light changes the output."""
    torch.manual_seed(4)
    model = MBNet(MBNetConfig.narrow(width=8, decoder_channels=16, conditioning="film"))
    with torch.no_grad():
        model.condition.out.weight.normal_(0, 0.05)
    path = tmp_path_factory.mktemp("film") / "tiny-film.safetensors"
    return save_checkpoint(model, path, {"trained_at": [32, 32]})


def _write_folder(folder: Path, sizes: list[tuple[int, int]], alpha: bool = False) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir()
    for i, (h, w) in enumerate(sizes):
        from PIL import Image

        pixels = rng.integers(0, 256, (h, w, 4 if alpha else 3), dtype=np.uint8)
        Image.fromarray(pixels, "RGBA" if alpha else "RGB").save(folder / f"img{i}.png")
        np.save(folder / f"img{i}.npy", rng.random((h, w), dtype=np.float32))


def _same_files(a: Path, b: Path) -> None:
    """The same file names in both folders, each image within one 8-bit level (alpha and size equal)."""
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert names
    for name in names:
        x, y = read_image(a / name), read_image(b / name)
        assert x.size == y.size, name
        assert x.bit_depth == y.bit_depth, name
        assert np.abs(x.rgb - y.rgb).max() <= ONE_LEVEL, name
        assert (x.alpha is None) == (y.alpha is None), name
        if x.alpha is not None:
            assert np.array_equal(x.alpha, y.alpha), name


# --- the choice ------------------------------------------------------------------------------------


def test_auto_picks_onnxruntime_on_the_cpu_and_torch_where_it_cannot_or_is_not_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu, cuda, mps = torch.device("cpu"), torch.device("cuda"), torch.device("mps")
    assert choose("auto", cpu, "fp32").backend == "onnxruntime"
    assert choose(None, cpu, "fp32").reason == "auto: faster on the CPU"
    assert choose("auto", cuda, "bf16").backend == "torch"
    assert choose("auto", cuda, "fp32").reason == "auto: on CUDA until ONNX Runtime is measured faster there"
    monkeypatch.setattr(backends, "CUDA_MEASURED", "onnxruntime")
    assert choose("auto", cuda, "fp32").backend == "onnxruntime"
    assert choose("auto", mps, "fp32").backend == "torch"
    assert choose("auto", cpu, "bf16").backend == "torch"
    assert choose("auto", cpu, "fp32", compile=True).backend == "torch"
    assert choose("auto", cpu, "fp32", optimize=False).backend == "torch"
    assert choose("torch", cpu, "fp32").backend == "torch"


def test_onnxruntime_asked_for_where_it_cannot_run_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidSetting) as err:
        choose("onnxruntime", torch.device("cpu"), "bf16")
    assert str(err.value) == "Relighter(backend='onnxruntime'): the onnxruntime backend runs fp32 (and fp16 on CUDA), not bf16 on cpu"
    with pytest.raises(InvalidSetting):
        choose("onnxruntime", torch.device("cpu"), "fp32", compile=True)
    with pytest.raises(InvalidSetting) as err:
        choose("torch", torch.device("cpu"), "fp32", exported=True)
    assert "runs on onnxruntime only" in str(err.value)
    monkeypatch.setattr(backends, "onnxruntime_installed", lambda: False)
    assert choose("auto", torch.device("cpu"), "fp32").reason == "auto: onnxruntime needs the onnxruntime package (pip install onnxruntime)"
    with pytest.raises(InvalidSetting):
        choose("onnxruntime", torch.device("cpu"), "fp32")


def test_an_unknown_backend_is_a_usage_error(cli, sample_pair, tmp_path: Path) -> None:
    image, depth = sample_pair
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "o.png"), "--backend", "tensorflow"])
    assert code == 2
    assert "--backend tensorflow: unknown backend; use auto, torch, onnxruntime" in err
    assert len(err.strip().splitlines()) == 1


def test_relight_backend_gives_the_backend_where_none_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = torch.device("cpu")
    monkeypatch.setenv("RELIGHT_BACKEND", "torch")
    assert choose(None, cpu, "fp32") == backends.Choice("torch", "asked for by RELIGHT_BACKEND")
    assert choose("auto", cpu, "fp32").backend == "onnxruntime", "a backend named in the call wins"
    monkeypatch.setenv("RELIGHT_BACKEND", "onnxruntime")
    assert choose(None, cpu, "fp32") == backends.Choice("onnxruntime", "asked for by RELIGHT_BACKEND")
    with pytest.raises(InvalidEnvironment) as err:
        choose(None, cpu, "fp32", compile=True)
    assert str(err.value) == "RELIGHT_BACKEND=onnxruntime: the onnxruntime backend does not take torch.compile"
    monkeypatch.setenv("RELIGHT_BACKEND", "torch")
    with pytest.raises(InvalidEnvironment, match="^RELIGHT_BACKEND=torch: an exported ONNX file runs on onnxruntime only"):
        choose(None, cpu, "fp32", exported=True)
    monkeypatch.setenv("RELIGHT_BACKEND", "")
    assert choose(None, cpu, "fp32").reason == "auto: faster on the CPU"


def test_run_says_relight_backend_chose_and_refuses_an_unknown_one_in_one_line(cli, sample_pair, narrow_checkpoint: Path, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    image, depth = sample_pair
    monkeypatch.setenv("RELIGHT_BACKEND", "torch")
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "o.png"), "-w", str(narrow_checkpoint)])
    assert code == 0, err
    assert "backend torch (asked for by RELIGHT_BACKEND)" in err
    monkeypatch.setenv("RELIGHT_BACKEND", "tensorflow")
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "bad.png"), "-w", str(narrow_checkpoint)])
    assert code != 0
    assert err.strip() == "error: RELIGHT_BACKEND='tensorflow': unknown backend; use auto, torch, onnxruntime"
    assert not (tmp_path / "bad.png").exists()


# --- the same files on both backends ----------------------------------------------------------------


@pytest.mark.parametrize("extra", [[], ["--bit-depth", "16"], ["--native"], ["--size", "32x48", "--upscale", "result"]])
def test_run_writes_the_same_file_on_both_backends(cli, sample_pair, scaled_checkpoint: Path, tmp_path: Path, extra: list[str]) -> None:
    """The 40 x 56 RGBA pair through the scale path (its model trained at 32 x 32), at full resolution,
    at a given size; 8 and 16 bits."""
    image, depth = sample_pair
    for backend in ("torch", "onnxruntime"):
        code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / backend / "relit.png"), "-w", str(scaled_checkpoint),
                            "--backend", backend, *extra])
        assert code == 0, err
        assert f"backend {backend} (asked for)" in err
    _same_files(tmp_path / "torch", tmp_path / "onnxruntime")


def test_batch_writes_the_same_files_on_both_backends(cli, scaled_checkpoint: Path, tmp_path: Path) -> None:
    """Sizes that group (two 64 x 64) and sizes that do not, alpha kept, the scale path, two streams."""
    folder = tmp_path / "in"
    _write_folder(folder, [(64, 64), (64, 64), (40, 56), (70, 33), (64, 64)], alpha=True)
    for backend in ("torch", "onnxruntime"):
        code, out, err = cli(["batch", str(folder), "-o", str(tmp_path / backend), "-w", str(scaled_checkpoint), "--backend", backend,
                              "--streams", "2"])
        assert code == 0, err + out
    _same_files(tmp_path / "torch", tmp_path / "onnxruntime")


def test_any_to_any_lights_give_the_same_files_on_both_backends(cli, sample_pair, film_checkpoint: Path, tmp_path: Path) -> None:
    """One image relit to three lights in one pass (one image, three light rows), and a batch to two lights."""
    image, depth = sample_pair
    for backend in ("torch", "onnxruntime"):
        code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / backend / "relit.png"), "-w", str(film_checkpoint),
                            "--backend", backend, "--to", "2500-W,6500-E,4500-N", "--from", "6500-N"])
        assert code == 0, err
    _same_files(tmp_path / "torch", tmp_path / "onnxruntime")
    relit = [read_image(tmp_path / "onnxruntime" / f"relit_{light}.png").rgb for light in ("2500_W", "6500_E")]
    assert np.abs(relit[0] - relit[1]).max() > 0.01  # the light reaches the exported network
    folder = tmp_path / "in"
    _write_folder(folder, [(48, 48), (48, 48), (40, 72)])
    for backend in ("torch", "onnxruntime"):
        code, out, err = cli(["batch", str(folder), "-o", str(tmp_path / f"batch-{backend}"), "-w", str(film_checkpoint), "--backend", backend,
                              "--to", "2500-W,6500-E"])
        assert code == 0, err + out
    _same_files(tmp_path / "batch-torch", tmp_path / "batch-onnxruntime")


def test_light_planes_export_with_one_image_and_several_lights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The planes conditioning (the light as input planes) traced with as many images as lights still
    relights one image to several lights on ONNX Runtime."""
    monkeypatch.setenv("RELIGHT_HOME", str(tmp_path / "home"))
    torch.manual_seed(5)
    model = MBNet(MBNetConfig.narrow(width=8, decoder_channels=16, conditioning="planes")).eval()
    with torch.no_grad():
        model.rgb_encoder.conv1.weight[:, 3:].normal_(0, 0.1)  # the planes matter
    rgb, depth, light = seeded_inputs(model.config, 1, 32, 64, 3, seed=6)
    expected = Relighter(model, "cpu", backend="torch").relight_tensor(rgb, depth, light)
    got = Relighter(model, "cpu", backend="onnxruntime").relight_tensor(rgb, depth, light)
    assert got.shape == expected.shape == (3, 3, 32, 64)
    assert (got - expected).abs().max() <= 1e-4


@pytest.mark.parametrize("hints", ["normals", "normals+shadows"])
def test_a_model_with_geometry_hints_runs_on_onnxruntime_at_any_size(hints: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The hints are computed inside the exported graph from the depth (and the lights, for shadows): the
    export keeps them free of the size, the image count and the light count it was traced with."""
    monkeypatch.setenv("RELIGHT_HOME", str(tmp_path / "home"))
    torch.manual_seed(7)
    config = MBNetConfig.narrow(width=8, decoder_channels=16, conditioning="film", hints=hints, margin=16, depth_skips=True)
    model = MBNet(config).eval()
    with torch.no_grad():
        model.condition.out.weight.normal_(0, 0.05)
        model.depth_encoder.conv1.weight.normal_(0, 0.2)  # the hint channels matter
    torch_path, onnx_path = Relighter(model, "cpu", backend="torch"), Relighter(model, "cpu", backend="onnxruntime")
    for images, height, width, lights in ((1, 32, 64, 3), (2, 64, 32, 2), (1, 96, 96, 1)):
        rgb, _, light = seeded_inputs(config, images, height, width, lights, seed=8)
        depth = 0.5 + 0.5 * F.interpolate(torch.rand(images, 1, 4, 4, generator=torch.Generator().manual_seed(height)), size=(height, width),
                                          mode="bilinear", align_corners=False)  # smooth, so shadows are cast and not noise
        expected = torch_path.relight_tensor(rgb, depth, light)
        got = onnx_path.relight_tensor(rgb, depth, light)
        assert got.shape == expected.shape
        assert (got - expected).abs().max() <= 1e-4
    assert onnx_path.backend == "onnxruntime"


def test_run_says_the_backend_auto_chose(cli, sample_pair, narrow_checkpoint: Path, tmp_path: Path) -> None:
    image, depth = sample_pair
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "o.png"), "-w", str(narrow_checkpoint)])
    assert code == 0, err
    assert "backend onnxruntime (auto: faster on the CPU)" in err


# --- relight export -----------------------------------------------------------------------------------


def test_export_writes_relights_metadata_and_dynamic_shapes(cli, scaled_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "model.onnx"
    code, stdout, err = cli(["export", str(scaled_checkpoint), "-o", str(out), "--check"])
    assert code == 0, err
    assert f"wrote {out}" in stdout
    assert "within the bar of 0.0001" in stdout
    exported = read_exported(out)
    assert exported.name == "tiny-scaled"
    assert exported.sha256 == sha256_file(scaled_checkpoint)
    assert exported.provenance["trained_at"] == [32, 32]
    assert exported.config == MBNetConfig.narrow(width=8, decoder_channels=16)
    import onnxruntime as ort

    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    props = session.get_modelmeta().custom_metadata_map
    assert props["illumination"] == "one-to-one 6500-N -> 4500-E"
    assert props["trained_at"] == "32x32"
    assert props["relight_version"] == __import__("relight").__version__
    model = load_weights(scaled_checkpoint).model
    for images, height, width in ((1, 32, 32), (3, 64, 96)):  # batch, height and width are free
        rgb, depth = seeded_inputs(model.config, images, height, width, 0, seed=5)
        (got,) = session.run(None, {"rgb": rgb.numpy(), "depth": depth.numpy()})
        with torch.no_grad():
            assert np.abs(got - model(rgb, depth).numpy()).max() <= 1e-4


def test_export_of_an_any_to_any_model_takes_the_light(cli, film_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "film.onnx"
    code, stdout, err = cli(["export", str(film_checkpoint), "-o", str(out), "--check", "--fp16"])
    assert code == 0, err
    assert "fp16" in stdout
    assert "largest difference to torch (fp32) on seeded inputs" in stdout
    import onnxruntime as ort

    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["rgb", "depth", "light"]
    assert session.get_modelmeta().custom_metadata_map["illumination"] == "any-to-any"


def test_export_refusals_are_one_line(cli, narrow_checkpoint: Path, tmp_path: Path) -> None:
    code, _, err = cli(["export", str(narrow_checkpoint), "-o", str(tmp_path / "model.png")])
    assert code == 1
    assert "ends in .onnx" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = cli(["export", str(tmp_path / "missing.safetensors"), "-o", str(tmp_path / "m.onnx")])
    assert code == 1
    assert "no such weights file" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.onnx").exists()


def test_run_and_batch_take_an_exported_file(cli, sample_pair, scaled_checkpoint: Path, tmp_path: Path) -> None:
    """The exported file runs directly, its metadata giving the pair and the training size (so the same
    scale path): the same pixels as the checkpoint on ONNX Runtime."""
    image, depth = sample_pair
    model = tmp_path / "model.onnx"
    assert cli(["export", str(scaled_checkpoint), "-o", str(model)])[0] == 0
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "file" / "relit.png"), "-w", str(model)])
    assert code == 0, err
    assert "backend onnxruntime (an exported file)" in err
    assert "running the network at" in err
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "ckpt" / "relit.png"), "-w", str(scaled_checkpoint)])
    assert code == 0, err
    assert np.array_equal(read_image(tmp_path / "file" / "relit.png").rgb, read_image(tmp_path / "ckpt" / "relit.png").rgb)
    folder = tmp_path / "in"
    _write_folder(folder, [(64, 64), (40, 56)])
    code, out, err = cli(["batch", str(folder), "-o", str(tmp_path / "batch"), "-w", str(model)])
    assert code == 0, err + out
    assert sorted(p.name for p in (tmp_path / "batch").iterdir()) == ["img0.png", "img1.png"]
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "t.png"), "-w", str(model), "--backend", "torch"])
    assert code == 2
    assert "--backend torch: an exported ONNX file runs on onnxruntime only" in err


def test_an_onnx_file_without_relights_metadata_is_refused_in_one_line(cli, sample_pair, scaled_checkpoint: Path, tmp_path: Path) -> None:
    import onnx

    model = tmp_path / "model.onnx"
    assert cli(["export", str(scaled_checkpoint), "-o", str(model)])[0] == 0
    proto = onnx.load(str(model))
    proto.ClearField("metadata_props")
    onnx.save(proto, str(tmp_path / "plain.onnx"))
    image, depth = sample_pair
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "o.png"), "-w", str(tmp_path / "plain.onnx")])
    assert code == 1
    assert err.strip() == (f"error: {tmp_path / 'plain.onnx'}: an ONNX file without relight's metadata, so what it does to the light is "
                           "unknown; export the weights with `relight export WEIGHTS -o FILE.onnx`")
    assert not (tmp_path / "o.png").exists()


# --- the cache ---------------------------------------------------------------------------------------


def test_the_first_run_exports_once_and_later_runs_load_the_cache(narrow_checkpoint: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    monkeypatch.setenv("RELIGHT_HOME", str(tmp_path / "home"))
    stages: list[str] = []
    first = Relighter(load_weights(narrow_checkpoint), "cpu", stages=stages.append)
    assert first.backend == "onnxruntime"
    assert any(s.startswith("exporting narrow-random to ONNX once") for s in stages)
    cached = cache_path(sha256_file(narrow_checkpoint))
    assert sorted(p.name for p in cache_folder().iterdir()) == sorted([cached.name, facts_path(cached).name])

    def no_export(*args: object, **kwargs: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(torch.onnx, "export", no_export)
    stages.clear()
    later = Relighter(load_weights(narrow_checkpoint), "cpu", stages=stages.append)
    assert later.backend == "onnxruntime"
    assert later.network.path == cached
    assert stages == []
    rgb, depth = seeded_inputs(later.loaded.config, 1, 32, 32, 0, seed=1)
    assert torch.equal(later.relight_tensor(rgb, depth), first.relight_tensor(rgb, depth))


def test_a_model_whose_config_changed_after_loading_is_not_run_from_the_file_s_export(narrow_checkpoint: Path,
                                                                                     monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The cache names an export by the weights file's sha256; a loaded model given another margin is
    another network, exported under its own name, and runs as torch runs it."""
    from dataclasses import replace

    monkeypatch.setenv("RELIGHT_HOME", str(tmp_path / "home"))
    plain = Relighter(load_weights(narrow_checkpoint), "cpu", native=True)
    rgb, depth = seeded_inputs(plain.loaded.config, 1, 64, 64, 0, seed=2)
    loaded = load_weights(narrow_checkpoint)
    loaded.model.config = replace(loaded.config, margin=16)
    framed = Relighter(loaded, "cpu", native=True)
    assert framed.backend == "onnxruntime"
    assert framed.network.path != plain.network.path
    expected = Relighter(loaded, "cpu", native=True, backend="torch").relight_tensor(rgb, depth)
    got = framed.relight_tensor(rgb, depth)
    assert (got - expected).abs().max() < 1e-4
    assert (got - plain.relight_tensor(rgb, depth)).abs().max() > 1e-3


def test_weights_seen_before_run_from_their_cached_export_without_being_loaded(narrow_checkpoint: Path, monkeypatch: pytest.MonkeyPatch,
                                                                              tmp_path: Path) -> None:
    """The second run opens the export that the weights' sha256 names (remembered while the file is
    unchanged) and reads neither the weights nor the export's 600 MB to learn what the model is; weights
    changed in place are hashed again and exported anew."""
    from relight.inference import export
    from relight.model import checkpoint

    monkeypatch.setenv("RELIGHT_HOME", str(tmp_path / "home"))
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(narrow_checkpoint.read_bytes())
    stages: list[str] = []
    first = Relighter.from_weights(weights, device="cpu", stages=stages.append)
    assert any(s.startswith("exporting model to ONNX once") for s in stages)
    rgb, depth = seeded_inputs(first.loaded.config, 1, 32, 32, 0, seed=5)
    expected = first.relight_tensor(rgb, depth)

    def not_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("the weights were read")

    with monkeypatch.context() as patch:
        patch.setattr(checkpoint, "safe_open", not_read)
        patch.setattr(export, "read_exported", not_read)  # the metadata comes from the copy beside the export
        later = Relighter.from_weights(weights, device="cpu", stages=stages.append)
    assert later.loaded.cached and later.model is None
    assert later.choice.describe() == "onnxruntime (auto: faster on the CPU)"
    assert later.loaded.config == first.loaded.config
    assert later.trained_at == first.trained_at
    assert torch.equal(later.relight_tensor(rgb, depth), expected)

    asked = Relighter.from_weights(weights, device="cpu", backend="torch")
    assert asked.model is not None and asked.backend == "torch"

    torch.manual_seed(7)
    save_checkpoint(MBNet(first.loaded.config), weights, {"trained_at": [32, 32]})  # other weights, written over the same file
    stages.clear()
    changed = Relighter.from_weights(weights, device="cpu", stages=stages.append)
    assert any(s.startswith("exporting model to ONNX once") for s in stages)
    assert changed.loaded.sha256 == sha256_file(weights)
    torch_path = Relighter.from_weights(weights, device="cpu", backend="torch").relight_tensor(rgb, depth)
    assert (changed.relight_tensor(rgb, depth) - torch_path).abs().max() <= 1e-4
    assert not torch.equal(changed.relight_tensor(rgb, depth), expected)


def test_the_optimised_graph_of_a_reused_export_is_kept_and_named_by_the_cpu_and_runtime(narrow_checkpoint: Path,
                                                                                              monkeypatch: pytest.MonkeyPatch,
                                                                                              tmp_path: Path) -> None:
    import onnxruntime

    from relight.inference.export import optimized_path

    monkeypatch.setenv("RELIGHT_HOME", str(tmp_path / "home"))
    exporting = Relighter.from_weights(narrow_checkpoint, device="cpu")
    assert exporting.network.optimized is None  # a model exported and run once does not pay for writing it
    rgb, depth = seeded_inputs(exporting.loaded.config, 2, 64, 32, 0, seed=6)
    expected = exporting.relight_tensor(rgb, depth)
    first = Relighter.from_weights(narrow_checkpoint, device="cpu")
    kept = optimized_path(first.network.path)
    assert first.network.optimized == kept and not kept.exists()
    assert torch.equal(first.relight_tensor(rgb, depth), expected)
    assert kept.is_file()  # written by the first session of a reused export, atomically
    assert not [p for p in kept.parent.iterdir() if ".tmp" in p.name]

    later = Relighter.from_weights(narrow_checkpoint, device="cpu")
    before = kept.stat().st_mtime_ns
    assert torch.equal(later.relight_tensor(rgb, depth), expected)
    assert kept.stat().st_mtime_ns == before  # loaded, not written again

    kept.write_bytes(kept.read_bytes()[:1000])  # damaged: the export itself runs, and the graph is written again
    damaged = Relighter.from_weights(narrow_checkpoint, device="cpu")
    assert torch.equal(damaged.relight_tensor(rgb, depth), expected)
    assert kept.stat().st_size > 1000
    assert torch.equal(Relighter.from_weights(narrow_checkpoint, device="cpu").relight_tensor(rgb, depth), expected)

    facts = facts_path(first.network.path)
    kept_facts = facts.read_text(encoding="utf-8")
    for harm in (lambda: facts.write_text("{damaged", encoding="utf-8"), facts.unlink):  # the copy of the metadata
        harm()
        again = Relighter.from_weights(narrow_checkpoint, device="cpu")  # read from the export instead, and the copy written again
        assert again.loaded.cached
        assert (again.loaded.config, again.loaded.provenance) == (first.loaded.config, first.loaded.provenance)
        assert json.loads(facts.read_text(encoding="utf-8")) == json.loads(kept_facts)

    monkeypatch.setattr(onnxruntime, "__version__", "0.0.1")
    assert optimized_path(first.network.path) != kept  # another runtime lays the graph out anew
    assert Relighter.from_weights(narrow_checkpoint, device="cpu", backend="onnxruntime").network.optimized is not None
    given = Relighter.from_weights(first.network.path, device="cpu")
    assert given.network.optimized is None  # a file given to run is not the cache's to add to


def test_the_cache_is_keyed_by_weights_version_and_precision(monkeypatch: pytest.MonkeyPatch) -> None:
    import relight

    sha = "ab" * 32
    fp32, fp16 = cache_path(sha), cache_path(sha, "fp16")
    assert fp32 != fp16
    assert fp32.name.startswith(sha)
    assert "opset18" in fp32.name
    monkeypatch.setattr(relight, "__version__", "9.9.9")
    assert cache_path(sha) != fp32


class _Unexportable(MBNet):
    """An MBNet with an operation ONNX has no form for (``kthvalue``), adding nothing to the output."""

    def _tail(self, o: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
        residual = self.head(self.up1(o))
        return F.relu(rgb + residual + 0 * torch.kthvalue(residual.flatten(), 1)[0])


def test_a_model_that_does_not_export_runs_on_torch_and_says_so_once(tiny_config: MBNetConfig) -> None:
    torch.manual_seed(0)
    model = _Unexportable(tiny_config).eval()
    told: list[str] = []
    relighter = Relighter(model, "cpu", warn=told.append)
    assert relighter.backend == "torch"
    assert relighter.choice.reason == "auto: the model does not export to ONNX"
    assert len(told) == 1
    assert "running on torch: this model does not export to ONNX" in str(told[0])
    assert "kthvalue" in str(told[0])
    rgb, depth = seeded_inputs(tiny_config, 1, 32, 32, 0, seed=2)
    relighter.relight_tensor(rgb, depth)
    assert len(told) == 1  # said once, not per image
    again: list[str] = []
    assert Relighter(model, "cpu", warn=again.append).backend == "torch"  # the cache remembers: no second try
    assert "an earlier run found so" in str(again[0])
    with pytest.raises(ExportError):
        Relighter(model, "cpu", backend="onnxruntime")


#: A child that exports the model given and is killed at one instant of writing the export (an audit
#: hook watches the cache folder): "open", as the export's temporary file (made empty) is opened to write
#: the model; "torn", as it is
#: renamed into place, after cutting it to half its length (a kill inside its write).
_KILLED_CHILD = r"""
import os, signal, sys
from pathlib import Path
instant, weights = sys.argv[1], sys.argv[2]
cache = Path(os.environ["RELIGHT_HOME"]) / "onnx"

def kill(event, args):
    if instant == "open" and event == "open" and str(args[0]).startswith(str(cache)) and ".tmp" in str(args[0]) and os.path.exists(args[0]):
        os.kill(os.getpid(), signal.SIGKILL)
    if instant == "torn" and event == "os.rename" and str(args[1]).startswith(str(cache)) and str(args[1]).endswith(".onnx"):
        os.truncate(args[0], os.path.getsize(args[0]) // 2)
        os.kill(os.getpid(), signal.SIGKILL)

from relight.inference import Relighter
from relight.weights import load_weights
loaded = load_weights(weights)
sys.addaudithook(kill)
Relighter(loaded, "cpu")
print("not killed")
"""


@pytest.mark.parametrize("instant", ["open", "torn"])
def test_a_kill_during_the_export_leaves_nothing_half_written(narrow_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             instant: str) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "RELIGHT_HOME": str(home), "OMP_NUM_THREADS": "1"}
    child = subprocess.run([sys.executable, "-c", _KILLED_CHILD, instant, str(narrow_checkpoint)], env=env, capture_output=True, text=True,
                           timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    left = [p.name for p in (home / "onnx").iterdir()]
    assert not [name for name in left if name.endswith(".onnx") and not name.startswith(".")]  # no finished-looking export
    assert left  # the killed process's temporary is there, for the next run to remove
    monkeypatch.setenv("RELIGHT_HOME", str(home))
    relighter = Relighter(load_weights(narrow_checkpoint), "cpu")
    assert relighter.backend == "onnxruntime"
    cached = cache_path(sha256_file(narrow_checkpoint))
    assert sorted(p.name for p in (home / "onnx").iterdir()) == sorted([cached.name, facts_path(cached).name])
    rgb, depth = seeded_inputs(relighter.loaded.config, 1, 32, 32, 0, seed=3)
    expected = Relighter(load_weights(narrow_checkpoint), "cpu", backend="torch").relight_tensor(rgb, depth)
    assert (relighter.relight_tensor(rgb, depth) - expected).abs().max() <= 1e-4


def test_offline_runs_use_the_cached_export(sample_pair, narrow_checkpoint: Path, tmp_path: Path) -> None:
    """A second process, with every network address unreachable, loads the export the first one made."""
    image, depth = sample_pair
    env = {**os.environ, "RELIGHT_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    command = [sys.executable, "-m", "relight", "run", str(image), str(depth), "-w", str(narrow_checkpoint)]
    first = subprocess.run([*command, "-o", str(tmp_path / "a.png")], env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "exporting narrow-random to ONNX once" in first.stderr
    offline = {**env, "HF_HUB_OFFLINE": "1", "RELIGHT_OFFLINE": "1", "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
               "ALL_PROXY": "http://127.0.0.1:9"}
    second = subprocess.run([*command, "-o", str(tmp_path / "b.png")], env=offline, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "exporting" not in second.stderr
    assert "backend onnxruntime (auto: faster on the CPU)" in second.stderr
    assert np.array_equal(read_image(tmp_path / "a.png").rgb, read_image(tmp_path / "b.png").rgb)


# --- threads ------------------------------------------------------------------------------------------


def test_each_call_runs_on_as_many_threads_as_torch_has_on_its_thread(narrow_checkpoint: Path) -> None:
    """relight batch's stream threads set one torch thread each: their calls share a one-thread session,
    and a call on the main thread gets a session of the main thread's count."""
    relighter = Relighter(load_weights(narrow_checkpoint), "cpu")
    network: OnnxNetwork = relighter.network
    rgb, depth = seeded_inputs(relighter.loaded.config, 1, 32, 32, 0, seed=4)
    torch.set_num_threads(2)
    try:
        main = relighter.relight_tensor(rgb, depth)

        def on_one_thread() -> torch.Tensor:
            torch.set_num_threads(1)
            return relighter.relight_tensor(rgb, depth)

        results: list[torch.Tensor] = []
        worker = threading.Thread(target=lambda: results.append(on_one_thread()))
        worker.start()
        worker.join()
    finally:
        torch.set_num_threads(1)
    assert sorted(network._sessions) == [1, 2]
    assert network.session(1).get_session_options().intra_op_num_threads == 1
    assert (results[0] - main).abs().max() <= 1e-5


def test_a_loaded_model_from_memory_is_keyed_by_its_tensors(tiny_config: MBNetConfig) -> None:
    from relight.inference.export import weights_sha256

    torch.manual_seed(0)
    a = LoadedModel(MBNet(tiny_config))
    same = LoadedModel(MBNet(tiny_config))
    same.model.load_state_dict(a.model.state_dict())
    torch.manual_seed(1)
    other = LoadedModel(MBNet(tiny_config))
    assert weights_sha256(a) == weights_sha256(same) != weights_sha256(other)
