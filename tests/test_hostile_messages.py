"""Every message one clean line under hostile input: a registry.json of the wrong types or nested too deep,
a Hub repository that is no repository, output names too long (refused before the model loads), file
names holding newlines or ANSI escapes, a 100,000-character light, and no stray lines from the libraries
relight reads with (tifffile, Pillow) or from Python's own warnings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from relight.errors import shown

FORMAT = "relight-registry/1"
COMMIT, SHA = "0" * 40, "0" * 64


def _only_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("registry,expected", [
    ({"models": {"m": {"location": {"file": 123}}}}, "models.m: location file must be text (got int 123)"),
    ({"models": {"m": {"location": {"hub": "../../..", "filename": "w.safetensors", "revision": COMMIT}, "sha256": SHA}}},
     "models.m: hub repository '../../..' is not owner/name as the Hub allows it"),
    ({"models": {}, "depth_models": {"d": {"location": {"hub": "a/../b", "revision": COMMIT}, "sha256": {"config.json": SHA}}}},
     "depth_models.d: hub repository 'a/../b' is not owner/name as the Hub allows it"),
    ({"models": {"m": {"location": {"file": "w.safetensors"}, "metrics": [1, 2]}}}, "models.m: a field of the wrong type ("),
    (None, "not a relight registry (nested deeper than JSON is read)"),
])
def test_a_hostile_registry_json_is_one_line_naming_the_file_and_entry(tmp_path, monkeypatch, cli, registry, expected):
    """``"file": 123`` was an unexpected TypeError, 100k nested brackets a RecursionError, and a hub repo
    ``../../..`` an unexpected HFValidationError from ``weights list``."""
    home = tmp_path / "home"
    home.mkdir()
    text = "[" * 100_000 + "]" * 100_000 if registry is None else json.dumps({"format": FORMAT, **registry})
    (home / "registry.json").write_text(text)
    monkeypatch.setenv("RELIGHT_HOME", str(home))
    code, _, stderr = cli(["weights", "list"])
    assert code == 1
    line = _only_line(stderr)
    assert line.startswith(f"error: {home / 'registry.json'}: "), line
    assert expected in line


def test_output_names_too_long_are_refused_before_the_model_loads(tmp_path, sample_pair, cli):
    """``--name "{stem}"`` repeated 40 times was "unexpected OSError: [Errno 36] File name too long",
    after the model had loaded; the model named here does not exist, so the name was checked first."""
    image, depth = sample_pair
    code, _, stderr = cli(["batch", str(image.parent), "-o", str(tmp_path / "out"), "--name", "{stem}" * 50, "-w", "no-such-model"])
    assert code == 2
    line = _only_line(stderr)
    assert line.startswith("error: --name '{stem}{stem}")
    assert "{...}" in line
    assert "a file name of 254 bytes, longer than relight can write" in line
    assert "for scene.png" in line
    long_output = tmp_path / ("x" * 300 + ".png")
    code, _, stderr = cli(["run", str(image), str(depth), "-o", str(long_output), "-w", "no-such-model"])
    assert code == 1
    assert "a file name of 304 bytes, longer than relight can write" in _only_line(stderr)


def test_file_names_with_newlines_and_escapes_cannot_fake_a_line(tmp_path, sample_pair, narrow_checkpoint, cli):
    image, depth = sample_pair
    evil = tmp_path / "scene\nerror: all is well\x1b[2J.png"
    evil.write_bytes(b"not a picture")
    code, _, stderr = cli(["run", str(evil), str(depth), "-o", str(tmp_path / "out.png"), "-w", str(narrow_checkpoint), "--device", "cpu"])
    assert code == 1
    line = _only_line(stderr)
    assert "scene\\nerror: all is well\\x1b[2J.png: not a readable PNG file" in line
    out = tmp_path / "relit\n\x1b[31m.png"
    code, _, stderr = cli(["run", str(image), str(depth), "-o", str(out), "-w", str(narrow_checkpoint), "--device", "cpu"])
    assert code == 0, stderr
    assert out.exists()
    assert "wrote " + str(out).replace("\n", "\\n").replace("\x1b", "\\x1b") in stderr
    assert "\x1b" not in stderr


def test_a_long_light_is_echoed_short(sample_pair, narrow_checkpoint, cli):
    image, depth = sample_pair
    code, _, stderr = cli(["run", str(image), str(depth), "-o", "x.png", "--to", "2500-" + "W" * 100_000])
    assert code == 2
    line = _only_line(stderr)
    assert len(line) < 600
    assert "unknown light direction 'WWW" in line
    assert "..." in line


def test_shown_escapes_control_characters_and_cuts_the_middle():
    assert shown("a\nb\x1b[31mc\u2028d") == "a\\nb\\x1b[31mc\\u2028d"
    assert shown("x" * 1000) == "x" * 98 + "..." + "x" * 98
    assert shown("x" * 1000, 80) == "x" * 38 + "..." + "x" * 38
    assert shown("é 漢字 ok") == "é 漢字 ok"


def _damaged_tiff(path: Path) -> Path:
    """A TIFF whose Software tag has an invalid type: tifffile logs it and reads the image."""
    tifffile.imwrite(path, np.full((40, 56, 3), 128, np.uint8), photometric="rgb", software="relight test")
    data = bytearray(path.read_bytes())
    entry = data.index((305).to_bytes(2, "little") + (2).to_bytes(2, "little"))  # tag 305 (Software), type 2 (ASCII)
    data[entry + 2 : entry + 4] = (0).to_bytes(2, "little")  # type 0, which no TIFF has
    path.write_bytes(bytes(data))
    return path


def test_no_stray_lines_from_tifffile_pillow_or_python_warnings(tmp_path, sample_pair, narrow_checkpoint, cli):
    """tifffile logged each damaged tag on its own lines, and an hf:// address in relight's older form
    printed a raw Python warning with a source line before the error."""
    _, depth = sample_pair
    photo = _damaged_tiff(tmp_path / "photo.tif")
    code, _, stderr = cli(["run", str(photo), str(depth), "-o", str(tmp_path / "out.png"), "-w", str(narrow_checkpoint), "--device", "cpu"])
    assert code == 0, stderr
    assert [line for line in stderr.splitlines() if not line.startswith(("model ", "wrote ", "warning: ", "relighting "))] == []
    code, _, stderr = cli(["run", str(photo), str(depth), "-o", str(tmp_path / "out2.png"), "-w", "hf://me/mbnet/w.safetensors@main"])
    assert code == 1
    lines = stderr.strip().splitlines()
    assert lines[0] == ("warning: hf://me/mbnet/w.safetensors@main is relight's older form of an hf:// address; "
                        "the standard form is hf://me/mbnet@main/w.safetensors")
    assert lines[1].startswith("error: "), lines
    assert len(lines) == 2, lines


def test_a_garbage_colour_profile_is_not_printed(tmp_path, sample_pair, narrow_checkpoint, cli):
    image, depth = sample_pair
    photo = tmp_path / "icc.png"
    Image.open(image).save(photo, icc_profile=b"\x1b[31m\n" * 40)
    code, _, stderr = cli(["run", str(photo), str(depth), "-o", str(tmp_path / "out.png"), "-w", str(narrow_checkpoint), "--device", "cpu"])
    assert code == 0, stderr
    assert f"warning: {photo}: its damaged colour profile does not fit an RGB image: read as sRGB, written untagged" in stderr
    assert "\x1b" not in stderr


def test_library_warnings_and_logs_are_kept_off_the_command_line(capsys):
    """huggingface_hub's and tifffile's log lines and Pillow's warnings added lines before relight's own."""
    import logging
    import warnings

    from relight.cli._console import quiet_libraries

    quiet_libraries()
    logging.getLogger("huggingface_hub.file_download").warning("Xet Storage is enabled for this repo, but ...")
    logging.getLogger("tifffile").error("<tifffile.TiffTag 305 @178> invalid data type 0")
    warnings.warn_explicit("Truncated File Read", UserWarning, "TiffImagePlugin.py", 950, module="PIL.TiffImagePlugin")
    warnings.warn_explicit("Not enough free disk space", UserWarning, "file_download.py", 773, module="huggingface_hub.file_download")
    assert capsys.readouterr().err == ""
