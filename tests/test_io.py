"""Reading every supported image and depth format, and refusing bad files with one clear line."""

from __future__ import annotations

import errno
import io
import os
import pickle
import re
import signal
import subprocess
import sys
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import png
import pytest
import tifffile
from PIL import Image

from badfiles import PicklePayload, bomb_png, truncated_png
from relight.io import atomic_output, read_depth, read_image, resize_depth, write_depth_npy, write_image, write_json
from relight.io.depth import load_depth
from relight.errors import InputFileError, OutputFileError, UnsafeFileError
from tmpfs import small_tmpfs

RNG = np.random.default_rng(1)


@pytest.mark.parametrize("suffix", [".png", ".tif", ".webp", ".jpg"])
def test_8bit_rgb_formats(tmp_path: Path, suffix: str) -> None:
    rgb = RNG.integers(0, 256, (9, 13, 3), dtype=np.uint8)
    path = tmp_path / f"a{suffix}"
    Image.fromarray(rgb).save(path, **({"lossless": True} if suffix == ".webp" else {}))
    image = read_image(path)
    assert image.rgb.shape == (9, 13, 3)
    assert image.rgb.dtype == np.float32
    assert image.alpha is None
    if suffix != ".jpg":
        assert np.array_equal(np.round(image.rgb * 255).astype(np.uint8), rgb)


