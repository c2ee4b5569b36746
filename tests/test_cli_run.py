"""`relight run` and `relight batch` from the console entry point, good input and bad."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import png
import pytest
from PIL import Image

from badfiles import PicklePayload, bomb_png, truncated_png
from relight.cli._errors import cli_text
from relight.inference import Relighter
from relight.io import read_image
from relight.weights import load_weights


def test_run_writes_output_keeping_alpha_and_matches_the_api(cli, tmp_path, sample_pair, narrow_checkpoint):
    image, depth = sample_pair
    out = tmp_path / "out" / "relit.png"
    code, _, err = cli(["run", str(image), str(depth), "-o", str(out), "--weights", str(narrow_checkpoint)])
    assert code == 0, err
    assert "narrow-w8-d16" in err
    written = read_image(out)
    assert written.size == (40, 56)
    assert written.alpha is not None
    assert written.alpha.min() == 1.0
    loaded = read_image(image)
    expected = Relighter(load_weights(narrow_checkpoint), device="cpu").relight(loaded.rgb, np.load(depth, allow_pickle=True).item()["normalized_depth"])
    assert np.abs(written.rgb - np.clip(expected, 0, 1)).max() <= 0.5 / 255 + 1e-6


def test_odd_size_and_16bit_png_work(cli, tmp_path, narrow_checkpoint):
    rgb16 = np.random.default_rng(0).integers(0, 65536, (33, 47, 3), dtype=np.uint16)
    with (tmp_path / "odd.png").open("wb") as fh:
        png.Writer(47, 33, greyscale=False, bitdepth=16).write(fh, rgb16.reshape(33, -1))
    np.save(tmp_path / "odd.npy", np.random.default_rng(1).random((33, 47), dtype=np.float32))
    out = tmp_path / "odd-out.png"
    code, _, err = cli(["run", str(tmp_path / "odd.png"), str(tmp_path / "odd.npy"), "-o", str(out), "-w", str(narrow_checkpoint), "--bit-depth", "16"])
    assert code == 0, err
    result = read_image(out)
    assert result.size == (33, 47)
    assert result.bit_depth == 16


def test_depth_of_another_size_is_resized_with_a_warning(cli, tmp_path, sample_pair, narrow_checkpoint):
    image, _ = sample_pair
    np.save(tmp_path / "small.npy", np.random.default_rng(0).random((20, 28), dtype=np.float32))
    code, _, err = cli(["run", str(image), str(tmp_path / "small.npy"), "-o", str(tmp_path / "o.tif"), "-w", str(narrow_checkpoint)])
    assert code == 0
    assert "resized" in err
    assert read_image(tmp_path / "o.tif").size == (40, 56)


def test_fixed_size_option_resizes_back(cli, tmp_path, sample_pair, narrow_checkpoint):
    image, depth = sample_pair
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "o.npy"), "-w", str(narrow_checkpoint), "--size", "64"])
    assert code == 0, err
    assert np.load(tmp_path / "o.npy").shape == (40, 56, 3)


def test_missing_weights_is_a_clear_error(cli, tmp_path, sample_pair):
    image, depth = sample_pair
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "o.png"), "-w", str(tmp_path / "nope.safetensors")])
    assert code != 0
    assert "nope.safetensors" in err
    assert "Traceback" not in err


def _evil_depth(path: Path) -> None:
    np.save(path, np.array({"normalized_depth": PicklePayload(path.parent / "pwned")}, dtype=object), allow_pickle=True)


BAD_IMAGES = {
    "missing": (lambda p: None, "no such file"),
    "zero-byte": (lambda p: p.write_bytes(b""), "empty"),
    "text": (lambda p: p.write_text("not an image"), "not a readable PNG"),
    "truncated": (truncated_png, "truncated"),
    "bomb": (bomb_png, "pixel limit"),
}
BAD_DEPTHS = {
    "malicious pickle": (_evil_depth, "unsafe pickle"),
    "nan": (lambda p: np.save(p, np.full((40, 56), np.nan, np.float32)), "NaN"),
    "3-D": (lambda p: np.save(p, np.zeros((40, 56, 3), np.float32)), "2-D"),
}


BAD_INPUTS = [("image", name) for name in sorted(BAD_IMAGES)] + [("depth", name) for name in sorted(BAD_DEPTHS)]


@pytest.mark.parametrize("which,case", BAD_INPUTS, ids=[f"{w}-{c}" for w, c in BAD_INPUTS])
def test_bad_input_fails_cleanly(cli, tmp_path, sample_pair, narrow_checkpoint, which, case):
    """One line naming the file and the problem, a non-zero exit, no traceback, no partial output."""
    image, depth = sample_pair
    make, problem = (BAD_IMAGES if which == "image" else BAD_DEPTHS)[case]
    bad = tmp_path / ("bad.png" if which == "image" else "bad.npy")
    make(bad)
    image, depth = (bad, depth) if which == "image" else (image, bad)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, _, err = cli(["run", str(image), str(depth), "-o", str(out_dir / "o.png"), "-w", str(narrow_checkpoint)])
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("model ")]
    assert len(lines) == 1, err
    assert str(bad) in err
    assert problem in err
    assert "Traceback" not in err
    assert not any(out_dir.iterdir()), "partial output left behind"
    assert not (tmp_path / "pwned").exists()


def test_unwritable_output_folder_fails_cleanly(cli, tmp_path, sample_pair, narrow_checkpoint):
    image, depth = sample_pair
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    target = blocker / "o.png"
    code, _, err = cli(["run", str(image), str(depth), "-o", str(target), "-w", str(narrow_checkpoint)])
    assert code != 0
    assert str(blocker) in err
    assert "is a file, not a folder" in err
    assert "Traceback" not in err
    assert blocker.read_text() == "x"


@pytest.mark.parametrize(
    ("output", "options", "problem"),
    [
        ("o.bmp", [], "unsupported output type .bmp"),
        ("o.jpg", ["--bit-depth", "16"], "16-bit output needs PNG or TIFF, not .jpg"),
        ("folder.png", [], "is a folder; give a file name"),
        ("file/o.png", [], "is a file, not a folder"),
        ("scene.png", [], "would replace the input"),
        ("scene.npy", [], "would replace the input"),
    ],
)
def test_run_refuses_an_output_it_cannot_write_before_loading_the_model(
    cli, tmp_path, sample_pair, narrow_checkpoint, output, options, problem
):
    image, depth = sample_pair
    inputs = (image.read_bytes(), depth.read_bytes())
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "file").write_text("x")
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / output), "-w", str(narrow_checkpoint), *options])
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1, err
    assert len(lines) == 1, err
    assert lines[0].startswith("error:"), err
    assert problem in lines[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder.png", "scene.npy", "scene.png"]
    assert not any((tmp_path / "folder.png").iterdir())
    assert (image.read_bytes(), depth.read_bytes()) == inputs


@pytest.mark.parametrize(
    ("arguments", "problem", "expected"),
    [
        (["{tmp}/scen.png"], "{tmp}/scen.png: no such file", 1),  # a mistyped photo, no depth file
        (["{tmp}/scene.png", "{tmp}/scen.npy"], "{tmp}/scen.npy: no such file", 1),
        (["{tmp}/scene.gif"], "{tmp}/scene.gif: unsupported image type .gif", 1),
        (["{tmp}/scene.png", "--depth-kind", "far"], "--depth-kind 'far': expected auto, normalised, metric or disparity", 2),
        (["{tmp}/scene.png", "--size", "7x"], "--size '7x': expected N or HxW", 2),
        (["{tmp}/scene.png", "--native", "--size", "64"], "--native and --size 64 contradict each other", 2),
    ],
)
def test_run_checks_its_inputs_before_the_depth_model_or_the_hub(tmp_path, sample_pair, cli, monkeypatch, arguments, problem, expected):
    """What the command line names is checked first: nothing loads a depth model (or reaches the Hub for
    one) for a photo that is not there or a setting that is refused."""
    from relight.depth.estimation import DepthEstimator

    loaded: list[object] = []
    monkeypatch.setattr(DepthEstimator, "load", classmethod(lambda cls, *args, **kwargs: loaded.append(args)))
    (tmp_path / "scene.gif").write_bytes(b"GIF89a")
    code, _, err = cli(["run", *(a.format(tmp=tmp_path) for a in arguments), "-o", str(tmp_path / "out.png")])
    assert code == expected, err
    assert err.strip().startswith(f"error: {problem.format(tmp=tmp_path)}"), err
    assert len(err.strip().splitlines()) == 1
    assert loaded == []


def test_debug_shows_the_traceback(tmp_path, sample_pair, narrow_checkpoint, monkeypatch):
    from relight import cli
    from relight.errors import InputFileError

    image, _ = sample_pair
    monkeypatch.setattr("sys.argv", ["relight", "--debug", "run", str(image), str(tmp_path / "none.npy"), "-o", str(tmp_path / "o.png"), "-w", str(narrow_checkpoint)])
    with pytest.raises(InputFileError):
        cli.main()
    monkeypatch.setitem(cli._state, "debug", False)


def _batch_folder(tmp_path: Path, sample_pair, n: int = 4) -> Path:
    image, depth = sample_pair
    folder = tmp_path / "batch"
    folder.mkdir()
    for i in range(n):
        shutil.copy(image, folder / f"Image{i:03d}.png")
        shutil.copy(depth, folder / f"Image{i:03d}.npy")
    return folder


def test_batch_resumes_reports_bad_pairs_and_counts_both(cli, tmp_path, sample_pair, narrow_checkpoint):
    folder = _batch_folder(tmp_path, sample_pair)
    (folder / "Image001.npy").write_bytes(b"")  # a bad pair
    (folder / "lonely.png").write_bytes((folder / "Image000.png").read_bytes())  # no depth
    out = tmp_path / "relit"
    code, stdout, err = cli(["batch", str(folder), "-o", str(out), "-w", str(narrow_checkpoint)])
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["Image000.png", "Image002.png", "Image003.png"]
    assert "Image001.npy: file is empty" in err
    assert "lonely" in err
    assert "Traceback" not in err
    assert "relit" in stdout
    assert "failed" in stdout
    # Resume: existing outputs are skipped and left untouched.
    before = (out / "Image000.png").stat().st_mtime_ns
    shutil.copy(tmp_path / "batch" / "Image000.npy", folder / "Image001.npy")
    (folder / "lonely.png").unlink()
    (out / "Image001.png").write_bytes(b"")  # not an output relight wrote (those are whole): redone
    code, stdout, err = cli(["batch", str(folder), "-o", str(out), "-w", str(narrow_checkpoint)])
    assert code == 0, err
    assert (out / "Image000.png").stat().st_mtime_ns == before
    assert read_image(out / "Image001.png").size == (40, 56)
    assert sorted(p.name for p in out.iterdir()) == [f"Image{i:03d}.png" for i in range(4)]
    row = [line for line in stdout.splitlines() if "│" in line][-1]
    assert [c.strip() for c in row.split("│")[1:4]] == ["1", "3", "0"]
    # A folder where an output goes is that pair's failure, not an output "already there".
    shutil.copy(folder / "Image000.png", folder / "Image004.png")
    shutil.copy(folder / "Image000.npy", folder / "Image004.npy")
    (out / "Image004.png").mkdir()
    code, stdout, err = cli(["batch", str(folder), "-o", str(out), "-w", str(narrow_checkpoint)])
    assert code == 1
    assert "Image004.png: a folder is where this output goes" in err
    row = [line for line in stdout.splitlines() if "│" in line][-1]
    assert [c.strip() for c in row.split("│")[1:4]] == ["0", "4", "1"]


@pytest.mark.parametrize(
    ("options", "problem", "expected"),  # 2: a setting refused; 1: a folder that cannot be used
    [
        (["--ext", ".bmp"], "--ext .bmp: unsupported output type .bmp", 2),
        (["--ext", ".jpg", "--bit-depth", "16"], "16-bit output needs PNG or TIFF", 2),
        (["-o", "{tmp}/a-file"], "a-file: is a file, not a folder", 1),
        (["-o", "{folder}"], "would replace the input", 1),
        (["-o", "{folder}", "--overwrite"], "would replace the input", 1),
        (["-o", "{folder}", "--ext", ".jpg"], "is the folder of the images: the outputs would sit among them", 1),
        (["-o", "{folder}", "--to", "4500-E"], "would replace the input", 1),
        (["-o", "{folder}", "--name", "{{stem}}_{{target}}"], "is the folder of the images", 1),
    ],
)
def test_batch_refuses_outputs_it_cannot_write_or_that_would_replace_inputs(
    cli, tmp_path, sample_pair, narrow_checkpoint, options, problem, expected
):
    """Refused in one line before the model loads: a bad --ext, an output folder that is a file, an output
    folder where the outputs would land on the inputs (with --overwrite they would replace them), and the
    images' own folder, where the next batch would take the outputs for images."""
    folder = _batch_folder(tmp_path, sample_pair, n=2)
    (tmp_path / "a-file").write_text("x")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    args = [a.format(tmp=tmp_path, folder=folder) for a in options]
    code, stdout, err = cli(["batch", str(folder), "-w", str(narrow_checkpoint), *args])
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == expected, err
    assert len(lines) == 1, err
    assert lines[0].startswith("error:"), err
    assert problem in lines[0], err  # no model line before it
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert (tmp_path / "a-file").read_text() == "x"


