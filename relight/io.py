"""Reading images and depth maps, and writing results, with one-line errors that name the file.

Images come back as ``H x W x 3`` float32 RGB in [0, 1] (plus alpha when the file has one); depth as
``H x W`` float32. Every writer goes through :func:`atomic_output`, so a failed or interrupted write
never leaves a partial file behind.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import pickle
import pickletools
import re
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import png
import tifffile
from PIL import Image, UnidentifiedImageError

from relight.errors import RelightError, first_line
from relight.pngcodec import decode_png, encode_png

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")
DEPTH_EXTENSIONS = (".npy", ".npz", ".png", ".tif", ".tiff")
OUTPUT_EXTENSIONS = (".png", ".tif", ".tiff", ".npy", ".jpg", ".jpeg", ".webp")

_UMASK = os.umask(0)  # read once at import (os.umask can only be read by setting it), then restored
os.umask(_UMASK)

#: Refuse images whose header claims more pixels than this before decoding anything (decompression bombs).
MAX_PIXELS = 1 << 26  # 8192 x 8192


class InputError(RelightError, ValueError):
    """A file relight cannot use. ``str(err)`` is one line naming the file and the problem."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class OutputError(InputError):
    """A result that cannot be written where it was asked to go."""


@dataclass
class LoadedImage:
    """An image ready for the network: RGB in [0, 1], the alpha channel kept aside for the output."""

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return self.rgb.shape[0], self.rgb.shape[1]


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError(path, "no such file")
    if not path.is_file():
        raise InputError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise InputError(path, "file is empty (0 bytes)")


def to_unit(array: np.ndarray) -> np.ndarray:
    """Integer pixels to float32 in [0, 1] by their type's range; floats as they are."""
    unit = array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        unit /= float(np.iinfo(array.dtype).max)
    return unit


def _read_png16(data: bytes) -> np.ndarray:
    """16-bit PNGs through pypng, since Pillow reduces 16-bit colour PNGs to 8 bits (and older Pillows
    read 16-bit grey as 32-bit integers)."""
    width, height, rows, info = png.Reader(bytes=data).asDirect()
    array = np.vstack([np.asarray(row, dtype=np.uint16) for row in rows])
    return array.reshape(height, width, info["planes"]).squeeze(-1) if info["planes"] == 1 else array.reshape(
        height, width, info["planes"]
    )


def _read_pixels(path: Path) -> np.ndarray:
    """Decode any supported raster into a numpy array of its native type (H x W or H x W x C)."""
    _check_file(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".tif", ".tiff"):
            with tifffile.TiffFile(path) as tif:
                page = tif.pages[0]
                _check_pixels(path, page.shape[1] if len(page.shape) > 1 else 1, page.shape[0])
                return page.asarray()
        data = path.read_bytes()
        if suffix == ".png":  # relight's own PNGs (and others like them) without Pillow: see relight.pngcodec
            pixels = decode_png(data, check_size=lambda width, height: _check_pixels(path, width, height))
            if pixels is not None:
                return pixels
        with Image.open(io.BytesIO(data)) as im:
            _check_pixels(path, *im.size)
            grey16 = im.mode == "I;16" and "transparency" not in im.info  # Pillow keeps all 16 bits of these
            if im.format == "PNG" and len(data) > 24 and data[24] == 16 and not grey16:
                return _read_png16(data)
            im.load()
            if im.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1"):
                im = im.convert("RGBA" if "transparency" in im.info or im.mode == "PA" else "RGB")
            return np.asarray(im)
    except InputError:
        raise
    except Image.DecompressionBombError as exc:
        raise InputError(path, f"image header claims too many pixels, over the {MAX_PIXELS:,}-pixel limit") from exc
    except (UnidentifiedImageError, tifffile.TiffFileError):
        raise InputError(path, f"not a readable {suffix.lstrip('.').upper() or 'image'} file") from None
    except (OSError, SyntaxError, ValueError, png.Error, EOFError) as exc:
        raise InputError(path, f"corrupt or truncated image ({first_line(exc)})") from exc


