"""MBNet as an ONNX file: the export, the facts written into it, reading them back, and relight's cache.

An exported file has dynamic batch, height and width (multiples of 32), an input ``light`` for an
any-to-any model, and in its metadata what relight needs to run it without the checkpoint: the
model's name, the sha256 of the weights it came from, its config and provenance (``trained_at``, the
illumination) and relight's version (:data:`FORMAT` marks it as relight's). The export is torch's
TorchScript-based exporter (``dynamo=False``), which needs the ``onnx`` package to serialise the graph;
relight also writes the metadata with it.

The cache (:func:`cache_folder`, in :func:`relight.weights.registry.user_home`) holds one export per
(weights sha256, relight version, opset, precision): a model's first run on ONNX Runtime exports it
once, later runs load the file. Every file is written atomically, so a process killed during an export
leaves no file that a later run would take for finished. A model that does not export (or whose
export disagrees with torch) gets a ``.failed`` note beside where its file would go, so later runs of
the same version do not try again.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from relight.errors import InputFileError, OutputFileError, RelightError, action, first_line
from relight.io.output import atomic_output, check_output_path, remove_stale_temporaries, write_json
from relight.lighting import Illumination, encode_lights
from relight.model import MBNet, MBNetConfig
from relight.model.blocks import use_dynamic_conv
from relight.model.checkpoint import LoadedModel
from relight.model.fold import fold_batchnorm
from relight.weights.converted import checkpoint_sha256
from relight.weights.registry import user_home

#: Marks an ONNX file as relight's export (metadata key ``relight_format``).
FORMAT = "relight-onnx/1"
#: The ONNX opset relight exports to.
OPSET = 18
#: The exports' folder in :func:`relight.weights.registry.user_home`.
FOLDER = "onnx"
#: Largest difference to torch, in fp32, at which an export is taken as right (the issue's bar, and the
#: golden test's tolerance).
FP32_TOLERANCE = 1e-4
#: The same for an fp16 export, against torch in fp32.
FP16_TOLERANCE = 5e-2
#: Seeded inputs an export is checked on: (images, height, width, lights).
CHECK_SHAPES = ((1, 64, 96, 1), (2, 96, 64, 2))
#: Input names of an exported network, in its argument order.
INPUTS = ("rgb", "depth", "light")

Stage = Callable[[str], None]


class ExportError(RelightError):
    """The network could not be exported, or its export disagrees with torch."""


class NotRelightOnnx(InputFileError):
    """An ONNX file without relight's metadata: relight cannot tell what it does to the light."""


@dataclass
class ExportedModel:
    """An exported ONNX file and what its metadata says: enough to run it without the checkpoint."""

    path: Path
    config: MBNetConfig
    provenance: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    sha256: str = ""
    precision: str = "fp32"
    source: str = ""
    #: Whether this is the export relight's cache holds for a weights file (:func:`cached_export`,
    #: :func:`cached_model`): it stands for those weights, rather than being a file given to run.
    cached: bool = False


def weights_sha256(loaded: LoadedModel) -> str:
    """The sha256 that names ``loaded``'s exports: of the weights file it came from, or (a model built or
    trained in this process) of its config and tensors."""
    if loaded.sha256:
        return loaded.sha256
    if loaded.file is not None:
        loaded.sha256 = checkpoint_sha256(loaded.file)
        return loaded.sha256
    return _content_sha256(loaded)


def _content_sha256(loaded: LoadedModel) -> str:
    """A sha256 of ``loaded``'s config and tensors: what names a model that no file describes."""
    digest = hashlib.sha256(loaded.config.to_json().encode())
    for key, tensor in loaded.model.state_dict().items():
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def export_key(loaded: LoadedModel, precision: str) -> str:
    """The sha256 that names ``loaded``'s cached export: its weights file's (:func:`weights_sha256`),
    unless the export cached under that name holds another config, as when a model's config is changed
    after loading (``benchmarks/borders.py`` sets the margin so): then a sha256 of its config and tensors,
    so that the export run is always the model in hand."""
    sha256 = weights_sha256(loaded)
    try:
        cached = cached_model(sha256, precision, loaded.source)
    except RelightError:
        return sha256  # an export that cannot be read is the session's to report, under its own name
    if cached is None or cached.config == loaded.config:
        return sha256
    return _content_sha256(loaded)


def cache_folder() -> Path:
    """Where relight keeps its exports: ``onnx/`` in :func:`relight.weights.registry.user_home`."""
    return user_home() / FOLDER


