"""Reading depth maps: VIDIT's pickled dict or a plain array (.npy), .npz, PNG or TIFF, and writing them.

A pickled depth file is read by a restricted unpickler (:class:`_DepthUnpickler`) that admits only
what a VIDIT depth file is made of and builds every numpy object itself after checking it, so a crafted
file can neither run code nor crash numpy. Every size a header claims is checked against
:data:`~relight.io.images.MAX_PIXELS` and the file's real size before anything is allocated.

Whatever convention a file holds (``depth_kind``: :data:`DEPTH_KINDS`), it is read into relight's:
VIDIT's normalised depth, ``H x W`` float32 in [0, 1], near small and far large, the camera at 0
(:func:`to_normalised`).
"""

from __future__ import annotations

import math
import os
import pickle
import pickletools
import re
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from collections.abc import Callable
from typing import IO

import numpy as np
from PIL import Image

from relight.errors import InputFileError, InvalidSetting, Part, Setting, UnsafeFileError, first_line, listed, shown
from relight.io.images import MAX_PIXELS, check_input_file, read_pixels, to_unit
from relight.io.output import atomic_output

DEPTH_EXTENSIONS = (".npy", ".npz", ".png", ".tif", ".tiff")

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


class _Beyond(pickle.UnpicklingError):
    """The pickle asks for more than a depth map can need: the file is refused, not read further."""


#: What a pickled depth map can need, checked as the pickle streams (a VIDIT file uses a few dozen
#: opcodes and a handful of containers): each bounds what a small crafted file could make the reader
#: build, so that one is refused within a few MB and a fraction of a second.
MAX_OPCODES = 20_000
MAX_CONTAINERS = 2_000  # dicts, lists, tuples and sets made
MAX_STACK = 10_000  # objects waiting on the stack, marks included
MAX_NESTING = 32  # marks open at once, and containers within containers
MAX_LINE = 1 << 16  # bytes of one text line (the names of the functions a pickle calls)
_CONTAINER_OPS = frozenset(op[0] for op in (
    pickle.EMPTY_DICT, pickle.EMPTY_LIST, pickle.EMPTY_TUPLE, pickle.EMPTY_SET, pickle.FROZENSET, pickle.DICT, pickle.LIST,
    pickle.TUPLE, pickle.TUPLE1, pickle.TUPLE2, pickle.TUPLE3,
))
_REMOVED = (pickle.INST, pickle.OBJ, pickle.NEWOBJ, pickle.NEWOBJ_EX, pickle.PERSID, pickle.BINPERSID, pickle.EXT1, pickle.EXT2,
            pickle.EXT4, pickle.BYTEARRAY8, pickle.NEXT_BUFFER, pickle.READONLY_BUFFER, pickle.LONG4)


def _bounded(code: int, load: Callable[[pickle._Unpickler], None]) -> Callable[[_DepthUnpickler], None]:
    """``load`` after the checks that bound what the pickle builds (:data:`MAX_OPCODES` and the rest)."""
    container = code in _CONTAINER_OPS

    def step(self: _DepthUnpickler) -> None:
        self.opcodes += 1
        self.containers += container
        if self.opcodes > MAX_OPCODES:
            raise _Beyond(f"over {MAX_OPCODES:,} pickle operations")
        if self.containers > MAX_CONTAINERS:
            raise _Beyond(f"over {MAX_CONTAINERS:,} containers")
        if len(self.stack) >= MAX_STACK:
            raise _Beyond(f"over {MAX_STACK:,} objects at once")
        if len(self.metastack) > MAX_NESTING:
            raise _Beyond(f"containers nested over {MAX_NESTING} deep")
        load(self)

    return step


class _Stream:
    """A file read as a pickle, at most ``limit`` bytes of it: a length the pickle claims reads what the
    file holds, never more than the limit, and a read past the limit refuses the file."""

    def __init__(self, fh: IO[bytes], limit: int) -> None:
        self.fh, self.left = fh, limit

    def _took(self, data: bytes) -> bytes:
        self.left -= len(data)
        if self.left < 0:
            raise _Beyond(f"over {_MAX_PICKLE:,} bytes of pickle")
        return data

    def read(self, size: int = -1) -> bytes:
        return self._took(self.fh.read(self.left + 1 if size is None or size < 0 else min(size, self.left + 1)))

    def readline(self) -> bytes:
        line = self._took(self.fh.readline(min(MAX_LINE, self.left) + 1))
        if len(line) > MAX_LINE:  # the lines of a depth pickle are the names of the functions it calls
            raise _Beyond(f"a line of over {MAX_LINE:,} bytes")
        return line