def _check_pixels(path: Path, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise InputError(path, f"image header claims {width} x {height} pixels, over the {MAX_PIXELS:,}-pixel limit")
    if width == 0 or height == 0:
        raise InputError(path, "image has no pixels")


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """An image's (height, width) from its header, without decoding the pixels."""
    path = Path(path)
    _check_file(path)
    try:
        with Image.open(path) as im:
            width, height = im.size
    except (UnidentifiedImageError, OSError) as exc:
        raise InputError(path, f"not a readable image ({first_line(exc)})") from None
    return height, width


def read_image(path: str | os.PathLike[str]) -> LoadedImage:
    """Read PNG/JPEG/TIFF/WebP, 8 or 16 bit, grey, grey+alpha, RGB or RGBA."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise InputError(path, f"unsupported image type {path.suffix or '(none)'}; use one of {', '.join(IMAGE_EXTENSIONS)}")
    pixels = _read_pixels(path)
    bit_depth = 16 if pixels.dtype == np.uint16 else 8 if pixels.dtype == np.uint8 else 32
    array = to_unit(pixels)
    notes: list[str] = []
    if array.ndim == 2:
        array = array[..., None]
    channels = array.shape[2]
    alpha = None
    if channels in (2, 4):
        alpha = array[..., -1].copy()
        array = array[..., :-1]
    if array.shape[2] == 1:
        notes.append("greyscale image: replicated to RGB")
        array = np.repeat(array, 3, axis=2)
    elif array.shape[2] != 3:
        raise InputError(path, f"image has {channels} channels; expected grey, RGB or RGBA")
    if bit_depth == 32:  # integer pixels are in [0, 1] already
        if not np.isfinite(array).all():
            raise InputError(path, "image holds NaN or infinite values")
        array = np.clip(array, 0.0, 1.0)
    return LoadedImage(np.ascontiguousarray(array), alpha, bit_depth, notes)


class _RefusedClass(pickle.UnpicklingError):
    """The depth unpickler refused a class: the file is unsafe, not merely damaged."""


class _Stub:
    """What the depth unpickler builds in place of a numpy array, dtype or scalar: the pickle's
    arguments and state, kept as plain Python. :func:`_materialise` checks them and only then makes the
    numpy object, so numpy's own unpickling code never sees them (a damaged dtype state given to
    ``numpy.dtype.__setstate__`` crashed the interpreter)."""

    def __init__(self, kind: str, *args: object) -> None:
        self.kind, self.args = kind, args
        self.state: object = None  # set by pickle's BUILD (:meth:`_DepthUnpickler.load_build`)


_NDARRAY = object()  # the pickle's reference to numpy.ndarray, only ever passed to _reconstruct
#: The most pickled depth read: a float64 map of MAX_PIXELS pixels, and room for the dict around it.
_MAX_PICKLE = MAX_PIXELS * 8 + (1 << 20)
_DTYPE_SPEC = re.compile(r"b1|[iu][1248]|f[248]|O8")  # what depth files hold: numbers, and the object wrapper


def _reconstruct(cls: object, shape: object, typecode: object) -> _Stub:
    if cls is not _NDARRAY:
        raise pickle.UnpicklingError("_reconstruct of something other than numpy.ndarray")
    return _Stub("array")


def _latin1(text: object, encoding: object = "utf-8") -> bytes:
    """``_codecs.encode`` as protocol 2 uses it for bytes: latin-1 text only (no other codec runs)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is admitted only for latin-1 text")
    return text.encode("latin-1")


class _Opcodes(dict):
    """The pure-Python unpickler's opcode table, less what no depth file uses; any other opcode is refused."""

    def __missing__(self, code: int) -> None:
        known = pickletools.code2op.get(chr(code))
        raise pickle.UnpicklingError(f"pickle opcode {known.name if known else hex(code)}, which depth files do not use")


class _DepthUnpickler(pickle._Unpickler):
    """Admits only what a VIDIT depth file is made of (dicts, numpy arrays, dtypes and scalars), each
    built as a :class:`_Stub`.

    It extends the pure-Python unpickler (``pickle._Unpickler``), whose opcodes are Python methods that
    can be vetted one by one: BUILD applies state to stubs only (never to the admitted functions), the
    opcodes that make instances, extensions or out-of-band buffers are gone, and a damaged length reads
    what the file holds rather than allocating what it claims.
    """

    dispatch = _Opcodes({
        code: load for code, load in pickle._Unpickler.dispatch.items()
        if bytes([code]) not in (pickle.INST, pickle.OBJ, pickle.NEWOBJ, pickle.NEWOBJ_EX, pickle.PERSID, pickle.BINPERSID,
                                 pickle.EXT1, pickle.EXT2, pickle.EXT4, pickle.BYTEARRAY8, pickle.NEXT_BUFFER, pickle.READONLY_BUFFER)
    })

    def load_build(self) -> None:
        state = self.stack.pop()
        if not isinstance(self.stack[-1], _Stub):
            raise pickle.UnpicklingError("pickle BUILD on something other than a numpy array, dtype or scalar")
        self.stack[-1].state = state

    dispatch[pickle.BUILD[0]] = load_build

    ALLOWED: dict[tuple[str, str], object] = {
        **{(module, "_reconstruct"): _reconstruct for module in ("numpy.core.multiarray", "numpy._core.multiarray")},
        **{(module, "scalar"): lambda dtype, data=None: _Stub("scalar", dtype, data)
           for module in ("numpy.core.multiarray", "numpy._core.multiarray")},
        ("numpy", "ndarray"): _NDARRAY,
        ("numpy", "dtype"): lambda spec, align=False, copy=True: _Stub("dtype", spec),
        ("_codecs", "encode"): _latin1,
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) in self.ALLOWED:
            return self.ALLOWED[module, name]
        raise _RefusedClass(f"refused to load {module}.{name} (only dicts, arrays and scalars are allowed)")