def test_rgba_keeps_alpha_aside(tmp_path: Path) -> None:
    rgba = RNG.integers(0, 256, (5, 7, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    image = read_image(tmp_path / "a.png")
    assert np.allclose(image.rgb, rgba[..., :3] / 255.0)
    assert np.allclose(image.alpha, rgba[..., 3] / 255.0)


def test_greyscale_is_replicated_with_a_note(tmp_path: Path) -> None:
    Image.fromarray(RNG.integers(0, 256, (5, 7), dtype=np.uint8)).save(tmp_path / "g.png")
    image = read_image(tmp_path / "g.png")
    assert image.rgb.shape == (5, 7, 3)
    assert np.array_equal(image.rgb[..., 0], image.rgb[..., 2])
    assert any("greyscale" in n for n in image.notes)


def test_16bit_png_and_tiff_keep_full_precision(tmp_path: Path) -> None:
    rgb16 = RNG.integers(0, 65536, (6, 8, 3), dtype=np.uint16)
    with (tmp_path / "a.png").open("wb") as fh:
        png.Writer(8, 6, greyscale=False, bitdepth=16).write(fh, rgb16.reshape(6, 24))
    tifffile.imwrite(tmp_path / "a.tif", rgb16, photometric="rgb")
    for name in ("a.png", "a.tif"):
        image = read_image(tmp_path / name)
        assert image.bit_depth == 16
        assert np.array_equal(np.round(image.rgb * 65535).astype(np.uint16), rgb16)


@pytest.mark.parametrize("bit_depth,suffix", [(8, ".png"), (16, ".png"), (8, ".tif"), (16, ".tiff")])
def test_writers_round_trip_with_alpha(tmp_path: Path, bit_depth: int, suffix: str) -> None:
    rgb = RNG.random((6, 9, 3), dtype=np.float32)
    alpha = RNG.random((6, 9), dtype=np.float32)
    out = write_image(tmp_path / f"o{suffix}", rgb, alpha, bit_depth)
    back = read_image(out)
    step = 1 / (255 if bit_depth == 8 else 65535)
    assert back.bit_depth == bit_depth
    assert np.abs(back.rgb - rgb).max() <= step / 2 + 1e-6
    assert np.abs(back.alpha - alpha).max() <= step / 2 + 1e-6
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_npy_output_is_float32_hwc(tmp_path: Path) -> None:
    rgb = RNG.random((4, 5, 3), dtype=np.float32) * 1.2
    out = np.load(write_image(tmp_path / "o.npy", rgb))
    assert out.dtype == np.float32
    assert out.shape == (4, 5, 3)
    assert out.max() <= 1.0


def test_writer_clamps_and_refuses_16bit_jpeg(tmp_path: Path) -> None:
    write_image(tmp_path / "o.png", np.full((2, 2, 3), 1.7, np.float32))
    assert read_image(tmp_path / "o.png").rgb.max() == 1.0
    with pytest.raises(OutputFileError, match="16-bit output needs PNG or TIFF"):
        write_image(tmp_path / "o.jpg", np.zeros((2, 2, 3), np.float32), bit_depth=16)


def test_depth_formats(tmp_path: Path) -> None:
    depth = RNG.random((6, 8), dtype=np.float32)
    write_depth_npy(tmp_path / "vidit.npy", depth)
    np.save(tmp_path / "plain.npy", depth)
    np.savez(tmp_path / "d.npz", normalized_depth=depth)
    np.savez_compressed(tmp_path / "c.npz", depth)
    tifffile.imwrite(tmp_path / "f.tif", depth)
    for name in ("vidit.npy", "plain.npy", "d.npz", "c.npz", "f.tif"):
        assert np.array_equal(read_depth(tmp_path / name), depth), name
    d16 = RNG.integers(0, 65536, (6, 8), dtype=np.uint16)
    Image.fromarray(d16).save(tmp_path / "d16.png")
    assert np.allclose(read_depth(tmp_path / "d16.png"), d16 / 65535.0)
    d8 = RNG.integers(0, 256, (6, 8), dtype=np.uint8)
    Image.fromarray(d8).save(tmp_path / "d8.png")
    assert np.allclose(read_depth(tmp_path / "d8.png"), d8 / 255.0)


def test_resize_depth_to_image_size() -> None:
    assert resize_depth(np.ones((4, 4), np.float32), (8, 6)).shape == (8, 6)


def test_malicious_depth_pickle_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npy"
    np.save(path, np.array({"normalized_depth": PicklePayload(marker)}, dtype=object), allow_pickle=True)
    with pytest.raises(UnsafeFileError, match="unsafe pickle: refused to load pathlib"):
        read_depth(path)
    assert not marker.exists()
    # A raw pickle renamed to .npy is not even opened as a pickle.
    (tmp_path / "raw.npy").write_bytes(pickle.dumps(PicklePayload(marker)))
    with pytest.raises(InputFileError, match="not a .npy file"):
        read_depth(tmp_path / "raw.npy")
    assert not marker.exists()


def _refused_in_one_line(read: Callable[[Path], object], path: Path, make: Callable[[Path], object], problem: str) -> None:
    """``make`` writes (or not) ``path``; ``read`` refuses it with one line naming the file and ``problem``."""
    make(path)
    with pytest.raises(InputFileError) as err:
        read(path)
    assert problem in str(err.value)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def _npy_header(shape: tuple[int, ...], descr: str = "<f4") -> bytes:
    """A .npy header (magic included) claiming ``shape``, to put whatever data, or none, behind."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _cut(path: Path, keep: float) -> None:
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * keep)])


@pytest.mark.parametrize(
    "make,problem",
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_bytes(b""), "file is empty"),
        (lambda p: np.save(p, np.array([[1.0, np.nan, np.inf]])), "valid values (finite values) at only 33.3% of its pixels"),
        # numpy would allocate 37 GB for this header before finding out that the data is missing
        (lambda p: p.write_bytes(_npy_header((99999, 99999)) + bytes(64)), "shape (99999, 99999), over the 67,108,864-pixel limit"),
        (lambda p: (np.save(p, np.ones((50, 60), np.float32)), _cut(p, 0.9)), "truncated .npy: header claims (50, 60) float32"),
        (lambda p: p.write_bytes(_npy_header((2, 2)) + bytes(20)), "corrupt .npy: header claims (2, 2) float32 (16 bytes), data is 20"),
        (lambda p: p.write_bytes(_npy_header((2, 2), "<U99999999") + bytes(64)), "non-numeric type <U99999999"),
        (lambda p: (write_depth_npy(p, np.ones((50, 60), np.float32)), _cut(p, 0.5)), "corrupt or truncated pickled depth"),
        (lambda p: np.save(p, np.ones((3, 4), np.complex64)), "complex type complex64; expected real numbers"),
        (lambda p: np.save(p, np.array([["a", "b"], ["c", "d"]])), "non-numeric type <U1"),
        (lambda p: np.save(p, np.zeros((3, 4), "m8[s]")), "non-numeric type timedelta64[s]"),
        (lambda p: np.save(p, np.zeros((2, 3, 4))), "depth must be 2-D"),
        (lambda p: np.save(p, np.zeros((0, 3))), "depth array is empty"),
        (lambda p: np.save(p, np.array({"depth": 1}, dtype=object), allow_pickle=True), "no 'normalized_depth'"),
        (lambda p: p.write_text("hello"), "not a .npy file"),
    ],
)
def test_bad_depth(tmp_path: Path, make, problem: str) -> None:
    _refused_in_one_line(read_depth, tmp_path / "d.npy", make, problem)


@pytest.mark.parametrize(
    "make,problem",
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_bytes(b""), "file is empty"),
        (lambda p: p.write_text("this is not a picture"), "not a readable PNG file"),
        (truncated_png, "corrupt or truncated image"),
        (bomb_png, "over the 67,108,864-pixel limit"),
    ],
)
def test_bad_images(tmp_path: Path, make, problem: str) -> None:
    _refused_in_one_line(read_image, tmp_path / "x.png", make, problem)


def test_outputs_get_ordinary_permissions(tiny_config, tmp_path: Path) -> None:
    import os

    umask = os.umask(0o022)
    os.umask(umask)
    out = write_image(tmp_path / "o.png", np.zeros((2, 2, 3), np.float32))
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask != 0o600
    from relight.model import MBNet
    from relight.model.checkpoint import save_checkpoint

    checkpoint = save_checkpoint(MBNet(tiny_config), tmp_path / "m.safetensors")
    assert checkpoint.stat().st_mode & 0o777 == 0o666 & ~umask  # safetensors writes a file of its own


def test_an_npz_with_several_arrays_names_them_once(tmp_path: Path) -> None:
    path = tmp_path / "two.npz"
    np.savez(path, a=np.zeros((4, 4), np.float32), b=np.ones((4, 4), np.float32))
    with pytest.raises(InputFileError) as err:
        read_depth(path)
    assert str(err.value) == f"{path}: cannot tell which array is depth (arrays: a, b)"


class _Crafted:
    """Pickles as ``reduce`` says: a numpy global called with chosen arguments, then chosen state (BUILD)."""

    def __init__(self, reduce: tuple) -> None:
        self.reduce = reduce

    def __reduce__(self) -> tuple:
        return self.reduce


def _pickled_depth(path: Path, payload: object, protocol: int = 4) -> Path:
    """A .npy holding ``payload`` pickled, as np.save writes a VIDIT dict."""
    with path.open("wb") as fh:
        np.lib.format.write_array_header_1_0(fh, np.lib.format.header_data_from_array_1_0(np.empty((), object)))
        pickle.dump(payload, fh, protocol=protocol)
    return path


_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]


@pytest.mark.parametrize(
    "payload,problem",
    [
        # dtype state numpy's own __setstate__ would act on (a damaged one crashed the interpreter)
        ({"normalized_depth": _Crafted((_RECONSTRUCT, (np.ndarray, (0,), b"b"), (1, (2, 2), _Crafted(
            (np.dtype, ("f4", False, True), (3, "<", (np.dtype("f4"), (2,)), None, None, -1, -1, 0))), False, b"\0" * 16)))},
         "unexpected state for dtype f4"),
        ({"normalized_depth": _Crafted((_RECONSTRUCT, (np.ndarray, (0,), b"b"), (1, (2, 2), np.dtype("f4"), False, b"\0" * 4)))},
         "without its 16 bytes of data"),
        ({"normalized_depth": _Crafted((_RECONSTRUCT, (np.ndarray, (0,), b"b"), (1, (10**6, 10**6), np.dtype("f4"), False, b"")))},
         "over the"),
        ({"normalized_depth": _Crafted((np.dtype, ("V8", False, True), (3, "|", None, None, None, 8, 1, 0)))}, "unexpected dtype 'V8'"),
        ({"normalized_depth": pickle.PickleBuffer(bytearray(16))}, "pickle opcode BYTEARRAY8"),
    ],
)
def test_crafted_pickled_depth_is_checked_before_numpy_sees_it(tmp_path: Path, payload: object, problem: str) -> None:
    path = _pickled_depth(tmp_path / "d.npy", payload, protocol=5)
    with pytest.raises(InputFileError, match="corrupt or truncated pickled depth") as err:
        read_depth(path)
    assert problem in str(err.value)


def test_pickle_build_cannot_touch_the_admitted_functions(tmp_path: Path) -> None:
    """BUILD may only give state to the stand-ins: a file must not change the checker for later files."""
    import relight.io.depth as relight_io

    crafted = (b"\x80\x02" + b"c_codecs\nencode\n" + b"}" + b"X\x07\x00\x00\x00__doc__" + b"X\x05\x00\x00\x00pwned"
               + b"s" + b"b" + b".")
    path = tmp_path / "d.npy"
    with path.open("wb") as fh:
        np.lib.format.write_array_header_1_0(fh, np.lib.format.header_data_from_array_1_0(np.empty((), object)))
        fh.write(crafted)
    with pytest.raises(InputFileError, match="BUILD on something other than a numpy array"):
        read_depth(path)
    assert relight_io._latin1.__doc__ != "pwned"


def test_pickled_depth_is_read_only_as_far_as_a_depth_map_can_need(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A .npz member is inflated as it is read: the read stops at the limit (537 MB; 1,000 bytes here)."""
    import relight.io.depth as relight_io

    monkeypatch.setattr(relight_io, "_MAX_PICKLE", 1000)
    write_depth_npy(tmp_path / "d.npy", np.ones((50, 60), np.float32))
    with pytest.raises(InputFileError, match="pickled depth with over 1,000 bytes of pickle"):
        read_depth(tmp_path / "d.npy")


def test_an_npz_whose_compression_zipfile_cannot_undo_is_one_line(tmp_path: Path) -> None:
    import struct

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        member = io.BytesIO()
        np.save(member, np.ones((3, 4), np.float32))
        archive.writestr("depth.npy", member.getvalue())
    data = bytearray(buffer.getvalue())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):  # local and central headers: method 97
        at = data.index(signature) + offset
        data[at : at + 2] = struct.pack("<H", 97)
    (tmp_path / "d.npz").write_bytes(bytes(data))
    with pytest.raises(InputFileError, match="not a readable .npz file"):
        read_depth(tmp_path / "d.npz")


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_vidit_depth_reads_back_from_every_pickle_protocol_numpy_has_used(tmp_path: Path, protocol: int) -> None:
    depth = np.random.default_rng(0).random((5, 7), dtype=np.float32)
    for array in (depth, depth.astype(">f4"), np.asfortranarray(depth), depth.astype(np.float64)):
        record = np.array({"normalized_depth": array, "ref_center_dis": np.float32(2.0)}, dtype=object)
        path = _pickled_depth(tmp_path / "d.npy", record, protocol)
        assert np.array_equal(read_depth(path), depth.astype(np.float32))
        if protocol < 4:  # numpy 1.x named its module numpy.core (GLOBAL opcodes are text up to protocol 3)
            path.write_bytes(path.read_bytes().replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
            assert b"numpy._core" not in path.read_bytes()
            assert b"numpy.core.multiarray" in path.read_bytes()
            assert np.array_equal(read_depth(path), depth.astype(np.float32))


def test_damaged_vidit_depth_is_refused_in_one_line_never_crashes(tmp_path: Path) -> None:
    """Single-byte damage anywhere in a VIDIT depth file: read, or refused as an InputFileError (before the
    stubs, one such file in 1,500 crashed the interpreter inside numpy)."""
    rng = np.random.default_rng(1)
    good = tmp_path / "good.npy"
    write_depth_npy(good, rng.random((5, 7), dtype=np.float32))
    data, damaged = good.read_bytes(), tmp_path / "damaged.npy"
    for _ in range(600):
        changed = bytearray(data)
        changed[rng.integers(0, len(data))] = rng.integers(0, 256)
        damaged.write_bytes(bytes(changed))
        try:
            read_depth(damaged)
        except InputFileError as exc:
            assert "\n" not in str(exc)


def test_a_complex_tiff_depth_is_refused_without_a_warning(tmp_path: Path) -> None:
    tifffile.imwrite(tmp_path / "c.tif", np.ones((3, 4), np.complex64))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputFileError, match="complex type complex64"):
            read_depth(tmp_path / "c.tif")


def test_a_signalling_nan_in_depth_is_a_hole_without_a_warning(tmp_path: Path) -> None:
    """A damaged float32 depth file can hold a signalling NaN, which numpy warns of as it widens it: it is a
    hole, filled and counted as any NaN is, and numpy's warning does not reach the user."""
    bits = np.full((8, 8), np.float32(0.5)).view(np.uint32)
    bits[2, 3] = 0x7FA00000  # a NaN whose quiet bit is clear
    np.save(tmp_path / "snan.npy", bits.view(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_depth(tmp_path / "snan.npy", "normalised")
    assert loaded.holes == 1
    assert np.array_equal(loaded.depth, np.full((8, 8), 0.5, np.float32))


@pytest.mark.parametrize(
    "member,problem",
    [
        (_npy_header((99999, 99999)) + bytes(64), "over the 67,108,864-pixel limit"),
        (_npy_header((50, 60)) + bytes(100), "truncated .npy"),
    ],
)
def test_an_npz_member_header_is_checked_before_reading(tmp_path: Path, member: bytes, problem: str) -> None:
    path = tmp_path / "d.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("depth.npy", member)
    with pytest.raises(InputFileError) as err:
        read_depth(path)
    assert problem in str(err.value)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_disk_full_inside_atomic_output_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "o.png"
    with pytest.raises(OutputFileError) as err:
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert str(err.value) == f"{target}: cannot write here (No space left on device)"
    assert list(tmp_path.iterdir()) == []


def test_a_writer_reports_a_full_quota_naming_the_final_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def over_quota(self: Path, *args: object, **kwargs: object) -> None:
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    monkeypatch.setattr(Path, "write_text", over_quota)
    with pytest.raises(OutputFileError, match=r"r\.json: cannot write here \(Disk quota exceeded\)$"):
        write_json(tmp_path / "r.json", {"a": 1})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("dtype,bit_depth", [(np.uint8, 8), (np.uint16, 16), (np.uint16, 8)])
def test_integer_pixels_are_scaled_by_their_range(tmp_path: Path, dtype: type, bit_depth: int) -> None:
    top = np.iinfo(dtype).max
    rgb = RNG.integers(0, top + 1, (5, 6, 3), dtype=dtype)
    alpha = RNG.integers(0, top + 1, (5, 6), dtype=dtype)
    back = read_image(write_image(tmp_path / "o.png", rgb, alpha, bit_depth))
    step = 1 / (255 if bit_depth == 8 else 65535)
    assert np.abs(back.rgb - rgb / top).max() <= step / 2 + 1e-6
    assert np.abs(back.alpha - alpha / top).max() <= step / 2 + 1e-6
    written = write_image(tmp_path / "o.npy", rgb)
    assert np.allclose(np.load(written), rgb / top)


@pytest.mark.parametrize(
    "rgb,alpha,problem",
    [
        (np.zeros((4, 5)), None, "needs H x W x 3 RGB, got shape (4, 5)"),
        (np.zeros((4, 5, 4)), None, "needs H x W x 3 RGB, got shape (4, 5, 4)"),
        (np.zeros((4, 5, 3)), np.zeros((5, 4)), "needs alpha of shape (4, 5) (H x W of the RGB), got (5, 4)"),
    ],
)
def test_write_image_refuses_a_wrong_shape_up_front(tmp_path: Path, rgb: np.ndarray, alpha: np.ndarray | None, problem: str) -> None:
    with pytest.raises(ValueError) as err:
        write_image(tmp_path / "o.png", rgb, alpha)
    assert str(err.value) == f"{tmp_path / 'o.png'}: write_image {problem}"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix,bit_depth", [(".png", 8), (".png", 16), (".tif", 16), (".npy", 8)])
def test_nan_is_written_as_zero_and_infinities_clamped(tmp_path: Path, suffix: str, bit_depth: int) -> None:
    rgb = np.array([[[np.nan, np.inf, -np.inf], [0.25, np.nan, 2.0]]], np.float32)
    alpha = np.array([[np.nan, 1.0]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warns when it casts NaN to an integer
        out = write_image(tmp_path / f"o{suffix}", rgb, alpha, bit_depth)
    back = np.load(out) if suffix == ".npy" else read_image(out).rgb
    assert np.allclose(back, [[[0, 1, 0], [0.25, 0, 1]]], atol=0.02)
    if suffix in (".png", ".tif"):
        assert np.array_equal(read_image(out).alpha, [[0.0, 1.0]])


# --------------------------------------------------------------------------- the io package's layout


def _run_python(code: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True, **kwargs)


def test_importing_relight_io_reads_the_umask_without_changing_it(tmp_path: Path) -> None:
    """Setting the umask to read it races with threads creating files: relight reads /proc instead."""
    code = (
        "import os, sys\n"
        "os.umask(0o027)\n"
        "calls = []\n"
        "real = os.umask\n"
        "os.umask = lambda mask: (calls.append(mask), real(mask))[1]\n"
        "import relight.io, relight.io.images, relight.io.depth, relight.io.output\n"
        "from relight.io import write_image, write_json\n"
        "import numpy as np\n"
        f"out = write_image({str(tmp_path / 'o.png')!r}, np.zeros((2, 2, 3), np.float32))\n"
        f"text = write_json({str(tmp_path / 'o.json')!r}, {{}})\n"
        "print(calls, oct(out.stat().st_mode & 0o777), oct(text.stat().st_mode & 0o777), oct(real(0o022)))\n"
    )
    done = _run_python(code)
    assert done.stdout.split() == ["[]", "0o640", "0o640", "0o27"]


def test_the_file_mode_falls_back_to_the_usual_one_without_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from relight.io.output import FALLBACK_MODE, file_mode

    real_open = builtins.open

    def no_proc(file: object, *args: object, **kwargs: object) -> object:
        if str(file).startswith("/proc/"):
            raise FileNotFoundError(2, "No such file or directory", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_proc)
    assert file_mode() == FALLBACK_MODE == 0o644


def test_output_safety_loads_no_image_library_and_the_network_no_image_io() -> None:
    code = (
        "import sys\n"
        "import relight.io.output\n"
        "print(sorted(m for m in ('PIL', 'numpy', 'tifffile', 'png', 'relight.io.images') if m in sys.modules))\n"
        "import relight.model.checkpoint\n"
        "print(sorted(m for m in ('relight.io.images', 'relight.io.depth', 'relight.inference.relighter') if m in sys.modules))\n"
    )
    done = _run_python(code)
    assert done.stdout.split("\n")[:2] == ["[]", "[]"]


def test_every_name_relight_io_had_is_still_importable_from_it() -> None:
    import relight.io

    names = ["DEPTH_EXTENSIONS", "IMAGE_EXTENSIONS", "MAX_PIXELS", "OUTPUT_EXTENSIONS", "LoadedImage", "atomic_output", "check_output_dir", "check_output_ext", "check_output_file",
             "check_output_folder", "check_output_path", "image_size", "json_text", "read_depth", "read_image",
             "resize_depth", "to_unit", "write_depth_npy", "write_image", "write_json", "write_text"]
    assert all(callable(getattr(relight.io, name)) or name.isupper() for name in names)
    assert set(names) <= set(relight.io.__all__)
    with pytest.raises(AttributeError):
        relight.io.no_such_name  # noqa: B018
    with pytest.raises(AttributeError):  # the error types have one home, relight.errors
        relight.io.InputFileError  # noqa: B018


def test_file_errors_are_the_typed_errors_and_cross_processes_intact(tmp_path: Path) -> None:
    from relight.errors import InputFileError, OutputFileError

    with pytest.raises(InputFileError) as err:
        read_image(tmp_path / "missing.png")
    assert isinstance(err.value, InputFileError)
    assert isinstance(err.value, ValueError)
    assert err.value.path == tmp_path / "missing.png"
    back = pickle.loads(pickle.dumps(err.value))
    assert type(back) is InputFileError
    assert str(back) == str(err.value) == f"{tmp_path / 'missing.png'}: no such file"
    with pytest.raises(OutputFileError) as out:
        write_image(tmp_path / "o.jpg", np.zeros((2, 2, 3), np.float32), bit_depth=16)
    assert isinstance(out.value, OutputFileError)
    assert isinstance(out.value, OSError)


def test_an_output_extension_is_refused_as_a_setting_the_command_line_words_as_its_flag() -> None:
    from relight.errors import InvalidSetting
    from relight.io import check_output_ext

    with pytest.raises(InvalidSetting) as err:
        check_output_ext(".jpg", 16)
    assert str(err.value) == "ext='.jpg': 16-bit output needs PNG or TIFF, not .jpg"
    assert err.value.setting.name == "ext"
    assert err.value.bit_depth == 16


# --------------------------------------------------------------------------- issue 15: messages and temporaries


def test_an_npz_of_many_arrays_lists_a_few_in_one_short_line(tmp_path: Path) -> None:
    path = tmp_path / "many.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(20_000):
            archive.writestr(f"a{i}.npy", b"")
    with pytest.raises(InputFileError) as err:
        read_depth(path)
    assert str(err.value) == f"{path}: cannot tell which array is depth (arrays: a0, a1, a2 and 19997 more)"


def test_a_depth_dict_of_many_keys_lists_a_few(tmp_path: Path) -> None:
    path = tmp_path / "d.npy"
    np.save(path, np.array({f"k{i}": 1 for i in range(500)}, dtype=object), allow_pickle=True)
    with pytest.raises(InputFileError) as err:
        read_depth(path)
    assert str(err.value) == f"{path}: depth dict has no 'normalized_depth' (keys: k0, k1, k2 and 497 more)"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs (needs root, or the right to mount): a disk that fills up as disks do."""
    yield from small_tmpfs(tmp_path, "1m", "; the ENOSPC tests cover the rest")


@pytest.mark.parametrize("suffix", [".npy", ".png", ".tif"])
def test_a_full_disk_says_so_in_one_line_and_leaves_nothing(small_disk: Path, suffix: str) -> None:
    from relight.errors import DiskFullError

    rgb = np.random.default_rng(0).random((512, 512, 3), dtype=np.float32)  # 3 MB as .npy, too much for 1 MiB
    target = small_disk / f"o{suffix}"
    with pytest.raises(DiskFullError) as err:
        write_image(target, rgb, bit_depth=16 if suffix != ".npy" else 8)
    assert str(err.value) in (f"{target}: cannot write here (no space left on the device)",
                              f"{target}: cannot write here (No space left on device)")
    assert isinstance(err.value, OutputFileError)
    assert list(small_disk.iterdir()) == []


def test_a_short_write_without_an_errno_is_a_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """numpy's ndarray.tofile reports a full disk as "49152 requested and 22496 written", with no errno."""
    from relight.errors import DiskFullError

    def short_write(self: np.ndarray, *args: object, **kwargs: object) -> None:
        raise OSError("49152 requested and 22496 written")

    monkeypatch.setattr(np.lib.format, "write_array", lambda fp, array, **kwargs: short_write(array))
    with pytest.raises(DiskFullError) as err:
        write_image(tmp_path / "o.npy", np.zeros((64, 64, 3), np.float32))
    assert str(err.value) == f"{tmp_path / 'o.npy'}: cannot write here (no space left on the device)"
    assert list(tmp_path.iterdir()) == []


def test_temporaries_are_named_for_their_host_and_process(tmp_path: Path) -> None:
    import re
    import socket

    host = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname())
    with atomic_output(tmp_path / "Image001.png") as tmp:
        assert re.fullmatch(rf"\.Image001\.{re.escape(host)}-{os.getpid()}-[a-z0-9_]{{8}}\.tmp\.png", tmp.name), tmp.name


_HOLD = (
    "import sys, time\n"
    "from relight.io.output import atomic_output\n"
    "with atomic_output(sys.argv[1]) as tmp:\n"
    "    tmp.write_bytes(b'partial')\n"
    "    print(tmp, flush=True)\n"
    "    time.sleep(120)\n"
)


def _holding(target: Path) -> tuple[subprocess.Popen[str], Path]:
    """A process inside atomic_output for ``target``, and its temporary."""
    process = subprocess.Popen([sys.executable, "-c", _HOLD, str(target)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, Path(process.stdout.readline().strip())


def test_stale_temporaries_of_a_killed_process_are_removed_and_a_live_ones_stay(tmp_path: Path) -> None:
    from relight.io import remove_stale_temporaries

    killed, stale = _holding(tmp_path / "a.png")
    live, kept = _holding(tmp_path / "b.png")
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(30)
        assert stale.exists()
        assert kept.exists()  # SIGKILL runs no cleanup
        others = [tmp_path / ".c.otherhost-1-abcdefgh.tmp.png", tmp_path / ".d.tmp.png", tmp_path / "e.png"]
        for other in others:
            other.write_bytes(b"")
        with atomic_output(tmp_path / "f.png") as mine:  # this process's own, being written
            mine.write_bytes(b"partial")
            removed = remove_stale_temporaries(tmp_path)
            assert removed == [stale]
            assert mine.exists()
        assert not stale.exists()
        assert kept.exists()
        assert all(other.exists() for other in others)
        removed = remove_stale_temporaries(tmp_path)
        assert removed == []
        removed = remove_stale_temporaries(tmp_path / "none")
        assert removed == []
    finally:
        live.kill()
        live.wait(30)
    removed = remove_stale_temporaries(tmp_path)
    assert removed == [kept]


def test_a_temporary_whose_pid_a_newer_process_took_is_stale(tmp_path: Path) -> None:
    """A pid is reused: a process that started after the temporary was last written cannot own it."""
    import socket

    from relight.io import remove_stale_temporaries

    newer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        host = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname())
        old = tmp_path / f".a.{host}-{newer.pid}-abcdefgh.tmp.png"
        recent = tmp_path / f".b.{host}-{newer.pid}-abcdefgh.tmp.png"
        old.write_bytes(b"")
        recent.write_bytes(b"")
        os.utime(old, (time.time() - 3600, time.time() - 3600))
        removed = remove_stale_temporaries(tmp_path)
        assert removed == [old]
        assert recent.exists()
    finally:
        newer.kill()
        newer.wait(30)
