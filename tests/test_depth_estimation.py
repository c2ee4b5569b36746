"""Depth from the photo: a tiny randomly initialised Depth Anything built here (a test fixture, never
offered as a model), loaded from its folder and fetched from a loopback Hub (download, cache, offline,
checksum), and the commands that use it: ``relight depth`` (in a child process), ``run`` and ``batch``
without depth files, ``weights download``. Nothing mocks huggingface_hub, transformers or relight."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from relight.cli._errors import cli_words
from relight.data.pairs import InferencePair, load_pair
from relight.depth.estimation import DepthEstimator, MissingDependency
from relight.weights.hub import offline
from relight.depth.registry import DepthModelUnavailable, load_depth_registry, locate_depth_model
from relight.io import read_depth, read_image
from relight.io.depth import to_normalised
from relight.weights import USER_REGISTRY_FORMAT, WeightsRefused

FILES = ("config.json", "model.safetensors", "preprocessor_config.json")


@pytest.fixture
def photo(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "photos" / "street.png"
    path.parent.mkdir()
    Image.fromarray(rng.integers(0, 256, (30, 44, 3), dtype=np.uint8)).save(path)
    return path


def _register(home: Path, name: str, repo: str, revision: str, hashes: dict[str, str]) -> None:
    """``name`` as a depth model in the user's registry.json (as a user would add one)."""
    path = home / "registry.json"
    data = json.loads(path.read_text()) if path.exists() else {"format": USER_REGISTRY_FORMAT, "models": {}}
    data.setdefault("depth_models", {})[name] = {"description": "test fixture", "location": {"hub": repo, "revision": revision},
                                                 "sha256": hashes, "output": "disparity"}
    home.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@pytest.fixture
def tiny_on_hub(hub, tiny_model, tmp_path):
    """The tiny model's files committed to me/tiny-depth on the loopback Hub, registered as ``tiny-depth``."""
    commit = ""
    for name in FILES:
        commit = hub.add_file("me/tiny-depth", name, (tiny_model / name).read_bytes())
    hashes = {name: hashlib.sha256((tiny_model / name).read_bytes()).hexdigest() for name in FILES}
    _register(tmp_path / "relight-home", "tiny-depth", "me/tiny-depth", commit, hashes)
    return commit, hashes


def test_a_local_folder_gives_depth_in_relights_convention(tiny_model, photo):
    assert sorted(p.name for p in tiny_model.iterdir()) == sorted(FILES)
    estimator = DepthEstimator.load(tiny_model, device="cpu")
    assert estimator.output == "disparity"
    assert estimator.files.verification == "a local folder: nothing to check it against"
    rgb = read_image(photo).rgb
    raw = estimator.raw(rgb)
    depth = estimator(rgb)
    assert depth.shape == (30, 44)
    assert depth.dtype == np.float32
    assert raw.shape == (30, 44)
    assert np.array_equal(depth, to_normalised(raw, "disparity").depth)
    assert 0 < depth.min() < depth.max() == 1.0, "near small, the farthest at 1"
    assert np.array_equal(np.argmax(depth), np.argmin(raw)), "the largest disparity is the nearest point"
    item = load_pair(InferencePair("street", photo, None), estimate=estimator)
    assert item.estimated
    assert np.array_equal(item.depth, depth)
    with pytest.raises(WeightsRefused, match="photos: not a depth model folder"):
        DepthEstimator.load(photo.parent)


