"""The training state besides the weights: optimizer, learning-rate schedule, loss scaler, RNGs and position.

``state_dict()`` holds only lists, numbers and tensors, so ``torch.load(weights_only=True)`` reads it
back; ``load_state_dict()`` then makes the config's schedule and betas win over the stored ones (a resume
may change ``epochs``, ``milestones``, ``lr``...), rebuilt so that an unchanged config resumes bit for bit.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from typing import Any

import numpy as np
import torch

from relight.train.config import TrainConfig


def rng_state() -> dict[str, Any]:
    """Python, numpy and torch (and CUDA) RNG states as lists and tensors."""
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


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned (CUDA's only with as many devices as when it was saved)."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's RNGs: initialisation, then crops and order follow from ``seed``."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class TrainState:
    """Where a run stands: epoch, step, the step within the epoch, the best PSNR, the last validation,
    and the optimizer, scheduler and loss scaler of ``parameters``."""

    def __init__(self, parameters: Any, config: TrainConfig, device_type: str = "cpu", fp16: bool = False) -> None:
        self.config = config
        self.optimizer = torch.optim.Adam(parameters, lr=config.lr, betas=(config.beta1, config.beta2))
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(self.optimizer, config.milestones, gamma=config.lr_decay)
        self.scaler = torch.amp.GradScaler(device_type, enabled=fp16)
        self.epoch, self.step, self.epoch_step = 0, 0, 0
        self.best_psnr: float | None = None
        self.last_val: dict[str, float] = {}

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def end_epoch(self) -> None:
        """Count the epoch done and step the learning-rate schedule."""
        self.epoch += 1
        self.epoch_step = 0
        self.scheduler.step()

    def improves(self, psnr: float) -> bool:
        """Record ``psnr`` as the best so far if it is; whether it was."""
        if math.isnan(psnr) or (self.best_psnr is not None and psnr <= self.best_psnr):
            return False
        self.best_psnr = psnr
        return True

    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "step": self.step,
            "epoch_step": self.epoch_step,
            "best_psnr": self.best_psnr,
            "last_val": self.last_val,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rng_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state``, with the config's hyperparameters winning over the stored ones."""
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        self.epoch, self.step, self.epoch_step = state["epoch"], state["step"], state["epoch_step"]
        self.best_psnr, self.last_val = state["best_psnr"], state["last_val"]
        self._apply_hyperparameters()

    def _apply_hyperparameters(self) -> None:
        """The config's lr schedule and betas, rebuilt by multiplying at each passed milestone as
        MultiStepLR does, so an unchanged config gives bit-identical values."""
        config = self.config
        lr = config.lr
        for milestone in config.milestones:
            if milestone <= self.epoch:
                lr *= config.lr_decay
        for group in self.optimizer.param_groups:
            group["lr"] = lr
            group["betas"] = (config.beta1, config.beta2)
        self.scheduler.base_lrs = [config.lr] * len(self.optimizer.param_groups)
        self.scheduler.milestones = Counter(config.milestones)
        self.scheduler.gamma = config.lr_decay
