"""A training run's settings: :class:`TrainConfig`, its TOML form, and the order in which sources win.

Imports neither torch nor numpy, so the command line can build ``train``'s options from the fields
(each field's ``metadata`` holds its help text and, where they differ from ``--name``, its flags).
"""

from __future__ import annotations

import json
import os
import tomllib
import types
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin, get_type_hints

from relight.errors import InvalidSetting, Part, RelightError, Setting
from relight.model.config import HINT_FOV_DEG, HINT_PITCH_DEG, HINTS, LIGHT_HINTS, MARGINS

if TYPE_CHECKING:
    from relight.lighting import Light as Lighting
    from relight.model import MBNetConfig

CONFIG_FILE = "config.toml"
#: Settings that are paths: relative ones are taken from a TOML file's folder, or the working directory.
PATH_FIELDS = ("data", "val_data", "val_gt_dir", "out")
#: How an any-to-any model takes its lights unless ``conditioning`` says otherwise.
DEFAULT_CONDITIONING = "film"
#: Fewer batches an epoch than this and the default is no worker processes: they start anew each epoch.
FEW_BATCHES = 10
#: The share of any-to-any draws that are identity pairs (source = target) unless told otherwise: enough
#: that the same light gives the photo back, few enough that nine draws in ten still relight.
IDENTITY_PAIRS = 0.1
#: The margin of a new model unless told otherwise (:data:`relight.model.config.MARGINS`).
DEFAULT_MARGIN = MARGINS[-1]
#: Settings whose default changes what a run trains on, at the value that kept it as it was before the
#: setting existed: a run folder saved then resumes as it was trained.
BEFORE_THEY_EXISTED: dict[str, Any] = {"identity_pairs": 0.0, "margin": 0, "depth_skips": False, "hints": "none"}
#: The hints of a new any-to-any model unless told otherwise: of none, normals and normals+shadows, the
#: shadows gained the most over identity on the leave-one-renderer-out set, on the same data and budget,
#: and the shading added to them gained nothing lasting (docs/training.md, geometry hints).
DEFAULT_ANY_TO_ANY_HINTS = "normals+shadows"
#: The largest factor ``scales`` may rescale a batch by: beyond it a typo would run the machine out of memory.
MAX_SCALE = 4.0


class TrainError(RelightError, ValueError):
    """A training run that cannot start, continue or go on (bad settings, data, run folder, divergence)."""


class TrainSettingError(TrainError, InvalidSetting):
    """A training setting that is malformed, out of range or at odds with another: ``setting`` names it."""


def _help(text: str) -> dict[str, Any]:
    """A field's help; other settings are named ``{name}``, which the command line words as its flags."""
    return {"help": text}


def _setting(name: str, value: Any = None, shown: str | None = None) -> Setting:
    return Setting(name, owner="TrainConfig") if value is None else Setting(name, value, owner="TrainConfig", shown=shown)