def test_download_then_cache_then_offline(hub, tiny_on_hub, monkeypatch):
    import huggingface_hub.constants as hf

    commit, _ = tiny_on_hub
    files = locate_depth_model("tiny-depth")
    assert (hub.count("HEAD"), hub.count("GET")) == (6, 3)  # per file: relight's one quick HEAD (is the Hub there?), huggingface_hub's
    assert files.folder.name == commit
    assert Path(hf.HF_HUB_CACHE) in files.folder.parents
    assert files.verification == "sha256 verified (3 files)"
    assert sorted(p.name for p in files.folder.iterdir()) == sorted(FILES)
    requests = len(hub.requests)
    assert locate_depth_model("tiny-depth").folder == files.folder
    assert len(hub.requests) == requests, "a pinned, cached model is used without the network"

    monkeypatch.setenv("RELIGHT_OFFLINE", "1")
    assert offline()
    assert locate_depth_model("tiny-depth").folder == files.folder
    other = hub.add_file("me/other-depth", "config.json", b"{}")
    _register(Path(os.environ["RELIGHT_HOME"]), "other-depth", "me/other-depth", other, {"config.json": hashlib.sha256(b"{}").hexdigest()})
    with pytest.raises(DepthModelUnavailable) as err:
        locate_depth_model("other-depth")
    assert len(hub.requests) == requests, "offline mode must not touch the network"
    assert str(err.value).endswith("offline mode is on (RELIGHT_OFFLINE or HF_HUB_OFFLINE): call "
                                   "relight.depth.fetch_depth_model('other-depth') once online, or pass a depth map")
    assert err.value.render(cli_words).endswith(": run `relight weights download other-depth` once online, or give a depth file")
    monkeypatch.delenv("RELIGHT_OFFLINE")
    monkeypatch.setattr(hf, "HF_HUB_OFFLINE", True)
    with pytest.raises(DepthModelUnavailable, match="offline mode is on"):
        locate_depth_model("other-depth")


def test_weights_list_and_info_show_depth_models_and_whether_they_are_here(cli, hub, tiny_on_hub):
    """Before, `weights list` and `info` knew only relighting models: the depth model a photo needs was
    not listed, and `info depth-anything-v2-small` was an error."""
    commit, hashes = tiny_on_hub

    def listed() -> dict[str, dict]:
        code, out, err = cli(["weights", "list", "--json"])
        assert code == 0, err
        return {row["name"]: row for row in json.loads(out) if row["kind"] == "depth"}

    before = listed()
    assert before["tiny-depth"]["status"] == "not downloaded"
    assert before["tiny-depth"]["path"] is None
    assert before["depth-anything-v2-small"]["revision"] == "5426e4f0f36572d16453bbda7a8389317b1bef99"
    assert before["depth-anything-v2-small"]["size_bytes"] == 99_175_385
    assert before["depth-anything-v2-small"]["pinned"]
    code, _, err = cli(["weights", "download", "tiny-depth"])
    assert code == 0, err
    after = listed()["tiny-depth"]
    assert after["status"] == "ready"
    assert Path(after["path"]).name == commit
    assert after["files"] == hashes
    code, out, _ = cli(["weights", "list"])
    assert code == 0, out
    assert "depth models" in out, out
    assert "tiny-depth" in out, out
    assert "depth-anything-v2-small" in out, out
    code, out, _ = cli(["weights", "info", "tiny-depth"])
    assert code == 0, out
    assert "hf://me/tiny-depth at" in out, out
    assert commit in out, out
    assert "ready" in out, out
    assert all(f"sha256 {name}" in out and hashes[name][:30] in out for name in FILES), out
    code, out, _ = cli(["weights", "info", "depth-anything-v2-small", "--json"])
    assert code == 0
    assert json.loads(out)["files"]["config.json"].startswith("c56698d3")


def test_checksum_mismatch_and_unpinned_entries(hub, tiny_on_hub, tmp_path):
    commit, hashes = tiny_on_hub
    home = tmp_path / "relight-home"
    _register(home, "bad-depth", "me/tiny-depth", commit, {**hashes, "model.safetensors": "0" * 64})
    with pytest.raises(WeightsRefused, match=r"^bad-depth: sha256 mismatch: .*model\.safetensors is [0-9a-f]{64}, the registry expects 0{64}; refusing"):
        locate_depth_model("bad-depth")
    _register(home, "loose-depth", "me/tiny-depth", "PLACEHOLDER", dict.fromkeys(FILES, "PLACEHOLDER"))
    entry = load_depth_registry().entries["loose-depth"]
    assert entry.revision is None
    assert not entry.pinned
    files = locate_depth_model("loose-depth")
    assert files.folder.name == commit
    assert files.verification == "not pinned: revision main, sha256 verified for 0 of 3 files"