def test_batch_reports_two_inputs_that_would_share_an_output(cli, tmp_path, sample_pair, narrow_checkpoint):
    """a.jpg and a.png (one depth a.npy) would both write relit/a.png: the second is reported, not written over the first."""
    folder = _batch_folder(tmp_path, sample_pair, n=1)
    Image.open(folder / "Image000.png").convert("RGB").save(folder / "Image000.jpg")
    code, stdout, err = cli(["batch", str(folder), "-o", str(tmp_path / "out"), "-w", str(narrow_checkpoint)])
    assert code == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["Image000.png"]
    failed = [line for line in err.splitlines() if line.startswith("failed:")]
    assert len(failed) == 1
    assert "Image000.png" in failed[0]
    assert "also that of" in failed[0]
    assert "Image000.jpg" in failed[0]
    row = [line for line in stdout.splitlines() if "│" in line][-1]
    assert [c.strip() for c in row.split("│")[1:4]] == ["1", "0", "1"]


def test_batch_shards_split_the_folder(cli, tmp_path, sample_pair, narrow_checkpoint):
    folder = _batch_folder(tmp_path, sample_pair, n=5)
    out = tmp_path / "relit"
    for k in (1, 2):
        code, _, err = cli(["batch", str(folder), "-o", str(out), "-w", str(narrow_checkpoint), "--shard", f"{k}/2", "--ext", "jpg"])
        assert code == 0, err
        if k == 1:
            assert sorted(p.name for p in out.iterdir()) == ["Image000.jpg", "Image002.jpg", "Image004.jpg"]
    assert len(list(out.iterdir())) == 5
    code, _, err = cli(["batch", str(folder), "-w", str(narrow_checkpoint), "--shard", "3/2"])
    assert code == 2
    assert "--shard" in err


