"""Hostile files: crafted pickles that would expand a small file into gigabytes, refused within a few MB
(the reader's peak memory measured in a child process), and a seeded fuzz pass over the depth and image
readers, bounded in time, where every damaged file is read or refused in one line."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from relight.errors import InputFileError, RelightError
from relight.io import read_depth, read_image, write_depth_npy, write_image
from relight.io.depth import MAX_NESTING

#: The .npy header of a pickled object array, as np.save writes it before a VIDIT dict.
_HEADER = io.BytesIO()
np.lib.format.write_array_header_1_0(_HEADER, np.lib.format.header_data_from_array_1_0(np.empty((), object)))
NPY_HEADER = _HEADER.getvalue()
PROTO = b"\x80\x03"
#: Bytes of each flood: 5 MB, as the fault hunt's .npy of EMPTY_SET opcodes.
FLOOD = 5_000_000


def _nested_lists(depth: int) -> bytes:
    """Lists within lists ``depth`` deep, each kept in the memo and appended into the one before: the
    stack stays small while the nesting grows."""
    body = bytearray(PROTO + b"]r" + struct.pack("<I", 0) + b"0")
    for level in range(1, depth):
        body += b"]r" + struct.pack("<I", level) + b"0"  # a new list, kept as memo[level]
        body += b"j" + struct.pack("<I", level - 1) + b"j" + struct.pack("<I", level) + b"a0"  # memo[level - 1].append(it)
    return bytes(body + b"j" + struct.pack("<I", 0) + b".")


#: Each crafted pickle, what its refusal says, and how it would expand (the old reader's cost).
CORPUS: dict[str, tuple[bytes, str]] = {
    "EMPTY_SET flood": (PROTO + b"\x8f" * FLOOD + b".", "over 2,000 containers"),
    "EMPTY_DICT flood": (PROTO + b"}" * FLOOD + b".", "over 2,000 containers"),
    "DUP flood": (PROTO + b"]" + b"2" * FLOOD + b".", "over 10,000 objects at once"),
    "a list grown by DUP, APPEND": (PROTO + b"]" + b"2a" * (FLOOD // 2) + b".", "over 20,000 pickle operations"),
    "a list grown by GET, APPEND": (PROTO + b"]q\x00" + b"h\x00a" * (FLOOD // 3) + b".", "over 20,000 pickle operations"),
    "one huge container": (PROTO + b"(" + b"N" * FLOOD + b"l.", "over 10,000 objects at once"),
    "containers": (PROTO + b"(" + b")" * 3000 + b"l.", "over 2,000 containers"),
    "deep marks": (PROTO + b"(" * 100_000 + b".", f"containers nested over {MAX_NESTING} deep"),
    "deep lists": (_nested_lists(1500), f"containers nested over {MAX_NESTING} deep"),
    "a list holding itself": (PROTO + b"]q\x00h\x00a.", f"containers nested over {MAX_NESTING} deep"),
    "LONG4 of 500 MB": (PROTO + b"\x8b" + struct.pack("<i", 500_000_000) + b"\x01" * 64 + b".", "pickle opcode LONG4"),
    "BINBYTES8 claiming 2**62 bytes": (b"\x80\x04\x8e" + struct.pack("<Q", 1 << 62) + b"\0" * 64 + b".", "corrupt or truncated"),
    "FRAME claiming 2**62 bytes": (b"\x80\x04\x95" + struct.pack("<Q", 1 << 62) + b"N.", "holds a NoneType, not a depth array"),
    "GLOBAL without a newline": (PROTO + b"c" + b"x" * FLOOD, "a line of over 65,536 bytes"),
}

#: The child that reads every file given and prints each refusal and the process's peak memory.
READER = """
import json, sys
from relight.io import read_depth
results = {}
for path in sys.argv[1:]:
    try:
        read_depth(path)
        results[path] = "read"
    except Exception as exc:
        results[path] = f"{type(exc).__name__}: {exc}"