def _materialise(obj: object, memo: dict[int, object] | None = None) -> object:
    """The unpickled data with every :class:`_Stub` checked and made into its numpy object; ValueError
    says what does not fit (a damaged or crafted file)."""
    memo = {} if memo is None else memo
    if id(obj) in memo:
        return memo[id(obj)]
    if isinstance(obj, dict):
        made: object = {key: _materialise(value, memo) for key, value in obj.items()}
    elif isinstance(obj, (list, tuple)):
        made = type(obj)(_materialise(item, memo) for item in obj)
    elif isinstance(obj, _Stub):
        made = _make_dtype(obj) if obj.kind == "dtype" else _make_array(obj, memo) if obj.kind == "array" else _make_scalar(obj, memo)
    else:
        made = obj
    memo[id(obj)] = made
    return made


def _make_dtype(stub: _Stub) -> np.dtype:
    spec, state = stub.args[0], stub.state
    if not isinstance(spec, str) or not _DTYPE_SPEC.fullmatch(spec):
        raise ValueError(f"unexpected dtype {spec!r}")
    if not (isinstance(state, tuple) and len(state) == 8 and state[1] in ("<", ">", "|", "=") and state[2:5] == (None,) * 3):
        raise ValueError(f"unexpected state for dtype {spec}")
    dtype = np.dtype(spec)
    return dtype.newbyteorder(state[1]) if state[1] in ("<", ">") and dtype.itemsize > 1 and not dtype.hasobject else dtype


def _make_array(stub: _Stub, memo: dict[int, object]) -> np.ndarray:
    state = stub.state
    if not (isinstance(state, tuple) and len(state) == 5):
        raise ValueError("unexpected array state")
    _, shape, dtype, fortran, data = state
    if not (isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape)):
        raise ValueError(f"unexpected array shape {shape!r}")
    count = math.prod(shape)
    if count > MAX_PIXELS:
        raise ValueError(f"array of shape {shape}, over the {MAX_PIXELS:,}-pixel limit")
    dtype = _materialise(dtype, memo)
    if not isinstance(dtype, np.dtype):
        raise ValueError("array without a dtype")
    order = "F" if fortran else "C"
    if dtype.hasobject:
        if not isinstance(data, list) or len(data) != count:
            raise ValueError(f"object array of shape {shape} with {len(data) if isinstance(data, list) else 'no'} items")
        flat = np.empty(count, dtype=object)
        for i, item in enumerate(data):
            flat[i] = _materialise(item, memo)
        return flat.reshape(shape, order=order)
    if not isinstance(data, (bytes, bytearray)) or len(data) != count * dtype.itemsize:
        raise ValueError(f"array of shape {shape} {dtype} without its {count * dtype.itemsize:,} bytes of data")
    return np.frombuffer(bytes(data), dtype, count).reshape(shape, order=order)  # read-only: read_depth copies it


def _make_scalar(stub: _Stub, memo: dict[int, object]) -> object:
    dtype, data = _materialise(stub.args[0], memo), stub.args[1]
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(data, (bytes, bytearray)) or len(data) != dtype.itemsize:
        raise ValueError("unexpected numpy scalar")
    return np.frombuffer(bytes(data), dtype, 1)[0]


def _not_real(dtype: np.dtype) -> str | None:
    """Why depth of this type is refused, or None: depth is real numbers (complex ones would lose their
    imaginary part unseen in :func:`to_unit`)."""
    if dtype.kind in "biuf" and dtype.subdtype is None:
        return None
    return f"depth has {'complex' if dtype.kind == 'c' else 'non-numeric'} type {dtype}; expected real numbers"