def test_the_shipped_entry_is_depth_anything_v2_small_pinned_to_one_commit():
    registry = load_depth_registry(user=Path("/nonexistent/registry.json"))
    assert registry.default == "depth-anything-v2-small"
    assert list(registry.entries) == ["depth-anything-v2-small"]
    entry = registry.entries["depth-anything-v2-small"]
    assert entry.repo == "depth-anything/Depth-Anything-V2-Small-hf"
    assert entry.licence == "Apache-2.0"
    assert entry.output == "disparity"
    assert set(entry.files) == set(FILES)
    assert entry.pinned
    assert entry.revision == "5426e4f0f36572d16453bbda7a8389317b1bef99"
    assert entry.files["model.safetensors"] == "3152477ce0d8d6978d76b995120de97cb5b928701fd0f817769f59e249a16b70"


def test_the_shipped_pin_is_what_is_asked_for_and_checked(hub, tiny_model):
    """A repository that holds other files at the pinned commit (here the tiny model's) is refused by
    the shipped sha256, and a commit other than the pinned one is never asked for."""
    entry = load_depth_registry(user=Path("/nonexistent/registry.json")).entries["depth-anything-v2-small"]
    hub.add_file(entry.repo, "config.json", b"{}")  # main moves on: a later commit the pin must not follow
    for name in FILES:
        hub.add_file(entry.repo, name, (tiny_model / name).read_bytes(), branch="pinned", commit=entry.revision)
    with pytest.raises(WeightsRefused, match=r"^depth-anything-v2-small: sha256 mismatch: .*config\.json is [0-9a-f]{64}, "
                                             r"the registry expects c56698d3643dde1f"):
        locate_depth_model("depth-anything-v2-small")
    asked = [path for method, path in hub.requests if method == "GET" and "/resolve/" in path]
    assert asked, asked
    assert all(f"/resolve/{entry.revision}/" in path for path in asked), asked


def test_run_and_batch_without_depth_files(cli, hub, tiny_model, photo, narrow_checkpoint, tmp_path):
    from relight.inference import Relighter
    from relight.weights import load_weights

    out = tmp_path / "relit.png"
    code, _, err = cli(["run", str(photo), "-o", str(out), "--depth-model", str(tiny_model), "-w", str(narrow_checkpoint),
                            "--device", "cpu"])
    assert code == 0, err
    assert f"used depth estimated by {tiny_model}" in err, err
    depth = DepthEstimator.load(tiny_model, device="cpu")(read_image(photo).rgb)
    expected = Relighter(load_weights(narrow_checkpoint), device="cpu").relight(read_image(photo).rgb, depth)
    assert np.abs(np.asarray(Image.open(out)).astype(int) - np.round(expected * 255)).max() <= 1

    np.save(photo.parent / "other.npy", np.full((30, 44), 0.5, np.float32))
    Image.open(photo).save(photo.parent / "other.png")
    args = ["batch", str(photo.parent), "-o", str(tmp_path / "out"), "-w", str(narrow_checkpoint), "--device", "cpu"]
    code, stdout, err = cli(args)  # the default depth model is not downloaded: no fetch in a batch
    assert code == 1
    assert "street.png: no depth map, and depth cannot be estimated: depth-anything-v2-small" in err
    assert "run `relight weights download depth-anything-v2-small` once, or give a depth file" in err, err
    assert (tmp_path / "out" / "other.png").is_file()
    assert not (tmp_path / "out" / "street.png").exists()
    code, stdout, err = cli([*args, "--depth-model", str(tiny_model)])
    assert code == 0, stdout + err
    assert f"estimated depth for 1 image(s) without a depth file, with {tiny_model}" in stdout, stdout + err
    assert (tmp_path / "out" / "street.png").is_file()


def test_missing_model_or_transformers_is_one_line(cli, hub, photo, tmp_path, monkeypatch):
    monkeypatch.setenv("RELIGHT_OFFLINE", "1")  # on again: the hub fixture lifts it
    code, _, err = cli(["run", str(photo), "-o", str(tmp_path / "o.png")])
    assert code == 1, err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"error: {photo}: no depth file given and none can be estimated: depth-anything-v2-small: the depth model is not "
                          "in the Hugging Face cache"), err
    assert err.strip().endswith("run `relight weights download depth-anything-v2-small` once online, or give a depth file"), err
    monkeypatch.setitem(sys.modules, "transformers", None)  # as if the depth extra were not installed
    with pytest.raises(MissingDependency, match=r"needs the optional package transformers: install relight\[depth\]"):
        DepthEstimator.load()
    code, _, err = cli(["depth", str(photo), "-o", str(tmp_path / "d")])
    assert code == 1, err
    assert "pip install 'relight[depth]'" in err, err
    assert len(err.strip().splitlines()) == 1, err