class _DepthUnpickler(pickle._Unpickler):
    """Admits only what a VIDIT depth file is made of (dicts, numpy arrays, dtypes and scalars), each
    built as a :class:`_Stub`, and no more of it than a depth map can need.

    It extends the pure-Python unpickler (``pickle._Unpickler``), whose opcodes are Python methods that
    can be vetted one by one: BUILD applies state to stubs only (never to the admitted functions), the
    opcodes that make instances, extensions, out-of-band buffers or long integers are gone, a damaged
    length reads what the file holds rather than allocating what it claims (:class:`_Stream`), and
    every opcode first checks the bounds (:data:`MAX_OPCODES`, :data:`MAX_CONTAINERS`,
    :data:`MAX_STACK`, :data:`MAX_NESTING`), so that a small file cannot expand to gigabytes.
    """

    def __init__(self, fh: IO[bytes], limit: int) -> None:
        super().__init__(_Stream(fh, limit))
        self.opcodes = self.containers = 0

    def load_build(self) -> None:
        state = self.stack.pop()
        if not isinstance(self.stack[-1], _Stub):
            raise pickle.UnpicklingError("pickle BUILD on something other than a numpy array, dtype or scalar")
        self.stack[-1].state = state

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
        raise _RefusedClass(f"refused to load {shown(module)}.{shown(name)} (only dicts, arrays and scalars are allowed)")


_DepthUnpickler.dispatch = _Opcodes({
    code: _bounded(code, _DepthUnpickler.load_build if bytes([code]) == pickle.BUILD else load)
    for code, load in pickle._Unpickler.dispatch.items() if bytes([code]) not in _REMOVED
})

def _materialise(obj: object, memo: dict[int, object] | None = None, depth: int = 0) -> object:
    """The unpickled data with every :class:`_Stub` checked and made into its numpy object; ValueError
    says what does not fit (a damaged or crafted file; containers nested over :data:`MAX_NESTING` deep,
    which a container holding itself is)."""
    memo = {} if memo is None else memo
    if id(obj) in memo:
        return memo[id(obj)]
    if depth > MAX_NESTING:
        raise _Beyond(f"containers nested over {MAX_NESTING} deep")
    if isinstance(obj, dict):
        made: object = {key: _materialise(value, memo, depth + 1) for key, value in obj.items()}
    elif isinstance(obj, (list, tuple)):
        made = type(obj)(_materialise(item, memo, depth + 1) for item in obj)
    elif isinstance(obj, _Stub):
        made = _make_dtype(obj) if obj.kind == "dtype" else _make_array(obj, memo, depth) if obj.kind == "array" else _make_scalar(obj, memo, depth)
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


def _make_array(stub: _Stub, memo: dict[int, object], depth: int) -> np.ndarray:
    state = stub.state
    if not (isinstance(state, tuple) and len(state) == 5):
        raise ValueError("unexpected array state")
    _, shape, dtype, fortran, data = state
    if not (isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape)):
        raise ValueError(f"unexpected array shape {shape!r}")
    count = math.prod(shape)
    if count > MAX_PIXELS:
        raise ValueError(f"array of shape {shape}, over the {MAX_PIXELS:,}-pixel limit")
    dtype = _materialise(dtype, memo, depth + 1)
    if not isinstance(dtype, np.dtype):
        raise ValueError("array without a dtype")
    order = "F" if fortran else "C"
    if dtype.hasobject:
        if not isinstance(data, list) or len(data) != count:
            raise ValueError(f"object array of shape {shape} with {len(data) if isinstance(data, list) else 'no'} items")
        flat = np.empty(count, dtype=object)
        for i, item in enumerate(data):
            flat[i] = _materialise(item, memo, depth + 1)
        return flat.reshape(shape, order=order)
    if not isinstance(data, (bytes, bytearray)) or len(data) != count * dtype.itemsize:
        raise ValueError(f"array of shape {shape} {dtype} without its {count * dtype.itemsize:,} bytes of data")
    return np.frombuffer(bytes(data), dtype, count).reshape(shape, order=order)  # read-only: read_depth copies it