def _load_npy(path: Path, fh: IO[bytes], size: int) -> object:
    """The array in a .npy stream of ``size`` bytes (a file, or a member of a .npz), or the object pickled in it.

    A plain array's header is checked against ``MAX_PIXELS`` and ``size`` before any data is read, since
    numpy allocates whatever the header claims first and finds out the data is missing afterwards.
    """
    try:
        version = np.lib.format.read_magic(fh)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(fh)
    except Exception as exc:  # noqa: BLE001 - numpy parses the header as Python literals: damage raises many types
        raise InputError(path, f"not a .npy file ({type(exc).__name__}: {first_line(exc)})") from None
    if dtype.hasobject:
        data = fh.read(_MAX_PICKLE + 1)  # from memory: a .npz member is inflated only this far
        if len(data) > _MAX_PICKLE:
            raise InputError(path, f"pickled depth of over {_MAX_PICKLE:,} bytes, more than a {MAX_PIXELS:,}-pixel depth map needs")
        try:
            obj = _materialise(_DepthUnpickler(io.BytesIO(data)).load())
        except _RefusedClass as exc:
            raise InputError(path, f"unsafe pickle: {first_line(exc)}") from None
        except Exception as exc:  # noqa: BLE001 - a damaged pickle fails in many ways (TypeError, AttributeError, ...)
            raise InputError(path, f"corrupt or truncated pickled depth ({first_line(exc)})") from None
        return obj.item() if isinstance(obj, np.ndarray) and obj.dtype.hasobject and obj.size == 1 else obj
    if (problem := _not_real(dtype)) is not None:  # before numpy allocates a field of that type (a 1 GB string, say)
        raise InputError(path, problem)
    count = math.prod(shape)
    if count > MAX_PIXELS:
        raise InputError(path, f"header claims shape {shape}, over the {MAX_PIXELS:,}-pixel limit")
    expected, found = count * dtype.itemsize, size - fh.tell()
    if found != expected:
        problem = "truncated" if found < expected else "corrupt"
        raise InputError(path, f"{problem} .npy: header claims {shape} {dtype} ({expected:,} bytes), data is {found:,} bytes")
    try:  # the header is read and checked: the data follows it (read-only: read_depth copies it)
        return np.frombuffer(fh.read(expected), dtype, count).reshape(shape, order="F" if fortran else "C")
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(path, f"corrupt .npy ({first_line(exc)})") from None


def _depth_from_object(path: Path, obj: object) -> np.ndarray:
    if isinstance(obj, dict):
        if "normalized_depth" not in obj:
            raise InputError(path, f"depth dict has no 'normalized_depth' (keys: {', '.join(map(str, obj))})")
        obj = obj["normalized_depth"]
    if not isinstance(obj, np.ndarray) or obj.dtype.hasobject:
        raise InputError(path, f"holds a {type(obj).__name__}, not a depth array")
    return obj


def read_depth(path: str | os.PathLike[str]) -> np.ndarray:
    """Read depth as ``H x W`` float32: VIDIT's pickled dict or a plain array (.npy), .npz, PNG or TIFF.

    Integer rasters are scaled to [0, 1] by their type's range; float data is used as it is.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in DEPTH_EXTENSIONS:
        raise InputError(path, f"unsupported depth type {suffix or '(none)'}; use one of {', '.join(DEPTH_EXTENSIONS)}")
    _check_file(path)
    if suffix == ".npy":
        try:
            with path.open("rb") as fh:
                array = _depth_from_object(path, _load_npy(path, fh, os.fstat(fh.fileno()).st_size))
        except OSError as exc:
            raise InputError(path, f"cannot read ({exc.strerror or first_line(exc)})") from None
    elif suffix == ".npz":
        try:
            with zipfile.ZipFile(path) as archive:
                members = {name.removesuffix(".npy"): name for name in archive.namelist()}  # as np.load names them
                names = list(members)
                key = next((k for k in ("normalized_depth", "depth") if k in names), names[0] if len(names) == 1 else None)
                if key is None:
                    raise InputError(path, f"cannot tell which array is depth (arrays: {', '.join(names)})")
                with archive.open(members[key]) as fh:
                    array = _depth_from_object(path, _load_npy(path, fh, archive.getinfo(members[key]).file_size))
        except InputError:
            raise
        # RuntimeError: an encrypted member; NotImplementedError: a compression zipfile cannot undo
        except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, RuntimeError, NotImplementedError) as exc:
            raise InputError(path, f"not a readable .npz file ({first_line(exc)})") from None
    else:
        array = _read_pixels(path)
    array = np.asarray(array)
    if array.size == 0:
        raise InputError(path, "depth array is empty")
    if array.ndim == 3 and 1 in (array.shape[0], array.shape[-1]):
        array = array.reshape(array.shape[1:] if array.shape[0] == 1 else array.shape[:-1])
    if array.ndim != 2:
        raise InputError(path, f"depth must be 2-D (H x W), got shape {tuple(array.shape)}")
    if (problem := _not_real(array.dtype)) is not None:
        raise InputError(path, problem)
    depth = to_unit(array)
    if not np.isfinite(depth).all():
        raise InputError(path, f"depth holds {int((~np.isfinite(depth)).sum())} NaN or infinite values")
    return np.ascontiguousarray(depth)


def resize_depth(depth: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of ``H x W`` depth to ``size`` = (height, width)."""
    if depth.shape == size:
        return depth
    resized = Image.fromarray(depth.astype(np.float32), mode="F").resize((size[1], size[0]), Image.BILINEAR)
    return np.array(resized, dtype=np.float32)


