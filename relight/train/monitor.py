"""What a training run reports as it goes: :class:`TrainMonitor` (the command line draws it) and the
:class:`EpochRecord` each checkpoint writes to ``metrics.csv``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from relight.errors import RelightWarning, Setting


@dataclass
class EpochRecord:
    """One row of ``metrics.csv``: where the run is, the mean training loss since the last row, validation."""

    epoch: float
    step: int
    lr: float
    loss: float
    components: dict[str, float]
    val: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    best: bool = False

    def row(self) -> dict[str, Any]:
        row: dict[str, Any] = {"epoch": f"{self.epoch:.4g}", "step": self.step, "lr": f"{self.lr:.6g}",
                               "loss": f"{self.loss:.6f}", "seconds": f"{self.seconds:.1f}"}
        row.update({k: f"{v:.6f}" for k, v in self.components.items()})
        row.update({f"val_{k}": f"{v:.6f}" for k, v in self.val.items()})
        return row


def no_validation() -> RelightWarning:
    """The note of a run without validation data."""
    return RelightWarning("no validation data (", Setting("val_data"), " or ", Setting("val_scenes"),
                          "): best.safetensors will not be kept")


class TrainMonitor:
    """What the loop reports (only on rank 0); the base class reports nothing."""

    def begin(self, total_steps: int, done_steps: int, epochs: int) -> None:
        """Called once before the first step."""

    def step(self, step: int, epoch: int, loss: float, steps_per_second: float) -> None:
        """Called after every optimisation step with that step's loss."""

    def epoch_end(self, record: EpochRecord) -> None:
        """Called after each checkpoint (end of epoch or a ``max_steps`` stop)."""

    def message(self, text: str | RelightWarning) -> None:
        """A one-line note about the data, the model or the run (a warning's settings worded per audience)."""