def test_weights_download_fetches_a_depth_model(cli, hub, tiny_on_hub):
    code, _, err = cli(["weights", "download", "tiny-depth"])
    assert code == 0, err
    assert "sha256 verified (3 files)" in err, err
    assert tiny_on_hub[0] in err, err


def test_relight_depth_writes_npy_and_a_16bit_png(cli, tiny_model, photo, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("RELIGHT_HOME", str(tmp_path / "home"))
    second = photo.parent / "second.png"
    Image.open(photo).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(second)
    code, _, err = cli(["depth", str(photo), str(second), "-o", str(tmp_path / "depth"), "--depth-model", str(tiny_model),
                        "--device", "cpu"])
    assert code == 0, err
    expected = DepthEstimator.load(tiny_model, device="cpu")(read_image(photo).rgb)
    assert np.array_equal(read_depth(tmp_path / "depth" / "street.npy"), expected)
    with Image.open(tmp_path / "depth" / "street.png") as im:
        assert im.mode.startswith("I;16")
        assert im.size == (44, 30)
    assert np.abs(read_depth(tmp_path / "depth" / "street.png") - expected).max() <= 1 / 65535
    assert (tmp_path / "depth" / "second.npy").is_file()
    assert f"wrote {tmp_path / 'depth' / 'second.npy'}" in err

    code, _, err = cli(["depth", str(photo), str(second), "-o", str(tmp_path / "one.npy"), "--depth-model", str(tiny_model)])
    assert code == 1, err
    assert "is one file, for 2 photos; give a folder" in err, err
    assert len(err.strip().splitlines()) == 1, err
    code, _, err = cli(["depth", str(photo), "-o", str(tmp_path / "single.png"), "--depth-model", str(tiny_model), "--device", "cpu"])
    assert code == 0, err
    assert np.abs(read_depth(tmp_path / "single.png") - expected).max() <= 1 / 65535, err
    assert not (tmp_path / "single.npy").exists()  # what was asked for, only


def test_relight_depth_writes_what_was_asked_beside_the_photo(cli, tiny_model, photo):
    """`relight depth photo.jpg -o photo.npy`: the .npy named; the PNG preview left out among the photos
    (relight batch would take it for one), saying so, and written there when asked for."""
    asked, before = photo.with_suffix(".npy"), photo.read_bytes()
    code, _, err = cli(["depth", str(photo), "-o", str(asked), "--depth-model", str(tiny_model), "--device", "cpu"])
    assert code == 0, err
    assert asked.is_file(), err
    assert not photo.with_name("street_depth.png").exists(), err
    assert sorted(p.name for p in photo.parent.iterdir()) == ["street.npy", "street.png"]  # street.png is the photo, untouched
    assert "no PNG preview: it would sit among the photos, where `relight batch` would take it for one (--preview writes it)" in err
    folder = photo.parent
    code, _, err = cli(["depth", str(photo), "-o", str(folder / "depth.npy"), "--preview", "--depth-model", str(tiny_model),
                            "--device", "cpu"])
    assert code == 0, err
    assert (folder / "depth.png").is_file(), err
    assert "no PNG preview" not in err, err
    code, _, err = cli(["depth", str(photo), "-o", str(folder), "--preview", "--depth-model", str(tiny_model)])
    assert code == 1, err
    assert "would replace the input" in err, err  # the folder's STEM.png preview would be the photo itself
    code, _, err = cli(["depth", str(photo), "-o", str(folder), "--no-preview", "--depth-model", str(tiny_model), "--device", "cpu"])
    assert code == 0, err
    assert "no PNG preview" not in err, err
    assert photo.read_bytes() == before, err