def check_output_folder(folder: str | os.PathLike[str]) -> None:
    """Refuse a folder that cannot hold outputs (a file in its place or on its path, no permission to
    write) before any work is done for it; a folder that does not exist yet is fine if it can be made."""
    probe = Path(folder)
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(probe, "is a file, not a folder, so nothing can be written inside it")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(probe, "is not writable")


def _output_type_problem(suffix: str, bit_depth: int) -> str | None:
    """Why :func:`write_image` cannot write this type at this bit depth, or None if it can."""
    suffix = suffix.lower()
    if suffix not in OUTPUT_EXTENSIONS:
        return f"unsupported output type {suffix or '(none)'}; use one of {', '.join(OUTPUT_EXTENSIONS)}"
    if bit_depth not in (8, 16):
        return f"bit depth must be 8 or 16, not {bit_depth}"
    if bit_depth == 16 and suffix not in (".png", ".tif", ".tiff"):
        return f"16-bit output needs PNG or TIFF, not {suffix}"
    return None


def check_output_ext(ext: str, bit_depth: int = 8) -> None:
    """Refuse an ``--ext`` (and ``--bit-depth``) that :func:`write_image` cannot write, before any work."""
    problem = _output_type_problem(ext, bit_depth)
    if problem is not None:
        raise RelightError(f"--ext {ext}: {problem}")


def check_output_dir(folder: str | os.PathLike[str], ext: str, bit_depth: int = 8) -> None:
    """Refuse, before any work, an ``--ext``/``--bit-depth`` that cannot be written or a folder that
    cannot hold the outputs (:func:`check_output_ext`, :func:`check_output_folder`)."""
    check_output_ext(ext, bit_depth)
    check_output_folder(folder)


def check_output_path(path: str | os.PathLike[str]) -> None:
    """Refuse, before the work that produces it, a file that cannot be written at ``path``: a folder in
    its place, a file on its path, no permission (any file: an image, JSON, CSV, a checkpoint)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(path, "is a folder; give a file name")
    check_output_folder(path.parent)


def check_output_file(path: str | os.PathLike[str], bit_depth: int = 8) -> None:
    """Everything :func:`write_image` would refuse about ``path``, checked before the work that produces it."""
    path = Path(path)
    problem = _output_type_problem(path.suffix, bit_depth)
    if problem is not None:
        raise OutputError(path, problem)
    check_output_path(path)


def _cannot_write(path: Path, exc: OSError) -> OutputError:
    """The one-line error for any OSError on the way to ``path``: making the folder, writing, renaming."""
    return OutputError(path, f"cannot write here ({exc.strerror or first_line(exc)})")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    An OSError from the block (disk full, quota, I/O error) becomes an :class:`OutputError` naming
    ``path``, so every writer reports it in one line.
    """
    path = Path(path)
    check_output_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            yield tmp
            # mkstemp makes owner-only files (and some writers, safetensors', make their own): give the
            # result what a plain open() would
            tmp.chmod(0o666 & ~_UMASK)
            os.replace(tmp, path)
        except OSError as exc:
            raise _cannot_write(path, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


_SAVE_OPTIONS: dict[str, dict[str, int]] = {"JPEG": {"quality": 95}, "WEBP": {"quality": 95}}


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write a text file (JSON, CSV, TOML) atomically, as UTF-8."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def json_text(data: object) -> str:
    """``data`` as relight writes JSON everywhere: indented, NaN and infinities refused, not written."""
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike[str], data: object) -> Path:
    """Write :func:`json_text` of ``data`` atomically."""
    return write_text(path, json_text(data))


