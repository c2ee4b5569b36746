"""One optimisation step: forward (under autocast), loss, backward through the loss scaler, update.

The step knows nothing of epochs, files or validation; a loss that is not finite on any rank stops
every rank before the update (:class:`Diverged`), so the weights stay those of the last good step.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from relight.train.config import TrainError
from relight.train.distributed import Dist, mean_over_ranks


class Diverged(TrainError):
    """The loss became NaN or infinite: ``loss`` is the value; the update was not applied."""


class TrainStep:
    """Runs steps of ``net`` (the model, or its DDP wrapper) against ``loss_fn`` with ``optimizer``."""

    def __init__(self, net: torch.nn.Module, loss_fn: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 scaler: torch.amp.GradScaler, device: torch.device, precision: str, where: Dist | None = None) -> None:
        self.net, self.loss_fn, self.optimizer, self.scaler = net, loss_fn, optimizer, scaler
        self.device, self.precision, self.where = device, precision, where or Dist()

    def __call__(self, batch: dict[str, Any]) -> tuple[float, dict[str, float]]:
        """Train on ``batch`` (``rgb``, ``depth``, ``target``, and ``light`` for a conditioned model); the loss
        and its parts, averaged over ranks."""
        from relight.device import autocast
        from relight.tensors import pad_to_stride

        rgb = batch["rgb"].to(self.device, non_blocking=True)
        depth = batch["depth"].to(self.device, non_blocking=True)
        target = batch["target"].to(self.device, non_blocking=True)
        rgb_p, (h, w) = pad_to_stride(rgb)
        depth_p, _ = pad_to_stride(depth)
        lights = () if "light" not in batch else (batch["light"].to(self.device, non_blocking=True),)
        with autocast(self.device, self.precision):
            pred = self.net(rgb_p, depth_p, *lights)[..., :h, :w]
            loss, components = self.loss_fn(pred.float(), target)
        # every rank sees the same mean loss, so all stop together on NaN
        values = mean_over_ranks(torch.stack([loss.detach(), *components.values()]), self.where).tolist()
        if not all(math.isfinite(v) for v in values):
            raise Diverged(f"loss became {values[0]}", loss=values[0])
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return values[0], dict(zip(components, values[1:]))