status = open("/proc/self/status").read()
peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
print(json.dumps({"results": results, "peak_kb": peak}))
"""


def _write(path: Path, pickled: bytes) -> Path:
    if path.suffix == ".npz":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("normalized_depth.npy", NPY_HEADER + pickled)
    else:
        path.write_bytes(NPY_HEADER + pickled)
    return path


def test_crafted_pickles_are_refused_within_a_few_mb(tmp_path: Path) -> None:
    """Each file of the corpus is refused in one line naming the file and the bound it passes; the reader's
    peak memory over all of them stays that of reading a small file (a 5 MB flood of EMPTY_SET once took
    it to 1.2 GB, deflated in a 20 KB .npz to 5.5 GB)."""
    files = {}
    for i, (name, (pickled, _)) in enumerate(CORPUS.items()):
        files[name] = _write(tmp_path / f"c{i}.npy", pickled)
    files["EMPTY_SET flood, deflated"] = _write(tmp_path / "flood.npz", CORPUS["EMPTY_SET flood"][0])
    assert files["EMPTY_SET flood, deflated"].stat().st_size < 50_000
    done = subprocess.run([sys.executable, "-c", READER, *map(str, files.values())], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    for name, path in files.items():
        said = report["results"][str(path)]
        expected = CORPUS.get(name, CORPUS["EMPTY_SET flood"])[1]
        assert said.startswith(f"InputFileError: {path}: "), (name, said)
        assert expected in said, (name, said)
        assert "\n" not in said, name
    assert report["peak_kb"] < 400_000, f"the reader peaked at {report['peak_kb'] / 1e3:.0f} MB"


def test_a_depth_map_within_the_bounds_still_reads(tmp_path: Path) -> None:
    """The bounds leave room for what depth files hold: VIDIT's dict, and a dict of a few hundred arrays."""
    depth = np.random.default_rng(0).random((30, 40), dtype=np.float32)
    assert np.array_equal(read_depth(write_depth_npy(tmp_path / "d.npy", depth)), depth)
    record = {"normalized_depth": depth, **{f"extra{i}": np.float32(i) for i in range(300)}}
    np.save(tmp_path / "many.npy", np.array(record, dtype=object), allow_pickle=True)
    assert np.array_equal(read_depth(tmp_path / "many.npy"), depth)


def _valid_files(folder: Path) -> dict[str, tuple[Path, object]]:
    """One good file of each kind the readers take, with the reader that reads it."""
    rng = np.random.default_rng(7)
    depth = rng.random((12, 16), dtype=np.float32)
    rgb = rng.random((12, 16, 3), dtype=np.float32)
    files = {
        "vidit.npy": write_depth_npy(folder / "vidit.npy", depth),
        "plain.npy": write_depth_npy(folder / "plain.npy", depth, vidit=False),
        "depth16.png": folder / "depth16.png",
        "depth.tif": folder / "depth.tif",
        "depth.npz": folder / "depth.npz",
    }
    Image.fromarray((depth * 65535).astype(np.uint16)).save(files["depth16.png"])
    tifffile.imwrite(files["depth.tif"], depth)
    np.savez_compressed(files["depth.npz"], depth=depth)
    readers: dict[str, tuple[Path, object]] = {name: (path, read_depth) for name, path in files.items()}
    for suffix in (".png", ".jpg", ".tif", ".webp"):
        readers[f"image{suffix}"] = (write_image(folder / f"image{suffix}", rgb), read_image)
    readers["grey16.png"] = (write_image(folder / "grey16.png", rgb, bit_depth=16), read_image)
    return readers


