"""What the web page does, in Python terms and without Gradio: one model in memory, relit files per call.

A :class:`Service` is shared by every visitor of ``relight ui``. It holds one :class:`Relighter` at a
time (a visitor who picks another model swaps it, under a lock, so a call never runs on a model that is
being replaced) and writes each call's files into a folder of its own, so two visitors' results never
share a path. :meth:`Service.relight` reads the upload the way ``relight run`` does (orientation, colour
profile, metadata) and writes the full-resolution result as ``relight run -o NAME.png`` would.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from relight.lighting import ALL_LIGHTS
from relight.errors import Action, DeviceOutOfMemory, InputFileError, InvalidSetting, RelightError, Setting, Wording, labelled, one_line

if TYPE_CHECKING:
    from relight.data.pairs import DecodedPair
    from relight.io.images import OutputOptions
    from relight.inference.relighter import Relighter
    from relight.lighting import Illumination

#: Turns ``H x W x 3`` RGB into depth in relight's convention, for a photo given without a depth map.
Estimate = Callable[[np.ndarray], np.ndarray]

#: The longer side of the photo's preview on the page, in pixels (the page shows it smaller still).
PREVIEW_SIDE = 1024
#: Call folders kept on disk; older ones are removed (Gradio has copied their files into its cache by then).
KEEP_CALLS = 64

#: The most one call may cost: the photo's pixels times the lights it is relit to. A photo of
#: :data:`~relight.io.images.MAX_PIXELS` to one light fits, and All 40 of a photo of up to 13.4 MP.
MAX_REQUEST_PIXELS = 1 << 29

#: The largest upload the page accepts (Gradio's form, ``max_file_size``); the pixel limit is checked on
#: the file's header after it.
MAX_UPLOAD = "1gb"

#: Seconds a depth model that failed to load is not tried again: each call in that time is told at once.
DEPTH_RETRY_SECONDS = 300.0

#: How the page names the settings a library message refers to (``Setting.name`` -> label).
PAGE_LABELS = {"to": "target light", "source": "source light", "weights": "model", "size": "run size", "mirror_average": "mirror-image box"}

#: How the page words a suggested action, by kind; other kinds keep their Python wording.
PAGE_ACTIONS: dict[str, Callable[[Action], str]] = {
    "pass-weights": lambda a: f"pick {a.arg('what')} in the model list",
    "download": lambda a: f"fetch it on the server with `relight weights download {a.arg('name')}`",
    "import": lambda a: f"import it on the server with `relight weights import {a.arg('file')}`, named {a.arg('name')}",
    "list-weights": lambda a: "the model list",
    "give-depth": lambda a: "drop a depth map beside the photo",
}


class MissingGradio(RelightError, ImportError):
    """Gradio (the extra ``relight[ui]``) is not installed, so the page cannot be built."""


def _page_label(setting: Setting) -> str:
    return PAGE_LABELS.get(setting.name, setting.name.replace("_", " "))


_labelled = labelled(_page_label)


def _page_setting(setting: Setting) -> str:
    """A setting as the page's controls show it: its label and value, a boolean as its box ticked or not."""
    if setting.has_value and isinstance(setting.value, bool):
        return f"{_page_label(setting)} {'ticked' if setting.value else 'unticked'}"
    return _labelled(setting)


#: Settings and actions of a library message in the page's terms: its controls' labels.
page_words = Wording(_page_setting, PAGE_ACTIONS)


def page_message(exc: BaseException, uploads: dict[str, str] | None = None) -> str:
    """The one line the page shows for ``exc``: a library error in page terms, with each upload's
    temporary path (``uploads``: path -> file name) replaced by the name the visitor gave it."""
    if isinstance(exc, (DeviceOutOfMemory, MemoryError)):  # the settings that would use less are not the visitor's
        text = "the server ran out of memory for this photo; try a smaller one"
    elif isinstance(exc, RelightError):
        text = page_words.text(exc)
    else:
        text = f"unexpected {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}".rstrip(": ")
    for path, name in (uploads or {}).items():
        text = text.replace(path, name)
    return one_line(text)


@dataclass(frozen=True)
class ModelInfo:
    """The model a call runs on: its name, architecture, what it does to the light, and where it runs."""

    name: str
    label: str
    illumination: Illumination
    device: str
    precision: str
    #: What runs the network (``torch`` or ``onnxruntime``, :mod:`relight.inference.backend`).
    backend: str = "torch"

    @property
    def any_to_any(self) -> bool:
        return self.illumination.any_to_any

    def describe(self) -> str:
        """``relight-synth-narrow: narrow-w16-d32, one-to-one 6500-N -> 4500-E, on cpu (fp32, onnxruntime)``."""
        return f"{self.name}: {self.label}, {self.illumination.describe()}, on {self.device} ({self.precision}, {self.backend})"


