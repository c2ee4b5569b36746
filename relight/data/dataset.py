"""A torch ``Dataset`` over :class:`~relight.data.vidit.TrainPair` lists, and the loaders over it that
training and evaluation share (:func:`make_loader`, :func:`load_batches`).

Each item is ``{"rgb": 3xHxW, "depth": 1xHxW, "target": 3xHxW (only when the pair has one), "name": str}``,
float32, images in [0, 1], and for an any-to-any :class:`~relight.data.anytoany.LitPair` also ``"light"``:
its row of :func:`relight.lighting.encode_lights` (LIGHT_FEATURES floats). With ``notes=True`` an item also
holds ``"notes"``, what reading the pair had to say (depth converted from another convention, resized,
outside [0, 1]: :func:`relight.data.pairs.load_pair`'s warnings); the loaders here gather a batch's notes
into one flat list for the caller to say (:func:`say_notes`); torch's own ``default_collate`` cannot
batch such lists. Mirrored pairs are flipped here (image, depth and target together). Optional
resizing and random cropping are off by default because the paper used neither. The crop position depends
only on (seed, epoch, index), so a run is reproducible whatever the number of DataLoader workers.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, default_collate

from relight.data.anytoany import LitPair
from relight.data.pairs import InferencePair, load_pair
from relight.data.vidit import TrainPair
from relight.errors import InvalidSetting, RelightError, RelightWarning, Setting
from relight.io.depth import check_depth_kind
from relight.io.images import read_image
from relight.tensors import image_tensor, resize


def _size_pair(value: int | tuple[int, int] | None, what: str) -> tuple[int, int] | None:
    if value is None:
        return None
    size = (value, value) if isinstance(value, int) else tuple(value)
    if len(size) != 2 or min(size) < 1:
        setting = Setting(what, value, owner="PairDataset", shown=repr(value))
        raise InvalidSetting(setting, setting, ": expected N or (height, width) with positive sides")
    return int(size[0]), int(size[1])


def _resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``C x H x W`` resized as the Relighter resizes (:func:`relight.tensors.resize`)."""
    return x if tuple(x.shape[-2:]) == size else resize(x[None], size)[0]


class PairDataset(Dataset):
    """Loads pairs from disk on demand (so it works with any number of DataLoader workers).

    ``size`` resizes every image (N or (H, W)); ``crop`` takes a random N or (H, W) window after resizing.
    ``depth_kind`` says what the depth files hold (:data:`relight.io.depth.DEPTH_KINDS`).
    Call :meth:`set_epoch` at the start of each epoch to draw new crops; the epoch lives in shared memory,
    so persistent workers see it too.
    """

    def __init__(
        self,
        pairs: Sequence[TrainPair],
        size: int | tuple[int, int] | None = None,
        crop: int | tuple[int, int] | None = None,
        seed: int = 0,
        require_target: bool = False,
        depth_kind: str = "auto",
        notes: bool = False,
    ) -> None:
        self.pairs = list(pairs)
        self.depth_kind, self.notes = check_depth_kind(depth_kind), notes
        self.size = _size_pair(size, "size")
        self.crop = _size_pair(crop, "crop")
        self.seed = seed
        if require_target:
            missing = [p for p in self.pairs if p.target is None]
            if missing:
                raise RelightError(f"{missing[0].input}: no target image ({len(missing)} pairs have none)")
        self._epoch = torch.zeros(1, dtype=torch.int64).share_memory_()

    def set_epoch(self, epoch: int) -> None:
        self._epoch[0] = epoch

    @property
    def epoch(self) -> int:
        return int(self._epoch[0])

    def __len__(self) -> int:
        return len(self.pairs)

    def crop_box(self, index: int, height: int, width: int) -> tuple[int, int]:
        """Top-left corner of the crop for ``index`` this epoch, drawn from (seed, epoch, index) alone."""
        assert self.crop is not None
        ch, cw = self.crop
        if ch > height or cw > width:
            raise RelightError(
                f"{self.pairs[index].input}: crop {ch}x{cw} is larger than the image ({height}x{width})"
            )
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return int(rng.integers(0, height - ch + 1)), int(rng.integers(0, width - cw + 1))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        pair = self.pairs[index]
        decoded = load_pair(InferencePair(pair.name, pair.input, pair.depth), self.depth_kind)
        rgb = decoded.image.rgb
        depth = decoded.depth
        arrays = {"rgb": rgb, "depth": depth[..., None]}
        if pair.target is not None:
            target = read_image(pair.target).rgb
            if target.shape != rgb.shape:
                raise RelightError(
                    f"{pair.target}: target is {target.shape[0]}x{target.shape[1]}, "
                    f"input {pair.input.name} is {rgb.shape[0]}x{rgb.shape[1]}"
                )
            arrays["target"] = target
        item: dict[str, torch.Tensor | str] = {}
        for key, array in arrays.items():
            if pair.flip:
                array = array[:, ::-1]
            tensor = image_tensor(array)[0]
            if self.size is not None:
                tensor = _resize(tensor, self.size)
            item[key] = tensor
        if self.crop is not None:
            h, w = item["rgb"].shape[-2:]
            top, left = self.crop_box(index, h, w)
            for key in arrays:
                item[key] = item[key][:, top : top + self.crop[0], left : left + self.crop[1]]
        for key in arrays:
            item[key] = item[key].contiguous()
        if isinstance(pair, LitPair):
            item["light"] = torch.tensor(pair.light_vector(), dtype=torch.float32)
            item["back"] = torch.tensor(pair.back_vector(), dtype=torch.float32)
        item["name"] = pair.name
        if self.notes:
            item["notes"] = list(decoded.warnings)
        return item


@dataclass(frozen=True)
class LoadFailure:
    """A batch that could not be built, carried out of a DataLoader worker as a value so its message stays one line."""

    error: RelightError

    @property
    def message(self) -> str:
        """The error's one line, in Python terms."""
        return str(self.error)


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
            return LoadFailure(exc)


def _collate(items: list[Any]) -> Any:
    failed = next((item for item in items if isinstance(item, LoadFailure)), None)
    if failed is not None:
        return failed
    notes = [note for item in items for note in item.pop("notes", ())] if "notes" in items[0] else None
    sizes = {tuple(item["rgb"].shape[-2:]) for item in items}
    if len(sizes) > 1:
        shown = ", ".join(f"{item['name']} ({item['rgb'].shape[-2]}x{item['rgb'].shape[-1]})" for item in items)
        return LoadFailure(RelightError(f"images of different sizes in one batch: {shown}; train with ",
                                        Setting("size", owner="TrainConfig"), " or ", Setting("crop", owner="TrainConfig")))
    batch = default_collate(items)
    if notes is not None:
        batch["notes"] = notes
    return batch


def say_notes(notes: Sequence[str | RelightWarning], on_warning: Callable[[str | RelightWarning], None] | None) -> None:
    """Each of a batch's notes to ``on_warning`` (default: :func:`warnings.warn`, never dropped)."""
    for note in notes:
        if on_warning is not None:
            on_warning(note)
        else:
            warnings.warn(note if isinstance(note, RelightWarning) else RelightWarning(note), stacklevel=3)


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
    """:func:`load_batches` that raises the one-line :class:`RelightError` a worker hit, as it was raised."""
    for batch in load_batches(dataset, indices, batch_size, workers, pin_memory):
        if isinstance(batch, LoadFailure):
            raise batch.error
        yield batch


__all__ = ["LoadFailure", "PairDataset", "load_batches", "make_loader", "say_notes"]