def _mutated(data: bytes, rng: np.random.Generator) -> bytes:
    """``data`` damaged one of several ways: bytes changed, a run cut out or repeated, the end cut off,
    or a length-like field set to a large number."""
    changed = bytearray(data)
    kind = rng.integers(0, 5)
    at = int(rng.integers(0, len(changed)))
    if kind == 0:
        for _ in range(int(rng.integers(1, 4))):
            changed[int(rng.integers(0, len(changed)))] = int(rng.integers(0, 256))
    elif kind == 1:
        del changed[at : at + int(rng.integers(1, 64))]
    elif kind == 2:
        run = changed[at : at + int(rng.integers(1, 64))]
        changed[at:at] = run * int(rng.integers(1, 50))
    elif kind == 3:
        del changed[at:]
    else:
        changed[at : at + 4] = struct.pack(">I", int(rng.choice([0xFFFFFFFF, 0x7FFFFFFF, 1 << 24, 0])))
    return bytes(changed)


def test_fuzzed_depth_and_image_files_are_read_or_refused_in_one_line(tmp_path: Path) -> None:
    """A seeded fuzz pass, a few seconds long: each damaged file is read, or refused with a relight error
    of one line; no other exception, and never a crash."""
    rng = np.random.default_rng(2026)
    readers = _valid_files(tmp_path)
    originals = {name: path.read_bytes() for name, (path, _) in readers.items()}
    names = sorted(readers)
    deadline = time.monotonic() + 4.0
    tried = refused = 0
    while time.monotonic() < deadline:
        name = names[tried % len(names)]
        path, reader = readers[name]
        damaged = path.with_name(f"fuzz{path.suffix}")
        damaged.write_bytes(_mutated(originals[name], rng))
        tried += 1
        try:
            reader(damaged)  # type: ignore[operator]
        except RelightError as exc:
            refused += 1
            assert "\n" not in str(exc), (name, str(exc))
            assert isinstance(exc, InputFileError), (name, type(exc).__name__, str(exc))
        except Exception as exc:  # noqa: BLE001 - the failure this test looks for
            pytest.fail(f"{name}, damaged (try {tried}): {type(exc).__name__}: {exc}")
    assert tried >= len(names), "the pass tried every kind of file"
    assert refused > 0


def test_a_one_bit_png_is_read_as_depth(tmp_path: Path) -> None:
    """A black-and-white PNG depth map was refused as "got shape (64, 64, 3)"."""
    stripes = (np.indices((64, 64))[1] // 8) % 2 == 0
    Image.fromarray(stripes).convert("1").save(tmp_path / "d.png")
    assert np.array_equal(read_depth(tmp_path / "d.png"), np.where(stripes, 1.0, 0.0).astype(np.float32))


def _frames(path: Path, count: int) -> Path:
    frames = [Image.new("RGB", (24, 16), (40 * i, 90, 160)) for i in range(count)]
    if path.suffix == ".tif":
        tifffile.imwrite(path, np.stack([np.asarray(frame) for frame in frames]), photometric="rgb", metadata=None)
    else:
        frames[0].save(path, save_all=True, append_images=frames[1:], **({"lossless": True} if path.suffix == ".webp" else {}))
    return path


@pytest.mark.parametrize("suffix", [".png", ".webp", ".tif"])
def test_a_file_of_several_frames_says_its_first_is_used(tmp_path: Path, suffix: str) -> None:
    """An animated PNG or WebP, or a multi-page TIFF, used its first frame without a note."""
    image = read_image(_frames(tmp_path / f"anim{suffix}", 3))
    assert image.rgb.shape == (16, 24, 3)
    assert np.allclose(image.rgb[0, 0], [0, 90 / 255, 160 / 255], atol=2 / 255), "the first frame"
    assert any("the first is used" in note for note in image.notes), image.notes
    assert not read_image(_frames(tmp_path / f"one{suffix}", 1)).notes


def test_a_depth_file_of_several_pages_says_so(tmp_path: Path) -> None:
    from relight.io.depth import load_depth

    tifffile.imwrite(tmp_path / "d.tif", np.stack([np.full((8, 8), 0.25 * (i + 1), np.float32) for i in range(3)]), photometric="minisblack", metadata=None)
    found = load_depth(tmp_path / "d.tif")
    assert np.allclose(found.depth, 0.25)
    assert "the first is used" in "".join(map(str, found.note))