@dataclass(frozen=True)
class Result:
    """One relit upload: the file as ``relight run`` writes it, the pictures the page shows, and facts."""

    relit: Path
    before: Path
    after: Path
    depth_view: Path
    size: tuple[int, int]
    run_size: tuple[int, int]
    mapping: str
    seconds: float
    estimated: bool
    notes: list[str] = field(default_factory=list)
    model: str = ""


def check_upload(path: Path) -> tuple[int, int] | None:
    """Refuse an image over relight's pixel limit from its header, before anything decodes it, and
    return its stored (height, width).

    Only the stored width and height are read (orientation does not change the count); a file Pillow
    cannot open is left to relight's readers, which refuse it, or read it, in their own words (None).
    """
    from PIL import Image, UnidentifiedImageError

    from relight.io.images import MAX_PIXELS, check_input_file
    from relight.errors import InputFileError

    check_input_file(path)
    try:
        with Image.open(path) as im:
            width, height = im.size
    except Image.DecompressionBombError:  # Pillow's own limit, far above relight's, refuses it from the header
        raise InputFileError(path, f"image header claims too many pixels, over the {MAX_PIXELS:,}-pixel limit") from None
    except (UnidentifiedImageError, OSError):
        return None
    if width * height > MAX_PIXELS:
        raise InputFileError(path, f"image header claims {width} x {height} pixels, over the {MAX_PIXELS:,}-pixel limit")
    return height, width


def check_cost(path: Path, size: tuple[int, int] | None, lights: int, most: int = MAX_REQUEST_PIXELS) -> None:
    """Refuse a call that would cost more than ``most`` pixels times lights for an image of ``size``
    (height, width); a size not known from the header (None) is checked once the image is read."""
    if size is None:
        return
    height, width = size
    if height * width * lights > most:
        what = "one light" if lights == 1 else f"{lights} lights"
        raise InputFileError(path, f"{width} x {height} pixels to {what} is more than this page relights in one request "
                                   f"({most / 1e6:,.0f} M pixels x lights: up to {most / lights / 1e6:,.1f} MP for {what})")


def depth_picture(depth: np.ndarray) -> np.ndarray:
    """Depth as a grey ``H x W x 3`` picture in [0, 1], stretched to its own range (near dark, far light)."""
    low, high = float(depth.min()), float(depth.max())
    unit = (depth - low) / (high - low) if high > low else np.zeros_like(depth)
    return np.repeat(unit.astype(np.float32)[..., None], 3, axis=2)