def test_batch_with_a_depth_folder_and_vidit_names(cli, tmp_path, sample_pair, narrow_checkpoint):
    image, depth = sample_pair
    (tmp_path / "img").mkdir()
    (tmp_path / "dep").mkdir()
    shutil.copy(image, tmp_path / "img" / "Image007_6500_N.png")
    d = np.load(depth, allow_pickle=True).item()["normalized_depth"]
    Image.fromarray((d * 65535).astype(np.uint16)).save(tmp_path / "dep" / "Image007.png")
    code, _, err = cli(["batch", str(tmp_path / "img"), "--depth-dir", str(tmp_path / "dep"), "-w", str(narrow_checkpoint)])
    assert code == 0, err
    assert (tmp_path / "img" / "relit" / "Image007_6500_N.png").is_file()
    code, _, err = cli(["batch", str(tmp_path / "img"), "--depth-dir", str(tmp_path / "dep" / "Image007.png")])
    assert code == 1
    assert "Image007.png: depth folder is a file, not a folder" in err


def test_out_of_memory_fails_that_image_only(tiny_config, tmp_path, sample_pair):
    """A device out of memory on one (large) image is reported for it; the other images are still done."""
    import torch

    from relight.inference.batch import run_batch
    from relight.data.pairs import find_inference_pairs
    from relight.model import MBNet

    class RunsOutAbove64px(MBNet):
        def forward(self, rgb, depth):
            if rgb.shape[-1] > 64:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return super().forward(rgb, depth)

    folder = _batch_folder(tmp_path, sample_pair, n=2)
    Image.fromarray(np.zeros((40, 90, 3), np.uint8)).save(folder / "Image001.png")
    relighter = Relighter(RunsOutAbove64px(tiny_config), device="cpu")
    summary = run_batch(relighter, find_inference_pairs(folder), tmp_path / "out")
    assert [p.name for p in summary.done] == ["Image000.png"]
    assert len(summary.failed) == 1
    assert "out of memory on cpu for 1 image(s) of 40x90; try a smaller Relighter(size)" in summary.failed[0][1]
    assert "out of memory on cpu for 1 image(s) of 40x90; try a smaller --size" in cli_text(summary.failures[0][1])


