"""Depth conventions on input (``depth_kind``): normalised, metric and disparity depth turned into
relight's (VIDIT's normalised depth), checked on arrays whose answer is known, then through the readers,
``load_pair`` and the command line."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from relight.io import read_image
from relight.cli._errors import cli_words
from relight.data.pairs import InferencePair, load_pair
from relight.errors import InputFileError, InvalidSetting, RelightWarning
from relight.io.depth import (
    DEPTH_KINDS,
    FAR_LIMIT,
    check_depth_kind,
    fill_holes,
    load_depth,
    normalise_distance,
    read_depth,
    to_normalised,
    write_depth_npy,
    write_depth_png,
)


def test_distances_are_divided_by_the_farthest_capped_at_four_times_the_centre():
    metres = np.array([[4.0, 8.0], [12.0, 20.0]])  # the centre pixel (1, 1) is the farthest
    assert np.allclose(normalise_distance(metres), [[0.2, 0.4], [0.6, 1.0]])
    assert normalise_distance(metres).dtype == np.float32
    sky = np.full((3, 3), 5.0)
    sky[0, 0], sky[0, 1] = 1000.0, np.inf  # a far sky is clipped, not allowed to squash the scene
    expected = np.full((3, 3), 5.0 / (FAR_LIMIT * 5.0))
    expected[0, :2] = 1.0
    assert np.allclose(normalise_distance(sky), expected)
    assert np.array_equal(normalise_distance(np.full((2, 2), np.inf)), np.ones((2, 2), np.float32))


def test_each_kind_on_known_arrays():
    unit = np.array([[0.1, 0.5], [0.9, 1.0]], np.float32)
    assert np.array_equal(to_normalised(unit, "normalised").depth, unit)
    assert np.allclose(to_normalised(unit * 20, "metric").depth, unit / 1.0)
    disparity = np.array([[1.0, 0.5], [0.25, 0.0]])  # distances 1, 2, 4 and infinitely far (the centre), as a network means it
    assert np.allclose(to_normalised(disparity, "disparity", far_below_zero=True).depth, [[0.25, 0.5], [1.0, 1.0]])
    found = to_normalised(disparity, "disparity")  # a file's 0 is where a stereo matcher found no match: filled
    assert found.holes == 1
    assert np.isclose(found.depth[1, 1], (1 / ((1.0 + 0.5 + 0.25) / 3)) / 4)
    assert np.allclose(to_normalised(np.array([[8, 4], [2, 1]], np.int32), "disparity").depth, [[0.125, 0.25], [0.5, 1.0]])
    assert check_depth_kind("normalized") == "normalised"
    assert DEPTH_KINDS == ("auto", "normalised", "metric", "disparity")


def test_auto_tells_normalised_from_metric_and_integer_arrays_by_their_values():
    unit = np.random.default_rng(0).random((4, 6), dtype=np.float32)
    found = to_normalised(unit)
    assert found.kind == "normalised"
    assert np.array_equal(found.depth, unit)
    assert found.note == ()
    metres = np.linspace(4.0, 20.0, 24, dtype=np.float32).reshape(4, 6)
    found = to_normalised(metres)
    assert found.kind == "metric"
    assert np.allclose(found.depth, metres / 20.0)
    note = RelightWarning(*found.note)
    assert str(note).startswith("depth runs from 4 to 20, outside the [0, 1] the network was trained on")
    assert "read as distances" in str(note)
    assert "depth_kind='disparity'" in str(note)
    assert "--depth-kind disparity or --depth-kind normalised" in note.render(cli_words)
    assert np.allclose(to_normalised(np.array([[0, 65535]], np.uint16)).depth, [[0.0, 1.0]])
    assert np.allclose(to_normalised(np.array([[0, 51, 255]], np.uint8)).depth, [[0.0, 0.2, 1.0]])
    # the user report: an int64 array was scaled by int64's range into a flat zero map
    millimetres = np.array([[1000, 2500], [4000, 5000]], np.int64)
    found = to_normalised(millimetres)
    assert found.kind == "metric"
    assert np.allclose(found.depth, millimetres / 5000.0)
    assert found.depth.max() == 1.0
    assert str(RelightWarning(*found.note)).startswith("an int64 array runs from 1000 to 5000")


def test_what_cannot_be_depth_is_refused_in_one_line():
    cases = [
        (np.array([[-3.0, 40.0]]), "auto", r"depth runs from -3 to 40: negative distances, and not normalised depth in \[0, 1\]"),
        (np.array([[-1, 7]], np.int32), "auto", "int32 depth runs from -1 to 7: negative distances"),
        (np.array([[1, 7]], np.int32), "normalised", r"an int32 array cannot hold normalised depth in \[0, 1\]"),
        (np.array([[-0.5, 2.0]]), "metric", r"metric depth holds negative distances \(down to -0.5\)"),
        (np.zeros((2, 2)), "disparity", r"valid values \(finite values above 0\) at only 0.0% of its pixels"),
        (np.array([[np.nan, np.nan, 1.0]]), "metric", r"depth holds valid values \(finite values\) at only 33.3% of its pixels; "
                                                             r"at least 50% are needed"),
        (np.array([[0.0, -1.0, 2.0]]), "disparity", r"valid values \(finite values above 0\) at only 33.3%"),
        (np.full((2, 2), np.nan), "auto", "depth holds only NaN or infinite values"),
    ]
    for array, kind, message in cases:
        with pytest.raises(InputFileError, match=message) as err:
            to_normalised(array, kind)
        assert "\n" not in str(err.value)
    with pytest.raises(InputFileError, match="disparity is nowhere above 0: no point has a distance"):
        to_normalised(np.zeros((2, 2)), "disparity", far_below_zero=True)  # a network's output, 0 meaning far
    with pytest.raises(InvalidSetting) as err:
        check_depth_kind("inverse")
    assert str(err.value) == "depth_kind='inverse': expected auto, normalised, metric or disparity"
    assert err.value.render(cli_words) == "--depth-kind 'inverse': expected auto, normalised, metric or disparity"


def test_files_are_read_in_the_kind_asked_for(tmp_path):
    metres = np.linspace(4.0, 20.0, 24, dtype=np.float32).reshape(4, 6)
    np.save(tmp_path / "m.npy", metres)
    assert np.allclose(read_depth(tmp_path / "m.npy"), metres / 20.0)
    assert np.array_equal(read_depth(tmp_path / "m.npy", "normalised"), metres)
    assert load_depth(tmp_path / "m.npy").kind == "metric"
    np.save(tmp_path / "neg.npy", metres - 10)
    with pytest.raises(InputFileError, match=r"^.*neg\.npy: float32 depth runs from -6 to 10: negative distances"):
        read_depth(tmp_path / "neg.npy")
    depth = np.random.default_rng(1).random((5, 7), dtype=np.float32)
    write_depth_png(tmp_path / "d.png", depth)
    with Image.open(tmp_path / "d.png") as im:
        assert im.mode.startswith("I;16")
        assert im.size == (7, 5)
    assert np.abs(read_depth(tmp_path / "d.png") - depth).max() <= 0.5 / 65535 + 1e-7


def test_load_pair_says_what_auto_did(tmp_path, sample_pair):
    image, _ = sample_pair
    metres = np.linspace(0.5, 50, 40 * 56, dtype=np.float32).reshape(40, 56)
    np.save(tmp_path / "metres.npy", metres)
    item = load_pair(InferencePair("scene", image, tmp_path / "metres.npy"))
    assert np.allclose(item.depth, np.minimum(metres / min(50.0, FAR_LIMIT * metres[20, 28]), 1.0))
    assert not item.estimated
    (note,) = item.warnings
    assert isinstance(note, RelightWarning)
    assert str(note).startswith(f"{tmp_path / 'metres.npy'}: depth runs from 0.5 to 50")
    as_given = load_pair(InferencePair("scene", image, tmp_path / "metres.npy"), "normalised")
    assert np.array_equal(as_given.depth, metres)
    assert "scale it to [0, 1]" in str(as_given.warnings[0])


def test_depth_kind_on_the_command_line(cli, tmp_path, sample_pair, narrow_checkpoint):
    image, _ = sample_pair
    metres = np.linspace(4.0, 20.0, 40 * 56, dtype=np.float32).reshape(40, 56)
    np.save(tmp_path / "metres.npy", metres)
    disparity = 1.0 / metres
    np.save(tmp_path / "disparity.npy", disparity)
    write_depth_npy(tmp_path / "normalised.npy", normalise_distance(metres))
    outputs = {}
    for name, kind in (("metres", "metric"), ("disparity", "disparity"), ("normalised", "auto")):
        out = tmp_path / f"{name}.tif"
        code, _, err = cli(["run", str(image), str(tmp_path / f"{name}.npy"), "-o", str(out), "-w", str(narrow_checkpoint),
                                "--device", "cpu", "--depth-kind", kind, "--bit-depth", "16"])
        assert code == 0, err
        assert "warning" not in err, err  # a kind given is a kind known: nothing to warn about
        outputs[name] = tifffile.imread(out)
    assert np.abs(outputs["metres"].astype(int) - outputs["normalised"]).max() <= 1
    assert np.abs(outputs["disparity"].astype(int) - outputs["normalised"]).max() <= 1
    code, _, err = cli(["run", str(image), str(tmp_path / "metres.npy"), "-o", str(tmp_path / "x.png"), "-w", str(narrow_checkpoint),
                            "--depth-kind", "inverse"])
    assert code == 2, err
    assert err.strip() == "error: --depth-kind 'inverse': expected auto, normalised, metric or disparity", err


def test_holes_are_filled_from_their_valid_neighbours():
    ramp = np.tile(np.arange(16, dtype=np.float64), (16, 1))  # 0 to 15 from left to right
    valid = np.ones_like(ramp, bool)
    valid[5:9, 3:7] = False  # a 4 x 4 hole where the ramp runs from 3 to 6
    filled = fill_holes(ramp, valid)
    assert np.array_equal(filled[valid], ramp[valid])
    assert filled[~valid].min() >= 1
    assert filled[~valid].max() <= 8  # from around the hole, not from across the map
    assert np.array_equal(fill_holes(np.where(valid, 7.0, np.nan), valid), np.full((16, 16), 7.0))
    odd = np.arange(15.0).reshape(3, 5)
    one = np.zeros((3, 5), bool)
    one[2, 4] = True
    assert np.array_equal(fill_holes(odd, one), np.full((3, 5), 14.0))  # odd sizes, a single valid pixel in a corner


def test_stereo_disparity_with_invalid_pixels_relights_and_says_how_many_were_filled(tmp_path, narrow_checkpoint, cli):
    """scikit-image's Middlebury motorcycle: its disparity marks 27,226 unmatched pixels as infinite."""
    from skimage.data import stereo_motorcycle

    left, _, disparity = stereo_motorcycle()
    Image.fromarray(left).save(tmp_path / "motorcycle.png")
    np.save(tmp_path / "motorcycle.npy", disparity)
    holes = int((~np.isfinite(disparity)).sum())
    code, _, err = cli(["run", str(tmp_path / "motorcycle.png"), str(tmp_path / "motorcycle.npy"), "-o", str(tmp_path / "relit.png"),
                        "-w", str(narrow_checkpoint), "--depth-kind", "disparity", "--device", "cpu"])
    assert code == 0, err
    assert holes == 27226
    assert "motorcycle.npy: 27,226 pixels (7.3%) hold no valid depth (NaN, infinite, or a disparity of 0 or below: " \
        "no match); filled from their valid neighbours" in err
    assert read_image(tmp_path / "relit.png").size == left.shape[:2]
    found = load_depth(tmp_path / "motorcycle.npy", "disparity")
    assert found.holes == holes
    assert np.isfinite(found.depth).all()
    matched = np.isfinite(disparity)
    filled = found.depth[~matched]  # from matched neighbours: within the range the matches span
    assert filled.min() >= found.depth[matched].min()
    assert filled.max() <= found.depth[matched].max()