class Service:
    """The models and files behind the page; safe to call from several threads at once.

    ``weights``/``device``/``precision``/``backend`` are as for :meth:`Relighter.from_weights`; ``weights`` None
    means the default model, as the command line chooses it (:func:`relight.weights.default_weights`).
    ``estimate_depth`` gives depth for a photo without a depth file (default: the depth model
    ``depth_model``, a name or folder, None the registry's default, as a
    :class:`relight.depth.estimation.DepthEstimator` loaded on first need and fetched as ``relight run``
    fetches it). ``warn`` is told what loading a model warns about. ``output`` says how
    the relit files are written (by default PNG at the input's bit depth, as ``relight run -o NAME.png``).
    """

    def __init__(
        self,
        weights: str | None = None,
        device: str | None = None,
        *,
        precision: str | None = None,
        backend: str | None = None,
        estimate_depth: Estimate | None = None,
        depth_model: str | None = None,
        warn: Callable[[object], None] | None = None,
        output: OutputOptions | None = None,
    ) -> None:
        from relight.io import OutputOptions
        from relight.weights import default_weights

        self.model = weights or default_weights()  # the default is refused here when it is not on this machine
        self.device = device
        self.precision = precision
        self.backend = backend
        self._estimate = estimate_depth
        self.depth_model = depth_model
        self._warn = warn
        self.output = output or OutputOptions()
        self._lock = threading.Lock()
        self._relighter: Relighter | None = None
        self._name: str | None = None
        self._root = _new_folder("relight-ui-", None)
        self._calls: deque[Path] = deque()
        self._caches: list[Path] = []
        # The files go with the service, or at exit, where its user never closes it.
        self._remove_files = weakref.finalize(self, _remove_folders, self._caches, self._root)
        self._depth_failed: tuple[float, RelightError] | None = None  # when the depth model last failed to load, and why
        #: The most one call may cost, the photo's pixels times its lights (:data:`MAX_REQUEST_PIXELS`).
        self.max_request_pixels = MAX_REQUEST_PIXELS

    def models(self) -> list[str]:
        """The models the page offers, each one that can run here: the page's own model first (the model
        given, else the default), then the registry's (:meth:`missing` has the others)."""
        from relight.weights import load_registry
        from relight.weights.load import unavailable

        try:
            names = [name for name, entry in load_registry().items() if unavailable(entry) is None]
        except RelightError:
            names = []
        return [self.model, *(name for name in names if name != self.model)]

    def missing(self) -> list[RelightError]:
        """For each registry model that cannot run here, why and how to get it."""
        from relight.weights import load_registry
        from relight.weights.load import unavailable

        try:
            return [why for entry in load_registry().values() if (why := unavailable(entry)) is not None]
        except RelightError as exc:
            return [exc]

    def _relighter_for(self, name: str, mirror_average: bool = False) -> Relighter:
        """The model called ``name``, loaded in place of the one held, averaging with the mirror image or not
        for this call (its relights check that the model gives it); lock held."""
        from relight.inference.relighter import Relighter

        if self._relighter is None or self._name != name:
            self._relighter, self._name = None, None  # the old model's memory goes before the new one loads
            self._relighter = Relighter.from_weights(name, device=self.device, precision=self.precision, backend=self.backend, warn=self._warn)
            self._name = name
        self._relighter.mirror_average = mirror_average
        return self._relighter

    def describe(self, weights: str | None = None) -> ModelInfo:
        """What ``weights`` (None or empty: the page's own model) is and where it runs, loading it (a model
        that cannot load raises here)."""
        name = weights or self.model
        with self._lock:
            relighter = self._relighter_for(name)
            return ModelInfo(name, relighter.loaded.config.describe(), relighter.illumination, str(relighter.device),
                             relighter.precision, relighter.backend)

    def cache_folder(self) -> Path:
        """A new folder of this service's own for the page's cached files (:func:`relight.ui.app.private_cache`):
        in ``$GRADIO_TEMP_DIR`` when that is set (the disk chosen for Gradio's files), else in the service's
        folder; :meth:`close` removes it."""
        chosen = os.environ.get("GRADIO_TEMP_DIR")
        parent = Path(chosen) if chosen else self._root
        with self._lock:
            folder = _new_folder("relight-ui-", parent, make_parent=True)
            self._caches.append(folder)
        return folder

    def _call_folder(self) -> Path:
        """A fresh folder for one call's files; the oldest beyond :data:`KEEP_CALLS` are removed."""
        with self._lock:
            folder = _new_folder("call-", self._root)
            self._calls.append(folder)
            while len(self._calls) > KEEP_CALLS:
                shutil.rmtree(self._calls.popleft(), ignore_errors=True)
        return folder

    def _estimate_depth(self, rgb: np.ndarray) -> np.ndarray:
        """Depth for ``rgb`` from the depth model, loaded on first need. A failure to load is remembered
        for :data:`DEPTH_RETRY_SECONDS`: the calls in that time are told at once, without holding the
        queue for another try, and the first call after it tries again (a model fetched meanwhile is found)."""
        from relight.depth.estimation import DepthEstimator

        with self._lock:
            if self._estimate is None:
                failed = self._depth_failed
                if failed is not None and time.monotonic() - failed[0] < DEPTH_RETRY_SECONDS:
                    raise failed[1]
                try:
                    self._estimate = DepthEstimator.load(self.depth_model, device=self.device)
                except RelightError as exc:
                    self._depth_failed = (time.monotonic(), exc)
                    raise
                self._depth_failed = None
            estimate = self._estimate
        return estimate(rgb)

    def limits(self) -> str:
        """What the page bounds, in a line for its visitors."""
        from relight.io.images import MAX_PIXELS

        side = math.isqrt(MAX_PIXELS)
        all_lights = self.max_request_pixels / len(ALL_LIGHTS) / 1e6
        return (f"Limits: photos and depth maps up to {side} x {side} pixels, and {self.max_request_pixels / 1e6:,.0f} M pixels x lights "
                f"per request (All 40: photos up to {all_lights:.1f} MP); uploads up to {MAX_UPLOAD.upper()}; pickled depth files "
                "only as VIDIT writes them (a dict of arrays, nothing that runs code or expands).")

    def _read(self, image: Path, depth: Path | None, depth_kind: str) -> DecodedPair:
        """The image and its depth as ``relight run`` reads them, the depth estimated when none is given
        (after the image has been read: a bad upload is told as such, without loading a depth model)."""
        from relight.data.pairs import InferencePair, load_pair

        return load_pair(InferencePair(image.stem, image, depth), depth_kind, self._estimate_depth if depth is None else None)

    def preview(self, image: str | Path) -> Path:
        """The upload as relight reads it (upright, in sRGB), as an 8-bit PNG for the page to show, at most
        :data:`PREVIEW_SIDE` pixels on its longer side."""
        from PIL import Image

        from relight.io import read_image, write_image

        image = Path(image)
        check_upload(image)
        picture = Image.fromarray(np.rint(np.clip(read_image(image).rgb, 0, 1) * 255).astype(np.uint8))
        picture.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.LANCZOS)
        return write_image(self._call_folder() / "photo.png", np.asarray(picture), None, 8)

    def relight(self, image: str | Path, depth: str | Path | None = None, target: str | None = None,
                weights: str | None = None, depth_kind: str = "auto", mirror_average: bool = False) -> Result:
        """Relight ``image`` (with ``depth``, its values taken as ``depth_kind`` says, else estimated depth)
        to ``target`` (text such as ``2500-W``; None or empty: the model's own target) with the model
        ``weights`` (None: the page's own model), averaged with its mirror image with
        ``mirror_average`` (``Relighter(mirror_average=True)``)."""
        from relight.io import write_image
        from relight.io.depth import check_depth_kind

        start = time.perf_counter()
        image = Path(image)
        check_cost(image, check_upload(image), 1, self.max_request_pixels)
        check_depth_kind(depth_kind)
        to = target.strip() if target and target.strip() else None
        name = weights or self.model
        item = self._read(image, Path(depth) if depth else None, depth_kind)
        check_cost(image, item.image.size, 1, self.max_request_pixels)
        with self._lock:
            relighter = self._relighter_for(name, mirror_average)
            lit, _ = relighter.lights(to)
            mapping = relighter.mapping(to)
            run_size = relighter.run_size(item.image.size)
            rgb = relighter.relight(item.image.rgb, item.depth, to=to)
        folder = self._call_folder()
        stem = f"{image.stem}_{lit.file_tag if lit is not None else 'relit'}{self.output.ext}"
        relit = self.output.write(folder / stem, rgb, item.image.alpha, item.image.meta)
        seconds = time.perf_counter() - start
        before = write_image(folder / "before.png", item.image.rgb, None, 8)
        after = write_image(folder / "after.png", rgb, None, 8)
        depth_view = write_image(folder / "depth.png", depth_picture(item.depth), None, 8)
        notes = [one_line(page_words.text(note)) for note in item.warnings]
        return Result(relit, before, after, depth_view, item.image.size, run_size, mapping, seconds, item.estimated, notes, name)

    def sheet(self, image: str | Path, depth: str | Path | None = None, weights: str | None = None, depth_kind: str = "auto",
              mirror_average: bool = False) -> Path:
        """The contact sheet of ``image`` relit to every light the model gives (an any-to-any model's 40),
        each light placed in its cell as it is made and then let go (``mirror_average``: as :meth:`relight`)."""
        from relight.io.depth import check_depth_kind
        from relight.weights.registry import any_to_any_models
        from relight.evaluation.sheet import LightSheet, write_picture

        image = Path(image)
        size = check_upload(image)
        check_depth_kind(depth_kind)
        name = weights or self.model
        with self._lock:
            relighter = self._relighter_for(name, mirror_average)
            if not relighter.illumination.any_to_any:
                raise InvalidSetting(Setting("weights", name), f"{name} is {relighter.illumination.describe()}: "
                                     "a contact sheet of all the lights needs an any-to-any model", *any_to_any_models())
            lights = relighter.illumination.targets
        check_cost(image, size, len(lights), self.max_request_pixels)
        item = self._read(image, Path(depth) if depth else None, depth_kind)
        check_cost(image, item.image.size, len(lights), self.max_request_pixels)
        with self._lock:
            relighter = self._relighter_for(name, mirror_average)
            cells = LightSheet(lights, item.image.size)
            for light, version in zip(lights, relighter.relight_each(item.image.rgb, item.depth, list(lights))):
                cells.place_light(light, version)
                del version
        return write_picture(self._call_folder() / f"{image.stem}_sheet.png", cells.picture())

    def close(self) -> None:
        """Drop the model and remove every file written."""
        with self._lock:
            self._relighter, self._name = None, None
            self._calls.clear()
            self._remove_files()


def _remove_folders(caches: list[Path], root: Path) -> None:
    for folder in (*caches, root):
        shutil.rmtree(folder, ignore_errors=True)
    caches.clear()


def _new_folder(prefix: str, parent: Path | None, make_parent: bool = False) -> Path:
    """A new private folder in ``parent`` (None: the system's temporary folder; ``make_parent``: made when
    missing); a full disk or a folder that cannot be written is an :class:`~relight.io.output.OutputFileError`
    naming where, not a bare OSError."""
    from relight.io.output import cannot_write

    try:
        if make_parent and parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    except OSError as exc:
        raise cannot_write(parent or Path(tempfile.gettempdir()), exc) from exc