def _clamp(array: np.ndarray, top: float = 1.0) -> np.ndarray:
    """A new float32 array of ``array * top`` clamped to [0, top]: NaN becomes 0 and infinities the
    nearer end, rather than whatever a cast makes of them (``fmax``/``fmin`` pass over NaN). One copy,
    then in place: this runs for every image a batch writes."""
    unit = np.multiply(array, top, dtype=np.float32)
    np.fmax(unit, 0.0, out=unit)
    return np.fmin(unit, top, out=unit)


def _quantise(array: np.ndarray, bit_depth: int) -> np.ndarray:
    top = 65535 if bit_depth == 16 else 255
    dtype = np.uint16 if bit_depth == 16 else np.uint8
    unit = _clamp(array, top)
    return np.rint(unit, out=unit).astype(dtype)


def write_image(
    path: str | os.PathLike[str], rgb: np.ndarray, alpha: np.ndarray | None = None, bit_depth: int = 8
) -> Path:
    """Write ``H x W x 3`` RGB, with optional ``H x W`` alpha, atomically.

    Floats are taken as [0, 1] and clamped, NaN written as 0 (a black or transparent pixel, never noise
    from casting NaN); integer arrays are scaled by their type's range (:func:`to_unit`), as
    :func:`read_image` reads them. The format follows the extension: PNG and TIFF (8 or 16 bit, alpha
    kept), JPEG and WebP (8 bit, no alpha), and ``.npy`` (float32 ``H x W x 3`` in [0, 1], not quantised).
    A wrong shape is the caller's bug, so it raises a plain ValueError rather than an OutputError.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    problem = _output_type_problem(suffix, bit_depth)
    if problem is not None:
        raise OutputError(path, problem)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"{path}: write_image needs H x W x 3 RGB, got shape {rgb.shape}")
    if alpha is not None and alpha.shape != rgb.shape[:2]:
        raise ValueError(f"{path}: write_image needs alpha of shape {rgb.shape[:2]} (H x W of the RGB), got {alpha.shape}")
    if suffix in (".jpg", ".jpeg", ".webp", ".npy"):
        alpha = None
    rgb = to_unit(rgb) if rgb.dtype.kind in "iu" else rgb
    if alpha is not None:
        alpha = to_unit(alpha) if alpha.dtype.kind in "iu" else alpha
    pixels = rgb if alpha is None else np.concatenate([rgb, alpha[..., None]], axis=2)
    with atomic_output(path) as tmp:
        if suffix == ".npy":
            np.save(tmp, _clamp(rgb), allow_pickle=False)
        elif suffix in (".tif", ".tiff"):
            tifffile.imwrite(tmp, _quantise(pixels, bit_depth), photometric="rgb", compression="zlib")
        elif suffix == ".png":
            tmp.write_bytes(encode_png(_quantise(pixels, bit_depth)))
        else:
            image = Image.fromarray(_quantise(rgb, 8), mode="RGB")  # JPEG and WebP: alpha was dropped above
            fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}[suffix]
            image.save(tmp, format=fmt, **_SAVE_OPTIONS[fmt])
    return path


def write_depth_npy(path: str | os.PathLike[str], depth: np.ndarray, vidit: bool = True) -> Path:
    """Write depth as VIDIT does (a pickled dict with ``normalized_depth``) or as a plain 2-D array."""
    with atomic_output(path) as tmp:
        if vidit:
            record = {"normalized_depth": depth.astype(np.float32), "ref_center_dis": np.float32(1.0)}
            np.save(tmp, np.array(record, dtype=object), allow_pickle=True)
        else:
            np.save(tmp, depth.astype(np.float32), allow_pickle=False)
    return Path(path)


__all__ = [
    "DEPTH_EXTENSIONS",
    "IMAGE_EXTENSIONS",
    "MAX_PIXELS",
    "OUTPUT_EXTENSIONS",
    "InputError",
    "LoadedImage",
    "OutputError",
    "atomic_output",
    "check_output_dir",
    "check_output_ext",
    "check_output_file",
    "check_output_folder",
    "check_output_path",
    "image_size",
    "read_depth",
    "read_image",
    "resize_depth",
    "to_unit",
    "write_depth_npy",
    "write_image",
    "write_json",
    "write_text",
]
