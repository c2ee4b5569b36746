"""Geometry hints: normals of constructed planes, a box's shadow cast away from the light, the hints'
invariances, their place in the network (config in checkpoints, the one-to-one start, lights batched, the
optimised path, the margin) and their export as plain tensor ops."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from relight.data.synth import camera
from relight.inference import Relighter
from relight.lighting import encode_lights
from relight.model import MBNet, MBNetConfig
from relight.model import hints as H
from relight.model.config import HINT_CHANNELS, LIGHT_HINTS
from relight.model.checkpoint import load_checkpoint, read_checkpoint_metadata, save_checkpoint
from relight.model.condition import ConditioningError

FOV, PITCH = 55.0, 19.0


def _camera_rays(height: int, width: int, pitch_deg: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World-frame unit rays of the hints' camera (x east, y up, z north) at height 1.5, and its forward and up."""
    rays = H.pixel_rays(height, width, FOV, torch.device("cpu"))[0].permute(1, 2, 0).reshape(-1, 3).double().numpy()
    p = math.radians(pitch_deg)
    forward, up = np.array([0.0, -math.sin(p), math.cos(p)]), np.array([0.0, math.cos(p), math.sin(p)])
    world = rays[:, :1] * np.array([1.0, 0.0, 0.0]) + rays[:, 1:2] * up + rays[:, 2:] * forward
    return world, forward, up


