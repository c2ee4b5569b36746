"""Depth for photos that come without it: the depth models relight knows (:mod:`~relight.depth.registry`)
and the model that estimates depth from a photo (:mod:`~relight.depth.estimation`).

Every name is importable from ``relight.depth``, loaded on first use: the registry needs neither torch
nor transformers.
"""

from __future__ import annotations

from relight.lazy import lazy_attributes

_HOMES = {
    **dict.fromkeys(("DepthModelEntry", "DepthModelFiles", "DepthModelUnavailable", "DepthRegistry", "depth_model_status",
                     "fetch_depth_model", "load_depth_registry", "locate_depth_model"), "relight.depth.registry"),
    **dict.fromkeys(("DepthEstimator", "MissingDependency", "estimate_depth", "unavailable_estimator"), "relight.depth.estimation"),
}

__getattr__ = lazy_attributes(__name__, _HOMES)

__all__ = sorted(_HOMES)