@dataclass
class TrainConfig:
    """Everything a training run depends on. Defaults are the paper's recipe (section 4.1)."""

    data: list[str] = field(default_factory=list, metadata=_help(
        "Training data: any-to-any VIDIT folders or one-to-one train folders (input/ + target/)."))
    out: str = field(default="", metadata=_help("Run folder for checkpoints, metrics and the resolved config."))
    source: str = field(default="6500-N", metadata=_help("Input setting, TEMPERATURE-DIRECTION (default: 6500-N)."))
    target: str = field(default="4500-E", metadata=_help("Target setting (default: 4500-E)."))
    neighbours: bool = field(default=True, metadata=_help(
        "Extra data: inputs lit from the two directions next to the source (default: on)."))
    mirror: bool = field(default=True, metadata=_help(
        "Extra data: flipped pairs at the mirrored directions; with {any_to_any}, half the draws flipped (default: on)."))
    any_to_any: bool = field(default=False, metadata=_help(
        "Train one model for any source -> target light of any-to-any data ({source}, {target} and "
        "{neighbours} then do not apply) (default: off)."))
    sources: str = field(default="all", metadata=_help(
        "{any_to_any}: source lights to draw, comma-separated (e.g. 6500-N,4500-E) or all (default: all)."))
    targets: str = field(default="all", metadata=_help("{any_to_any}: target lights to draw, as {sources} (default: all)."))
    pairs_per_epoch: int | None = field(default=None, metadata=_help(
        "{any_to_any}: (scene, source, target) pairs drawn per epoch (default: 4 per training scene)."))
    withhold_source: float = field(default=0.5, metadata=_help(
        "{any_to_any}: probability that a pair hides its source light from the network, so that it "
        "relights without being told it (default: 0.5)."))
    identity_pairs: float = field(default=IDENTITY_PAIRS, metadata=_help(
        "{any_to_any}: share of the drawn pairs that are identity pairs (source = target: the input is its own "
        f"answer), so that asking for the input's own light gives it back (default: {IDENTITY_PAIRS})."))
    identity_claims: float = field(default=0.0, metadata=_help(
        "{any_to_any}: share of the identity pairs told their source that are told a light drawn at random, the input "
        "still the answer, so that a photograph said to be under a light comes back unchanged, whatever it looks like (default: 0)."))
    cycle_weight: float = field(default=0.0, metadata=_help(
        "{any_to_any}: weight of a second loss: each pair's output relit back to its source light (told as the pair is), "
        "against its input; the first pass is not trained through it. It teaches the network to relight images it made, "
        "as the round trip A -> B -> A asks (default: 0)."))
    val_pairs: int | None = field(default=None, metadata=_help(
        "{any_to_any}: size of the fixed, seeded validation sample of pairs (default: 4 per validation scene)."))
    val_data: str | None = field(default=None, metadata=_help("Validation folder (validation, one-to-one or any-to-any layout)."))
    val_gt_dir: str | None = field(default=None, metadata=_help("Ground truth of {val_data} (default: its sibling FOLDER_gt)."))
    depth_kind: str = field(default="auto", metadata=_help(
        "What the depth files hold: auto, normalised (VIDIT's), metric (distances) or disparity, as for run and eval "
        "(default: auto)."))
    val_scenes: int | float | None = field(default=None, metadata=_help(
        "Hold out this many scenes (or this fraction, < 1) of the training data for validation."))
    backbone: str = field(default="resnet50", metadata=_help(
        "resnet50 (paper), resnet34, resnet18 or narrow (default: resnet50)."))
    width: int = field(default=64, metadata=_help("Base width of the narrow backbone (default: 64)."))
    decoder_channels: int = field(default=64, metadata=_help("Width of the fusion/decoder path (default: 64)."))
    residual: bool = field(default=True, metadata=_help("Predict relu(input + residual), as the paper (default: on)."))
    conditioning: str | None = field(default=None, metadata=_help(
        "{any_to_any}: how the lights enter the network: film or planes (default: film)."))
    hints: str | None = field(default=None, metadata=_help(
        "Geometry the depth stream is given besides the depth: none (the paper), normals (from depth), "
        "normals+shadows (also screen-space shadows towards the lights; with {any_to_any}), or normals+shadows+shading "
        "(also each light's diffuse shading; with {any_to_any}) (default: normals+shadows with {any_to_any}, which measured best, else none)."))
    hint_fov: float = field(default=HINT_FOV_DEG, metadata=_help(
        f"{{hints}}: the camera's field of view across the image's width, in degrees, the hints assume (default: {HINT_FOV_DEG:g})."))
    hint_pitch: float = field(default=HINT_PITCH_DEG, metadata=_help(
        f"{{hints}}: how far the camera looks below the horizon, in degrees, the shadow hints assume (default: {HINT_PITCH_DEG:g})."))
    depth_skips: bool = field(default=True, metadata=_help(
        "Give the decoder the depth encoder's 1/2 and 1/4 features too; the paper's reads depth at 1/8 and coarser "
        "only, and its changes spread round depth edges as halos (default: on)."))
    margin: int | None = field(default=None, metadata=_help(
        f"Pixels of the input reflected on every side before the network runs, and cropped from its output: 0 "
        f"or {DEFAULT_MARGIN}. Without one, the image's borders meet the network's zero padding and come out tinted "
        f"(default: {DEFAULT_MARGIN}, or with {{init}} that model's own)."))
    init: str | None = field(default=None, metadata=_help(
        "{any_to_any}: start from this model (registry name, .safetensors or the authors' .pkl), initialised to give "
        "its outputs exactly: a one-to-one model for every light, or a FiLM any-to-any model to fine-tune (default: off)."))
    imagenet: bool | None = field(default=None, metadata=_help(
        "Initialise ResNet encoders from ImageNet weights in the torch cache (default: on for resnets)."))
    charbonnier_weight: float = field(default=1.0, metadata=_help("Weight of the Charbonnier loss (default: 1.0)."))
    ssim_weight: float = field(default=1.1, metadata=_help("Weight of the -SSIM loss (default: 1.1)."))
    perceptual_weight: float = field(default=0.1, metadata=_help(
        "Weight of the perceptual loss (L1 of VGG-19 conv3_3 features); 0 drops it (default: 0.1)."))
    charbonnier_eps: float = field(default=1e-3, metadata=_help("Charbonnier epsilon (default: 1e-3)."))
    lr: float = field(default=1e-4, metadata=_help("Adam learning rate (default: 1e-4)."))
    beta1: float = field(default=0.5, metadata=_help("Adam beta1 (default: 0.5)."))
    beta2: float = field(default=0.999, metadata=_help("Adam beta2 (default: 0.999)."))
    batch_size: int = field(default=3, metadata=_help("Examples per step (per process under torchrun) (default: 3)."))
    epochs: int = field(default=200, metadata=_help("Epochs (default: 200)."))
    milestones: list[int] = field(default_factory=lambda: [50], metadata=_help(
        "Epochs after which the learning rate is multiplied by {lr_decay}, comma-separated (default: 50)."))
    lr_decay: float = field(default=0.1, metadata=_help("Learning-rate factor at each milestone (default: 0.1)."))
    size: list[int] | None = field(default=None, metadata=_help("Resize every image to N or HxW (default: off)."))
    crop: list[int] | None = field(default=None, metadata=_help("Random N or HxW crop, after {size} (default: off)."))
    scales: list[float] | None = field(default=None, metadata=_help(
        "Rescale each batch by a random factor between LOW,HIGH (e.g. 0.5,1.5), drawn per step, after {size} and "
        "{crop}, so that the network works at sizes other than its training size (default: off)."))
    workers: int | None = field(default=None, metadata=_help(
        "DataLoader worker processes (default: min(4, CPU cores - 1); none on 2 cores or fewer, "
        f"or when an epoch is under {FEW_BATCHES} batches, as workers start anew each epoch)."))
    seed: int = field(default=0, metadata=_help(
        "Seed of initialisation, example order, crops and the scene split (default: 0)."))
    device: str | None = field(default=None, metadata=_help("cuda, cuda:N, mps or cpu (default: best available)."))
    amp: bool | None = field(default=None, metadata=_help(
        "Mixed precision: bf16 (Ampere and newer, and the CPU), or fp16 with loss scaling on older CUDA cards "
        "(default: on for CUDA)."))
    val_every: int = field(default=1, metadata=_help("Validate every N epochs (default: 1)."))
    max_steps: int | None = field(default=None, metadata=_help(
        "Stop after this many steps in all (a checkpoint is written there) (default: off)."))

    def model_config(self) -> MBNetConfig:
        from relight.model import MBNetConfig

        conditioning = (self.conditioning or DEFAULT_CONDITIONING) if self.any_to_any else "none"
        hints = self.hints or (DEFAULT_ANY_TO_ANY_HINTS if self.any_to_any else "none")
        try:
            return MBNetConfig(self.backbone, self.width, self.decoder_channels, self.residual, conditioning=conditioning,
                               hints=hints, hint_fov_deg=self.hint_fov, hint_pitch_deg=self.hint_pitch,
                               margin=DEFAULT_MARGIN if self.margin is None else self.margin, depth_skips=self.depth_skips)
        except ValueError as exc:
            raise TrainError(f"model: {exc}") from None

    def use_imagenet(self) -> bool:
        """ImageNet initialisation: on by default for the ResNet backbones; ``narrow`` has no such weights,
        and a run started from ``init`` takes its encoders from there."""
        if self.init is not None:
            return False
        return self.backbone != "narrow" if self.imagenet is None else self.imagenet

    def settings(self) -> tuple[Lighting, Lighting]:
        from relight.lighting import Light

        return Light.parse(self.source), Light.parse(self.target)

    def light_sets(self) -> tuple[tuple[Lighting, ...], tuple[Lighting, ...]]:
        """The source and target lights any-to-any training draws from."""
        from relight.data.anytoany import parse_lights

        try:
            return parse_lights(self.sources, "sources"), parse_lights(self.targets, "targets")
        except InvalidSetting as exc:
            raise TrainSettingError(exc.setting, *exc.parts) from None

    def mapping(self) -> str:
        """The illumination the run learns, in words: ``6500-N -> 4500-E`` or ``any-to-any (...)``."""
        if not self.any_to_any:
            return f"{self.source} -> {self.target}"
        return f"any-to-any ({self.sources} -> {self.targets}, {self.conditioning or DEFAULT_CONDITIONING})"

    def loader_workers(self, batches_per_epoch: int) -> int:
        """``workers``, or when not set the default its help describes, for this machine and this data."""
        if self.workers is not None:
            return self.workers
        return default_workers(batches_per_epoch)

    def validate(self) -> None:
        """Refuse settings that cannot train, naming the setting (never a command-line flag)."""
        if not self.data:
            _refuse(_setting("data"), "no training data: give one or more ", _setting("data"), " folders")
        if not self.out:
            run_dir = _setting("out", "RUN_DIR", "RUN_DIR")
            _refuse(run_dir, "no run folder: pass ", run_dir)
        self.settings()
        _check_any_to_any(self)
        self._check_model()
        self.model_config()
        if self.backbone == "narrow" and self.imagenet:
            _refuse(_setting("imagenet", True), _setting("imagenet", True),
                    ": the narrow backbone has no ImageNet weights; use ", _setting("imagenet", False))
        self._check_ranges()
        if self.size and self.crop and (self.crop[0] > self.size[0] or self.crop[1] > self.size[1]):
            crop = _setting("crop", self.crop, "x".join(map(str, self.crop)))
            size = _setting("size", self.size, "x".join(map(str, self.size)))
            _refuse(crop, crop, " is larger than ", size, ": crops are cut from the images resized to ", _setting("size"))
        if self.val_data is not None and self.val_scenes is not None:
            _refuse(_setting("val_scenes"), "give either ", _setting("val_data"), " or ", _setting("val_scenes"), ", not both")
        if self.val_gt_dir is not None and self.val_data is None:
            _refuse(_setting("val_gt_dir"), _setting("val_gt_dir"), " needs ", _setting("val_data"))
        self._check_depth_kind()

    def _check_depth_kind(self) -> None:
        from relight.io.depth import check_depth_kind  # here, not at import: `relight train --help` loads no numpy

        try:
            self.depth_kind = check_depth_kind(self.depth_kind, owner="TrainConfig")
        except InvalidSetting as exc:
            raise TrainSettingError(exc.setting, *exc.parts) from None

    def _check_model(self) -> None:
        """The settings of the network that :class:`~relight.model.MBNetConfig` would refuse, named as settings."""
        if self.margin is not None and self.margin not in MARGINS:
            _refuse(_setting("margin", self.margin), _setting("margin"), f" must be {' or '.join(map(str, MARGINS))}, not {self.margin}")
        if self.hints is not None and self.hints not in HINTS:
            hints = _setting("hints", self.hints, self.hints)
            _refuse(hints, hints, f": expected {', '.join(HINTS)}")
        if not 0 < self.hint_fov < 180 or not -90 < self.hint_pitch < 90:
            _refuse(_setting("hint_fov", self.hint_fov), _setting("hint_fov"), " must be in (0, 180) degrees and ",
                    _setting("hint_pitch"), f" in (-90, 90), not {self.hint_fov:g} and {self.hint_pitch:g}")

    def _check_ranges(self) -> None:
        positive = {"lr": self.lr, "batch_size": self.batch_size, "epochs": self.epochs, "val_every": self.val_every,
                    "charbonnier_eps": self.charbonnier_eps, "lr_decay": self.lr_decay}
        for name, value in positive.items():
            if not value > 0:
                _refuse(_setting(name, value), _setting(name), f" must be positive, not {value}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                _refuse(_setting(name, getattr(self, name)), _setting(name), f" must be in [0, 1), not {getattr(self, name)}")
        if self.workers is not None and self.workers < 0:
            _refuse(_setting("workers", self.workers), _setting("workers"), f" must be 0 or more, not {self.workers}")
        if self.max_steps is not None and self.max_steps < 1:
            _refuse(_setting("max_steps", self.max_steps), _setting("max_steps"), f" must be at least 1, not {self.max_steps}")
        if any(m < 1 for m in self.milestones) or sorted(set(self.milestones)) != list(self.milestones):
            milestones = _setting("milestones", self.milestones, str(self.milestones))
            _refuse(milestones, milestones, ": expected increasing epoch numbers >= 1")
        for name in ("size", "crop"):
            value = getattr(self, name)
            if value is not None and (len(value) != 2 or min(value) < 1):
                _refuse(_setting(name, value, str(value)), _setting(name, value, str(value)), ": expected N or HxW")
        if self.scales is not None and (len(self.scales) != 2 or not 0 < self.scales[0] <= self.scales[1] <= MAX_SCALE):
            scales = _setting("scales", self.scales, ",".join(f"{v:g}" for v in self.scales))
            _refuse(scales, scales, f": expected LOW,HIGH with 0 < LOW <= HIGH <= {MAX_SCALE:g}, e.g. 0.5,1.5")

    def to_toml(self) -> str:
        """The config as TOML that :func:`load_toml` reads back (``None`` values are left out)."""
        lines = []
        for key, value in asdict(self).items():
            if value is not None:
                lines.append(f"{key} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"


def _check_any_to_any(config: TrainConfig) -> None:
    """The any-to-any settings: parseable lights, a conditioned model for any-to-any and only then."""
    if not config.any_to_any:
        for name, default in (("init", None), ("pairs_per_epoch", None), ("val_pairs", None), ("sources", "all"), ("targets", "all"),
                              ("withhold_source", 0.5), ("identity_pairs", IDENTITY_PAIRS), ("identity_claims", 0.0),
                              ("cycle_weight", 0.0)):
            if getattr(config, name) != default:
                _refuse(_setting(name), _setting(name), " needs ", _setting("any_to_any", True))
        if config.hints in LIGHT_HINTS:
            _refuse(_setting("hints", config.hints), _setting("hints", config.hints),
                    ": shadows need the lights as an input; train any-to-any with ", _setting("any_to_any", True))
        if config.conditioning not in (None, "none"):
            _refuse(_setting("conditioning", config.conditioning), _setting("conditioning", config.conditioning),
                    ": a one-to-one model has no conditioning; train any-to-any with ", _setting("any_to_any", True))
        return
    config.light_sets()
    for name, default in (("source", "6500-N"), ("target", "4500-E")):
        if getattr(config, name) != default:
            _refuse(_setting(name), _setting(name), " does not apply to ", _setting("any_to_any", True),
                    ": it draws from ", _setting(f"{name}s"))
    if config.val_gt_dir is not None:
        _refuse(_setting("val_gt_dir"), _setting("val_gt_dir"), " does not apply to ", _setting("any_to_any", True),
                ": its validation data is any-to-any, with the ground truth beside the inputs")
    if config.conditioning == "none":
        _refuse(_setting("conditioning", "none"), _setting("conditioning", "none"),
                ": an any-to-any model needs the lights as an input; use film or planes")
    for name in ("withhold_source", "identity_pairs", "identity_claims"):
        value = getattr(config, name)
        if not 0 <= value <= 1:
            _refuse(_setting(name, value), _setting(name), f" must be in [0, 1], not {value}")
    if not config.cycle_weight >= 0:
        _refuse(_setting("cycle_weight", config.cycle_weight), _setting("cycle_weight"), f" must be at least 0, not {config.cycle_weight}")
    for name in ("pairs_per_epoch", "val_pairs"):
        value = getattr(config, name)
        if value is not None and value < 1:
            _refuse(_setting(name, value), _setting(name), f" must be at least 1, not {value}")


def _refuse(setting: Setting, *parts: Part) -> None:
    raise TrainSettingError(setting, *parts)


def default_workers(batches_per_epoch: int, cores: int | None = None) -> int:
    """Worker processes worth starting: none on 2 cores or fewer (they would take the cores the step needs)
    or for a short epoch (each epoch starts them anew), else one core fewer than there are, at most 4."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if cores <= 2 or batches_per_epoch < FEW_BATCHES:
        return 0
    return min(4, cores - 1)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _type_ok(value: Any, hint: Any) -> bool:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        return any(_type_ok(value, arg) for arg in get_args(hint))
    if origin is list:
        (item,) = get_args(hint)
        return isinstance(value, list) and all(_type_ok(v, item) for v in value)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _hint_text(hint: Any) -> str:
    text = getattr(hint, "__name__", None) if get_origin(hint) is None else None
    return text or str(hint).replace("typing.", "").replace("NoneType", "None")


def check_settings(values: dict[str, Any], where: str) -> dict[str, Any]:
    """Check names and types of settings from ``where`` (a file or the command line); ``-`` may spell ``_``."""
    hints = get_type_hints(TrainConfig)
    checked = {}
    for raw_key, value in values.items():
        key = raw_key.replace("-", "_")
        if key in ("size", "crop") and isinstance(value, int) and not isinstance(value, bool):
            value = [value, value]  # size = 512 means 512 x 512, as on the command line
        if key not in hints:
            raise TrainSettingError(Setting(key, value), f"{where}: unknown setting {raw_key!r} (known: {', '.join(hints)})")
        if not _type_ok(value, hints[key]):
            raise TrainSettingError(Setting(key, value), f"{where}: {raw_key} = {value!r} should be {_hint_text(hints[key])}")
        checked[key] = float(value) if hints[key] is float else value
    return checked


def load_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Settings from a TOML file (flat keys as in :class:`TrainConfig`); relative paths are taken from its folder."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise TrainError(f"{path}: no such config file", path=path) from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TrainError(f"{path}: not a readable TOML file ({exc})", path=path) from None
    values = check_settings(raw, str(path))
    return _resolve_paths(values, path.parent)


def _resolve_paths(values: dict[str, Any], base: Path) -> dict[str, Any]:
    """Make the path settings absolute, relative ones taken from ``base`` (the config file's folder)."""
    for key in PATH_FIELDS:
        if isinstance(values.get(key), list):
            values[key] = [str((base / p).resolve()) for p in values[key]]
        elif isinstance(values.get(key), str):
            values[key] = str((base / values[key]).resolve())
    return values


def resolve_config(
    cli: dict[str, Any] | None = None, config_file: str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | None = None,
) -> TrainConfig:
    """Defaults, then the run's saved config (``resume``), then ``config_file``, then ``cli``: later wins.

    A saved config without a setting of :data:`BEFORE_THEY_EXISTED` takes that setting's value there.

    ``cli`` holds only the options the user gave (``None`` means "not given").
    """
    values: dict[str, Any] = {}
    if resume is not None:
        saved = Path(resume) / CONFIG_FILE
        if not saved.is_file():
            raise TrainError(f"{resume}: not a training run (no {CONFIG_FILE})", path=Path(resume))
        values.update(BEFORE_THEY_EXISTED)
        values.update(load_toml(saved))
        values["out"] = str(Path(resume))
    if config_file is not None:
        values.update(load_toml(config_file))
    values.update(check_settings({k: v for k, v in (cli or {}).items() if v is not None}, "command line"))
    config = TrainConfig(**_resolve_paths(values, Path()))
    config.validate()
    return config


def size_setting(text: str | None, name: str = "size") -> list[int] | None:
    """The ``size``/``crop`` text (``N`` or ``HxW``) as ``[H, W]``; a refusal names the setting ``name``."""
    from relight.inference.scale import parse_size

    if text is None:
        return None
    try:
        size = parse_size(text, name, owner="TrainConfig")
    except InvalidSetting as exc:
        raise TrainSettingError(exc.setting, *exc.parts) from None
    return list(size) if size else None