def _make_scalar(stub: _Stub, memo: dict[int, object], depth: int) -> object:
    dtype, data = _materialise(stub.args[0], memo, depth + 1), stub.args[1]
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
        raise InputFileError(path, f"not a .npy file ({type(exc).__name__}: {first_line(exc)})") from None
    if dtype.hasobject:
        try:  # streamed: a .npz member is inflated only as far as the pickle is read
            obj = _materialise(_DepthUnpickler(fh, _MAX_PICKLE).load())
        except _RefusedClass as exc:
            raise UnsafeFileError(path, f"unsafe pickle: {first_line(exc)}") from None
        except _Beyond as exc:
            raise InputFileError(path, f"pickled depth with {exc}, more than a {MAX_PIXELS:,}-pixel depth map needs") from None
        except Exception as exc:  # noqa: BLE001 - a damaged pickle fails in many ways (TypeError, AttributeError, ...)
            raise InputFileError(path, f"corrupt or truncated pickled depth ({first_line(exc)})") from None
        return obj.item() if isinstance(obj, np.ndarray) and obj.dtype.hasobject and obj.size == 1 else obj
    if (problem := _not_real(dtype)) is not None:  # before numpy allocates a field of that type (a 1 GB string, say)
        raise InputFileError(path, problem)
    count = math.prod(shape)
    if count > MAX_PIXELS:
        raise InputFileError(path, f"header claims shape {shape}, over the {MAX_PIXELS:,}-pixel limit")
    expected, found = count * dtype.itemsize, size - fh.tell()
    if found != expected:
        problem = "truncated" if found < expected else "corrupt"
        raise InputFileError(path, f"{problem} .npy: header claims {shape} {dtype} ({expected:,} bytes), data is {found:,} bytes")
    try:  # the header is read and checked: the data follows it (read-only: read_depth copies it)
        return np.frombuffer(fh.read(expected), dtype, count).reshape(shape, order="F" if fortran else "C")
    except (ValueError, OSError, EOFError) as exc:
        raise InputFileError(path, f"corrupt .npy ({first_line(exc)})") from None


def _depth_from_object(path: Path, obj: object) -> np.ndarray:
    if isinstance(obj, dict):
        if "normalized_depth" not in obj:
            raise InputFileError(path, f"depth dict has no 'normalized_depth' (keys: {listed(obj)})")
        obj = obj["normalized_depth"]
    if not isinstance(obj, np.ndarray) or obj.dtype.hasobject:
        raise InputFileError(path, f"holds a {type(obj).__name__}, not a depth array")
    return obj


#: The conventions depth is read in (``depth_kind``). ``normalised``: VIDIT's ``normalized_depth``,
#: relight's own (8- and 16-bit rasters scaled by their type's range); ``metric``: distances from the
#: camera in any unit; ``disparity``: inverse distances (larger is nearer); ``auto`` tells them apart
#: (:func:`to_normalised`).
DEPTH_KINDS = ("auto", "normalised", "metric", "disparity")
#: VIDIT normalises distance by the farthest one but at most this many times the distance at the
#: image centre (the central ray's hit), clipped to 1: a far sky does not squash the scene (relight's
#: synthetic scenes are normalised alike, :func:`relight.data.synth.camera.normalised_depth`).
FAR_LIMIT = 4.0
#: ``auto`` takes float depth whose largest value is over this for distances, not normalised depth.
METRIC_ABOVE = 2.0
_FIXED_POINT = (np.dtype(np.uint8), np.dtype(np.uint16))  # integer depth rasters that hold [0, 1] by their range


#: Depth with a smaller share of valid pixels is refused: filling the rest would invent most of the map.
MIN_VALID = 0.5