def test_command_line_starts_without_torch() -> None:
    """`relight --help` and `relight weights list` start in a fraction of a second: the packages import
    Relighter, MBNet and the checkpoint code only when asked for them, and MBNetConfig needs no torch."""
    import subprocess
    import sys

    code = "\n".join([
        "import sys, relight, relight.cli, relight.model",
        "from typer.testing import CliRunner",
        "listed = CliRunner().invoke(relight.cli.app, ['weights', 'list', '--json'])",
        "assert listed.exit_code == 0 and 'relight-synth-narrow' in listed.output, listed.output",
        "relight.model.MBNetConfig.narrow()",
        "assert 'torch' not in sys.modules, 'torch imported'",
        "assert relight.Relighter and relight.model.MBNet and relight.model.load_authors_checkpoint",
        "assert 'torch' in sys.modules",
    ])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-1000:]


def _command_paths() -> list[list[str]]:
    """Every command and subcommand of ``relight``, as the words that name it."""
    import typer

    from relight.cli import app

    found: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        found.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_help_shows_what_the_command_line_takes(cli):
    """No placeholder after a flag (``--native <bool>`` read as if ``--native true`` were taken), arguments
    in one style (upper case), an argument of several files as ``<path>...``, ``@revision`` in --weights."""
    for path in _command_paths():
        code, out, _ = cli([*path, "--help"])
        assert code == 0, path
        assert "<bool>" not in out, (path, out)
        assert "list[" not in out, (path, out)
        usage = next(line for line in out.splitlines() if "Usage:" in line)
        assert re.search(r"[{\[][a-z]", usage.split("[OPTIONS]")[-1]) is None, usage  # {image} [depth] beside {PRED} {GT}
    def text(args: list[str]) -> str:  # the help's words, without the table's frame and line breaks
        return " ".join(re.sub(r"[│╭╮╰╯─]", " ", cli(args)[1]).split())

    assert "Usage: relight run [OPTIONS] {IMAGE} [DEPTH]" in text(["run", "--help"])
    assert "hf://owner/repo[@rev]/file (rev: a branch, tag or commit)" in text(["run", "--help"])  # not taken for markup
    assert "Usage: relight depth [OPTIONS] {IMAGES}..." in text(["depth", "--help"])
    assert "IMAGES <path>..." in text(["depth", "--help"])
    assert "without a depth file" not in text(["depth", "--help"])  # relight depth is for photos without one: all of them
    code, _, err = cli(["run", "x.png", "x.npy", "-o", "o.png", "--native", "true"])
    assert code == 2
    assert "unexpected extra argument" in err
    assert "(true)" in err  # as the help now shows: a flag takes no value


