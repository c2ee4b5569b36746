"""Running a trained model on photos: :mod:`~relight.inference.relighter` (the :class:`Relighter`: a model on a
device, the optimised path), :mod:`~relight.inference.scale` (the size the network runs at, and the way
back to full resolution), :mod:`~relight.inference.batch` (a folder in a decode / network / encode
pipeline), :mod:`~relight.inference.naming` (output names) and :mod:`~relight.inference.shards` (the
slice of a folder a process takes).

Every name is importable from ``relight.inference``, loaded on first use.
"""

from __future__ import annotations

from relight.lazy import lazy_attributes

_HOMES = {
    **dict.fromkeys(("Relighter", "checked_tensors", "prepare_for_inference"), "relight.inference.relighter"),
    **dict.fromkeys(("DEFAULT_UPSCALE", "UPSCALES", "RunScale", "parse_run_size", "parse_size", "run_scale"), "relight.inference.scale"),
    **dict.fromkeys(("BatchOptions", "BatchSummary", "batch_plan", "run_batch"), "relight.inference.batch"),
    **dict.fromkeys(("Output", "output_name", "plan_outputs"), "relight.inference.naming"),
    **dict.fromkeys(("Slice", "resolve_slice"), "relight.inference.shards"),
}

__getattr__ = lazy_attributes(__name__, _HOMES)

__all__ = sorted(_HOMES)
