"""The benchmark scripts run end to end on tiny inputs and write the JSON they promise (timings are not checked)."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmark_scripts import load_benchmark, run_benchmark
from judge.dataset import mask_path, write_judge_dataset, write_mask

ROOT = Path(__file__).resolve().parents[1]


def _benchmark(script: str, *args: str, out: Path, extra: list[str] | None = None) -> dict:
    """The script run from the repository root, as its docstring says; the JSON it wrote."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        assert run_benchmark(script, *args, "--json", str(out), *(extra or [])) == 0
    return json.loads(out.read_text())


def test_pngcodec_benchmark(tmp_path: Path) -> None:
    record = _benchmark("pngcodec", "--sizes", "24", "--repeats", "1", out=tmp_path / "png.json")
    methods = {row["method"] for row in record["rows"]}
    assert "encode: relight" in methods
    assert "encode: relight, stdlib zlib" in methods
    assert "decode Pillow's file: relight" in methods
    ms = {row["method"]: row["ms"] for row in record["rows"]}
    assert all(value > 0 for value in ms.values()), ms
    for row in record["rows"]:  # encoders against Pillow at level 1, decoders against Pillow on the same file
        pillow = "encode: Pillow, level 1" if row["kind"] == "encode" else row["method"].split(":")[0] + ": Pillow"
        assert row["x_pillow"] == pytest.approx(ms[pillow] / row["ms"]), row["method"]


@pytest.mark.parametrize(("streams", "batch_size"), [("1", "1"), ("2", None)])
def test_batch_benchmark(tmp_path: Path, streams: str, batch_size: str | None) -> None:
    options = ["--batch-size", batch_size] if batch_size else []  # by default 32x32 images go in groups of 8
    record = _benchmark("batch", "--images", "3", "--size", "32", "--repeats", "1", "--streams", streams, *options,
                        "--width", "8", "--decoder-channels", "16", out=tmp_path / "batch.json")
    assert record["streams"] == int(streams)
    assert record["batch_size"] == (1 if batch_size else 8)
    assert set(record["images_per_s"]) == ({"model only, 1 stream", "relight batch"} if streams == "1" else
                                           {"model only, 1 image at a time", "model only, 1 stream", "model only, 2 streams", "relight batch"})
    rates = record["images_per_s"]
    one_stream = "model only, 1 stream"
    same_streams = one_stream if streams == "1" else "model only, 2 streams"
    one_at_a_time = "model only, 1 image at a time" if batch_size is None else one_stream

    def over(model_only: str) -> float:  # the median of the per-round ratios, from the rates the record lists
        return statistics.median(b / m for b, m in zip(rates["relight batch"], rates[model_only], strict=True))

    assert record["ratio"] == pytest.approx(over(same_streams))
    assert record["ratio_vs_one_stream"] == pytest.approx(over(one_stream))
    assert record["ratio_vs_one_image_at_a_time"] == pytest.approx(over(one_at_a_time))


def test_startup_benchmark(tmp_path: Path) -> None:
    record = _benchmark("startup", "--rounds", "1", "--size", "32", out=tmp_path / "startup.json")
    assert set(record["seconds"]) == {"import torch", "relight run"}
    assert all(len(v) == 1 for v in record["seconds"].values())
    stats = record["stats"]
    assert stats["relight run"]["median_cpu_s"] > 0
    for name, runs in record["seconds"].items():
        assert stats[name]["median_s"] == pytest.approx(statistics.median(runs)), name
    assert record["ratio"] == pytest.approx(stats["relight run"]["median_s"] / stats["import torch"]["median_s"])


def test_authors_loop_benchmark(tmp_path: Path) -> None:
    # On torch: auto would export the paper network to ONNX first (half a minute), which the backends' tests cover.
    record = _benchmark("authors_loop", "--images", "1", "--size", "32", "--rounds", "1", "--backend", "torch",
                        out=tmp_path / "authors.json")
    assert set(record["seconds"]) == {"authors' loop", "relight batch"}
    assert record["relight_first_run_s"] > 0
    seconds, stats = record["seconds"], record["stats"]
    for name, runs in seconds.items():
        assert stats[name]["median_s"] == pytest.approx(statistics.median(runs)), name
    assert record["ratio"] == pytest.approx(stats["authors' loop"]["median_s"] / stats["relight batch"]["median_s"])
    assert record["ratio_per_round"] == pytest.approx([a / r for a, r in zip(seconds["authors' loop"], seconds["relight batch"], strict=True)])
    assert record["max_output_difference_8bit"] <= 1, "both loops run the same network on the same weights"