def test_small_command_line_contracts(cli, tmp_path, sample_pair, narrow_checkpoint):
    """--version; an unknown device, an impossible --size and usage errors in one short line; `score`
    on a missing folder fails before drawing a progress bar."""
    from relight import __version__

    code, out, _ = cli(["--version"])
    assert code == 0
    assert out.strip() == f"relight {__version__}"
    image, depth = sample_pair
    for option, refusal in ((["--device", "tpu"], "error: unknown device 'tpu'; use cuda, cuda:N, mps or cpu"),
                            (["--size", "100000"], "error: --size '100000': at most 67,108,864 pixels (8192x8192), as for input images")):
        code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "o.png"), "-w", str(narrow_checkpoint), *option])
        assert code == 2
        assert err.strip().splitlines()[-1] == refusal
        assert not (tmp_path / "o.png").exists()
    code, _, err = cli(["score", str(tmp_path / "nosuch"), str(tmp_path)])
    assert code == 1
    assert err.strip() == f"error: {tmp_path / 'nosuch'}: not a folder"
    # Usage errors are one line too, naming the help to read; the bare command shows the help.
    for args, line in ((["batch"], "error: Missing argument 'FOLDER'. (see relight batch --help)"),
                       (["batch", str(tmp_path), "--batch-size", "0"],
                        "error: Invalid value for '--batch-size': Input should be greater than or equal to 1 (see relight batch --help)"),
                       (["nosuch"], "error: No such command 'nosuch'. (see relight --help)")):
        code, out, err = cli(args)
        assert code == 2, err
        assert out == "", err
        assert err.strip() == line, err
    code, out, _ = cli([])
    assert code == 2
    assert "Usage: relight [OPTIONS] COMMAND" in out