def cache_path(sha256: str, precision: str = "fp32") -> Path:
    """The cached export of the weights with ``sha256``, for this relight version, opset and precision."""
    from relight import __version__

    return cache_folder() / f"{sha256}.relight-{__version__}.opset{OPSET}.{precision}.onnx"


def optimized_path(path: Path) -> Path:
    """Where ONNX Runtime's CPU-optimised graph of the cached export ``path`` is kept. That graph is laid out
    for this CPU's vector width by this ONNX Runtime version, so both name it: a cache shared between
    machines keeps one per kind of CPU."""
    import platform

    import onnxruntime as ort

    cpu = platform.machine() + platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            cpu += next((line for line in fh if line.startswith(("flags", "Features"))), "")
    except OSError:
        pass  # not Linux: the machine and processor names stand for the CPU
    fingerprint = hashlib.sha256(f"{ort.__version__}|{cpu}".encode()).hexdigest()[:16]
    return path.with_name(f"{path.stem}.cpu-{fingerprint}.onnx")


def model_name(loaded: LoadedModel) -> str:
    """A short name for the metadata: the registry name, else the weights file's stem."""
    source = loaded.source.split(" (")[0]
    return Path(source).stem if source else loaded.config.describe()


def metadata(loaded: LoadedModel, sha256: str, precision: str) -> dict[str, str]:
    """The metadata an export carries (all strings, as ONNX's ``metadata_props`` hold them)."""
    from relight import __version__
    from relight.model.provenance import trained_at

    illumination = Illumination.recorded(loaded.config.any_to_any, loaded.provenance)
    size = trained_at(loaded.provenance)
    return {
        "relight_format": FORMAT,
        "relight_version": __version__,
        "model_name": model_name(loaded),
        "weights_sha256": sha256,
        "trained_at": "" if size is None else f"{size[0]}x{size[1]}",
        "illumination": illumination.describe(),
        "precision": precision,
        "opset": str(OPSET),
        "config": loaded.config.to_json(),
        "provenance": json.dumps(loaded.provenance, sort_keys=True),
    }


class _Network(nn.Module):
    """The network as it is exported: float32 in and out, ``fp16`` inside when asked."""

    def __init__(self, model: MBNet, fp16: bool) -> None:
        super().__init__()
        self.model, self.fp16 = model, fp16

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor, light: torch.Tensor | None = None) -> torch.Tensor:
        if self.fp16:
            rgb, depth = rgb.half(), depth.half()
            light = None if light is None else light.half()
        return self.model(rgb, depth, light).float()