def test_suite_disk_benchmark(tmp_path: Path) -> None:
    probe = tmp_path / "test_probe.py"
    probe.write_text("def test_writes(tmp_path):\n    (tmp_path / 'two-mb').write_bytes(bytes(2_000_000))\n")
    record = _benchmark("suite_disk", str(probe), "--serial", "--every", "0.05", out=tmp_path / "disk.json")
    configured, defaults = record["results"]["as configured"], record["results"]["pytest's defaults"]
    assert configured["exit_code"] == defaults["exit_code"] == 0
    assert "1 passed" in configured["pytest"]
    assert configured["left_bytes"] < 1_000_000 < 2_000_000 <= defaults["left_bytes"] <= defaults["peak_bytes"]
    assert record["ratio"] == pytest.approx(defaults["peak_bytes"] / configured["peak_bytes"])


def test_backends_benchmark(tmp_path: Path, any_to_any_checkpoint: Path) -> None:
    """Both measures on a 32 x 32 folder of one image, a tiny any-to-any test model as the bundled one, so
    that every path is given the light; torch.compile left out."""
    record = _benchmark("backends", "--models", "bundled", "--bundled", str(any_to_any_checkpoint), "--sizes", "32", "--images", "1", "--rounds", "1",
                        "--process-rounds", "1", "--skip", "bundled:compile:32", "--process-compile", "none", out=tmp_path / "backends.json")
    (network,) = record["network"]
    assert set(network["seconds"]) == {"eager", "torch", "onnxruntime"}
    assert network["max_difference_to_eager"]["onnxruntime"] <= 1e-4
    (processes,) = record["processes"]
    assert set(processes["seconds"]) == {"relight onnxruntime", "relight torch", "ORT loop", "eager loop"}
    assert all(mb > 0 for mb in processes["peak_rss_mb"].values())


def test_hints_benchmark(tmp_path: Path) -> None:
    from relight.data.synth import write_dataset
    from relight.model.config import HINTS

    write_dataset(tmp_path / "train", scenes=3, size=64, seed=3)
    write_dataset(tmp_path / "held", scenes=1, size=64, seed=4, renderer="raster")
    write_judge_dataset(tmp_path / "judge", scenes=1, size=32, seed=3)
    record = _benchmark("hints", str(tmp_path / "train"), str(tmp_path / "held"), "--designs", "none,normals+shadows",
                        "--steps", "1", "--triples", "3", "--agreement", "1", "--agreement-size", "48", "--cost-size", "32",
                        "--agreement-judge", str(tmp_path / "judge"),
                        "--runs", str(tmp_path / "runs"), out=tmp_path / "hints.json", extra=[
                            "--", "--backbone", "narrow", "--width", "8", "--decoder-channels", "16", "--perceptual-weight", "0",
                            "--workers", "0", "--batch-size", "2", "--val-scenes", "1"])
    assert [row["design"] for row in record["designs"]] == ["none", "normals+shadows"]
    assert all(row["triples"] == 3 and math.isfinite(row["gain_db"]) for row in record["designs"])
    assert record["designs"][1]["variant"].startswith("narrow-w8-d16-film-normals+shadows")
    assert (tmp_path / "runs" / "normals-shadows" / "last.safetensors").is_file()
    assert 0 <= record["agreement"]["iou"] <= 1
    assert record["agreement"]["scenes"] == 1
    assert record["judge_agreement"]["scenes"] == 1
    assert 0 <= record["judge_agreement"]["iou"] <= 1
    assert [row["design"] for row in record["cost"]] == list(HINTS)
    assert record["cost"][0]["ratio"] == 1.0


