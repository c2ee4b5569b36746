"""Training MBNet: the paper's recipe by default, resumable to the step, on one device or many (torchrun).

A run lives in one folder: ``config.toml`` (the resolved settings, reusable with ``--config``),
``last.safetensors`` + ``last.state.pt`` (model, then optimizer/scheduler/RNG/scaler state, both written
atomically after every epoch and when ``max_steps`` stops a run), ``best.safetensors`` (highest
validation PSNR), ``metrics.csv`` (one row per epoch), ``summary.json`` (how the run ended, with a digest
of every replica's weights) and ``tb/`` when TensorBoard is installed.

Resuming is exact: the order of examples depends only on (seed, epoch) and random crops only on
(seed, epoch, index), so N steps in one go and N/2 + N/2 with a resume in between give the same weights.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import random
import shlex
import shutil
import sys
import time
import tomllib
import types
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler

from relight.data.dataset import PairDataset, make_loader
from relight.data.vidit import Setting, TrainPair, load_pairs, split_scenes
from relight.errors import RelightError, first_line
from relight.evaluate import evaluate, evaluation_pairs
from relight.inference import (
    Relighter,
    autocast,
    check_precision,
    cudnn_autotune,
    default_precision,
    pad_to_stride,
    parse_size,
    select_device,
)
from relight.io import atomic_output, check_output_folder, write_json, write_text
from relight.model import MBNet, MBNetConfig
from relight.model.blocks import use_dynamic_conv
from relight.model.checkpoint import load_checkpoint, read_checkpoint_metadata, save_checkpoint
from relight.score import ScoreReport, Scorer, finite_or_none

CONFIG_FILE = "config.toml"
LAST = "last.safetensors"
LAST_STATE = "last.state.pt"
BEST = "best.safetensors"
METRICS_FILE = "metrics.csv"
SUMMARY_FILE = "summary.json"
METRIC_COLUMNS = (
    "epoch", "step", "lr", "loss", "charbonnier", "ssim", "perceptual",
    "val_psnr", "val_ssim", "val_lpips", "val_mps", "seconds",
)
#: Settings that are paths: relative ones are taken from a TOML file's folder, or the working directory.
PATH_FIELDS = ("data", "val_data", "val_gt_dir", "out")


class TrainError(RelightError):
    """A training run that cannot start, continue or go on (bad settings, data, run folder, divergence)."""


@dataclass
class TrainConfig:
    """Everything a training run depends on. Defaults are the paper's recipe (section 4.1)."""

    data: list[str] = field(default_factory=list)
    out: str = ""
    source: str = "6500-N"
    target: str = "4500-E"
    neighbours: bool = True
    mirror: bool = True
    val_data: str | None = None
    val_gt_dir: str | None = None
    val_scenes: int | float | None = None
    backbone: str = "resnet50"
    width: int = 64
    decoder_channels: int = 64
    residual: bool = True
    imagenet: bool | None = None
    charbonnier_weight: float = 1.0
    ssim_weight: float = 1.1
    perceptual_weight: float = 0.1
    charbonnier_eps: float = 1e-3
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    batch_size: int = 3
    epochs: int = 200
    milestones: list[int] = field(default_factory=lambda: [50])
    lr_decay: float = 0.1
    size: list[int] | None = None
    crop: list[int] | None = None
    workers: int = 4
    seed: int = 0
    device: str | None = None
    amp: bool | None = None
    val_every: int = 1
    max_steps: int | None = None

    def model_config(self) -> MBNetConfig:
        try:
            return MBNetConfig(self.backbone, self.width, self.decoder_channels, self.residual)
        except ValueError as exc:
            raise TrainError(f"model: {exc}") from None

    def use_imagenet(self) -> bool:
        """ImageNet initialisation: on by default for the ResNet backbones; ``narrow`` has no such weights."""
        return self.backbone != "narrow" if self.imagenet is None else self.imagenet

    def settings(self) -> tuple[Setting, Setting]:
        return Setting.parse(self.source), Setting.parse(self.target)

    def validate(self) -> None:
        """Refuse settings that cannot train, with the option's name in the message."""
        if not self.data:
            raise TrainError("no training data: give one or more DATA folders")
        if not self.out:
            raise TrainError("no run folder: pass --out RUN_DIR")
        self.settings()
        self.model_config()
        if self.backbone == "narrow" and self.imagenet:
            raise TrainError("--imagenet: the narrow backbone has no ImageNet weights; use --no-imagenet")
        positive = {"lr": self.lr, "batch_size": self.batch_size, "epochs": self.epochs, "val_every": self.val_every,
                    "charbonnier_eps": self.charbonnier_eps, "lr_decay": self.lr_decay}
        for name, value in positive.items():
            if not value > 0:
                raise TrainError(f"--{name.replace('_', '-')} must be positive, not {value}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise TrainError(f"--{name} must be in [0, 1), not {getattr(self, name)}")
        if self.workers < 0:
            raise TrainError(f"--workers must be 0 or more, not {self.workers}")
        if self.max_steps is not None and self.max_steps < 1:
            raise TrainError(f"--max-steps must be at least 1, not {self.max_steps}")
        if any(m < 1 for m in self.milestones) or sorted(set(self.milestones)) != list(self.milestones):
            raise TrainError(f"--milestones {self.milestones}: expected increasing epoch numbers >= 1")
        for name in ("size", "crop"):
            value = getattr(self, name)
            if value is not None and (len(value) != 2 or min(value) < 1):
                raise TrainError(f"--{name} {value}: expected N or HxW")
        if self.size and self.crop and (self.crop[0] > self.size[0] or self.crop[1] > self.size[1]):
            raise TrainError(f"--crop {self.crop[0]}x{self.crop[1]} is larger than --size {self.size[0]}x{self.size[1]}: "
                             "crops are cut from the images resized to --size")
        if self.val_data is not None and self.val_scenes is not None:
            raise TrainError("give either --val-data or --val-scenes, not both")
        if self.val_gt_dir is not None and self.val_data is None:
            raise TrainError("--val-gt-dir needs --val-data")

    def to_toml(self) -> str:
        """The config as TOML that :func:`load_toml` reads back (``None`` values are left out)."""
        lines = []
        for key, value in asdict(self).items():
            if value is not None:
                lines.append(f"{key} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"


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
            raise TrainError(f"{where}: unknown setting {raw_key!r} (known: {', '.join(hints)})")
        if not _type_ok(value, hints[key]):
            raise TrainError(f"{where}: {raw_key} = {value!r} should be {_hint_text(hints[key])}")
        checked[key] = float(value) if hints[key] is float else value
    return checked


def load_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Settings from a TOML file (flat keys as in :class:`TrainConfig`); relative paths are taken from its folder."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise TrainError(f"{path}: no such config file") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TrainError(f"{path}: not a readable TOML file ({exc})") from None
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

    ``cli`` holds only the options the user gave (``None`` means "not given").
    """
    values: dict[str, Any] = {}
    if resume is not None:
        saved = Path(resume) / CONFIG_FILE
        if not saved.is_file():
            raise TrainError(f"{resume}: not a training run (no {CONFIG_FILE})")
        values.update(load_toml(saved))
        values["out"] = str(Path(resume))
    if config_file is not None:
        values.update(load_toml(config_file))
    values.update(check_settings({k: v for k, v in (cli or {}).items() if v is not None}, "command line"))
    config = TrainConfig(**_resolve_paths(values, Path()))
    config.validate()
    return config


def size_setting(text: str | None, option: str) -> list[int] | None:
    """``--size``/``--crop`` text (``N`` or ``HxW``) as ``[H, W]``."""
    if text is None:
        return None
    try:
        size = parse_size(text)
    except RelightError as exc:
        raise TrainError(str(exc).replace("--size", option)) from None
    return list(size) if size else None


# --------------------------------------------------------------------------- distributed


@dataclass(frozen=True)
class Dist:
    """Where this process stands in a torchrun job (rank 0 of 1 without torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def is_main_process() -> bool:
    """True unless this is a non-zero rank of a torchrun job: only rank 0 shows progress and writes files."""
    return int(os.environ.get("RANK", "0")) == 0


def _init_distributed(device_name: str | None) -> tuple[Dist, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), select_device(device_name)
    info = Dist(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    device = select_device(device_name)
    if device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return info, device


# --------------------------------------------------------------------------- run folder state


def state_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 of a state dict's tensors (sorted by name, float32, CPU): equal digests mean equal weights."""
    h = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().cpu()
        tensor = tensor.float() if tensor.is_floating_point() else tensor
        h.update(key.encode())
        h.update(tensor.contiguous().numpy().tobytes())
    return h.hexdigest()


def _rng_state() -> dict[str, Any]:
    """Python, numpy and torch RNG states as lists and tensors, so ``torch.load(weights_only=True)`` reads them."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


@dataclass
class EpochRecord:
    """One row of ``metrics.csv``: where the run is, the mean training loss since the last row, validation."""

    epoch: float
    step: int
    lr: float
    loss: float
    components: dict[str, float]
    val: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    best: bool = False

    def row(self) -> dict[str, Any]:
        row: dict[str, Any] = {"epoch": f"{self.epoch:.4g}", "step": self.step, "lr": f"{self.lr:.6g}", "loss": f"{self.loss:.6f}",
                               "seconds": f"{self.seconds:.1f}"}
        row.update({k: f"{v:.6f}" for k, v in self.components.items()})
        row.update({f"val_{k}": f"{v:.6f}" for k, v in self.val.items()})
        return row


@dataclass
class TrainResult:
    """How a run ended; the same as ``summary.json``."""

    run_dir: Path
    step: int
    #: Epochs run, with the part of an epoch that ``max_steps`` stopped inside (as the log counts them).
    epoch: float
    stopped: str
    best_psnr: float | None
    last_val: dict[str, float]
    world_size: int
    replica_digests: list[str]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["run_dir"] = str(self.run_dir)
        data["best_psnr"] = finite_or_none(self.best_psnr)
        data["last_val"] = {k: finite_or_none(v) for k, v in self.last_val.items()}
        return data


class TrainMonitor:
    """What the loop reports (only on rank 0); the base class reports nothing. See :class:`ProgressMonitor`."""

    def begin(self, total_steps: int, done_steps: int, epochs: int) -> None:
        """Called once before the first step."""

    def step(self, step: int, epoch: int, loss: float, steps_per_second: float) -> None:
        """Called after every optimisation step with that step's loss."""

    def epoch_end(self, record: EpochRecord) -> None:
        """Called after each checkpoint (end of epoch or a ``max_steps`` stop)."""

    def message(self, text: str) -> None:
        """A one-line note about the data, the model or the run."""


class ProgressMonitor(TrainMonitor):
    """Reports into a rich progress bar (``relight.cli.progress_bar()``): loss, rate, elapsed time and ETA."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.task: Any = None
        self.epochs = 0

    def begin(self, total_steps: int, done_steps: int, epochs: int) -> None:
        self.epochs = epochs
        self.task = self.progress.add_task("training", total=total_steps, completed=done_steps, rate="")

    def step(self, step: int, epoch: int, loss: float, steps_per_second: float) -> None:
        self.progress.update(
            self.task, completed=step, description=f"epoch {epoch + 1}/{self.epochs}",
            rate=f"loss {loss:.4f}  {steps_per_second:.2f} step/s",
        )

    def epoch_end(self, record: EpochRecord) -> None:
        val = "  ".join(f"{k} {v:.4f}" for k, v in record.val.items())
        mark = "  [green]best[/green]" if record.best else ""
        self.message(f"epoch {record.epoch:.4g} step {record.step}: loss {record.loss:.4f}  lr {record.lr:.2g}  {val}{mark}")

    def message(self, text: str) -> None:
        self.progress.console.print(text, soft_wrap=True)


# --------------------------------------------------------------------------- the loop


def _gather_pairs(config: TrainConfig, monitor: TrainMonitor) -> tuple[list[TrainPair], list[TrainPair], dict[str, Any]]:
    """Training and validation pairs, and a description of them for the checkpoint's provenance."""
    source, target = config.settings()
    pairs: list[TrainPair] = []
    described = []
    for folder in config.data:
        found = load_pairs(folder, source, target, config.neighbours, config.mirror)
        for note in found.notes:
            monitor.message(f"{folder}: {note}")
        if found.skipped:
            monitor.message(f"{folder}: {len(found.skipped)} pair(s) left out, e.g. {found.skipped[0]}")
        pairs += found.pairs
        described.append({"path": folder, "layout": found.layout, "pairs": len(found.pairs)})
    if not pairs:
        raise TrainError(f"{', '.join(config.data)}: no training pairs for {source} -> {target}")
    val: list[TrainPair] = []
    if config.val_scenes is not None:
        pairs, val = split_scenes(pairs, config.val_scenes, seed=config.seed)
    elif config.val_data is not None:
        found = evaluation_pairs(config.val_data, config.source, config.target, gt_dir=config.val_gt_dir)
        if found.skipped:
            monitor.message(f"{config.val_data}: {len(found.skipped)} validation pair(s) left out, e.g. {found.skipped[0]}")
        val = found.pairs
    else:
        monitor.message("no validation data (--val-data or --val-scenes): best.safetensors will not be kept")
    origins: dict[str, int] = {}
    for p in pairs:
        kind = p.origin.split()[0]
        origins[kind] = origins.get(kind, 0) + 1
    monitor.message(
        f"{_count(len(pairs), 'training pair')} ({', '.join(f'{n} {k}' for k, n in origins.items())}), "
        f"{_count(len(val), 'validation pair')}"
    )
    return pairs, val, {"folders": described, "train_pairs": len(pairs), "val_pairs": len(val), "origins": origins}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _build_model(config: TrainConfig, resume: bool) -> MBNet:
    model = MBNet(config.model_config())
    if config.use_imagenet() and not resume:
        try:
            model.init_from_imagenet()
        except FileNotFoundError as exc:
            raise TrainError(str(exc)) from None
        except RuntimeError as exc:
            raise TrainError(first_line(exc)) from None
    return model


def _build_loss(config: TrainConfig) -> torch.nn.Module:
    from relight.losses import RelightLoss

    return RelightLoss(config.charbonnier_weight, config.ssim_weight, config.perceptual_weight, config.charbonnier_eps)


def _epoch_indices(n: int, dist_info: Dist, seed: int, epoch: int) -> list[int]:
    """This rank's examples for ``epoch``, in order: a function of (seed, epoch) alone, hence resumable."""
    sampler = DistributedSampler(range(n), num_replicas=dist_info.world, rank=dist_info.rank, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    return list(sampler)


def resumable(run_dir: str | os.PathLike[str]) -> bool:
    """Whether ``--resume run_dir`` can go on: the last checkpoint and the training state are both there."""
    return all((Path(run_dir) / name).is_file() for name in (LAST, LAST_STATE))


def _check_run_dir(run_dir: Path, resume: bool) -> None:
    if resume:
        for name in (LAST, LAST_STATE):
            if not (run_dir / name).is_file():
                raise TrainError(f"{run_dir}: cannot resume, {name} is missing")
    elif (run_dir / LAST).exists():
        raise TrainError(f"{run_dir}: already holds a run; continue it with --resume {run_dir} or choose another --out")
    check_output_folder(run_dir)  # a file in its place or on its path, or no permission: before any work


def _write_metrics(path: Path, record: EpochRecord) -> None:
    new = not path.exists()
    with path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=METRIC_COLUMNS, restval="")
        if new:
            writer.writeheader()
        writer.writerow(record.row())


def _tensorboard(run_dir: Path) -> Any:
    """A TensorBoard writer when ``torch.utils.tensorboard`` can be imported (it is not a dependency)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(run_dir / "tb"))


class _Loop:
    """The state of one training process; :func:`train` is the public entry point."""

    def __init__(self, config: TrainConfig, resume: bool, monitor: TrainMonitor, command: str) -> None:
        self.config = config
        self.run_dir = Path(config.out)
        self.command = command
        self.dist, self.device = _init_distributed(config.device)
        self.monitor = monitor if self.dist.main else TrainMonitor()
        _check_run_dir(self.run_dir, resume)
        if self.dist.active:
            dist.barrier()  # every rank has checked the folder before rank 0 writes into it
        self.precision = "fp32"
        if config.amp or (config.amp is None and self.device.type == "cuda"):
            self.precision = default_precision(self.device) if self.device.type == "cuda" else "bf16"
        check_precision(self.device, self.precision)
        random.seed(config.seed)
        np.random.seed(config.seed)
        torch.manual_seed(config.seed)
        self.train_pairs, self.val_pairs, self.data_info = _gather_pairs(config, self.monitor)
        self.model = _build_model(config, resume).to(self.device)
        self.loss_fn = _build_loss(config).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr, betas=(config.beta1, config.beta2))
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(self.optimizer, config.milestones, gamma=config.lr_decay)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.epoch, self.step, self.epoch_step = 0, 0, 0
        self.best_psnr: float | None = None
        self.last_val: dict[str, float] = {}
        if resume:
            self._load_state()
        if self.dist.main:  # on resume too: options changed on the command line hold from now on
            self.run_dir.mkdir(parents=True, exist_ok=True)
            write_text(self.run_dir / CONFIG_FILE, config.to_toml())
        self.dataset = PairDataset(self.train_pairs, config.size, config.crop, config.seed, require_target=True)
        self.steps_per_epoch = math.ceil(len(_epoch_indices(len(self.dataset), self.dist, config.seed, 0)) / config.batch_size)
        self.total_steps = config.epochs * self.steps_per_epoch
        if config.max_steps is not None:
            self.total_steps = min(self.total_steps, config.max_steps)
        self.net: torch.nn.Module = self.model
        if self.dist.active:
            from torch.nn.parallel import DistributedDataParallel

            self.net = DistributedDataParallel(self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        self.scorer: Any = None
        self.tb = _tensorboard(self.run_dir) if self.dist.main else None

    # ---- checkpoints

    def _provenance(self) -> dict[str, Any]:
        return {
            "source": self.config.source,
            "target": self.config.target,
            "training_data": self.data_info,
            "config": asdict(self.config),
            "loss": self.loss_fn.describe(),
            "epoch": self.epoch,
            "step": self.step,
            "val": {k: finite_or_none(v) for k, v in self.last_val.items()},
            "world_size": self.dist.world,
            "precision": self.precision,
            "command": self.command,
        }

    def _save(self) -> None:
        """``last.safetensors`` then ``last.state.pt``, each atomically; rank 0 only."""
        if not self.dist.main:
            return
        save_checkpoint(self.model, self.run_dir / LAST, self._provenance())
        state = {
            "epoch": self.epoch,
            "step": self.step,
            "epoch_step": self.epoch_step,
            "best_psnr": self.best_psnr,
            "last_val": self.last_val,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": _rng_state(),
        }
        with atomic_output(self.run_dir / LAST_STATE) as tmp:
            try:
                torch.save(state, tmp)
            except RuntimeError as exc:  # torch reports a failed write (a full disk) this way, without the cause
                free = shutil.disk_usage(tmp.parent).free
                raise OSError(f"torch.save failed with {free / 1e6:.1f} MB free on the disk ({first_line(exc).strip(' .')})") from None

    def _load_state(self) -> None:
        last, state_path = self.run_dir / LAST, self.run_dir / LAST_STATE
        config, provenance = read_checkpoint_metadata(last)
        if config != self.config.model_config():
            raise TrainError(f"{last}: holds {config.describe()}, but the config asks for {self.config.model_config().describe()}")
        try:
            state = torch.load(state_path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any failure to read means a damaged file
            raise TrainError(f"{state_path}: unreadable training state ({first_line(exc)})") from None
        if state.get("step") != provenance.get("step"):
            raise TrainError(
                f"{state_path}: step {state.get('step')} does not match {last} (step {provenance.get('step')}); "
                "the run was interrupted while saving"
            )
        self.model.load_state_dict(load_checkpoint(last).model.state_dict())
        self.model.to(self.device)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        _set_rng_state(state["rng"])
        self.epoch, self.step, self.epoch_step = state["epoch"], state["step"], state["epoch_step"]
        self.best_psnr, self.last_val = state["best_psnr"], state["last_val"]
        self._apply_hyperparameters()
        self.monitor.message(f"resumed {self.run_dir} at epoch {self.epoch + 1}, step {self.step}")

    def _apply_hyperparameters(self) -> None:
        """Make the config's lr schedule and betas win over the ones stored with the optimizer state.

        The lr is rebuilt by multiplying at each passed milestone, as MultiStepLR does, so an unchanged
        config gives bit-identical values and an exact resume.
        """
        lr = self.config.lr
        for milestone in self.config.milestones:
            if milestone <= self.epoch:
                lr *= self.config.lr_decay
        for group in self.optimizer.param_groups:
            group["lr"] = lr
            group["betas"] = (self.config.beta1, self.config.beta2)
        self.scheduler.base_lrs = [self.config.lr] * len(self.optimizer.param_groups)
        self.scheduler.milestones = Counter(self.config.milestones)
        self.scheduler.gamma = self.config.lr_decay

    # ---- pieces of a step

    def _sync_buffers(self) -> None:
        """Give every replica rank 0's BatchNorm statistics (DDP syncs parameters, buffers only at forward)."""
        if self.dist.active:
            for buffer in self.model.buffers():
                dist.broadcast(buffer, 0)

    def _train_step(self, batch: dict[str, Any]) -> tuple[float, dict[str, float]]:
        rgb = batch["rgb"].to(self.device, non_blocking=True)
        depth = batch["depth"].to(self.device, non_blocking=True)
        target = batch["target"].to(self.device, non_blocking=True)
        rgb_p, (h, w) = pad_to_stride(rgb)
        depth_p, _ = pad_to_stride(depth)
        with autocast(self.device, self.precision):
            pred = self.net(rgb_p, depth_p)[..., :h, :w]
            loss, components = self.loss_fn(pred.float(), target)
        reported = torch.stack([loss.detach(), *components.values()])
        if self.dist.active:
            dist.all_reduce(reported)  # every rank sees the same mean loss, so all stop together on NaN
            reported /= self.dist.world
        values = reported.tolist()
        if not all(math.isfinite(v) for v in values):
            self._diverged(values[0])
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return values[0], dict(zip(components, values[1:]))

    def _diverged(self, value: float) -> None:
        last = self.run_dir / LAST
        kept = (
            f"last good checkpoint {last} (step {read_checkpoint_metadata(last)[1].get('step')}) kept"
            if last.exists() else "no checkpoint had been written yet"
        )
        raise TrainError(
            f"{self.run_dir}: loss became {value} at step {self.step + 1} (epoch {self.epoch + 1}); "
            f"training stopped, {kept}; try a lower --lr" + (" or --no-amp" if self.precision != "fp32" else "")
        )

    def _validate(self) -> dict[str, float]:
        """PSNR/SSIM (and LPIPS/MPS when AlexNet's weights are present) on the validation pairs, sharded over ranks."""
        self._sync_buffers()
        if self.scorer is None:
            self.scorer = Scorer(self.device)
        size = tuple(self.config.size) if self.config.size else None
        # In place and unoptimised: no second copy of the weights, and nothing to undo but the mode and
        # the dynamic convolution's form (the reference form validates; training runs the fast one).
        relighter = Relighter(self.model, self.device, self.precision, size, optimize=False, inplace=True)
        mine = self.val_pairs[self.dist.rank :: self.dist.world]
        try:
            report = evaluate(relighter, mine, scorer=self.scorer, workers=min(self.config.workers, 2)) if mine else ScoreReport()
        finally:
            use_dynamic_conv(self.model, "shift")
            self.model.train()
        rows, failed = report.rows, report.failed
        if self.dist.active:  # every rank learns of every failure, so that all stop together
            gathered: list[Any] = [None] * self.dist.world
            dist.all_gather_object(gathered, (rows, failed))
            rows = [row for part, _ in gathered for row in part]
            failed = [failure for _, part in gathered for failure in part]
        if failed:  # means over part of the set would not compare with earlier epochs'
            raise TrainError(f"validation: {len(failed)} of {len(self.val_pairs)} pairs could not be scored; "
                             f"the first: {failed[0].reason}")
        return ScoreReport(rows=rows, lpips_skipped=self.scorer.lpips_skipped).means

    def _checkpoint(self, epoch_loss: list[float], epoch_parts: dict[str, list[float]], started: float,
                    validate: bool) -> None:
        record = EpochRecord(
            self.epochs_run, self.step, self.optimizer.param_groups[0]["lr"],
            float(np.mean(epoch_loss)) if epoch_loss else float("nan"),
            {k: float(np.mean(v)) for k, v in epoch_parts.items()}, seconds=time.perf_counter() - started,
        )
        if validate and self.val_pairs:
            self.last_val = record.val = self._validate()
            psnr = record.val["psnr"]
            if not math.isnan(psnr) and (self.best_psnr is None or psnr > self.best_psnr):
                self.best_psnr, record.best = psnr, True
        if record.best and self.dist.main:  # before the state that records its PSNR as the best so far
            save_checkpoint(self.model, self.run_dir / BEST, self._provenance())
        self._save()
        if self.dist.main:
            _write_metrics(self.run_dir / METRICS_FILE, record)
            if self.tb is not None:
                for key, value in record.val.items():
                    self.tb.add_scalar(f"val/{key}", value, self.step)
        self.monitor.epoch_end(record)

    def _batches(self) -> Iterator[dict[str, Any]]:
        indices = _epoch_indices(len(self.dataset), self.dist, self.config.seed, self.epoch)
        self.dataset.set_epoch(self.epoch)
        yield from make_loader(self.dataset, indices[self.epoch_step * self.config.batch_size :], self.config.batch_size,
                               self.config.workers, pin_memory=self.device.type == "cuda")

    @property
    def epochs_run(self) -> float:
        """Epochs done, with the part of the current one (as the log and the summary count them)."""
        return self.epoch + self.epoch_step / self.steps_per_epoch

    def run(self) -> TrainResult:
        started = time.perf_counter()
        done_at_start = self.step
        self.model.train()
        self.monitor.begin(self.total_steps, self.step, math.ceil(self.total_steps / self.steps_per_epoch))
        while self.epoch < self.config.epochs and self.step < self.total_steps:
            losses: list[float] = []
            parts: dict[str, list[float]] = {}
            for batch in self._batches():
                loss, components = self._train_step(batch)
                self.step += 1
                self.epoch_step += 1
                losses.append(loss)
                for key, value in components.items():
                    parts.setdefault(key, []).append(value)
                rate = (self.step - done_at_start) / max(time.perf_counter() - started, 1e-9)
                self.monitor.step(self.step, self.epoch, loss, rate)
                if self.tb is not None:
                    self.tb.add_scalar("train/loss", loss, self.step)
                if self.step >= self.total_steps:
                    break
            if self.epoch_step < self.steps_per_epoch:  # max_steps stopped the run inside this epoch
                self._checkpoint(losses, parts, started, validate=True)
                break
            self.epoch += 1
            self.epoch_step = 0
            self.scheduler.step()
            at_end = self.epoch >= self.config.epochs or self.step >= self.total_steps
            self._checkpoint(losses, parts, started, validate=self.epoch % self.config.val_every == 0 or at_end)
        return self._finish("epochs" if self.epoch >= self.config.epochs else "max_steps", started)

    def _finish(self, stopped: str, started: float) -> TrainResult:
        self._sync_buffers()
        digest = state_digest(self.model.state_dict())
        digests = [digest]
        if self.dist.active:
            gathered: list[Any] = [None] * self.dist.world
            dist.all_gather_object(gathered, digest)
            digests = list(gathered)
        result = TrainResult(self.run_dir, self.step, self.epochs_run, stopped, self.best_psnr, self.last_val,
                             self.dist.world, digests, time.perf_counter() - started)
        if self.dist.main:
            write_json(self.run_dir / SUMMARY_FILE, result.to_dict())
        if len(set(digests)) > 1:
            raise TrainError(f"{self.run_dir}: replicas ended with different weights ({', '.join(d[:12] for d in digests)})")
        return result


def train(
    config: TrainConfig, resume: bool = False, monitor: TrainMonitor | None = None, command: Sequence[str] | None = None
) -> TrainResult:
    """Train (or with ``resume``, continue) the run in ``config.out``; under torchrun, one call per process.

    ``command`` is recorded in every checkpoint's provenance (default: this process's command line).
    """
    config.validate()
    caller_group = dist.is_available() and dist.is_initialized()
    loop = None
    try:
        loop = _Loop(config, resume, monitor or TrainMonitor(), shlex.join(command if command is not None else sys.argv))
        with cudnn_autotune(loop.device):  # every step has the same input size
            return loop.run()
    finally:
        if loop is not None and loop.tb is not None:
            loop.tb.close()
        if not caller_group and dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


__all__ = [
    "BEST",
    "CONFIG_FILE",
    "LAST",
    "LAST_STATE",
    "METRICS_FILE",
    "SUMMARY_FILE",
    "EpochRecord",
    "ProgressMonitor",
    "TrainConfig",
    "TrainError",
    "TrainMonitor",
    "TrainResult",
    "is_main_process",
    "load_toml",
    "resolve_config",
    "resumable",
    "size_setting",
    "state_digest",
    "train",
]