def _box_hits(origin: np.ndarray, rays: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Distance along each ray to an axis-aligned box (inf where it misses): the slab test."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (lo - origin) / rays, (hi - origin) / rays
        t1, t2 = np.nan_to_num(t1, nan=-np.inf), np.nan_to_num(t2, nan=np.inf)
    near, far = np.minimum(t1, t2).max(axis=1), np.maximum(t1, t2).min(axis=1)
    return np.where((near <= far) & (near > 1e-6), near, np.inf)


def _floor_and_box(size: int = 96) -> dict[str, np.ndarray]:
    """A floor (y = 0) seen from 1.5 m, looking down by PITCH, with a box on it left of the centre: depth in
    relight's convention, the hit points, and which of them see the light of each compass direction."""
    origin = np.array([0.0, 1.5, 0.0])
    rays, forward, _ = _camera_rays(size, size, PITCH)
    lo, hi = np.array([-0.9, 0.0, 4.0]), np.array([-0.3, 0.7, 4.6])
    floor = np.where(rays[:, 1] < 0, -origin[1] / np.minimum(rays[:, 1], -1e-9), np.inf)
    t = np.minimum(floor, _box_hits(origin, rays, lo, hi))
    central = -origin[1] / forward[1]
    hit = origin + central * forward
    points = origin + t[:, None] * rays
    shadows, shading = {}, {}
    seen = t < np.inf
    for name, (dx, dz) in camera.COMPASS.items():
        light = hit + np.array([camera.RING_RADIUS * dx * central, camera.RING_HEIGHT * central, camera.RING_RADIUS * dz * central])
        towards = light - np.where(seen[:, None], points, 0.0)
        blocked = _box_hits(np.where(seen[:, None], points, 0.0) + 1e-6 * towards, towards, lo, hi) < 1.0
        shadows[name] = (blocked & seen).reshape(size, size)
        # The floor's diffuse shading (its normal is up), in units of the central hit's distance.
        shading[name] = (towards[:, 1] / np.linalg.norm(towards, axis=1) ** 3 * central**2).reshape(size, size)
    depth = (t / (4 * central)).clip(max=1.0).reshape(size, size).astype(np.float32)
    return {"depth": depth, "box": (t < floor).reshape(size, size), "shadows": shadows, "floor_shading": shading}


def test_a_fronto_parallel_plane_faces_the_camera_and_a_floor_faces_up() -> None:
    rays = H.pixel_rays(48, 64, FOV, torch.device("cpu"))
    wall = 2.0 / rays[:, 2:]  # distances to the plane z = 2
    normals = H.normals_from_points(H.unproject(wall, FOV))
    assert torch.allclose(normals, torch.tensor([0.0, 0.0, -1.0]).view(1, 3, 1, 1).expand_as(normals), atol=1e-5)
    p = math.radians(PITCH)
    world_up = torch.tensor([0.0, math.cos(p), -math.sin(p)])  # the world's up in the camera frame
    height = 1.5 / -(rays * world_up.view(1, 3, 1, 1)).sum(1, keepdim=True)  # the floor 1.5 below the camera
    below = height[0, 0] > 0  # rows under the horizon
    normals = H.normals_from_points(H.unproject(height.clamp(min=0), FOV))[0]
    inner = below.clone()
    inner[: int(below.float().argmax(0).max()) + 2] = False  # away from the horizon's one-sided differences
    assert torch.allclose(normals[:, inner].T, world_up.expand(int(inner.sum()), 3), atol=1e-4)


def test_a_box_casts_its_shadow_away_from_the_light() -> None:
    """On the floor, the march finds most of the box's cast shadow, and most of what it finds is shadow
    (steps passing behind the box, hidden from the camera, are its known false positives)."""
    scene = _floor_and_box()
    depth = torch.from_numpy(scene["depth"])[None, None]
    targets = ["6500-E", "6500-W", "6500-N", "6500-NE"]
    hints = H.GeometryHints("normals+shadows", FOV, PITCH)(depth, encode_lights(targets))
    floor = ~scene["box"] & (scene["depth"] < 1)
    columns = np.broadcast_to(np.arange(depth.shape[-1]), floor.shape)
    box_centre = columns[scene["box"]].mean()
    for i, light in enumerate(targets):
        predicted = (hints[i, 4].numpy() > 0.5) & floor
        truth = scene["shadows"][light.split("-")[1]] & floor
        found = (predicted & truth).sum()
        assert found / truth.sum() > 0.6, light  # recall
        assert found / predicted.sum() > 0.55, light  # precision
        if light.endswith(("E", "W")):
            assert (columns[predicted].mean() < box_centre) == light.endswith("E"), light  # cast away from the light
    assert not hints[:, 5].any()  # no source told: its shadow is zero


def test_the_source_shadow_follows_the_source_when_it_is_told() -> None:
    depth = torch.from_numpy(_floor_and_box()["depth"])[None, None]
    hints = H.GeometryHints("normals+shadows", FOV, PITCH)(depth, encode_lights(["6500-W", "2500-E"], ["4500-E", "6500-W"]))
    assert torch.equal(hints[0, 5], hints[1, 4])  # the first's source (E) is the second's target
    assert torch.equal(hints[1, 5], hints[0, 4])
    assert hints[0, 4].sum() > 0
    assert not torch.equal(hints[0, 4], hints[0, 5])


def test_the_shading_is_each_lights_lambert_shading_and_zero_facing_away() -> None:
    """On the floor the shading planes are the cosine over the squared distance to each light on the ring,
    as a renderer computes it; the box's front gets none from the lights it is turned away from; the
    source's plane follows the source where it is told and is zero where it is not; the first planes are
    the shadow design's."""
    scene = _floor_and_box()
    depth = torch.from_numpy(scene["depth"])[None, None]
    light = encode_lights(["6500-E", "6500-W", "4500-N"], ["2500-W", None, "6500-E"])
    hints = H.GeometryHints("normals+shadows+shading", FOV, PITCH)(depth, light)
    assert hints.shape == (3, 8, 96, 96)
    assert torch.equal(hints[:, :6], H.GeometryHints("normals+shadows", FOV, PITCH)(depth, light))
    floor = ~scene["box"] & (scene["depth"] < 1)
    floor[:, 1:] &= floor[:, :-1] & ~scene["box"][:, :-1]  # away from the box's silhouette, where normals mix
    floor[:, :-1] &= ~scene["box"][:, 1:]
    floor[1:] &= floor[:-1]
    for i, direction in enumerate(["E", "W", "N"]):
        expected = scene["floor_shading"][direction][floor].clip(max=H.SHADING_CAP)
        error = np.abs(hints[i, 6].numpy()[floor] - expected) / expected
        assert np.quantile(error, 0.99) < 0.01, direction  # a few pixels at the horizon mix far and near
    assert torch.equal(hints[0, 7], hints[1, 6])  # the first's source (W) is the second's target
    assert torch.equal(hints[2, 7], hints[0, 6])
    assert not hints[1, 7].any()  # no source told: its shading is zero
    # The box's front, inside its silhouette: it faces the camera (south), away from the lights east, west
    # and north of it on the ring, and towards the light south of it.
    front = scene["box"].copy()
    front[:37] = False  # below the top face's rows
    for _ in range(2):  # off the edges, whose normals mix with the floor's and the side's
        front[:, 1:] &= front[:, :-1]
        front[:, :-1] &= front[:, 1:]
        front[:-1] &= front[1:]
    south = H.GeometryHints("normals+shadows+shading", FOV, PITCH)(depth, encode_lights(["6500-S"]))[0, 6].numpy()
    assert not hints[:, 6].numpy()[:, front].any() and south[front].min() > 0.5


def test_the_hints_do_not_depend_on_the_depth_scale_or_the_resolution() -> None:
    depth = torch.from_numpy(_floor_and_box(96)["depth"])[None, None]
    light = encode_lights(["3500-SE"], ["6500-NW"])
    module = H.GeometryHints("normals+shadows", FOV, PITCH)
    assert torch.allclose(module(depth * 0.5, light)[:, 1:], module(depth, light)[:, 1:], atol=1e-5)
    small = torch.from_numpy(_floor_and_box(48)["depth"])[None, None]
    shadow_small = module(small, light)[0, 4]
    shadow_big = torch.nn.functional.avg_pool2d(module(depth, light)[:, 4:5], 2)[0, 0]
    assert (shadow_small.round() == shadow_big.round()).float().mean() > 0.93


def test_the_ring_is_the_synthetic_rigs() -> None:
    assert (H.RING_RADIUS, H.RING_HEIGHT) == (camera.RING_RADIUS, camera.RING_HEIGHT)
    assert MBNetConfig().hint_fov_deg == FOV


def test_the_config_travels_in_checkpoints_and_old_ones_read_as_without(tiny_config, tmp_path: Path) -> None:
    config = replace(tiny_config, conditioning="film", hints="normals+shadows", margin=16)
    config = replace(config, hint_fov_deg=60.0, hint_pitch_deg=10.0)
    torch.manual_seed(0)
    model = MBNet(config).eval()
    path = save_checkpoint(model, tmp_path / "hints.safetensors")
    loaded = load_checkpoint(path)
    assert loaded.config == config
    rgb, depth, light = torch.rand(1, 3, 64, 64), torch.rand(1, 1, 64, 64), encode_lights(["2500-W"], ["6500-E"])
    with torch.no_grad():
        assert torch.equal(loaded.model(rgb, depth, light), model(rgb, depth, light))
    assert loaded.model.depth_encoder.conv1.weight.shape[1] == 6
    plain = tiny_config
    assert "hints" not in plain.to_json()
    assert "margin" not in plain.to_json()  # as written before the fields existed
    assert MBNetConfig.from_json(plain.to_json()) == plain
    assert (plain.hints, plain.margin) == ("none", 0)
    saved = save_checkpoint(MBNet(plain), tmp_path / "plain.safetensors")
    assert read_checkpoint_metadata(saved)[0] == plain
    assert config.describe() == "narrow-w8-d16-film-normals+shadows-m16"


def test_the_config_refuses_what_cannot_run() -> None:
    for hints in ("normals+shadows", "normals+shadows+shading"):
        with pytest.raises(ValueError, match=re.escape(f"{hints} hints need the lights as an input")):
            MBNetConfig.narrow(hints=hints)
    with pytest.raises(ValueError, match="unknown hints 'depth'"):
        MBNetConfig.narrow(hints="depth")
    with pytest.raises(ValueError, match="margin must be one of 0, 16, not 8"):
        MBNetConfig.narrow(margin=8)
    with pytest.raises(ValueError, match="hint_fov_deg must be in"):
        MBNetConfig(hint_fov_deg=180.0)


@pytest.mark.parametrize("hints,conditioning", [("normals", "film"), ("normals+shadows", "film"), ("normals+shadows", "planes"),
                                                ("normals+shadows+shading", "film")])
def test_a_hinted_model_starts_from_a_one_to_one_model_exactly(tiny_config, hints: str, conditioning: str) -> None:
    torch.manual_seed(0)
    base = MBNet(tiny_config).eval()
    model = MBNet.from_one_to_one(replace(tiny_config, conditioning=conditioning, hints=hints), base).eval()
    stem = model.depth_encoder.conv1.weight
    assert torch.equal(stem[:, :1], base.depth_encoder.conv1.weight)
    assert not stem[:, 1:].any()  # the hints' channels start at zero
    rgb, depth = torch.rand(2, 3, 64, 96), torch.rand(2, 1, 64, 96)
    with torch.no_grad():
        expected = base(rgb, depth)
        got = model(rgb, depth, encode_lights(["2500-W", "6500-E"], [None, "4500-N"]))
    assert torch.allclose(got, expected, atol=1e-5, rtol=0)
    normals = MBNet(replace(tiny_config, hints="normals"))
    grown = MBNet.from_one_to_one(replace(tiny_config, conditioning="film", hints="normals+shadows"), normals)
    assert torch.equal(grown.depth_encoder.conv1.weight[:, :4], normals.depth_encoder.conv1.weight)
    with pytest.raises(ConditioningError, match="depth_encoder.conv1.weight has shape"):
        MBNet.from_one_to_one(replace(tiny_config, conditioning="film"), normals)  # more hints than the model


@pytest.mark.parametrize("hints", LIGHT_HINTS)
def test_one_image_relit_to_several_lights_at_once_is_each_light_alone(tiny_config, hints: str) -> None:
    """With hints of the lights the depth stream depends on the light: one image and T lights in one pass
    give the T single passes (the encoders of the RGB stream still run once)."""
    torch.manual_seed(0)
    model = MBNet(replace(tiny_config, conditioning="film", hints=hints)).eval()
    rgb, depth = torch.rand(1, 3, 64, 96), torch.from_numpy(_floor_and_box(96)["depth"][16:80])[None, None]
    light = encode_lights(["2500-W", "6500-E", "4500-N"], [None, "6500-N", None])
    with torch.no_grad():
        together = model(rgb, depth, light)
        alone = torch.cat([model(rgb, depth, light[i : i + 1]) for i in range(3)])
    assert torch.allclose(together, alone, atol=1e-5)
    stream = model.geometry(depth, light)
    assert stream.shape == (3, 1 + HINT_CHANNELS[hints], 64, 96)
    assert not torch.equal(stream[0, 4], stream[1, 4])  # the depth stream's input differs by light
    assert not torch.equal(stream[0, -2], stream[1, -2])


def test_the_optimised_path_gives_the_plain_forward_with_hints_and_a_margin(tiny_config) -> None:
    torch.manual_seed(0)
    model = MBNet(replace(tiny_config, conditioning="film", hints="normals+shadows", margin=16)).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    rgb, depth = torch.rand(1, 3, 64, 96), torch.rand(1, 1, 64, 96)
    light = encode_lights(["2500-W", "6500-E"], [None, "6500-N"])
    with torch.no_grad():
        expected = model(rgb, depth, light)
    got = Relighter(model, "cpu", native=True, backend="torch").relight_tensor(rgb, depth, light)
    assert expected.shape == (2, 3, 64, 96)
    assert torch.allclose(got, expected, atol=1e-5)


def test_the_margin_reflects_the_inputs_and_crops_the_output(tiny_config) -> None:
    torch.manual_seed(0)
    framed = MBNet(replace(tiny_config, margin=16)).eval()
    plain = MBNet(tiny_config).eval()
    plain.load_state_dict(framed.state_dict())
    rgb, depth = torch.rand(1, 3, 64, 64), torch.rand(1, 1, 64, 64)
    pad = (16, 16, 16, 16)
    with torch.no_grad():
        expected = plain(torch.nn.functional.pad(rgb, pad, mode="reflect"), torch.nn.functional.pad(depth, pad, mode="reflect"))
        assert torch.equal(framed(rgb, depth), expected[..., 16:80, 16:80])


@pytest.mark.parametrize("hints", LIGHT_HINTS)
def test_the_hints_export_as_plain_tensor_ops(hints: str) -> None:
    """torch.export traces the hints without a decision on tensor values: the exported program gives the
    module's values for another depth map and other lights."""
    module = H.GeometryHints(hints, FOV, PITCH)
    depth, light = torch.rand(1, 1, 32, 64), encode_lights(["2500-W", "6500-E"], [None, "6500-N"])
    exported = torch.export.export(module, (depth, light)).module()
    other_depth = torch.from_numpy(_floor_and_box(64)["depth"][16:48])[None, None]
    other_light = encode_lights(["4500-S", "3500-NE"], ["6500-N", None])
    assert torch.equal(exported(other_depth, other_light), module(other_depth, other_light))