def test_the_judge_agreement_scores_the_hints_against_the_cast_masks_outside_attached_shadows(tmp_path: Path) -> None:
    """Cast masks equal to the hints' own shadows agree fully, whatever the attached shadows beside them;
    cast masks of their complement not at all; a folder without cast masks is refused in one line."""
    from relight.io import read_depth
    from relight.lighting import DIRECTIONS
    from relight.model import MBNetConfig

    folder = tmp_path / "judge"
    write_judge_dataset(folder, scenes=1, size=32, seed=3)
    config = MBNetConfig()
    hints = load_benchmark("hints")
    shadows = hints.compass_shadows(read_depth(folder / "Image000.npy"))
    assert shadows.any() and not shadows.all()

    def masks(cast: np.ndarray, attached: np.ndarray) -> None:
        for shadow, direction in zip(cast, DIRECTIONS, strict=True):
            write_mask(mask_path(folder, "Image000", direction, cast=True), shadow * 255)
            write_mask(mask_path(folder, "Image000", direction), (shadow | attached) * 255)

    attached = np.zeros(shadows.shape[1:], dtype=bool)
    attached[:8] = True  # left out of the count: the hints' shadows there count neither way
    assert shadows[:, attached].any(), "some of the hints' shadows fall where the judge's are attached"
    masks(shadows & ~attached, attached)
    assert hints.judge_agreement(folder) | {"folder": ""} == {"folder": "", "scenes": 1, "fov_deg": config.hint_fov_deg,
                                                             "pitch_deg": config.hint_pitch_deg, "iou": 1.0, "recall": 1.0,
                                                             "precision": 1.0}
    masks(~shadows & ~attached, attached)
    assert hints.judge_agreement(folder)["iou"] == 0.0
    for path in (folder / "masks").glob("*_cast.png"):
        path.unlink()
    with pytest.raises(SystemExit, match="not a judge set with cast-shadow masks"):
        hints.judge_agreement(folder)
    code = run_benchmark("hints", str(tmp_path / "no-data"), str(folder), "--agreement-judge", str(folder))
    assert isinstance(code, str) and "not a judge set with cast-shadow masks" in code, "refused before any training"
    assert not (tmp_path / "no-data").exists()