def test_python_api_scales_integer_images_and_refuses_a_depth_of_another_size(narrow_checkpoint):
    from relight.errors import RelightError

    relighter = Relighter(load_weights(narrow_checkpoint), device="cpu")
    rng = np.random.default_rng(0)
    rgb8, depth = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8), rng.random((32, 48), dtype=np.float32)
    as_float = relighter.relight(rgb8.astype(np.float32) / 255, depth)
    assert np.abs(relighter.relight(rgb8, depth) - as_float).max() <= 1e-6
    assert np.abs(relighter.relight(rgb8, (depth * 65535).round().astype(np.uint16)) - as_float).max() <= 1e-3
    with pytest.raises(RelightError, match=r"^depth has shape \(16, 48\) but the image is 32x48; resize it with relight.io.resize_depth$"):
        relighter.relight(rgb8, depth[:16])
    with pytest.raises(RelightError, match=r"^rgb must be an H x W x 3 array, not one of shape \(32, 48\)$"):
        relighter.relight(rgb8[..., 0], depth)
    with pytest.raises(RelightError, match=r"^rgb has no pixels \(shape \(0, 48, 3\)\)$"):
        relighter.relight(rgb8[:0], depth[:0])
    holes = depth.copy()
    holes[3, :2] = np.nan
    with pytest.raises(RelightError, match=r"^depth holds 2 NaN or infinite values$"):
        relighter.relight(rgb8, holes)
    with pytest.raises(RelightError, match=r"^size must be \(height, width\) of at least one pixel each, not \(0, 0\)$"):
        Relighter(load_weights(narrow_checkpoint), device="cpu", size=(0, 0))


def test_depth_outside_unit_range_is_warned_about(cli, tmp_path, sample_pair, narrow_checkpoint):
    image, _ = sample_pair
    np.save(tmp_path / "metres.npy", np.linspace(0.5, 50, 40 * 56, dtype=np.float32).reshape(40, 56))
    code, _, err = cli(["run", str(image), str(tmp_path / "metres.npy"), "-o", str(tmp_path / "o.png"), "-w", str(narrow_checkpoint)])
    assert code == 0
    assert "metres.npy: depth runs from 0.5 to 50, outside the [0, 1] the network was trained on" in err


def test_batch_stopped_by_sigterm_cleans_up_says_how_to_resume_and_resumes(pair_folder, sigterm_when, tmp_path, narrow_checkpoint):
    """A scheduler's or `timeout`'s SIGTERM is handled like Ctrl-C: no temporary files stay behind, the
    message says what was done, and the same command finishes the rest."""
    import os
    import subprocess
    import sys

    folder = pair_folder(120, (192, 192))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "relight", "batch", str(folder), "-o", str(out), "-w", str(narrow_checkpoint),
               "--batch-size", "1", "--streams", "1", "--threads", "1", "--workers", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    code, err = sigterm_when(command, env, lambda: out.is_dir() and any(out.glob("*.png")), within=60)
    assert code == 143, err
    assert "Traceback" not in err, err
    line = next(line for line in err.splitlines() if line.startswith("interrupted"))
    written = sorted(p.name for p in out.iterdir())
    assert 0 < len(written) < 120
    assert all(name.endswith(".png") and not name.startswith(".") for name in written)
    assert f"{len(written)} of 120 outputs are in {out}" in line
    assert "the same command resumes" in line
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(list(out.iterdir())) == 120


def test_an_error_found_before_any_progress_is_the_first_line(cli, tmp_path):
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt").mkdir()
    code, _, err = cli(["score", str(tmp_path / "pred"), str(tmp_path / "gt")])
    assert code == 1, repr(err)
    assert err.startswith("error:"), repr(err)
    assert len(err.splitlines()) == 1, repr(err)
