"""The bundled model and examples: what a fresh clone's `make demo` shows."""

from __future__ import annotations

import json
from pathlib import Path

from relight.io import read_image
from relight.weights import DEFAULT_MODEL, default_weights, load_registry, sha256_file


def test_bundled_model_is_registered_with_its_real_checksum() -> None:
    entry = load_registry()[DEFAULT_MODEL]
    path = Path(__file__).parent.parent / "weights" / "relight-synth-any.safetensors"
    assert default_weights() == DEFAULT_MODEL
    assert sha256_file(path) == entry.sha256
    assert path.stat().st_size < 10 * 1024 * 1024


def test_demo_beats_the_identity_baseline(cli, tmp_path) -> None:
    code, out, err = cli(["demo", "-o", str(tmp_path / "demo"), "--json", str(tmp_path / "demo.json")])
    assert code == 0, err
    assert f"using the default model {DEFAULT_MODEL}" in err
    report = json.loads((tmp_path / "demo.json").read_text())
    assert report["weights"].startswith(f"{DEFAULT_MODEL} (")
    model, identity = report["model"]["mean"], report["identity"]["mean"]
    assert model["psnr"] > identity["psnr"] + 3.0
    assert model["ssim"] > identity["ssim"]
    # The scored outputs at 4500-E, then the default (any-to-any) model choosing other lights: lights/ and its contact sheet.
    assert sorted(p.name for p in (tmp_path / "demo").iterdir() if p.name != "lights") == [f"Image90{i}.png" for i in range(4)]
    assert report["mappings"][0] == "6500-N -> 4500-E" and len(report["mappings"]) > 1
    assert (tmp_path / "demo" / "lights" / "sheet.png").is_file()
    assert "gain" in out
    code, out, err = cli(["demo", "-o", str(tmp_path / "demo"), "--json", "-"])
    assert code == 0
    assert json.loads(out) == report
    assert "gain" in err
    assert not (Path.cwd() / "-").exists()


def test_run_without_weights_uses_the_default_model(cli, tmp_path) -> None:
    examples = Path(__file__).parent.parent / "examples" / "validation"
    out = tmp_path / "relit.png"
    code, _, err = cli(["run", str(examples / "Image900.png"), str(examples / "Image900.npy"), "-o", str(out)])
    assert code == 0, err
    assert DEFAULT_MODEL in err
    assert read_image(out).size == (128, 128)


def test_shipped_data_is_found_in_a_checkout_and_in_a_wheel_install(tmp_path, monkeypatch) -> None:
    import sys

    from relight import paths

    assert paths.shipped("weights") == Path(__file__).parent.parent / "weights"
    monkeypatch.setattr(paths, "__file__", str(tmp_path / "site-packages" / "relight" / "paths.py"))
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    (tmp_path / "prefix" / "share" / "relight" / "weights").mkdir(parents=True)
    assert paths.shipped("weights") == tmp_path / "prefix" / "share" / "relight" / "weights"
