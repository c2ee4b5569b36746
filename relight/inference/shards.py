"""Which slice of a folder this process relights, so that many processes share one folder without
talking to each other.

The slice is the caller's ``shard`` (``"K/N"``) when given; else the launcher's variables say it:
torchrun's ``RANK``/``WORLD_SIZE`` (each process also takes the GPU ``LOCAL_RANK``, see
:func:`local_device`), a SLURM job array's ``SLURM_ARRAY_TASK_ID``/``SLURM_ARRAY_TASK_COUNT`` (task
ids counted from ``SLURM_ARRAY_TASK_MIN`` in steps of ``SLURM_ARRAY_TASK_STEP``), or both, torchrun
inside each array task, which slices each task's slice again. Slices interleave (the K-th item of
every N), so every process gets images of every kind and every item goes to exactly one process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from relight.errors import InvalidEnvironment, InvalidSetting, Setting, Wording, python_words

T = TypeVar("T")

TORCHRUN = ("RANK", "WORLD_SIZE")
SLURM_ARRAY = ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT")


@dataclass(frozen=True)
class Slice:
    """The ``index``-th (from 0) of ``count`` interleaved slices, and where that was decided: the
    ``shard`` setting, or the environment variables named in ``source``."""

    index: int
    count: int
    source: Setting | str

    @property
    def label(self) -> str:
        """``K/N``, K counted from 1 as ``shard`` is written."""
        return f"{self.index + 1}/{self.count}"

    def take(self, items: Sequence[T]) -> list[T]:
        """This slice's items: every ``count``-th from the ``index``-th."""
        return list(items[self.index :: self.count])

    def describe(self, words: Wording = python_words) -> str:
        """``slice 2/4 from RANK/WORLD_SIZE`` (a ``shard`` source worded by ``words``)."""
        source = words(self.source) if isinstance(self.source, Setting) else self.source
        return f"slice {self.label} from {source}"


def parse_shard(spec: str) -> Slice:
    """``"K/N"`` (K from 1) as a :class:`Slice`; a malformed one is an :class:`InvalidSetting`."""
    setting = Setting("shard", spec, shown=repr(spec))
    try:
        k, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise InvalidSetting(setting, setting, ": expected K/N, e.g. 1/4") from None
    if not 1 <= k <= n:
        raise InvalidSetting(setting, setting, ": K must be between 1 and N")
    return Slice(k - 1, n, Setting("shard", spec, shown=spec))


def _integer(env: Mapping[str, str], name: str, default: int | None = None) -> int:
    text = env.get(name)
    if text is None and default is not None:
        return default
    try:
        return int(text or "")
    except ValueError:
        raise InvalidEnvironment(f"{name}={text!r}: expected a whole number", name=name, value=text) from None


def _torchrun(env: Mapping[str, str]) -> tuple[int, int]:
    rank, world = _integer(env, "RANK"), _integer(env, "WORLD_SIZE")
    if not 0 <= rank < world:
        raise InvalidEnvironment(f"RANK={rank} and WORLD_SIZE={world}: RANK must be from 0 to WORLD_SIZE - 1",
                                 name="RANK", value=str(rank))
    return rank, world


def _slurm_array(env: Mapping[str, str]) -> tuple[int, int]:
    """This array task's index from 0 and the number of tasks: ids start at ``SLURM_ARRAY_TASK_MIN``
    (not always 0 or 1) and go up in ``SLURM_ARRAY_TASK_STEP`` s."""
    task, count = _integer(env, "SLURM_ARRAY_TASK_ID"), _integer(env, "SLURM_ARRAY_TASK_COUNT")
    if "SLURM_ARRAY_TASK_MIN" not in env:  # the ids' origin cannot be guessed: arrays may start anywhere
        raise InvalidEnvironment("SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_MIN, so this task's place in the array is unknown",
                                 name="SLURM_ARRAY_TASK_MIN", value=None)
    low, step = _integer(env, "SLURM_ARRAY_TASK_MIN"), _integer(env, "SLURM_ARRAY_TASK_STEP", default=1)
    offset = task - low
    if step < 1 or count < 1 or offset < 0 or offset % step or offset // step >= count:
        raise InvalidEnvironment(
            f"SLURM_ARRAY_TASK_ID={task} is not one of {count} array task(s) from SLURM_ARRAY_TASK_MIN={low} in steps of "
            f"{step}; an array of irregular ids cannot be sliced this way: give each task its ", Setting("shard"),
            name="SLURM_ARRAY_TASK_ID", value=str(task))
    return offset // step, count


def environment_slice(env: Mapping[str, str] | None = None) -> Slice | None:
    """The slice the launcher's variables give (``os.environ`` by default), or None outside a launcher."""
    env = os.environ if env is None else env
    parts: list[tuple[tuple[int, int], tuple[str, str]]] = []
    if all(name in env for name in SLURM_ARRAY):
        parts.append((_slurm_array(env), SLURM_ARRAY))
    if all(name in env for name in TORCHRUN):
        parts.append((_torchrun(env), TORCHRUN))
    if not parts:
        return None
    index, count = 0, 1
    for (i, n), _names in parts:  # the outer launcher's slice is split again by the inner one's
        index, count = index * n + i, count * n
    return Slice(index, count, " and ".join("/".join(names) for _, names in parts))


def resolve_slice(shard: str | None, env: Mapping[str, str] | None = None) -> Slice | None:
    """``shard`` when given (it wins), else :func:`environment_slice`; None means every item."""
    return parse_shard(shard) if shard else environment_slice(env)


def local_device(env: Mapping[str, str] | None = None) -> str | None:
    """``cuda:LOCAL_RANK`` (modulo the GPUs there are) for a process torchrun started on a machine
    with CUDA, so that each process of one machine uses its own GPU; None elsewhere (the usual choice)."""
    env = os.environ if env is None else env
    if "LOCAL_RANK" not in env:
        return None
    local = _integer(env, "LOCAL_RANK")
    import torch

    if not torch.cuda.is_available():
        return None
    return f"cuda:{local % torch.cuda.device_count()}"


__all__ = ["Slice", "environment_slice", "local_device", "parse_shard", "resolve_slice"]
