"""The epoch loop: data, model and loss built from the config, steps, validation and checkpoints.

Resuming is exact: the order of examples depends only on (seed, epoch) and random crops only on
(seed, epoch, index), so N steps in one go and N/2 + N/2 with a resume in between give the same weights.
"""

from __future__ import annotations

import gc
import math
import os
import shlex
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from relight.data.anytoany import PairSampler
from relight.data.dataset import PairDataset, make_loader, say_notes
from relight.data.vidit import TrainPair, load_pairs, split_scenes
from relight.errors import RelightError, RelightWarning, Setting, first_line
from relight.device import check_precision, cudnn_autotune, default_precision
from relight.model import MBNet
from relight.io.images import image_size
from relight.model.checkpoint import load_checkpoint
from relight.model.provenance import TRAINED_AT
from relight.evaluation.score import finite_or_none
from relight.weights.pretrained import imagenet_state
from relight.train.anytoany import gather_any_to_any, init_from_model
from relight.train.config import TrainConfig, TrainError
from relight.train.distributed import barrier, epoch_indices, gather, init_distributed, sync_buffers, wrap
from relight.train.monitor import EpochRecord, TrainMonitor, no_validation
from relight.train.state import TrainState, seed_everything
from relight.train.step import Diverged, TrainStep, step_scale
from relight.train.store import LAST, RunStore, state_digest
from relight.train.validate import Validator


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


def gather_pairs(config: TrainConfig, monitor: TrainMonitor) -> tuple[list[TrainPair], list[TrainPair], dict[str, Any]]:
    """Training and validation pairs, and a description of them for the checkpoint's provenance."""
    from relight.evaluation.evaluate import evaluation_pairs

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
        monitor.message(no_validation())
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


def training_size(size: Sequence[int] | None, first_image: str | os.PathLike[str] | None,
                  scales: Sequence[float] | None = None) -> list[int] | None:
    """What a training run records as its ``trained_at``: the size its images were resized to, else the
    size of its images as they are (crops do not change the scale the network sees); with ``scales``,
    that size times the middle of their range (the geometric mean of LOW and HIGH), the size the
    network saw in the middle of the sizes it saw."""
    if size:
        base = (int(size[0]), int(size[1]))
    elif first_image is None:
        return None
    else:
        base = image_size(first_image)
    middle = math.sqrt(scales[0] * scales[1]) if scales else 1.0
    return [max(1, round(side * middle)) for side in base]


def build_model(config: TrainConfig, resume: bool) -> MBNet:
    """The network of ``config``: for a fresh run, started from the model ``init`` when given,
    else ImageNet-initialised where the config asks for it (a resumed run's weights come from its folder)."""
    if config.init is not None and not resume:
        return init_from_model(config)
    model = MBNet(config.model_config())
    if config.use_imagenet() and not resume:
        try:
            model.init_from_imagenet(imagenet_state(config.model_config().backbone))
        except RelightError:
            raise  # its parts word the settings for each audience
        except FileNotFoundError as exc:
            raise TrainError(str(exc)) from None
        except RuntimeError as exc:
            raise TrainError(first_line(exc)) from None
    return model


def build_loss(config: TrainConfig) -> torch.nn.Module:
    from relight.train.losses import RelightLoss

    return RelightLoss(config.charbonnier_weight, config.ssim_weight, config.perceptual_weight, config.charbonnier_eps)


