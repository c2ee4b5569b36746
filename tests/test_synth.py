"""The synthetic VIDIT generator: mirror symmetry, hard shadows that follow the light, determinism, files and CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image

from relight.data.synth import (
    AMBIENT,
    EXPOSURE,
    LIGHT_RGB,
    Box,
    Plane,
    SynthScene,
    Texture,
    blackbody_rgb,
    generate_scene,
    light_positions,
    random_scene,
    render_scene,
    scene_seed,
    to_uint8,
    write_dataset,
)
from relight.data.vidit import DIRECTIONS, TEMPERATURES, Setting, load_pairs
from relight.io import read_depth


@pytest.mark.parametrize(("seed", "size"), [(2, 48), (10, 48), (8, 41)])
def test_mirrored_scene_renders_as_the_flipped_original(seed: int, size: int) -> None:
    """Rendering the scene mirrored in x = flipping the original's image at the mirrored direction.

    Allowed: 1/255 on at most 0.1 % of pixels (8-bit rounding); measured: no difference at all.
    """
    scene = random_scene(seed)
    assert {"Sphere", "Box", "Cylinder", "Plane"} <= {type(p).__name__ for p in scene.primitives}  # all kinds mirrored
    original = render_scene(scene, size)
    mirrored = render_scene(scene.mirrored(), size)
    np.testing.assert_allclose(mirrored["depth"], original["depth"][:, ::-1], atol=1e-6)
    for setting, image in mirrored["images"].items():
        expected = original["images"][setting.mirrored()][:, ::-1]
        diff = np.abs(image.astype(int) - expected.astype(int))
        assert diff.max() <= 1, setting
        assert (diff > 0).mean() <= 1e-3, setting
    east = original["images"][Setting(6500, "E")]
    assert np.abs(east.astype(int) - east[:, ::-1].astype(int)).mean() > 2  # the scene itself is not symmetric


def test_hard_shadows_follow_the_light() -> None:
    """A box on grey ground: where its shadow falls, the ground shows exactly the ambient term."""
    grey = Texture("plain", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    red = Texture("plain", (0.6, 0.05, 0.05), (0.6, 0.05, 0.05))
    ground = Plane(1, 0.0, grey)
    # Behind where the central ray meets the ground (z = 4.6), so both scenes get the same light ring.
    box = Box((0.0, 0.5, 6.0), (0.4, 0.5, 0.4), 1.0, 0.0, red)
    scene, empty = SynthScene((ground, box), 1.5, 18.0), SynthScene((ground,), 1.5, 18.0)
    lights, lights_empty = light_positions(scene), light_positions(empty)
    assert all(np.array_equal(lights[d], lights_empty[d]) for d in DIRECTIONS)
    size = 64
    with_box, bare = render_scene(scene, size), render_scene(empty, size)
    ambient = to_uint8(np.array([0.5, 0.5, 0.5]) * AMBIENT * LIGHT_RGB[6500] * EXPOSURE)
    sees_ground = np.isclose(with_box["depth"], bare["depth"])
    box_column = np.nonzero(~sees_ground)[1].mean()

    def cast_shadow(direction: str) -> np.ndarray:
        """Ground pixels at exactly the ambient value that are lit when the box is not there."""
        lit = with_box["images"][Setting(6500, direction)]
        unoccluded = bare["images"][Setting(6500, direction)]
        return sees_ground & (lit == ambient).all(-1) & (unoccluded != ambient).any(-1)

    shadow_e, shadow_w = cast_shadow("E"), cast_shadow("W")
    assert shadow_e.sum() > 30 and shadow_w.sum() > 30
    assert np.nonzero(shadow_e)[1].mean() < box_column - 3  # light from the east: shadow to the west (left)
    assert np.nonzero(shadow_w)[1].mean() > box_column + 3
    lit_under_w = (with_box["images"][Setting(6500, "W")][shadow_e] > ambient).any(-1).mean()
    assert lit_under_w > 0.9
    assert cast_shadow("N").sum() > 30 and not np.array_equal(cast_shadow("N"), cast_shadow("S"))


def test_directions_and_temperatures_change_the_image_clearly() -> None:
    images = generate_scene(11, 48)["images"]
    means = [image.mean() for image in images.values()]
    assert 40 < np.mean(means) < 150
    for a, b in [("6500-N", "4500-E"), ("6500-E", "6500-W"), ("6500-N", "6500-S")]:
        diff = np.abs(images[Setting.parse(a)].astype(int) - images[Setting.parse(b)].astype(int)).mean()
        assert diff > 8, (a, b, diff)
    warm, cool = images[Setting(2500, "E")].reshape(-1, 3).mean(0), images[Setting(6500, "E")].reshape(-1, 3).mean(0)
    assert warm[0] / warm[2] > 1.5 * cool[0] / cool[2]


def test_blackbody_colours() -> None:
    warm, white = blackbody_rgb(2500), blackbody_rgb(6500)
    assert warm[0] == 1 and warm[0] > warm[1] > warm[2] and warm[2] < 0.15
    assert white.min() > 0.9
    blue_over_red = [blackbody_rgb(t)[2] / blackbody_rgb(t)[0] for t in TEMPERATURES]
    assert blue_over_red == sorted(blue_over_red)


def test_deterministic_and_independent_of_start_index(tmp_path: Path) -> None:
    write_dataset(tmp_path / "a", 2, 24, seed=9)
    write_dataset(tmp_path / "b", 2, 24, seed=9)
    write_dataset(tmp_path / "c", 1, 24, seed=9, start_index=1)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert len(names) == 82
    assert all((tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes() for n in names)
    assert all(
        (tmp_path / "a" / p.name).read_bytes() == p.read_bytes() for p in (tmp_path / "c").iterdir()
    )
    assert scene_seed(9, 0) != scene_seed(10, 0)
    other = generate_scene(scene_seed(10, 0), 24)["images"][Setting(6500, "N")]
    assert not np.array_equal(np.asarray(Image.open(tmp_path / "a" / "Image000_6500_N.png"))[..., :3], other)


def test_cli_synth_writes_the_any_to_any_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "synth"
    args = ["synth", str(out), "--scenes", "1", "--size", "48", "--seed", "2", "--start-index", "5"]
    code, stdout, _ = run_cli(args, capsys, monkeypatch)
    assert code == 0 and "40" in stdout
    expected = {f"Image005_{t}_{d}.png" for t in TEMPERATURES for d in DIRECTIONS} | {"Image005.npy"}
    assert {p.name for p in out.iterdir()} == expected
    with Image.open(out / "Image005_4500_E.png") as im:
        assert im.mode == "RGBA" and im.size == (48, 48)
        assert (np.asarray(im)[..., 3] == 255).all()
    depth = read_depth(out / "Image005.npy")
    assert depth.shape == (48, 48) and depth.dtype == np.float32 and 0 <= depth.min() < depth.max() <= 1
    with pytest.raises(ValueError):  # VIDIT's pickled-dict form, not a plain array
        np.load(out / "Image005.npy", allow_pickle=False)
    found = load_pairs(out)
    assert [p.origin for p in found.pairs] == ["direct", "neighbour NE", "neighbour NW", "mirror"] and not found.skipped
    code, _, stderr = run_cli(["synth", str(out), "--scenes", "1", "--size", "32", "--start-index", "6"], capsys, monkeypatch)
    assert code == 2 and "holds 48x48 scenes" in stderr and "--size 32 would mix two sizes" in stderr
    assert not (out / "Image006.npy").exists()
    before = (out / "Image005_4500_E.png").read_bytes()
    code, _, stderr = run_cli(["synth", str(out), "--scenes", "2", "--size", "48", "--start-index", "4"], capsys, monkeypatch)
    assert code == 2 and "already holds scene Image005 (1 of the 2 asked for)" in stderr and "--start-index 6" in stderr
    assert (out / "Image005_4500_E.png").read_bytes() == before and not (out / "Image004.npy").exists()

    for option, refusal in ((["--scenes", "0"], "--scenes 0: need at least one scene"),
                            (["--seed", "-1"], "--seed -1: must be 0 or more"),
                            (["--size", "100000"], "--size 100000: use 8 to 2048 pixels (VIDIT's images are 1024x1024)")):
        code, stdout, stderr = run_cli(["synth", str(tmp_path / "none"), *option], capsys, monkeypatch)
        assert code == 2 and stderr.strip() == f"error: {refusal}"
        assert not (tmp_path / "none").exists()


def test_mirror_pair_from_files_is_the_mirrored_scene(tmp_path: Path) -> None:
    """Pairing + Dataset flip + renderer agree: the loaded mirror pair is the mirrored scene's direct pair."""
    from relight.data.dataset import PairDataset

    write_dataset(tmp_path, 1, 32, seed=4)
    pairs = load_pairs(tmp_path, use_neighbours=False, use_mirror=True).pairs
    item = PairDataset(pairs)[[p.origin for p in pairs].index("mirror")]
    mirrored = render_scene(random_scene(scene_seed(4, 0)).mirrored(), 32)
    for key, setting in (("rgb", "6500-N"), ("target", "4500-E")):
        expected = mirrored["images"][Setting.parse(setting)].astype(np.float32) / 255
        assert np.abs(item[key].permute(1, 2, 0).numpy() - expected).max() <= 1 / 255 + 1e-6, key
    np.testing.assert_allclose(item["depth"][0].numpy(), mirrored["depth"], atol=1e-6)


def test_synth_names_an_unreadable_earlier_image_in_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    (tmp_path / "Image000_6500_N.png").write_text("not a png")
    code, _, stderr = run_cli(["synth", str(tmp_path), "--scenes", "1", "--size", "32"], capsys, monkeypatch)
    assert code == 2 and stderr.strip().startswith(f"error: {tmp_path / 'Image000_6500_N.png'}: not a readable image")
    assert len(stderr.strip().splitlines()) == 1