def test_device_train_script_runs_its_cpu_dry_run(tmp_path: Path) -> None:
    """The GPU script's every step (the three sets made on several processes, the classic set in two slices,
    training from the bundled any-to-any model until its deadline or its steps, the judge on both models,
    the files it keeps), at a tiny size on the CPU. The judge is one scene, rendered in the script's own
    process: rendering it on several is generalise.py's, tested with it."""
    env = {**os.environ, "OUT": str(tmp_path / "out"), "WORK": str(tmp_path / "work"), "PYTHON": sys.executable,
           "OMP_NUM_THREADS": "1", "CLASSIC": "3", "WORLD": "2", "JUDGE_SCENES": "1"}
    done = subprocess.run(["bash", str(ROOT / "benchmarks" / "device_train.sh"), "--dry-run"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["config.toml", "judge.json", "log.txt", "metrics.csv", "model.safetensors",
                                                    "summary.json"]
    assert json.loads((out / "summary.json").read_text())["step"] == 3
    config = (out / "config.toml").read_text()
    assert 'init = "weights/relight-synth-any.safetensors"' in config
    assert "identity_claims = 1.0" in config
    train = tmp_path / "work" / "train"
    depths = sorted(p.name for p in train.glob("*/Image*.npy"))
    assert len(depths) == len(set(depths)) == 5, "every scene has a name of its own"
    assert {p.name.split("-")[0] for p in train.iterdir()} == {"classic", "ray", "raster"}
    assert len(list(train.glob("classic-*/Image*.npy"))) == 3
    judged = json.loads((out / "judge.json").read_text())
    started, trained = "weights/relight-synth-any.safetensors", str(tmp_path / "work" / "run" / "best.safetensors")
    assert judged["weights"] == [started, trained, f"{started} +mirror", f"{trained} +mirror"]
    (judge,) = judged["sets"]
    assert judge["set"] == "renderer judge"
    assert all(model["summary"]["triples"] == 4 for model in judge["models"].values())


def test_borders_benchmark(tmp_path: Path) -> None:
    from relight.data.synth import write_dataset

    write_dataset(tmp_path / "large", scenes=1, size=192, seed=2, start_index=900)
    record = _benchmark("borders", "--weights", "relight-synth-any", "--sizes", "64", "--halo-data", str(tmp_path / "large"),
                        out=tmp_path / "borders.json")
    assert [(row["margin"], row["own_margin"]) for row in record["fringe"]] == [(0, True), (16, False)]
    assert all(row["colour_pct"] >= 0 and row["brightness_pct"] >= 0 for row in record["fringe"])
    halo = record["halo"]
    assert halo["run_at"] == [128, 128]
    assert halo["scenes"] == 1
    assert len(halo["guided"]) == len(halo["plain"]) == len(halo["bands_px"]) == 5
    assert halo["guided"][-1] == halo["plain"][-1]  # far from depth edges the two ways back agree


def test_shading_ratio_benchmark_explains_a_diffuse_scene(tmp_path: Path) -> None:
    """On scenes lit as the ratio assumes (a textured floor, Lambertian under each light of the default ring,
    plus a constant fill), the told ratio comes close to the answer, far past the tint oracle, and the
    source's direction is found from the image."""
    import torch
    from PIL import Image

    from relight.data.synth.colour import srgb_encode
    from relight.data.vidit import Scene
    from relight.lighting import ALL_LIGHTS
    from relight.model import hints as H
    from relight.model.config import HINT_FOV_DEG, HINT_PITCH_DEG

    size, folder = 48, tmp_path / "diffuse"
    folder.mkdir()
    rays = H.pixel_rays(size, size, HINT_FOV_DEG, torch.device("cpu"))
    pitch = math.radians(HINT_PITCH_DEG)
    up = torch.tensor([0.0, math.cos(pitch), -math.sin(pitch)]).view(1, 3, 1, 1)
    distance = 1.0 / -(rays * up).sum(1, keepdim=True)  # a floor 1 below the camera; the sky does not show
    depth = (distance / distance.max()).float()
    benchmark = load_benchmark("shading_ratio")
    rng = np.random.default_rng(0)
    for index in range(2):
        albedo = rng.uniform(0.2, 0.8, (size, size, 3))
        np.save(folder / f"Image{index:03d}.npy", depth[0, 0].numpy())
        scene = Scene(f"Image{index:03d}", folder / f"Image{index:03d}.npy")
        planes = benchmark.Shading(scene).planes
        fill = float(np.median(np.stack(list(planes.values()))))
        for light in ALL_LIGHTS:
            colour = np.array([1.0, 0.9, 0.5 + light.temperature / 13000])  # warmer lights, less blue
            linear = albedo * colour * 0.5 * (planes[light.direction] + fill)[..., None]
            Image.fromarray(np.round(srgb_encode(np.clip(linear, 0, 1)) * 255).astype(np.uint8)).save(
                folder / f"Image{index:03d}_{light.temperature}_{light.direction}.png")
    record = _benchmark("shading_ratio", str(folder), "--triples", "24", out=tmp_path / "ratio.json")
    found = record["folders"][str(folder)]
    assert (found["scenes"], found["triples"]) == (2, 24)
    gains = found["gain_db"]
    assert gains["told"] > gains["tint oracle"] + 6, gains
    assert found["source_estimated_right"] >= 0.9
    assert gains["estimated + tint"] >= gains["estimated"] - 0.05  # the oracle's gains fit on top can only help


def test_direction_signal_benchmark(tmp_path: Path) -> None:
    import shutil

    from relight.data.synth import write_dataset

    world = tmp_path / "world"
    write_dataset(world, scenes=3, size=32, seed=5)
    flat = tmp_path / "flat"
    flat.mkdir()
    for image in world.glob("Image000_*.png"):  # every light gives the same image: no directional contrast
        shutil.copy(world / "Image000_6500_N.png", flat / image.name)
    record = _benchmark("direction_signal", str(flat), "--world", f"{world}:5", out=tmp_path / "direction.json")
    assert record["folders"][str(flat)]["median"] == 0.0
    lit = record["folders"][str(world)]
    assert lit["scenes"] == 3 and min(lit["per_scene"].values()) > 0.0
    assert {"sky", "light_elevation", "pitch", "exposure"} <= set(record["parameters"])
    assert all(-1.0 <= row["spearman"] <= 1.0 for row in record["parameters"].values())
