"""Any-to-any training's own pieces: the pairs drawn per epoch, the fixed validation sample, the scoring
of a conditioned model on it, and the start from a one-to-one model (``init``).

The epoch loop (:mod:`~relight.train.loop`) asks :func:`gather_any_to_any` for a
:class:`~relight.data.anytoany.PairSampler` instead of a fixed pair list, and builds each epoch's dataset
from its draw; everything else (state, step, store, resume) is the same as one-to-one training.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from relight.data.anytoany import PAIRS_PER_SCENE, LitPair, PairSampler, lights_text, load_scenes
from relight.data.dataset import LoadFailure, PairDataset, load_batches, say_notes
from relight.data.vidit import Scene, held_out_scenes
from relight.errors import RelightError, Setting
from relight.model import MBNet
from relight.model.config import HINTS
from relight.train.config import TrainConfig, TrainError
from relight.train.monitor import TrainMonitor, no_validation


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _split(config: TrainConfig, scenes: list[Scene], monitor: TrainMonitor) -> tuple[list[Scene], list[Scene]]:
    """(training scenes, validation scenes) from ``val_scenes`` or ``val_data``."""
    if config.val_scenes is not None:
        try:
            held = held_out_scenes([s.name for s in scenes], config.val_scenes, seed=config.seed)
        except RelightError as exc:
            raise TrainError(*exc.parts) from None
        return [s for s in scenes if s.name not in held], [s for s in scenes if s.name in held]
    if config.val_data is not None:
        val, skipped = load_scenes([config.val_data])
        if skipped:
            monitor.message(f"{config.val_data}: {len(skipped)} file(s) or scene(s) left out, e.g. {skipped[0]}")
        return scenes, val
    monitor.message(no_validation())
    return scenes, []


def validation_sample(config: TrainConfig, scenes: Sequence[Scene]) -> list[LitPair]:
    """The validation pairs: a seeded draw, the same at every validation and on resume, without mirrored
    pairs (validation scores the task itself) and without repeats, the source withheld as in training."""
    if not scenes:
        return []
    sources, targets = config.light_sets()
    sampler = PairSampler(scenes, sources, targets, None, config.seed, mirror=False,
                          withhold_source=config.withhold_source, stream="validation")
    sampler.per_epoch = min(config.val_pairs or PAIRS_PER_SCENE * len(sampler.scenes), sampler.possible)
    return sampler.draw(0)


def gather_any_to_any(config: TrainConfig, monitor: TrainMonitor) -> tuple[PairSampler, list[LitPair], dict[str, Any]]:
    """The training sampler, the validation pairs, and a description of them for the checkpoint's provenance."""
    sources, targets = config.light_sets()
    scenes, skipped = load_scenes(config.data)
    if skipped:
        monitor.message(f"{', '.join(config.data)}: {len(skipped)} file(s) or scene(s) left out, e.g. {skipped[0]}")
    train_scenes, val_scenes = _split(config, scenes, monitor)
    try:
        sampler = PairSampler(train_scenes, sources, targets, config.pairs_per_epoch, config.seed, config.mirror,
                              config.withhold_source, identity=config.identity_pairs,
                              claimed=config.identity_claims)
        val = validation_sample(config, val_scenes)
    except TrainError:
        raise
    except RelightError as exc:
        raise TrainError(f"{', '.join(config.data)}: ", *exc.parts) from None
    counts = sampler.counts()
    claims = f", {config.identity_claims:.0%} of those told their source told a light drawn at random" if config.identity_claims else ""
    cycle = f", each also relit back to its source (cycle loss weight {config.cycle_weight:g})" if config.cycle_weight else ""
    monitor.message(
        f"any-to-any: {_count(counts['scenes'], 'training scene')}, {counts['possible_pairs']} possible pairs, "
        f"{counts['pairs_per_epoch']} drawn per epoch ({config.identity_pairs:.0%} of them identity pairs{claims}{cycle}); "
        f"{_count(len(val), 'validation pair')}"
    )
    info = {"folders": [{"path": folder, "layout": "any-to-any"} for folder in config.data], **counts,
            "sources": lights_text(sources), "targets": lights_text(targets), "val_pairs": len(val)}
    return sampler, val, info


def lit_relight(model: torch.nn.Module, batch: dict[str, Any], device: torch.device, precision: str,
                size: tuple[int, int] | None) -> torch.Tensor:
    """The conditioned network's output for a batch (``rgb``, ``depth``, ``light``), run at ``size`` when
    given and resized back, as the Relighter runs; float32 in [0, 1]."""
    from relight.device import autocast
    from relight.tensors import pad_to_stride, resize

    rgb = batch["rgb"].to(device, torch.float32)
    depth = batch["depth"].to(device, torch.float32)
    light = batch["light"].to(device, torch.float32)
    h, w = rgb.shape[-2:]
    if size is not None and size != (h, w):
        rgb, depth = resize(rgb, size), resize(depth, size)
    rgb_p, (hh, ww) = pad_to_stride(rgb)
    depth_p, _ = pad_to_stride(depth)
    with torch.inference_mode(), autocast(device, precision):
        out = model(rgb_p, depth_p, light)
    out = out[..., :hh, :ww].float()
    return (resize(out, (h, w)) if out.shape[-2:] != (h, w) else out).clamp(0, 1)


