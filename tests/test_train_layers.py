"""The training layers without the command line: TrainState, the step, the validator."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from relight.data.synth import write_dataset
from relight.data.vidit import load_pairs
from relight.train.losses import RelightLoss
from relight.model import MBNet, MBNetConfig
from relight.model.blocks import DynamicDilatedBranch
from relight.train import Diverged, TrainConfig, TrainState, TrainStep, Validator


def _model(config: MBNetConfig) -> MBNet:
    torch.manual_seed(0)
    return MBNet(config)


def _batch(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"rgb": torch.rand(2, 3, 32, 32, generator=g), "depth": torch.rand(2, 1, 32, 32, generator=g),
            "target": torch.rand(2, 3, 32, 32, generator=g)}


def _step(model: MBNet, state: TrainState, loss: torch.nn.Module | None = None) -> TrainStep:
    return TrainStep(model, loss or RelightLoss(perceptual_weight=0.0), state.optimizer, state.scaler,
                     torch.device("cpu"), "fp32")


def _snapshot(model: torch.nn.Module) -> dict[str, object]:
    return {
        "tensors": {k: v.clone() for k, v in model.state_dict().items()},
        "modes": [m.training for m in model.modules()],
        "grad": [p.requires_grad for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "impl": [m.impl for m in model.modules() if isinstance(m, DynamicDilatedBranch)],
    }


def _identical(a: dict[str, object], b: dict[str, object]) -> bool:
    same_tensors = a["tensors"].keys() == b["tensors"].keys() and all(
        torch.equal(a["tensors"][k], b["tensors"][k]) for k in a["tensors"])
    same_grads = all((x is None and y is None) or (x is not None and y is not None and torch.equal(x, y))
                     for x, y in zip(a["grads"], b["grads"]))
    return same_tensors and same_grads and all(a[k] == b[k] for k in ("modes", "grad", "impl"))


def test_state_round_trip_continues_bit_for_bit(tiny_config) -> None:
    config = TrainConfig(lr=1e-3, milestones=[1])
    model = _model(tiny_config).train()
    state = TrainState(model.parameters(), config)
    step = _step(model, state)
    step(_batch(0))
    state.step, state.epoch_step = 1, 1
    state.end_epoch()
    saved = state.state_dict()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    after = [step(_batch(1))[0], random.random(), float(np.random.rand()), torch.rand(1).item()]

    model.load_state_dict(weights)
    again = TrainState(model.parameters(), config)
    again.load_state_dict(saved)
    assert (again.epoch, again.step, again.epoch_step) == (1, 1, 0)
    assert again.lr == pytest.approx(1e-4)  # the milestone passed
    drawn = [_step(model, again)(_batch(1))[0], random.random(), float(np.random.rand()), torch.rand(1).item()]
    assert drawn == after


@pytest.mark.filterwarnings("ignore:Detected call of:UserWarning")  # epochs without steps, on purpose
def test_resume_with_another_schedule_rebuilds_the_learning_rate(tiny_config) -> None:
    model = _model(tiny_config)
    state = TrainState(model.parameters(), TrainConfig(lr=1e-3, milestones=[1], beta1=0.5))
    state.end_epoch()
    state.end_epoch()
    assert state.lr == pytest.approx(1e-4)
    changed = TrainState(model.parameters(), TrainConfig(lr=2e-3, milestones=[3], lr_decay=0.5, beta1=0.9))
    changed.load_state_dict(state.state_dict())
    assert changed.lr == 2e-3
    assert changed.optimizer.param_groups[0]["betas"] == (0.9, 0.999)
    changed.end_epoch()  # epoch 3: the new milestone
    assert changed.lr == pytest.approx(1e-3)


def test_best_psnr_is_only_replaced_by_a_higher_one(tiny_config) -> None:
    state = TrainState(_model(tiny_config).parameters(), TrainConfig())
    assert state.improves(20.0)
    assert not state.improves(19.0)
    assert not state.improves(float("nan"))
    assert state.improves(21.0)
    assert state.best_psnr == 21.0


class _NanLoss(torch.nn.Module):
    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss = (pred - target).abs().mean() * float("nan")
        return loss, {"charbonnier": loss}


def test_a_step_updates_and_a_nan_loss_stops_before_the_update(tiny_config) -> None:
    model = _model(tiny_config).train()
    state = TrainState(model.parameters(), TrainConfig(lr=1e-3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    loss, parts = _step(model, state)(_batch())
    assert np.isfinite(loss)
    assert set(parts) == {"charbonnier", "ssim"}
    assert not all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    trained = {k: v.clone() for k, v in model.state_dict().items() if v.is_floating_point()}
    with pytest.raises(Diverged) as caught:
        _step(model, state, _NanLoss())(_batch())
    assert np.isnan(caught.value.loss)
    assert "loss became nan" in str(caught.value)
    params = dict(model.named_parameters())
    assert all(torch.equal(trained[k], params[k]) for k in params)  # no update from the bad step


def test_validation_leaves_the_training_model_untouched(tiny_config, tmp_path: Path) -> None:
    write_dataset(tmp_path / "data", scenes=1, size=64, seed=5)
    pairs = load_pairs(tmp_path / "data", use_neighbours=False, use_mirror=False).pairs
    model = _model(tiny_config).train()
    state = TrainState(model.parameters(), TrainConfig(lr=1e-3))
    _step(model, state)(_batch())  # gradients and BatchNorm statistics of a real step
    before = _snapshot(model)
    calls: list[bool] = []
    model.register_forward_pre_hook(lambda module, args: calls.append(module.training))
    validator = Validator(pairs, torch.device("cpu"), "fp32", None, workers=0)
    means = validator(model)
    assert calls == []  # the training model itself never ran: a copy of its weights did
    assert means["psnr"] > 0
    assert "ssim" in means
    assert _identical(before, _snapshot(model))
    assert validator(model) == means  # the same weights score the same