@dataclass(frozen=True)
class DepthMap:
    """Depth in relight's convention (``H x W`` float32 in [0, 1], near small, far large), the ``kind``
    its values were taken as, ``note``: the parts of a line for the user when ``auto`` chose for them,
    and ``holes``: how many pixels held no valid depth and were filled (:func:`fill_holes`)."""

    depth: np.ndarray
    kind: str
    note: tuple[Part, ...] = ()
    holes: int = 0

    def holes_note(self) -> str:
        """What filling the holes did, in a line for the user."""
        what = {"disparity": "NaN, infinite, or a disparity of 0 or below: no match", "metric": "NaN or -inf"}.get(self.kind, "NaN or infinite")
        return (f"{self.holes:,} pixels ({self.holes / self.depth.size:.1%}) hold no valid depth ({what}); "
                "filled from their valid neighbours")


def fill_holes(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``values`` (``H x W``) with every pixel where ``valid`` is false filled from the valid pixels around
    it: the mean of those in the smallest block of a pyramid of 2 x 2 blocks that holds any (pull-push).
    ``valid`` must hold at least one pixel."""
    if valid.all():
        return values
    height, width = values.shape
    even = (height + height % 2, width + width % 2)
    weight, total = np.zeros(even), np.zeros(even)
    weight[:height, :width] = valid
    total[:height, :width] = np.where(valid, values, 0.0)
    weight = weight.reshape(even[0] // 2, 2, even[1] // 2, 2).sum(axis=(1, 3))
    total = total.reshape(even[0] // 2, 2, even[1] // 2, 2).sum(axis=(1, 3))
    coarse = fill_holes(np.divide(total, weight, out=np.zeros_like(total), where=weight > 0), weight > 0)
    return np.where(valid, values, coarse.repeat(2, axis=0).repeat(2, axis=1)[:height, :width])


def _with_holes_filled(array: np.ndarray, kind: str, far_below_zero: bool, path: Path | None) -> tuple[np.ndarray, int]:
    """``array`` as float64 with its holes filled (NaN and infinities, but a distance's +inf, which is
    infinitely far; for a file's disparity also 0 and below, what stereo matchers write where they found
    no match), and how many there were; refused when under :data:`MIN_VALID` of it is valid.
    ``far_below_zero``: disparity of 0 or below is infinitely far, as a depth network's relative output means it."""
    with np.errstate(invalid="ignore"):  # a signalling NaN (a damaged float file's bits) warns as it widens: a hole, counted below
        values = array.astype(np.float64)
    valid = np.isfinite(values) | (values == np.inf) if kind == "metric" else np.isfinite(values)
    if kind == "disparity" and not far_below_zero:
        valid &= values > 0
    holes = int(values.size - np.count_nonzero(valid))
    if holes == 0:
        return values, 0
    if holes > (1 - MIN_VALID) * values.size:
        what = "finite values above 0" if kind == "disparity" and not far_below_zero else "finite values"
        raise _refused(path, f"depth holds valid values ({what}) at only {1 - holes / values.size:.1%} of its pixels; "
                             f"at least {MIN_VALID:.0%} are needed to fill the rest from them")
    return fill_holes(values, valid), holes


def check_depth_kind(kind: str, owner: str | None = None) -> str:
    """``kind`` if it is one of :data:`DEPTH_KINDS` (``normalized`` is ``normalised``), else a one-line error
    naming ``depth_kind`` (of ``owner``, as ``TrainConfig``, when it is given)."""
    kind = "normalised" if kind == "normalized" else kind
    if kind not in DEPTH_KINDS:
        setting = Setting("depth_kind", kind, owner=owner, shown=repr(kind))
        raise InvalidSetting(setting, setting, f": expected {', '.join(DEPTH_KINDS[:-1])} or {DEPTH_KINDS[-1]}")
    return kind


def normalise_distance(distance: np.ndarray) -> np.ndarray:
    """Distances from the camera (any unit, ``inf`` for what is infinitely far) as VIDIT's normalised depth:
    over the farthest finite distance, but at most :data:`FAR_LIMIT` times the centre's, clipped to 1."""
    distance = np.asarray(distance, dtype=np.float64)
    finite = np.isfinite(distance)
    if not finite.any():
        return np.ones(distance.shape, np.float32)
    far = float(distance[finite].max())
    centre = float(distance[distance.shape[0] // 2, distance.shape[1] // 2])
    if math.isfinite(centre) and centre > 0:
        far = min(far, FAR_LIMIT * centre)
    if far <= 0:
        return np.where(finite, 0.0, 1.0).astype(np.float32)
    return np.minimum(np.where(finite, distance, far) / far, 1.0).astype(np.float32)


def _refused(path: Path | None, *parts: Part) -> InputFileError:
    return InputFileError(path, *parts) if path is not None else InputFileError(None, *parts)


def _guess_kind(array: np.ndarray, path: Path | None, finite: np.ndarray) -> tuple[str, tuple[Part, ...]]:
    """What ``auto`` takes ``array`` (whose ``finite`` values these are) for, and the note that says so
    when it is not normalised depth."""
    if array.dtype.kind == "b" or array.dtype in _FIXED_POINT:
        return "normalised", ()
    low, high = float(finite.min()), float(finite.max())
    integer = array.dtype.kind in "iu"
    if low < 0 and (integer or high > METRIC_ABOVE):
        raise _refused(path, f"{array.dtype} depth runs from {low:.4g} to {high:.4g}: negative distances, and not normalised depth "
                             "in [0, 1]; give its kind (", Setting("depth_kind", "disparity"), " or ", Setting("depth_kind", "normalised"), ")")
    if not integer and high <= METRIC_ABOVE:
        return "normalised", ()
    what = f"an {array.dtype} array" if integer else "depth"
    note: tuple[Part, ...] = (
        f"{what} runs from {low:.4g} to {high:.4g}, outside the [0, 1] the network was trained on (VIDIT's normalized_depth); "
        f"read as distances and scaled into [0, 1] as VIDIT's depth is (over the farthest, at most {FAR_LIMIT:g} times the centre's); "
        "if it is not distances, give its kind (", Setting("depth_kind", "disparity"), " or ", Setting("depth_kind", "normalised"), ")",
    )
    return "metric", note


def to_normalised(array: np.ndarray, kind: str = "auto", *, path: Path | None = None, far_below_zero: bool = False) -> DepthMap:
    """Depth of ``kind`` (:data:`DEPTH_KINDS`) in relight's convention: VIDIT's normalised depth.

    ``normalised`` is used as it is (8/16-bit rasters by their type's range); ``metric`` and
    ``disparity`` (inverted first: 1/disparity) are scaled by :func:`normalise_distance`. ``auto`` takes
    8/16-bit rasters and floats up to :data:`METRIC_ABOVE` for normalised depth, larger floats and other
    integer arrays (int32, int64: their values, never their type's range) for distances, and refuses
    negative distances. Pixels without valid depth (NaN, infinities; disparity of 0 or below, unless
    ``far_below_zero`` says it means infinitely far) are filled from their valid neighbours, and counted
    (``holes``); under :data:`MIN_VALID` of the map valid is refused. ``path`` names the file in errors.
    """
    kind = check_depth_kind(kind)
    array = np.asarray(array)
    finite = array if array.dtype.kind != "f" else array[np.isfinite(array)]
    if finite.size == 0:
        raise _refused(path, "depth holds only NaN or infinite values")
    note: tuple[Part, ...] = ()
    if kind == "auto":
        kind, note = _guess_kind(array, path, finite)
    if kind == "normalised" and array.dtype.kind in "iu" and array.dtype not in _FIXED_POINT:
        raise _refused(path, f"an {array.dtype} array cannot hold normalised depth in [0, 1] (integer depth rasters are 8- or "
                             "16-bit); give its kind (", Setting("depth_kind", "metric"), " or ", Setting("depth_kind", "disparity"), ")")
    if kind == "normalised" and array.dtype.kind != "f":
        return DepthMap(np.ascontiguousarray(to_unit(array)), kind, note)
    values, holes = _with_holes_filled(array, kind, far_below_zero, path)
    if kind == "normalised":
        return DepthMap(values.astype(np.float32), kind, note, holes)
    if kind == "metric":
        if (values < 0).any():
            raise _refused(path, f"metric depth holds negative distances (down to {float(values.min()):.4g})")
        return DepthMap(normalise_distance(values), kind, note, holes)
    if not (values > 0).any():
        raise _refused(path, "disparity is nowhere above 0: no point has a distance")
    with np.errstate(divide="ignore"):
        distance = np.where(values > 0, 1.0 / values, np.inf)
    return DepthMap(normalise_distance(distance), kind, note, holes)


def read_depth(path: str | os.PathLike[str], kind: str = "auto") -> np.ndarray:
    """Read depth as ``H x W`` float32 in relight's convention: VIDIT's pickled dict or a plain array
    (.npy), .npz, PNG or TIFF, its values taken as ``kind`` says (:func:`to_normalised`)."""
    return load_depth(path, kind).depth


def load_depth(path: str | os.PathLike[str], kind: str = "auto") -> DepthMap:
    """Like :func:`read_depth`, also saying which convention the values were taken in, and why."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in DEPTH_EXTENSIONS:
        raise InputFileError(path, f"unsupported depth type {suffix or '(none)'}; use one of {', '.join(DEPTH_EXTENSIONS)}")
    check_input_file(path)
    notes: list[str] = []
    if suffix == ".npy":
        try:
            with path.open("rb") as fh:
                array = _depth_from_object(path, _load_npy(path, fh, os.fstat(fh.fileno()).st_size))
        except OSError as exc:
            raise InputFileError(path, f"cannot read ({exc.strerror or first_line(exc)})") from None
    elif suffix == ".npz":
        try:
            with zipfile.ZipFile(path) as archive:
                members = {name.removesuffix(".npy"): name for name in archive.namelist()}  # as np.load names them
                names = list(members)
                key = next((k for k in ("normalized_depth", "depth") if k in names), names[0] if len(names) == 1 else None)
                if key is None:
                    raise InputFileError(path, f"cannot tell which array is depth (arrays: {listed(names)})")
                with archive.open(members[key]) as fh:
                    array = _depth_from_object(path, _load_npy(path, fh, archive.getinfo(members[key]).file_size))
        except InputFileError:
            raise
        # RuntimeError: an encrypted member; NotImplementedError: a compression zipfile cannot undo
        except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, RuntimeError, NotImplementedError) as exc:
            raise InputFileError(path, f"not a readable .npz file ({first_line(exc)})") from None
    else:
        array = read_pixels(path, notes)
    array = np.asarray(array)
    if array.size == 0:
        raise InputFileError(path, "depth array is empty")
    if array.ndim == 3 and 1 in (array.shape[0], array.shape[-1]):
        array = array.reshape(array.shape[1:] if array.shape[0] == 1 else array.shape[:-1])
    if array.ndim != 2:
        raise InputFileError(path, f"depth must be 2-D (H x W), got shape {tuple(array.shape)}")
    if (problem := _not_real(array.dtype)) is not None:
        raise InputFileError(path, problem)
    found = to_normalised(array, kind, path=path)
    if not notes:
        return found
    return replace(found, note=("; ".join(notes), *(("; ", *found.note) if found.note else ())))


def resize_depth(depth: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of ``H x W`` depth to ``size`` = (height, width)."""
    if depth.shape == size:
        return depth
    resized = Image.fromarray(depth.astype(np.float32), mode="F").resize((size[1], size[0]), Image.BILINEAR)
    return np.array(resized, dtype=np.float32)


def write_depth_npy(path: str | os.PathLike[str], depth: np.ndarray, vidit: bool = True) -> Path:
    """Write depth as VIDIT does (a pickled dict with ``normalized_depth``) or as a plain 2-D array."""
    with atomic_output(path) as tmp:
        if vidit:
            record = {"normalized_depth": depth.astype(np.float32), "ref_center_dis": np.float32(1.0)}
            np.save(tmp, np.array(record, dtype=object), allow_pickle=True)
        else:
            np.save(tmp, depth.astype(np.float32), allow_pickle=False)
    return Path(path)


def write_depth_png(path: str | os.PathLike[str], depth: np.ndarray) -> Path:
    """Write normalised depth as a 16-bit grey PNG (0..65535 for [0, 1]: near dark, far light), which
    opens in any viewer and reads back as depth."""
    levels = np.round(np.clip(depth, 0.0, 1.0) * 65535.0).astype(np.uint16)
    with atomic_output(path) as tmp:
        Image.fromarray(levels).save(tmp, format="PNG")
    return Path(path)


__all__ = ["DEPTH_EXTENSIONS", "DEPTH_KINDS", "MIN_VALID", "DepthMap", "check_depth_kind", "fill_holes", "load_depth", "normalise_distance", "read_depth",
           "resize_depth", "to_normalised", "write_depth_npy", "write_depth_png"]
