"""VIDIT settings, layout detection, pair building (direct, neighbours, mirror), scene split, the Dataset, `data pairs`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader
from typer.testing import CliRunner

from relight.cli import app
from relight.data.dataset import PairDataset
from relight.data.vidit import (
    ANY_TO_ANY,
    DIRECTIONS,
    GENERIC,
    ONE_TO_ONE,
    TEMPERATURES,
    VALIDATION,
    Setting,
    TrainPair,
    detect_layout,
    load_pairs,
    mirror,
    neighbours,
    split_scenes,
)
from relight.errors import RelightError
from relight.io import write_depth_npy, write_image

H, W = 6, 10


def _pixels(code: int, h: int = H, w: int = W) -> np.ndarray:
    """An image whose first pixel encodes ``code`` and whose columns differ, so flips and mix-ups show."""
    rgb = np.zeros((h, w, 3), dtype=np.float32)
    rgb[..., 0] = np.arange(w)[None, :] / 255.0
    rgb[..., 1] = np.arange(h)[:, None] / 255.0
    rgb[0, 0, 2] = code / 255.0
    return rgb


def _code(setting: Setting) -> int:
    return TEMPERATURES.index(setting.temperature) * 8 + DIRECTIONS.index(setting.direction) + 1


def _any_to_any(root: Path, scenes: tuple[str, ...] = ("Image000", "Image001")) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for scene in scenes:
        for setting in Setting.all():
            write_image(root / f"{scene}_{setting.file_tag}.png", _pixels(_code(setting)), np.ones((H, W), np.float32))
        write_depth_npy(root / f"{scene}.npy", np.tile(np.linspace(0, 1, W, dtype=np.float32), (H, 1)))
    return root


def _stem_folder(folder: Path, stems: list[str], depth: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, stem in enumerate(stems):
        write_image(folder / f"{stem}.png", _pixels(i))
        if depth:
            write_depth_npy(folder / f"{stem}.npy", np.full((H, W), 0.5, np.float32))


# ------------------------------------------------------------------ settings


def test_setting_parse_print_and_errors() -> None:
    assert Setting.parse("6500-N") == Setting(6500, "N")
    assert Setting.parse("4500_e") == Setting(4500, "E")
    assert Setting.parse("2500K-nw") == Setting(2500, "NW")
    assert str(Setting(4500, "E")) == "4500-E"
    assert Setting(4500, "E").file_tag == "4500_E"
    assert len(set(Setting.all())) == 40
    for bad in ("6500-Q", "4000-E", "N-6500", "6500", ""):
        with pytest.raises(RelightError, match="setting"):
            Setting.parse(bad)


def test_mirror_and_neighbours() -> None:
    assert {d: mirror(d) for d in DIRECTIONS} == {
        "N": "N", "NE": "NW", "E": "W", "SE": "SW", "S": "S", "SW": "SE", "W": "E", "NW": "NE",
    }
    assert neighbours("N") == ("NE", "NW")
    assert neighbours("W") == ("NW", "SW")
    assert neighbours("NW") == ("N", "W")
    assert Setting(3500, "SE").mirrored() == Setting(3500, "SW")


# ------------------------------------------------------------------ layouts


def test_detect_each_layout(tmp_path: Path) -> None:
    assert detect_layout(_any_to_any(tmp_path / "full", ("Image000",))) == ANY_TO_ANY

    train = tmp_path / "train"
    _stem_folder(train / "input", ["Image000"])
    _stem_folder(train / "target", ["Image000"], depth=False)
    assert detect_layout(train) == ONE_TO_ONE

    _stem_folder(tmp_path / "validation", ["Image300"])
    _stem_folder(tmp_path / "validation_gt", ["Image300"], depth=False)
    assert detect_layout(tmp_path / "validation") == VALIDATION

    _stem_folder(tmp_path / "photos", ["a"])
    assert detect_layout(tmp_path / "photos") == GENERIC
    assert detect_layout(tmp_path / "photos", gt_dir=tmp_path / "validation_gt") == VALIDATION

    (tmp_path / "empty").mkdir()
    with pytest.raises(RelightError, match="no images found"):
        detect_layout(tmp_path / "empty")
    with pytest.raises(RelightError, match="no such folder"):
        detect_layout(tmp_path / "missing")


def test_one_to_one_pairs_and_missing_target(tmp_path: Path) -> None:
    _stem_folder(tmp_path / "input", ["Image000", "Image001", "Image002"])
    _stem_folder(tmp_path / "target", ["Image000", "Image002"], depth=False)
    found = load_pairs(tmp_path, use_neighbours=False, use_mirror=False)
    assert found.layout == ONE_TO_ONE
    assert [(p.name, p.input.parent.name, p.depth.name, p.target.parent.name) for p in found.pairs] == [
        ("Image000", "input", "Image000.npy", "target"),
        ("Image002", "input", "Image002.npy", "target"),
    ]
    assert len(found.skipped) == 1
    assert "Image001" in found.skipped[0]
    assert "ground truth" in found.skipped[0]


def test_validation_pairs_from_sibling_or_given_gt(tmp_path: Path) -> None:
    _stem_folder(tmp_path / "validation", ["Image300", "Image301"])
    _stem_folder(tmp_path / "validation_gt", ["Image300", "Image301"], depth=False)
    found = load_pairs(tmp_path / "validation")
    assert found.layout == VALIDATION
    assert [(p.name, p.target) for p in found.pairs] == [
        ("Image300", tmp_path / "validation_gt" / "Image300.png"),
        ("Image301", tmp_path / "validation_gt" / "Image301.png"),
    ]
    assert any("any-to-any" in note for note in found.notes)  # extra data asked for but not applicable

    other_gt = tmp_path / "elsewhere"
    _stem_folder(other_gt, ["Image301"], depth=False)
    found = load_pairs(tmp_path / "validation", gt_dir=other_gt)
    assert [p.target for p in found.pairs] == [other_gt / "Image301.png"]
    assert "Image300" in found.skipped[0]


def test_generic_pairs_with_parallel_depth_folder(tmp_path: Path) -> None:
    _stem_folder(tmp_path / "rgb", ["a", "b"], depth=False)
    depth_dir = tmp_path / "depth"
    depth_dir.mkdir()
    write_image(depth_dir / "a.png", np.zeros((H, W, 3)), bit_depth=16)
    found = load_pairs(tmp_path / "rgb", depth_dir=depth_dir, use_neighbours=False, use_mirror=False)
    assert found.layout == GENERIC
    assert [(p.name, p.depth, p.target) for p in found.pairs] == [("a", depth_dir / "a.png", None)]
    assert "b" in found.skipped[0]
    assert "no depth" in found.skipped[0]


# ------------------------------------------------------------------ any-to-any pairs


def test_any_to_any_direct_only(tmp_path: Path) -> None:
    root = _any_to_any(tmp_path / "full")
    found = load_pairs(root, use_neighbours=False, use_mirror=False)
    assert found.layout == ANY_TO_ANY
    assert not found.skipped
    assert [(p.name, p.input.name, p.target.name, p.depth.name, p.flip, p.origin) for p in found.pairs] == [
        ("Image000", "Image000_6500_N.png", "Image000_4500_E.png", "Image000.npy", False, "direct"),
        ("Image001", "Image001_6500_N.png", "Image001_4500_E.png", "Image001.npy", False, "direct"),
    ]


def test_any_to_any_neighbours(tmp_path: Path) -> None:
    root = _any_to_any(tmp_path / "full", ("Image000",))
    pairs = load_pairs(root, use_neighbours=True, use_mirror=False).pairs
    assert [(p.input.name, p.target.name, p.flip, p.origin) for p in pairs] == [
        ("Image000_6500_N.png", "Image000_4500_E.png", False, "direct"),
        ("Image000_6500_NE.png", "Image000_4500_E.png", False, "neighbour NE"),
        ("Image000_6500_NW.png", "Image000_4500_E.png", False, "neighbour NW"),
    ]
    assert len({p.name for p in pairs}) == 3


def test_any_to_any_mirror_pairs_swap_east_and_west(tmp_path: Path) -> None:
    root = _any_to_any(tmp_path / "full", ("Image000",))
    pairs = load_pairs(root, use_neighbours=False, use_mirror=True).pairs
    assert [(p.input.name, p.target.name, p.flip) for p in pairs] == [
        ("Image000_6500_N.png", "Image000_4500_E.png", False),
        ("Image000_6500_N.png", "Image000_4500_W.png", True),
    ]
    pairs = load_pairs(root, Setting(5500, "NE"), Setting(2500, "SE"), use_neighbours=True, use_mirror=True).pairs
    assert [(p.input.name, p.target.name, p.flip, p.origin) for p in pairs] == [
        ("Image000_5500_NE.png", "Image000_2500_SE.png", False, "direct"),
        ("Image000_5500_E.png", "Image000_2500_SE.png", False, "neighbour E"),
        ("Image000_5500_N.png", "Image000_2500_SE.png", False, "neighbour N"),
        ("Image000_5500_NW.png", "Image000_2500_SW.png", True, "mirror"),
    ]


def test_missing_files_leave_out_only_what_they_break(tmp_path: Path) -> None:
    root = _any_to_any(tmp_path / "full", ("Image000", "Image001", "Image002"))
    (root / "Image001_4500_W.png").unlink()
    (root / "Image002.npy").unlink()
    (root / "notes.png").write_bytes((root / "Image000_6500_N.png").read_bytes())
    found = load_pairs(root, use_neighbours=False, use_mirror=True)
    assert [(p.scene, p.origin) for p in found.pairs] == [
        ("Image000", "direct"), ("Image000", "mirror"), ("Image001", "direct"),
    ]
    text = "\n".join(found.skipped)
    assert "Image001: no 4500-W image, mirror pair left out" in text
    assert "Image002: no depth file" in text
    assert "notes.png" in text


def test_split_keeps_held_out_scenes_apart(tmp_path: Path) -> None:
    pairs = [
        TrainPair(f"S{i}+{o}", f"S{i}", Path(f"S{i}.png"), Path(f"S{i}.npy"), Path(f"S{i}_t.png"), o == "mirror", o)
        for i in range(10)
        for o in ("direct", "neighbour NE", "mirror")
    ]
    train, val = split_scenes(pairs, 3, seed=1)
    train_scenes, val_scenes = {p.scene for p in train}, {p.scene for p in val}
    assert len(val_scenes) == 3
    assert not train_scenes & val_scenes
    assert len(train_scenes) == 7
    assert all(p.origin == "direct" for p in val)
    assert len(val) == 3
    assert len(train) == 21
    assert split_scenes(pairs, 3, seed=1) == (train, val)
    assert any({p.scene for p in split_scenes(pairs, 3, seed=k)[1]} != val_scenes for k in range(2, 6))
    assert len({p.scene for p in split_scenes(pairs, 0.2)[1]}) == 2
    _, val_all = split_scenes(pairs, ["S4"], val_direct_only=False)
    assert [p.origin for p in val_all] == ["direct", "neighbour NE", "mirror"]
    with pytest.raises(RelightError, match="not in the data"):
        split_scenes(pairs, ["S99"])
    with pytest.raises(RelightError, match="nothing is left"):
        split_scenes(pairs, 10)


# ------------------------------------------------------------------ dataset


def _pair(tmp_path: Path, flip: bool, target: bool = True, size: tuple[int, int] = (12, 16)) -> TrainPair:
    rng = np.random.default_rng(3)
    h, w = size
    rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "in.png")
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(tmp_path / "gt.png")
    write_depth_npy(tmp_path / "in.npy", rng.random((h, w), dtype=np.float32))
    return TrainPair("x", "x", tmp_path / "in.png", tmp_path / "in.npy", tmp_path / "gt.png" if target else None, flip)


def test_dataset_item_flip_and_rgba(tmp_path: Path) -> None:
    plain = PairDataset([_pair(tmp_path, flip=False)])[0]
    flipped = PairDataset([_pair(tmp_path, flip=True)])[0]
    assert plain["rgb"].shape == (3, 12, 16)
    assert plain["depth"].shape == (1, 12, 16)
    assert plain["target"].shape == (3, 12, 16)
    assert plain["rgb"].dtype == torch.float32
    assert plain["name"] == "x"
    raw = np.asarray(Image.open(tmp_path / "in.png"))[..., :3].astype(np.float32) / 255
    assert torch.equal(plain["rgb"], torch.from_numpy(raw).permute(2, 0, 1))
    for key in ("rgb", "depth", "target"):
        assert torch.equal(flipped[key], plain[key].flip(-1)), key
        assert not torch.equal(flipped[key], plain[key])
    assert "target" not in PairDataset([_pair(tmp_path, flip=False, target=False)])[0]
    with pytest.raises(RelightError, match="no target"):
        PairDataset([_pair(tmp_path, flip=False, target=False)], require_target=True)


def test_dataset_resizes_and_matches_depth_to_image(tmp_path: Path) -> None:
    pair = _pair(tmp_path, flip=False)
    write_depth_npy(tmp_path / "in.npy", np.ones((6, 8), np.float32))
    item = PairDataset([pair])[0]
    assert item["depth"].shape == (1, 12, 16)
    assert torch.allclose(item["depth"], torch.ones(1, 12, 16))
    item = PairDataset([pair], size=(8, 20))[0]
    assert [tuple(item[k].shape) for k in ("rgb", "depth", "target")] == [(3, 8, 20), (1, 8, 20), (3, 8, 20)]


def test_crops_are_reproducible_per_seed_epoch_index_and_across_workers(tmp_path: Path) -> None:
    pair = _pair(tmp_path, flip=True, size=(24, 32))
    pairs = [pair] * 6
    ds = PairDataset(pairs, crop=8, seed=5)
    full = PairDataset(pairs)[0]
    item = ds[2]
    top, left = ds.crop_box(2, 24, 32)
    for key in ("rgb", "depth", "target"):
        assert torch.equal(item[key], full[key][:, top : top + 8, left : left + 8])
    boxes = {}
    for epoch in (0, 1):
        ds.set_epoch(epoch)
        boxes[epoch] = [ds.crop_box(i, 24, 32) for i in range(6)]
    assert boxes[0] != boxes[1]
    assert len(set(boxes[0])) > 1
    same_seed = PairDataset(pairs, crop=8, seed=5)
    assert [same_seed.crop_box(i, 24, 32) for i in range(6)] == boxes[0]
    assert [PairDataset(pairs, crop=8, seed=6).crop_box(i, 24, 32) for i in range(6)] != boxes[0]

    # Two persistent workers see set_epoch from the main process and give what one process gives.
    loader = DataLoader(ds, batch_size=3, num_workers=2, persistent_workers=True)
    for epoch in (0, 1):
        ds.set_epoch(epoch)
        got = torch.cat([batch["rgb"] for batch in loader])
        want = torch.stack([ds[i]["rgb"] for i in range(6)])
        assert torch.equal(got, want), epoch
    with pytest.raises(RelightError, match="larger than the image"):
        PairDataset(pairs, crop=(30, 8))[0]


def test_dataset_unreadable_file_names_it(tmp_path: Path) -> None:
    pair = _pair(tmp_path, flip=False)
    (tmp_path / "gt.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    with pytest.raises(RelightError, match="gt.png"):
        PairDataset([pair])[0]
    (tmp_path / "in.npy").unlink()
    with pytest.raises(RelightError, match=r"in\.npy: no such file"):
        PairDataset([pair])[0]


# ------------------------------------------------------------------ CLI


def test_cli_data_pairs_json(tmp_path: Path) -> None:
    root = _any_to_any(tmp_path / "full")
    result = CliRunner().invoke(app, ["data", "pairs", str(root), "--json", "--no-neighbours", "--mirror"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["layout"] == "any-to-any"
    assert report["source"] == "6500-N"
    assert report["target"] == "4500-E"
    assert [(Path(p["input"]).name, Path(p["target"]).name, p["flip"]) for p in report["pairs"]] == [
        ("Image000_6500_N.png", "Image000_4500_E.png", False),
        ("Image000_6500_N.png", "Image000_4500_W.png", True),
        ("Image001_6500_N.png", "Image001_4500_E.png", False),
        ("Image001_6500_N.png", "Image001_4500_W.png", True),
    ]
    result = CliRunner().invoke(app, ["data", "pairs", str(root), "--json", "--source", "3500-S", "--target", "6500-W"])
    origins = [(p["origin"], Path(p["input"]).name, Path(p["target"]).name) for p in json.loads(result.stdout)["pairs"]][:4]
    assert origins == [
        ("direct", "Image000_3500_S.png", "Image000_6500_W.png"),
        ("neighbour SW", "Image000_3500_SW.png", "Image000_6500_W.png"),
        ("neighbour SE", "Image000_3500_SE.png", "Image000_6500_W.png"),
        ("mirror", "Image000_3500_S.png", "Image000_6500_E.png"),
    ]


def test_cli_data_pairs_table_and_bad_setting(
    cli, tmp_path: Path
) -> None:
    root = _any_to_any(tmp_path / "full", ("Image000",))
    code, out, _ = cli(["data", "pairs", str(root)])
    assert code == 0
    assert "4 pairs, any-to-any layout" in out
    assert [word for word in ("direct", "neighbour NE", "neighbour NW", "mirror") if word in out] == [
        "direct", "neighbour NE", "neighbour NW", "mirror",
    ]
    code, out, err = cli(["data", "pairs", str(root), "--target", "4500-X"])
    assert code == 1
    assert out == ""
    assert err.strip().splitlines() == ["error: setting '4500-X': unknown light direction 'X'; use one of N NE E SE S SW W NW"]