def seeded_inputs(config: MBNetConfig, images: int, height: int, width: int, lights: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Reproducible inputs for a network of ``config``: rgb, depth and (any-to-any) ``lights`` light rows."""
    from relight.lighting import ALL_LIGHTS

    generator = torch.Generator().manual_seed(seed)
    rgb = torch.rand(images, 3, height, width, generator=generator)
    depth = torch.rand(images, 1, height, width, generator=generator)
    if not config.any_to_any:
        return rgb, depth
    picks = torch.randint(len(ALL_LIGHTS), (lights,), generator=generator).tolist()
    return rgb, depth, encode_lights([ALL_LIGHTS[i] for i in picks])


@contextmanager
def exportable(model: MBNet) -> Iterator[MBNet]:
    """``model`` ready to trace: in eval mode, BatchNorm folded and the shift-based dynamic convolution
    (what relight's torch path runs too), the full-resolution end in one piece (the banded one loops
    over rows in Python, which a trace would fix to one height); ``tail_rows`` is put back after."""
    tail = model.tail_rows
    if model.training:
        raise ExportError("the model is in training mode: call model.eval() first")
    if any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
        fold_batchnorm(model, inplace=True)
    use_dynamic_conv(model, "shift")
    model.tail_rows = None
    try:
        yield model
    finally:
        model.tail_rows = tail


def export_network(model: MBNet, path: str | os.PathLike[str], props: dict[str, str], *, fp16: bool = False,
                   stage: Stage | None = None, check: Callable[[Path], None] | None = None) -> Path:
    """Write ``model`` (changed in place as :func:`exportable` says) to ``path`` as ONNX with the metadata
    ``props``; raises :class:`ExportError` when torch cannot export it. The file is written atomically,
    and ``check`` (given the finished temporary file) may refuse it before it takes its place."""
    import onnx

    say = stage or (lambda _text: None)
    with exportable(model) as prepared, torch.inference_mode(False), torch.no_grad():
        net = _Network(copy.deepcopy(prepared).half() if fp16 else prepared, fp16).eval()
        sample = seeded_inputs(model.config, 2, 64, 64, 2, seed=0)
        names = list(INPUTS[: len(sample)])
        axes = {name: {0: "images", 2: "height", 3: "width"} for name in ("rgb", "depth")}
        axes["relit"] = {0: "outputs", 2: "height", 3: "width"}
        if model.config.any_to_any:
            axes["light"] = {0: "outputs"}
        buffer = io.BytesIO()
        say(f"exporting the network to ONNX (opset {OPSET}{', fp16' if fp16 else ''})")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the tracer's notes on the Python values it fixes
                torch.onnx.export(net, sample, buffer, input_names=names, output_names=["relit"], dynamic_axes=axes,
                                  opset_version=OPSET, dynamo=False, do_constant_folding=True)
        except Exception as exc:  # noqa: BLE001 - any exporter failure means: this model does not export
            raise ExportError(f"torch cannot export this network to ONNX ({type(exc).__name__}: {first_line(exc)[:300]})") from None
    say("writing the ONNX file")
    proto = onnx.load_model_from_string(buffer.getvalue())
    del buffer
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    with atomic_output(path) as tmp:
        onnx.save_model(proto, str(tmp))
        del proto
        if check is not None:
            check(tmp)
    return Path(path)


def read_exported(path: str | os.PathLike[str]) -> ExportedModel:
    """The facts relight wrote into an exported file; a file without them is refused in one line."""
    path = Path(path)
    return _model_from(path, _exported_props(path), str(path))


def _exported_props(path: Path) -> dict[str, str]:
    """The metadata relight wrote into the exported file at ``path`` (refused in one line without it)."""
    import onnxruntime as ort

    if not path.is_file():
        raise InputFileError(path, "no such file")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # only the metadata is read here
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - ONNX Runtime's own error types: any means not a readable model
        raise InputFileError(path, f"not a readable ONNX model ({first_line(exc)[:200]})") from None
    props = session.get_modelmeta().custom_metadata_map
    if props.get("relight_format") != FORMAT:
        raise NotRelightOnnx(path, "an ONNX file without relight's metadata, so what it does to the light is unknown; ",
                             action("export", "export the weights with relight.inference.export.export_weights"))
    return dict(props)


def _model_from(path: Path, props: dict[str, str], source: str) -> ExportedModel:
    """:func:`_from_metadata`, with damaged metadata refused in one line naming the file."""
    try:
        return _from_metadata(path, props, source)
    except (KeyError, ValueError, TypeError) as exc:
        raise InputFileError(path, f"damaged relight metadata ({exc})") from None


def _from_metadata(path: Path, props: dict[str, str], source: str) -> ExportedModel:
    """The :class:`ExportedModel` that :func:`metadata`'s ``props`` describe (KeyError, ValueError or
    TypeError where they are damaged)."""
    config = MBNetConfig.from_json(props["config"])
    provenance = json.loads(props.get("provenance", "{}"))
    if not isinstance(provenance, dict):
        raise TypeError("provenance is not a JSON object")
    return ExportedModel(path, config, provenance, props.get("model_name", ""), props.get("weights_sha256", ""),
                         props.get("precision", "fp32"), source)


def facts_path(path: Path) -> Path:
    """Where the cache keeps a copy of an export's metadata beside it: reading the metadata from the ONNX
    file itself means parsing the whole model (the paper network's 600 MB)."""
    return path.with_suffix(".json")


def cached_model(sha256: str, precision: str, source: str) -> ExportedModel | None:
    """The cached export of the weights with ``sha256`` (see :func:`cached_export`) if there is one, read
    without loading those weights or the export: what a run on ONNX Runtime needs of a model seen before.
    ``source`` names the weights, as :attr:`LoadedModel.source` would."""
    path = cache_path(sha256, precision)
    if not path.is_file():
        return None
    try:
        props = json.loads(facts_path(path).read_text(encoding="utf-8"))
        if props.get("relight_format") != FORMAT or props.get("weights_sha256") != sha256:
            raise ValueError("not this export's metadata")
        found = _from_metadata(path, props, source)
    except (OSError, KeyError, ValueError, TypeError, AttributeError):  # no copy beside it (an older cache), or a damaged one
        props = _exported_props(path)
        found = _model_from(path, props, source)
        if props.get("weights_sha256") == sha256:
            _keep_facts(path, props)  # so that later runs need not parse the export again
    found.cached = True
    return found


def _keep_facts(path: Path, props: dict[str, str]) -> None:
    """Write the copy of an export's metadata beside it; a cache that cannot take it still works, reading
    the metadata from the export itself."""
    try:
        write_json(facts_path(path), props)
    except (OSError, RelightError):
        pass


def largest_difference(model: MBNet, path: str | os.PathLike[str], shapes: tuple[tuple[int, int, int, int], ...] = CHECK_SHAPES,
                       seed: int = 0) -> float:
    """The largest absolute difference between ``model`` in torch (fp32) and the export at ``path`` (ONNX
    Runtime on the CPU), over seeded inputs of ``shapes`` ((images, height, width, lights) each)."""
    from relight.inference.backend import OnnxNetwork

    network = OnnxNetwork(path, torch.device("cpu"))
    worst = 0.0
    with exportable(model) as prepared, torch.no_grad():
        for i, (images, height, width, lights) in enumerate(shapes):
            inputs = seeded_inputs(model.config, images, height, width, lights, seed + i)
            expected = prepared(*inputs)
            worst = max(worst, float((network(*inputs) - expected).abs().max()))
    return worst


@dataclass(frozen=True)
class Exported:
    """What :func:`export_weights` wrote: the file, its metadata, and (when checked) the largest
    difference to torch over the seeded inputs of :data:`CHECK_SHAPES`."""

    path: Path
    props: dict[str, str]
    difference: float | None = None

    @property
    def tolerance(self) -> float:
        """The bar the difference is held to: :data:`FP32_TOLERANCE`, or :data:`FP16_TOLERANCE` for fp16."""
        return FP16_TOLERANCE if self.props.get("precision") == "fp16" else FP32_TOLERANCE


def export_weights(loaded: LoadedModel, path: str | os.PathLike[str], *, fp16: bool = False, check: bool = False,
                   stage: Stage | None = None) -> Exported:
    """Export a loaded model to ``path`` (the model changes in place as :func:`exportable` says), with
    relight's metadata; ``check`` compares it with torch in fp32 on seeded inputs afterwards."""
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        raise OutputFileError(path, "an ONNX export's file name ends in .onnx")
    check_output_path(path)
    precision = "fp16" if fp16 else "fp32"
    props = metadata(loaded, weights_sha256(loaded), precision)
    export_network(loaded.model, path, props, fp16=fp16, stage=stage)
    if not check:
        return Exported(path, props)
    if stage:
        stage("comparing with torch on seeded inputs")
    return Exported(path, props, largest_difference(loaded.model, path))


def cached_export(loaded: LoadedModel, precision: str = "fp32", stage: Stage | None = None, sha256: str | None = None) -> Path:
    """The cached export of ``loaded`` (exported now, and checked against torch, if there is none);
    raises :class:`ExportError` for a model that does not export, now or in an earlier run.
    ``sha256``: :func:`weights_sha256` of ``loaded``, where the caller has it already."""
    sha256 = sha256 or weights_sha256(loaded)
    path = cache_path(sha256, precision)
    failed = path.with_suffix(".failed")
    if path.is_file():
        return path
    if failed.is_file():
        raise ExportError(failed.read_text(encoding="utf-8").strip() + " (an earlier run found so)")
    if path.parent.is_dir():
        remove_stale_temporaries(path.parent)  # what killed exports left
    say = stage or (lambda _text: None)
    say(f"exporting {model_name(loaded)} to ONNX once, into {path.parent}")
    tolerance = FP32_TOLERANCE if precision == "fp32" else FP16_TOLERANCE

    def check(written: Path) -> None:
        say("checking the export against torch")
        worst = largest_difference(loaded.model, written)
        if not worst <= tolerance:
            raise ExportError(f"the ONNX export differs from torch by {worst:.2g} on seeded inputs (more than {tolerance:g})")

    props = metadata(loaded, sha256, precision)
    try:
        export_network(loaded.model, path, props, fp16=precision == "fp16", stage=stage, check=check)
    except ExportError as exc:
        with atomic_output(failed) as tmp:
            tmp.write_text(str(exc) + "\n", encoding="utf-8")
        raise
    _keep_facts(path, props)
    return path


__all__ = ["CHECK_SHAPES", "FOLDER", "FORMAT", "FP16_TOLERANCE", "FP32_TOLERANCE", "INPUTS", "OPSET", "ExportError", "Exported", "ExportedModel",
           "NotRelightOnnx", "cache_folder", "cache_path", "cached_export", "cached_model", "facts_path", "export_key", "export_network", "export_weights", "exportable", "largest_difference", "metadata",
           "model_name", "optimized_path", "read_exported", "seeded_inputs", "weights_sha256"]
