"""The conditioned (any-to-any) MBNet: its config in checkpoints, identity initialisation from a one-to-one
model (plain forward and the optimised inference path), the light argument, and Relighter's ``to=``."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from relight.errors import InvalidSetting
from relight.inference import Relighter
from relight.lighting import ALL_LIGHTS, LIGHT_FEATURES, Light, encode_lights
from relight.model import MBNet, MBNetConfig
from relight.model.checkpoint import FORMAT, LoadedModel, load_checkpoint, save_checkpoint
from relight.model.condition import FILM_SITES, ConditioningError
from relight.weights.registry import USER_REGISTRY_FORMAT, load_registry

DESIGNS = ("film", "planes")
LIGHTS = ["2500-W", "6500-E", "4500-N", "3500-SE"]
PAIR = {"source": "6500-N", "target": "4500-E"}


@pytest.fixture(scope="module")
def one_to_one(tiny_config, randomise_batchnorm) -> MBNet:
    torch.manual_seed(0)
    return randomise_batchnorm(MBNet(tiny_config)).eval()  # BatchNorm statistics off the identity: folding has work to do


@pytest.fixture(scope="module")
def inputs() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    return torch.rand(2, 3, 64, 96), torch.rand(2, 1, 64, 96)


def _randomised(model: MBNet) -> MBNet:
    """``model`` with its conditioning moved off the identity, as training would."""
    torch.manual_seed(5)
    with torch.no_grad():
        if model.config.conditioning == "film":
            torch.nn.init.normal_(model.condition.out.weight, std=0.5)
        else:
            model.rgb_encoder.conv1.weight[:, 3:].normal_(std=0.5)
    return model.eval()


def test_the_config_field_travels_and_old_configs_read_as_one_to_one(tiny_config) -> None:
    film = dataclasses.replace(tiny_config, conditioning="film")
    assert film.any_to_any
    assert not tiny_config.any_to_any
    assert MBNetConfig.from_json(film.to_json()) == film
    assert json.loads(film.to_json())["conditioning"] == "film"
    old = {"backbone": "narrow", "width": 8, "decoder_channels": 16, "residual": True}
    assert MBNetConfig.from_dict(old).conditioning == "none"
    assert film.describe() == "narrow-w8-d16-film"
    assert tiny_config.describe() == "narrow-w8-d16"
    assert MBNetConfig().describe() == "resnet50"
    assert MBNetConfig(conditioning="planes").describe() == "resnet50-planes"
    with pytest.raises(ValueError, match="unknown conditioning 'hats'"):
        MBNetConfig(conditioning="hats")


@pytest.mark.parametrize("design", DESIGNS)
def test_checkpoints_rebuild_the_conditioned_network(tiny_config, tmp_path: Path, design: str, inputs) -> None:
    model = _randomised(MBNet(dataclasses.replace(tiny_config, conditioning=design)))
    path = save_checkpoint(model, tmp_path / "m.safetensors", {"mapping": "any-to-any"})
    loaded = load_checkpoint(path)
    assert loaded.config == model.config
    assert loaded.provenance["mapping"] == "any-to-any"
    rgb, depth = inputs
    light = encode_lights(["2500-W", "6500-E"], [None, "6500-N"])
    with torch.no_grad():
        assert torch.equal(loaded.model(rgb, depth, light), model(rgb, depth, light))


def test_a_checkpoint_written_before_conditioning_existed_loads_as_one_to_one(tiny_config, tmp_path: Path, one_to_one) -> None:
    old = {"backbone": "narrow", "width": 8, "decoder_channels": 16, "residual": True}
    tensors = {k: v.contiguous() for k, v in one_to_one.state_dict().items()}
    save_file(tensors, str(tmp_path / "old.safetensors"), metadata={"format": FORMAT, "config": json.dumps(old), "provenance": "{}"})
    loaded = load_checkpoint(tmp_path / "old.safetensors")
    assert loaded.config == tiny_config
    assert loaded.model.condition is None


def test_the_light_argument_is_checked(tiny_config, one_to_one, inputs) -> None:
    rgb, depth = inputs
    with pytest.raises(InvalidSetting, match=r"one-to-one: it takes no light") as err:
        one_to_one(rgb, depth, encode_lights(["2500-W", "2500-W"]))
    assert err.value.setting.name == "light"
    film = MBNet(dataclasses.replace(tiny_config, conditioning="film")).eval()
    with pytest.raises(InvalidSetting, match=r"conditioned \(film\): pass light"):
        film(rgb, depth)
    with pytest.raises(InvalidSetting, match=r"light has shape \(3, 7\); expected \(2, 7\)"):
        film(rgb, depth, encode_lights(LIGHTS[:3]))
    with pytest.raises(InvalidSetting, match="light has shape"):
        film(rgb, depth, torch.zeros(2, LIGHT_FEATURES - 1))


@pytest.mark.parametrize("design", DESIGNS)
def test_identity_initialisation_reproduces_the_one_to_one_model(tiny_config, design: str, one_to_one, inputs) -> None:
    """Plain forward, for several lights with and without a source, and one image relit to many lights."""
    rgb, depth = inputs
    model = MBNet.from_one_to_one(dataclasses.replace(tiny_config, conditioning=design), one_to_one.state_dict()).eval()
    with torch.no_grad():
        reference = one_to_one(rgb, depth)
        for target in LIGHTS:
            for source in (None, "6500-N", "2500-E"):
                out = model(rgb, depth, encode_lights([target, target], source))
                assert (out - reference).abs().max() < 1e-5, (target, source)
        many = model(rgb[:1], depth[:1], encode_lights(LIGHTS))
    assert many.shape == (len(LIGHTS), 3, 64, 96)
    assert (many - reference[:1]).abs().max() < 1e-5


@pytest.mark.parametrize("design", DESIGNS)
def test_identity_initialisation_through_the_optimised_inference_path(tiny_config, design: str, one_to_one, inputs) -> None:
    """Folded BatchNorm, shift convolution, channels-last and the banded tail run the conditioned model too."""
    rgb, depth = inputs
    reference = Relighter(LoadedModel(one_to_one, dict(PAIR)), "cpu", backend="torch").relight_tensor(rgb, depth)
    relighter = Relighter(MBNet.from_one_to_one(dataclasses.replace(tiny_config, conditioning=design), one_to_one).eval(), "cpu", backend="torch")
    assert relighter.model.tail_rows is not None  # the optimised path
    for target in LIGHTS:
        out = relighter.relight_tensor(rgb, depth, encode_lights([target, target], [None, "6500-N"]))
        assert (out - reference).abs().max() < 1e-5, target
    image, depth_map = rgb[0].permute(1, 2, 0).numpy(), depth[0, 0].numpy()
    for out in relighter.relight_many(image, depth_map, LIGHTS, group=3):
        assert np.abs(out - reference[0].permute(1, 2, 0).numpy()).max() < 1e-5


@pytest.mark.parametrize("design", DESIGNS)
def test_two_targets_give_different_outputs(tiny_config, design: str, inputs) -> None:
    torch.manual_seed(2)
    model = _randomised(MBNet(dataclasses.replace(tiny_config, conditioning=design)))
    rgb, depth = inputs
    with torch.no_grad():
        west, east = (model(rgb, depth, encode_lights([t, t])) for t in ("2500-W", "2500-E"))
        cold = model(rgb, depth, encode_lights(["6500-W", "6500-W"]))
    assert (west - east).abs().max() > 1e-3
    assert (west - cold).abs().max() > 1e-3
    relighter = Relighter(model, "cpu", backend="torch")
    image, depth_map = rgb[0].permute(1, 2, 0).numpy(), depth[0, 0].numpy()
    a, b = relighter.relight(image, depth_map, to="2500-W"), relighter.relight(image, depth_map, to=Light(2500, "E"))
    assert np.abs(a - b).max() > 1e-3
    assert np.abs(a - west[0].permute(1, 2, 0).numpy()).max() < 1e-4  # the optimised path agrees with the plain one
    batched = relighter.relight_many(image, depth_map, ["2500-W", "2500-E"], source="6500-N")
    single = relighter.relight(image, depth_map, to="2500-E", source="6500-N")
    assert np.abs(batched[1] - single).max() < 1e-5


def test_film_modulates_the_decoder_and_the_ddpm_guides(tiny_config) -> None:
    model = MBNet(dataclasses.replace(tiny_config, conditioning="film"))
    film = model.condition(encode_lights(LIGHTS))
    assert set(film) == set(FILM_SITES)
    assert {"guide32", "guide16", "guide8"} <= set(film)
    for site, (scale, shift) in film.items():
        channels = 16 if site != "up2" else 8
        assert scale.shape == shift.shape == (len(LIGHTS), channels, 1, 1)
        assert torch.equal(scale, torch.ones_like(scale))
        assert torch.equal(shift, torch.zeros_like(shift))


def test_from_one_to_one_refuses_what_does_not_fit(tiny_config, one_to_one) -> None:
    with pytest.raises(ConditioningError, match="needs a conditioned config"):
        MBNet.from_one_to_one(tiny_config, one_to_one)
    with pytest.raises(ConditioningError, match="do not fit narrow-w16-d32"):
        MBNet.from_one_to_one(MBNetConfig.narrow(conditioning="film"), one_to_one)
    with pytest.raises(ConditioningError, match="already conditioned"):
        MBNet.from_one_to_one(dataclasses.replace(tiny_config, conditioning="film"), MBNet(dataclasses.replace(tiny_config, conditioning="film")).state_dict())
    with pytest.raises(ConditioningError, match=r"rgb_encoder.conv1.weight has shape \(8, 10, 7, 7\), expected \(8, 3, 7, 7\)"):
        MBNet.from_one_to_one(dataclasses.replace(tiny_config, conditioning="planes"), MBNet(dataclasses.replace(tiny_config, conditioning="planes")).state_dict())


def test_planes_take_imagenet_on_the_rgb_channels_only() -> None:
    import torchvision

    reference = torchvision.models.resnet18()
    model = MBNet(MBNetConfig(backbone="resnet18", conditioning="planes"))
    model.init_from_imagenet({k: v for k, v in reference.state_dict().items() if not k.startswith("fc.")})
    stem = model.rgb_encoder.conv1.weight
    assert stem.shape[1] == 3 + LIGHT_FEATURES
    assert torch.equal(stem[:, :3], reference.conv1.weight)
    assert not stem[:, 3:].any()
    assert torch.equal(model.rgb_encoder.layer2[0].conv1.weight, reference.layer2[0].conv1.weight)


# --- Relighter: to=, source=, the mapping ---------------------------------------------------------


def test_a_one_to_one_relighter_applies_its_pair_and_names_it_when_asked_for_another(
    tiny_config, one_to_one, inputs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELIGHT_HOME", str(tmp_path / "home"))
    relighter = Relighter(LoadedModel(one_to_one, dict(PAIR)), "cpu", backend="torch")
    assert relighter.illumination.describe() == "one-to-one 6500-N -> 4500-E"
    assert relighter.mapping() == relighter.mapping("4500-E") == "6500-N -> 4500-E"
    image, depth_map = inputs[0][0].permute(1, 2, 0).numpy(), inputs[1][0, 0].numpy()
    assert np.array_equal(relighter.relight(image, depth_map), relighter.relight(image, depth_map, to="4500-E"))
    from relight.cli._errors import cli_words

    with pytest.raises(InvalidSetting) as err:
        relighter.relight(image, depth_map, to="2500-W")
    assert err.value.setting.name == "to"
    assert err.value.render(cli_words) == (
        "--to 2500-W: this model is one-to-one (6500-N -> 4500-E) and relights to 4500-E only; "
        "any-to-any models: relight-synth-any (pass --weights relight-synth-any)"
    )
    _register_any_to_any(tmp_path / "home", tmp_path, dataclasses.replace(tiny_config, conditioning="film"))
    with pytest.raises(InvalidSetting) as err:
        relighter.relight(image, depth_map, to="2500-W")
    assert err.value.render(cli_words).endswith("; any-to-any models: relight-synth-any, my-any (pass --weights relight-synth-any)")
    assert str(err.value).endswith("; any-to-any models: relight-synth-any, my-any (use Relighter.from_weights('relight-synth-any'))")


def test_an_any_to_any_relighter_needs_to_unless_the_checkpoint_records_a_default(tiny_config, inputs) -> None:
    image, depth_map = inputs[0][0].permute(1, 2, 0).numpy(), inputs[1][0, 0].numpy()
    model = MBNet(dataclasses.replace(tiny_config, conditioning="film")).eval()
    relighter = Relighter(model, "cpu", backend="torch")
    assert relighter.illumination.describe() == "any-to-any"
    assert relighter.mapping("2500-W") == "? -> 2500-W"
    assert relighter.mapping("2500-W", "6500-N") == "6500-N -> 2500-W"
    with pytest.raises(InvalidSetting, match=r"any-to-any: name the light to relight to, e.g. Relighter.relight\(to='2500-W'\)"):
        relighter.relight(image, depth_map)
    recorded = Relighter(LoadedModel(model, {"mapping": "any-to-any", "default_target": "3500-S",
                                             "targets": [str(t) for t in ALL_LIGHTS]}), "cpu", backend="torch")
    assert recorded.mapping() == "? -> 3500-S"
    assert np.array_equal(recorded.relight(image, depth_map), recorded.relight(image, depth_map, to="3500-S"))


# --- the registry and `relight weights` -------------------------------------------------------------


def _register_any_to_any(home: Path, folder: Path, config: MBNetConfig) -> Path:
    """``config`` saved with random weights and registered as ``my-any`` in ``home``."""
    path = save_checkpoint(MBNet(config), folder / "my-any.safetensors", {"mapping": "any-to-any"})
    home.mkdir(parents=True, exist_ok=True)
    entry = {"description": "a test any-to-any model", "architecture": json.loads(config.to_json()),
             "location": {"file": str(path)}}
    (home / "registry.json").write_text(json.dumps({"format": USER_REGISTRY_FORMAT, "models": {"my-any": entry}}))
    return path


def test_weights_list_and_info_say_one_to_one_or_any_to_any(tiny_config, cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RELIGHT_HOME", str(tmp_path / "home"))
    _register_any_to_any(tmp_path / "home", tmp_path, dataclasses.replace(tiny_config, conditioning="film"))
    registry = load_registry()
    assert registry["my-any"].illumination == "any-to-any"
    assert registry["my-any"].mapping == "any-to-any"
    assert registry["relight-synth-narrow"].mapping == "one-to-one"
    from relight.cli import out_console

    monkeypatch.setattr(out_console, "width", 80)
    code, out, _ = cli(["weights", "list"])
    assert code == 0, out
    assert "any-to-any" in out, out
    assert "narrow-w8-d16-film" in out, out
    assert "6500-N->4500-E" in out, out
    code, out, _ = cli(["weights", "list", "--json"])
    mappings = {item["name"]: item["mapping"] for item in json.loads(out) if item["kind"] == "relighting"}
    assert mappings["my-any"] == "any-to-any"
    assert mappings["relight-synth-narrow"] == "one-to-one"
    code, out, _ = cli(["weights", "info", "my-any"])
    assert code == 0, out
    assert "any-to-any: the target light" in out, out
    assert "film conditioning" in out, out
    code, out, _ = cli(["weights", "info", "relight-synth-narrow"])
    assert code == 0, out
    assert "one-to-one: 6500-N -> 4500-E only" in out, out


def test_the_conditioning_benchmark_runs_and_writes_its_table(tmp_path: Path) -> None:
    """benchmarks/conditioning.py end to end on a tiny budget (its numbers are not checked, only their kind)."""
    from benchmark_scripts import run_benchmark

    out = tmp_path / "c.json"
    code = run_benchmark("conditioning", "--steps", "2", "--train-scenes", "2", "--test-scenes", "1", "--triples", "4", "--width", "4",
                         "--decoder-channels", "8", "--batch-size", "2", "--size", "32", "--json", str(out))
    assert code == 0
    record = json.loads(out.read_text())
    assert [row["design"] for row in record["rows"]] == ["none", "film", "planes"]
    for row in record["rows"]:
        assert 0 <= row["opposite_told_apart"] <= 1
        assert math.isfinite(row["gain_db"])
        assert row["gain_db"] == pytest.approx(row["psnr_db"] - row["identity_psnr_db"], abs=1e-9)
    assert record["rows"][0]["extra_params"] == 0 < record["rows"][2]["extra_params"] < record["rows"][1]["extra_params"]
