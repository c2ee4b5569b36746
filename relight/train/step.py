"""One optimisation step: forward (under autocast), loss, backward through the loss scaler, update; and the
scale a step's batch is rescaled by when training at several scales.

The step knows nothing of epochs, files or validation; a loss that is not finite on any rank stops
every rank before the update (:class:`Diverged`), so the weights stay those of the last good step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from relight.train.config import TrainError
from relight.train.distributed import Dist, mean_over_ranks


#: The stream of the per-step scale draws, apart from the other draws of the same seed.
SCALE_STREAM = 2


def step_scale(scales: Sequence[float] | None, seed: int, epoch: int, epoch_step: int) -> float:
    """The factor a step's batch is rescaled by: log-uniform in ``scales`` (LOW, HIGH), drawn from (seed,
    epoch, step within the epoch) alone, so that a resumed run (on any number of processes) draws the same;
    1 without ``scales``."""
    if not scales:
        return 1.0
    low, high = math.log(scales[0]), math.log(scales[1])
    return math.exp(np.random.default_rng([seed, SCALE_STREAM, epoch, epoch_step]).uniform(low, high))


def rescaled(x: torch.Tensor, scale: float) -> torch.Tensor:
    """``N x C x H x W`` resized by ``scale`` (sides rounded, at least one pixel) as the Relighter resizes;
    ``x`` itself at scale 1."""
    from relight.tensors import resize

    if scale == 1.0:
        return x
    h, w = x.shape[-2:]
    return resize(x, (max(1, round(h * scale)), max(1, round(w * scale))))


class Diverged(TrainError):
    """The loss became NaN or infinite: ``loss`` is the value; the update was not applied."""


class TrainStep:
    """Runs steps of ``net`` (the model, or its DDP wrapper) against ``loss_fn`` with ``optimizer``."""

    def __init__(self, net: torch.nn.Module, loss_fn: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 scaler: torch.amp.GradScaler, device: torch.device, precision: str, where: Dist | None = None,
                 cycle_weight: float = 0.0) -> None:
        self.net, self.loss_fn, self.optimizer, self.scaler = net, loss_fn, optimizer, scaler
        self.device, self.precision, self.where = device, precision, where or Dist()
        self.cycle_weight = cycle_weight

    def __call__(self, batch: dict[str, Any], scale: float = 1.0) -> tuple[float, dict[str, float]]:
        """Train on ``batch`` (``rgb``, ``depth``, ``target``, and ``light`` for a conditioned model), its images
        rescaled by ``scale`` on the device (:func:`rescaled`); the loss and its parts, averaged over ranks."""
        from relight.device import autocast
        from relight.tensors import pad_to_stride

        rgb, depth, target = (rescaled(batch[key].to(self.device, non_blocking=True), scale) for key in ("rgb", "depth", "target"))
        rgb_p, (h, w) = pad_to_stride(rgb)
        depth_p, _ = pad_to_stride(depth)
        lights = () if "light" not in batch else (batch["light"].to(self.device, non_blocking=True),)
        with autocast(self.device, self.precision):
            pred = self.net(rgb_p, depth_p, *lights)[..., :h, :w]
            loss, components = self.loss_fn(pred.float(), target)
            if self.cycle_weight and "back" in batch:
                loss = loss + self.cycle_weight * self._cycle(pred, depth_p, batch["back"], rgb)
        # every rank sees the same mean loss, so all stop together on NaN
        values = mean_over_ranks(torch.stack([loss.detach(), *components.values()]), self.where).tolist()
        if not all(math.isfinite(v) for v in values):
            raise Diverged(f"loss became {values[0]}", loss=values[0])
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return values[0], dict(zip(components, values[1:]))

    def _cycle(self, pred: torch.Tensor, depth_p: torch.Tensor, back: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
        """The loss of ``pred`` (detached: the first pass learns from its own target only) relit back to the
        source light, against the input ``rgb``. Run on the bare model: under DDP a second forward of the
        wrapper in one step would register its gradients twice; the shared parameters' gradients of both
        passes still reach the wrapper's one all-reduce."""
        from relight.tensors import pad_to_stride

        h, w = rgb.shape[-2:]
        net = getattr(self.net, "module", self.net)
        again, _ = pad_to_stride(pred.detach())
        relit = net(again, depth_p, back.to(self.device, non_blocking=True))[..., :h, :w]
        return self.loss_fn(relit.float(), rgb)[0]