def _tensorboard(run_dir: Path) -> Any:
    """A TensorBoard writer when ``torch.utils.tensorboard`` can be imported (it is not a dependency)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(run_dir / "tb"))


def _precision(config: TrainConfig, device: torch.device) -> str:
    precision = "fp32"
    if config.amp or (config.amp is None and device.type == "cuda"):
        precision = default_precision(device) if device.type == "cuda" else "bf16"
    check_precision(device, precision)
    return precision


class _SayOnce:
    """Says what reading a pair had to say (its depth converted or resized) once per run, not every epoch.

    An object of its own, not a Trainer method: the Validator holds it, and a bound method would make the
    two a reference cycle that keeps the model (and its GPU memory) alive after training until a collection.
    """

    def __init__(self, monitor: TrainMonitor) -> None:
        self.monitor = monitor
        self.said: set[str] = set()

    def __call__(self, note: str | RelightWarning) -> None:
        if str(note) not in self.said:
            self.said.add(str(note))
            self.monitor.message(note)


class Trainer:
    """One training process: the pieces built from the config, and the epoch loop over them."""

    def __init__(self, config: TrainConfig, resume: bool, monitor: TrainMonitor, command: str) -> None:
        self.config, self.command = config, command
        self.where, self.device = init_distributed(config.device)
        self.monitor = monitor if self.where.main else TrainMonitor()
        self.store = RunStore(config.out, self.where.main)
        self.store.check(resume)
        if resume:
            self.store.recover()
        barrier(self.where)  # every rank has checked the folder (and rank 0 recovered it) before anyone reads or writes
        self.precision = _precision(config, self.device)
        seed_everything(config.seed)
        self.sampler: PairSampler | None = None
        self.fixed: PairDataset | None = None
        if config.any_to_any:
            self.sampler, val_pairs, self.data_info = gather_any_to_any(config, self.monitor)
        else:
            train_pairs, val_pairs, self.data_info = gather_pairs(config, self.monitor)
            self.fixed = PairDataset(train_pairs, config.size, config.crop, config.seed, require_target=True,
                                     depth_kind=config.depth_kind, notes=True)
        self.model = build_model(config, resume).to(self.device)
        # Resolved (the margin from init's model, say; the hints by the mapping) and saved so for a resume.
        config.margin, config.hints = self.model.config.margin, self.model.config.hints
        self.loss_fn = build_loss(config).to(self.device)
        self.state = TrainState(self.model.parameters(), config, self.device.type, self.precision == "fp16")
        if resume:
            self._resume()
        self.store.open(config.to_toml(), resume)  # on resume too: options changed on the command line hold from now on
        first = self._dataset(0)
        examples = len(first)  # the same every epoch
        #: The size its images are seen at, recorded in every checkpoint (:func:`training_size`).
        self.trained_at = training_size(config.size, first.pairs[0].input if first.pairs else None, config.scales)
        self.steps_per_epoch = math.ceil(len(epoch_indices(examples, self.where, config.seed, 0)) / config.batch_size)
        self.workers = config.loader_workers(self.steps_per_epoch)
        self.total_steps = config.epochs * self.steps_per_epoch
        if config.max_steps is not None:
            self.total_steps = min(self.total_steps, config.max_steps)
        self.step_fn = TrainStep(wrap(self.model, self.device, self.where), self.loss_fn, self.state.optimizer,
                                 self.state.scaler, self.device, self.precision, self.where, cycle_weight=config.cycle_weight)
        size = (config.size[0], config.size[1]) if config.size else None
        self._note = _SayOnce(self.monitor)
        self.validator = Validator(val_pairs, self.device, self.precision, size, min(self.workers, 2), self.where, self._note,
                                   config.depth_kind)
        self.tb = _tensorboard(self.store.dir) if self.where.main else None

    def _resume(self) -> None:
        saved = self.store.load(self.config.model_config())
        self.model.load_state_dict(load_checkpoint(self.store.dir / LAST).model.state_dict())
        self.model.to(self.device)
        self.state.load_state_dict(saved)
        self.monitor.message(f"resumed {self.store.dir} at epoch {self.state.epoch + 1}, step {self.state.step}")

    def _dataset(self, epoch: int) -> PairDataset:
        """The examples of ``epoch``: the fixed pairs, or any-to-any's draw for that epoch."""
        if self.fixed is not None:
            return self.fixed
        assert self.sampler is not None
        config = self.config
        return PairDataset(self.sampler.draw(epoch), config.size, config.crop, config.seed, require_target=True,
                           depth_kind=config.depth_kind, notes=True)

    def _mapping(self) -> dict[str, Any]:
        """What the checkpoint relights: its one-to-one pair, or any-to-any with the lights it was trained on."""
        config = self.config
        if not config.any_to_any:
            return {"mapping": "one-to-one", "source": config.source, "target": config.target}
        sources, targets = config.light_sets()
        return {"mapping": "any-to-any", "sources": [str(s) for s in sources], "targets": [str(t) for t in targets],
                "withhold_source": config.withhold_source, "identity_pairs": config.identity_pairs,
                "identity_claims": config.identity_claims, "cycle_weight": config.cycle_weight, "init": config.init}

    def _provenance(self) -> dict[str, Any]:
        return {
            **self._mapping(),
            "training_data": self.data_info,
            "config": asdict(self.config),
            "loss": self.loss_fn.describe(),
            "epoch": self.state.epoch,
            "step": self.state.step,
            "val": {k: finite_or_none(v) for k, v in self.state.last_val.items()},
            "world_size": self.where.world,
            "precision": self.precision,
            "command": self.command,
            TRAINED_AT: self.trained_at,
            "scales": self.config.scales,
        }

    @property
    def epochs_run(self) -> float:
        """Epochs done, with the part of the current one (as the log and the summary count them)."""
        return self.state.epoch + self.state.epoch_step / self.steps_per_epoch

    def _checkpoint(self, losses: list[float], parts: dict[str, list[float]], started: float, validate: bool) -> None:
        state = self.state
        record = EpochRecord(
            self.epochs_run, state.step, state.lr, float(np.mean(losses)) if losses else float("nan"),
            {k: float(np.mean(v)) for k, v in parts.items()}, seconds=time.perf_counter() - started,
        )
        if validate and self.validator.pairs:
            state.last_val = record.val = self.validator(self.model)
            record.best = state.improves(record.val["psnr"])
        self.store.save(self.model, self._provenance(), state.state_dict(), record.row(), best=record.best)
        if self.tb is not None:
            for key, value in record.val.items():
                self.tb.add_scalar(f"val/{key}", value, state.step)
        self.monitor.epoch_end(record)

    def _batches(self) -> Iterator[dict[str, Any]]:
        state, config = self.state, self.config
        dataset = self._dataset(state.epoch)
        indices = epoch_indices(len(dataset), self.where, config.seed, state.epoch)
        dataset.set_epoch(state.epoch)
        yield from make_loader(dataset, indices[state.epoch_step * config.batch_size :], config.batch_size,
                               self.workers, pin_memory=self.device.type == "cuda")

    def close(self) -> None:
        """Let go of the event file and of the DDP wrapper, which holds the process group.

        DDP's wrapper is a reference cycle: left to the collector it may be freed at interpreter exit, after
        the group is destroyed, where tearing down gloo's threads can abort the process (``terminate called
        without an active exception``).
        """
        if self.tb is not None:
            self.tb.close()
        del self.step_fn
        if self.where.active:
            gc.collect()

    def _step(self, batch: dict[str, Any]) -> tuple[float, dict[str, float]]:
        state = self.state
        scale = step_scale(self.config.scales, self.config.seed, state.epoch, state.epoch_step)
        try:
            return self.step_fn(batch, scale)
        except Diverged as exc:
            raise self._diverged(exc.loss) from None

    def _diverged(self, value: float) -> Diverged:
        saved = self.store.last_saved_step()
        last = self.store.dir / LAST
        kept = f"last good checkpoint {last} (step {saved}) kept" if saved is not None else "no checkpoint had been written yet"
        lower = ("try a lower ", Setting("lr", owner="TrainConfig"))
        if self.precision != "fp32":
            lower += (" or ", Setting("amp", False, owner="TrainConfig"))
        return Diverged(f"{self.store.dir}: loss became {value} at step {self.state.step + 1} (epoch {self.state.epoch + 1}); "
                        f"training stopped, {kept}; ", *lower, loss=value)

    def run(self) -> TrainResult:
        started = time.perf_counter()
        state, config = self.state, self.config
        done_at_start = state.step
        self.model.train()
        self.monitor.begin(self.total_steps, state.step, math.ceil(self.total_steps / self.steps_per_epoch))
        while state.epoch < config.epochs and state.step < self.total_steps:
            losses: list[float] = []
            parts: dict[str, list[float]] = {}
            for batch in self._batches():
                say_notes(batch["notes"], self._note)
                loss, components = self._step(batch)
                state.step += 1
                state.epoch_step += 1
                losses.append(loss)
                for key, value in components.items():
                    parts.setdefault(key, []).append(value)
                rate = (state.step - done_at_start) / max(time.perf_counter() - started, 1e-9)
                self.monitor.step(state.step, state.epoch, loss, rate)
                if self.tb is not None:
                    self.tb.add_scalar("train/loss", loss, state.step)
                if state.step >= self.total_steps:
                    break
            if state.epoch_step < self.steps_per_epoch:  # max_steps stopped the run inside this epoch
                self._checkpoint(losses, parts, started, validate=True)
                break
            state.end_epoch()
            at_end = state.epoch >= config.epochs or state.step >= self.total_steps
            self._checkpoint(losses, parts, started, validate=state.epoch % config.val_every == 0 or at_end)
        return self._finish("epochs" if state.epoch >= config.epochs else "max_steps", started)

    def _finish(self, stopped: str, started: float) -> TrainResult:
        sync_buffers(self.model, self.where)
        digests = gather(state_digest(self.model.state_dict()), self.where)
        state = self.state
        result = TrainResult(self.store.dir, state.step, self.epochs_run, stopped, state.best_psnr, state.last_val,
                             self.where.world, list(digests), time.perf_counter() - started)
        self.store.write_summary(result.to_dict())
        barrier(self.where)  # no rank returns (and tears the group down) before the summary is written
        if len(set(digests)) > 1:
            raise TrainError(f"{self.store.dir}: replicas ended with different weights ({', '.join(d[:12] for d in digests)})")
        return result


def train(
    config: TrainConfig, resume: bool = False, monitor: TrainMonitor | None = None, command: Sequence[str] | None = None
) -> TrainResult:
    """Train (or with ``resume``, continue) the run in ``config.out``; under torchrun, one call per process.

    ``command`` is recorded in every checkpoint's provenance (default: this process's command line).
    """
    config.validate()
    caller_group = dist.is_available() and dist.is_initialized()
    trainer = None
    try:
        trainer = Trainer(config, resume, monitor or TrainMonitor(), shlex.join(command if command is not None else sys.argv))
        with cudnn_autotune(trainer.device):  # every step has the same input size
            return trainer.run()
    finally:
        if trainer is not None:
            trainer.close()
        if not caller_group and dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


__all__ = ["TrainResult", "Trainer", "build_loss", "build_model", "gather_pairs", "train"]
