"""Training MBNet: the paper's recipe by default, resumable to the step, on one device or many (torchrun).

The layers, each a module: :mod:`~relight.train.config` (settings, TOML, which source wins),
:mod:`~relight.train.store` (the run folder: all-or-nothing checkpoints, resume, metrics log),
:mod:`~relight.train.state` (optimizer, schedule, RNGs, position), :mod:`~relight.train.step` (one
optimisation step), :mod:`~relight.train.validate` (scoring a copy of the model),
:mod:`~relight.train.distributed` (torchrun), :mod:`~relight.train.monitor` (progress reports) and
:mod:`~relight.train.loop` (the epochs tying them together, and :func:`train`).

Importing this package or its config loads no torch; the rest is imported on first use.
"""

from __future__ import annotations

from relight.lazy import lazy_attributes
from relight.train.config import (
    CONFIG_FILE,
    TrainConfig,
    TrainError,
    TrainSettingError,
    check_settings,
    default_workers,
    load_toml,
    resolve_config,
    size_setting,
)
from relight.train.monitor import EpochRecord, TrainMonitor

_HOMES = {
    **dict.fromkeys(("BEST", "LAST", "LAST_STATE", "METRICS_FILE", "METRIC_COLUMNS", "SUMMARY_FILE", "RunStore",
                     "resumable", "state_digest"), "relight.train.store"),
    **dict.fromkeys(("TrainResult", "Trainer", "train"), "relight.train.loop"),
    "TrainState": "relight.train.state",
    **dict.fromkeys(("Diverged", "TrainStep"), "relight.train.step"),
    "Validator": "relight.train.validate",
    **dict.fromkeys(("Dist", "is_main_process"), "relight.train.distributed"),
}

__getattr__ = lazy_attributes(__name__, _HOMES)

__all__ = sorted([
    *_HOMES, "CONFIG_FILE", "EpochRecord", "TrainConfig", "TrainError", "TrainMonitor", "TrainSettingError",
    "check_settings", "default_workers", "load_toml", "resolve_config", "size_setting",
])
