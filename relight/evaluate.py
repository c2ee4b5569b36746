"""Evaluating a model on pairs with ground truth: relight each input, score it, optionally keep the outputs.

``relight eval`` and the validation inside ``relight train`` both go through :func:`evaluate`, so a
run's validation numbers and a later ``relight eval`` of its checkpoint are computed the same way, by
the scoring code of ``relight score``. The data loader helpers here are shared with training.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, default_collate

from relight.data.vidit import Setting, TrainPair, load_pairs
from relight.errors import RelightError
from relight.inference import Relighter, cudnn_autotune
from relight.io import write_image
from relight.score import ScoreReport, ScoreRow, Scorer, Unscored, score_arrays


@dataclass(frozen=True)
class LoadFailure:
    """A batch that could not be built, carried out of a DataLoader worker as a value so its message stays one line."""

    message: str


class _Guarded(Dataset):
    """Turns an item's :class:`RelightError` into a :class:`LoadFailure` instead of a multi-line worker traceback."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> Any:
        try:
            return self.dataset[index]
        except RelightError as exc:
            return LoadFailure(str(exc))


def _collate(items: list[Any]) -> Any:
    failed = next((item for item in items if isinstance(item, LoadFailure)), None)
    if failed is not None:
        return failed
    sizes = {tuple(item["rgb"].shape[-2:]) for item in items}
    if len(sizes) > 1:
        listed = ", ".join(f"{item['name']} ({item['rgb'].shape[-2]}x{item['rgb'].shape[-1]})" for item in items)
        return LoadFailure(f"images of different sizes in one batch: {listed}; train with --size or --crop")
    return default_collate(items)


def load_batches(
    dataset: Dataset, indices: Sequence[int], batch_size: int, workers: int, pin_memory: bool = False
) -> Iterator[dict[str, Any] | LoadFailure]:
    """Batches of ``dataset[i]`` for ``indices`` in that order, decoded by ``workers`` background
    processes; a batch a worker failed to load comes back as a :class:`LoadFailure`."""
    return iter(DataLoader(
        _Guarded(dataset), batch_size=batch_size, sampler=list(indices), num_workers=workers,
        collate_fn=_collate, pin_memory=pin_memory, generator=torch.Generator(),
    ))


def make_loader(
    dataset: Dataset, indices: Sequence[int], batch_size: int, workers: int, pin_memory: bool = False
) -> Iterator[dict[str, Any]]:
    """:func:`load_batches` that raises a failure as the one-line :class:`RelightError` the worker hit."""
    for batch in load_batches(dataset, indices, batch_size, workers, pin_memory):
        if isinstance(batch, LoadFailure):
            raise RelightError(batch.message)
        yield batch


def evaluate(
    relighter: Relighter,
    pairs: Sequence[TrainPair],
    scorer: Scorer | None = None,
    save_dir: str | os.PathLike[str] | None = None,
    ext: str = ".png",
    workers: int = 2,
    on_item: Callable[[ScoreRow | None], None] | None = None,
) -> ScoreReport:
    """Relight every pair, score it against its target, and write ``save_dir/<name><ext>`` when asked.

    Mirrored pairs are flipped as in training. The output is scored at the target's resolution (the
    relighter's ``size`` only sets the resolution the network runs at), rounded to the 8-bit levels an
    image file holds (unless ``ext`` is ``.npy``), so ``relight score`` on the saved PNGs gives the
    same numbers, as the challenge scored submitted PNGs. A pair that cannot be loaded
    or scored is listed in ``report.failed``, and the others are still done.
    """
    from relight.data.dataset import PairDataset

    dataset = PairDataset(pairs, require_target=True)
    pin = relighter.device.type == "cuda"

    def relit() -> Iterator[tuple[str, torch.Tensor, torch.Tensor] | Unscored]:
        for pair, batch in zip(pairs, load_batches(dataset, range(len(dataset)), 1, workers, pin_memory=pin)):
            if isinstance(batch, LoadFailure):
                yield Unscored(pair.name, batch.message)
                continue
            out = relighter.relight_tensor(batch["rgb"], batch["depth"])[0].clamp(0, 1)
            if ext.lower() != ".npy":  # what an image file holds: 8-bit levels, as the challenge scored submissions
                out = out.mul(255).round().div(255)
            name = batch["name"][0]
            if save_dir is not None:
                write_image(Path(save_dir) / f"{name}{ext}", out.permute(1, 2, 0).cpu().numpy())
            yield name, out, batch["target"][0]

    with cudnn_autotune(relighter.device):
        return score_arrays(relit(), scorer=scorer or Scorer(relighter.device), on_item=on_item)


def identity_report(pairs: Sequence[TrainPair], scorer: Scorer) -> ScoreReport:
    """The input image itself scored as the prediction: what "no relighting" gets, the baseline to beat."""
    from relight.data.dataset import PairDataset

    dataset = PairDataset(pairs, require_target=True)
    items = ((item["name"], item["rgb"], item["target"]) for item in (dataset[i] for i in range(len(dataset))))
    return score_arrays(items, scorer=scorer)


def evaluation_pairs(
    data: str | os.PathLike[str],
    source: str = "6500-N",
    target: str = "4500-E",
    gt_dir: str | os.PathLike[str] | None = None,
    depth_dir: str | os.PathLike[str] | None = None,
) -> list[TrainPair]:
    """The direct pairs of a folder in any layout (no extra data: evaluation scores the task itself)."""
    found = load_pairs(data, Setting.parse(source), Setting.parse(target), False, False, gt_dir=gt_dir, depth_dir=depth_dir)
    if not found.pairs:
        reason = f" ({found.skipped[0]})" if found.skipped else ""
        raise RelightError(f"{data}: no pairs to evaluate{reason}")
    without = [p for p in found.pairs if p.target is None]
    if without:
        raise RelightError(f"{without[0].input}: no ground truth to score against ({len(without)} inputs lack one; see --gt-dir)")
    return found.pairs


__all__ = ["LoadFailure", "evaluate", "evaluation_pairs", "identity_report", "load_batches", "make_loader"]
