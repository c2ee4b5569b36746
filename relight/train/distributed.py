"""Where a process stands in a torchrun job, and the few collective operations training needs.

Without torchrun every helper is a no-op on a job of one, so the loop reads the same either way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler


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


def init_distributed(device_name: str | None) -> tuple[Dist, torch.device]:
    """This process's place in the job and its device; joins the process group under torchrun."""
    from relight.device import select_device

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


def epoch_indices(n: int, where: Dist, seed: int, epoch: int) -> list[int]:
    """This rank's examples for ``epoch``, in order: a function of (seed, epoch) alone, hence resumable."""
    sampler = DistributedSampler(range(n), num_replicas=where.world, rank=where.rank, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    return list(sampler)


def barrier(where: Dist) -> None:
    if where.active:
        dist.barrier()


def sync_buffers(model: torch.nn.Module, where: Dist) -> None:
    """Give every replica rank 0's BatchNorm statistics (DDP syncs parameters, buffers only at forward)."""
    if where.active:
        for buffer in model.buffers():
            dist.broadcast(buffer, 0)


def mean_over_ranks(values: torch.Tensor, where: Dist) -> torch.Tensor:
    """``values`` averaged over the ranks, in place: every rank sees the same numbers."""
    if where.active:
        dist.all_reduce(values)
        values /= where.world
    return values


def gather(value: Any, where: Dist) -> list[Any]:
    """Every rank's ``value``, in rank order (``[value]`` without torchrun)."""
    if not where.active:
        return [value]
    gathered: list[Any] = [None] * where.world
    dist.all_gather_object(gathered, value)
    return gathered


def wrap(model: torch.nn.Module, device: torch.device, where: Dist) -> torch.nn.Module:
    """The module the steps run: ``model`` itself, or under torchrun its DistributedDataParallel."""
    if not where.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