def score_lit_pairs(model: torch.nn.Module, pairs: Sequence[LitPair], device: torch.device, precision: str,
                    size: tuple[int, int] | None, scorer: Any, workers: int, on_warning: Callable[[Any], None] | None = None,
                    depth_kind: str = "auto") -> Any:
    """A :class:`~relight.evaluation.score.ScoreReport` of ``model`` (in eval mode) on ``pairs``, its outputs rounded
    to 8-bit levels as :func:`relight.evaluation.evaluate.evaluate` scores them; depth read as ``depth_kind`` says,
    and what reading a pair had to say goes to ``on_warning``."""
    from relight.evaluation.score import Unscored, score_arrays

    dataset = PairDataset(pairs, require_target=True, depth_kind=depth_kind, notes=True)
    model = model.to(device).eval()

    def relit() -> Iterator[tuple[str, torch.Tensor, torch.Tensor] | Unscored]:
        for pair, batch in zip(pairs, load_batches(dataset, range(len(dataset)), 1, workers)):
            if isinstance(batch, LoadFailure):
                yield Unscored(pair.name, batch.message)
                continue
            say_notes(batch["notes"], on_warning)
            try:
                out = lit_relight(model, batch, device, precision, size)[0].mul(255).round().div(255)
            except RelightError as exc:
                yield Unscored(pair.name, str(exc))
                continue
            yield pair.name, out, batch["target"][0]

    return score_arrays(relit(), scorer=scorer)


def _model_settings(config: Any) -> list[Setting]:
    return [Setting(name, getattr(config, name), owner="TrainConfig") for name in ("backbone", "width", "decoder_channels", "residual")]


def init_from_model(config: TrainConfig) -> torch.nn.Module:
    """The conditioned network of ``config``, started from the model ``config.init`` so that it gives that
    model's outputs: a one-to-one model gives them for every light (:meth:`relight.model.MBNet.from_one_to_one`);
    a FiLM any-to-any model keeps its conditioning, so that a run fine-tunes it (on new data, or with hints
    or depth skips it lacks). The model may have fewer hints than the run asks for (their stem channels
    start at zero), not more, and lack the depth skips the run asks for (they start at zero); it keeps the
    model's margin unless ``config.margin`` names another (the start then differs at the borders)."""
    from relight.weights import load_weights

    assert config.init is not None
    loaded = load_weights(config.init)
    wanted = config.model_config()
    if config.margin is None:  # the model's own, so that the start gives its outputs
        wanted = dataclasses.replace(wanted, margin=loaded.config.margin)
    conditioning = getattr(loaded.config, "conditioning", "none")
    if conditioning != "none" and (conditioning, wanted.conditioning) != ("film", "film"):
        raise TrainError(f"{config.init}: holds {loaded.config.describe()}; ", Setting("init", config.init, owner="TrainConfig", shown=config.init),
                         " takes a one-to-one model, or a FiLM any-to-any model for a run with ",
                         Setting("conditioning", "film", owner="TrainConfig", shown="film"))
    base = dataclasses.replace(wanted, conditioning=conditioning, hints=loaded.config.hints, hint_fov_deg=loaded.config.hint_fov_deg,
                               hint_pitch_deg=loaded.config.hint_pitch_deg, margin=loaded.config.margin,
                               depth_skips=loaded.config.depth_skips)
    if loaded.config != base:
        differ = [s for s, mine in zip(_model_settings(loaded.config), _model_settings(base)) if s.value != mine.value]
        parts: list[Any] = []
        for setting in differ:
            parts += [" ", setting] if parts else [setting]
        raise TrainError(f"{config.init}: holds {loaded.config.describe()}, but the run asks for {base.describe()}; "
                         "train it with ", *parts)
    if HINTS.index(loaded.config.hints) > HINTS.index(wanted.hints):
        hints = Setting("hints", loaded.config.hints, owner="TrainConfig", shown=loaded.config.hints)
        raise TrainError(f"{config.init}: holds a model given {loaded.config.hints} hints, more than the run's "
                         f"{wanted.hints}; train it with ", hints)
    if loaded.config.depth_skips and not wanted.depth_skips:
        raise TrainError(f"{config.init}: holds a model with depth skips, and the run asks for none; train it with ",
                         Setting("depth_skips", True, owner="TrainConfig"))
    state = loaded.model.state_dict()
    film = {key.removeprefix("condition."): tensor for key, tensor in state.items() if key.startswith("condition.")}
    model = MBNet.from_one_to_one(wanted, {key: tensor for key, tensor in state.items() if not key.startswith("condition.")})
    if film:  # the any-to-any model's own conditioning, in place of the identity
        model.condition.load_state_dict(film)
    return model


__all__ = ["gather_any_to_any", "init_from_model", "lit_relight", "score_lit_pairs", "validation_sample"]
