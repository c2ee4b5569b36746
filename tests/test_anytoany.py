"""Any-to-any pairs: the seeded per-epoch draw, subsets, the generalised mirror, the withheld source,
and ``relight data pairs --any-to-any``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from relight.cli._errors import cli_words
from relight.data.anytoany import LitPair, PairSampler, lights_text, load_scenes, parse_lights
from relight.data.dataset import PairDataset
from relight.errors import InputFileError, InvalidSetting, RelightError
from relight.io import write_depth_npy, write_image
from relight.lighting import ALL_LIGHTS, DIRECTIONS, TEMPERATURES, Light, light_vector
from relight.train.config import IDENTITY_PAIRS

H, W = 6, 10


def _code(light: Light) -> int:
    return TEMPERATURES.index(light.temperature) * 8 + DIRECTIONS.index(light.direction) + 1


def _pixels(light: Light) -> np.ndarray:
    """An image whose first pixel encodes the light and whose columns differ, so flips and mix-ups show."""
    rgb = np.zeros((H, W, 3), dtype=np.float32)
    rgb[..., 0] = np.arange(W)[None, :] / 255.0
    rgb[..., 1] = np.arange(H)[:, None] / 255.0
    rgb[0, 0, 2] = _code(light) / 255.0
    return rgb


def _any_to_any(root: Path, scenes: tuple[str, ...] = ("Image000", "Image001", "Image002")) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for scene in scenes:
        for light in ALL_LIGHTS:
            write_image(root / f"{scene}_{light.file_tag}.png", _pixels(light))
        write_depth_npy(root / f"{scene}.npy", np.tile(np.linspace(0, 1, W, dtype=np.float32), (H, 1)))
    return root


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _any_to_any(tmp_path_factory.mktemp("a2a") / "data")


def _key(pairs: list[LitPair]) -> list[tuple[str, str, str, bool, bool]]:
    return [(p.scene, str(p.source_light), str(p.target_light), p.flip, p.source_known) for p in pairs]


def test_the_draw_depends_on_seed_and_epoch_only(root: Path) -> None:
    scenes, skipped = load_scenes([root])
    assert [s.name for s in scenes] == ["Image000", "Image001", "Image002"]
    assert not skipped
    sampler = PairSampler(scenes, seed=5)
    assert sampler.possible == 3 * 40 * 39
    assert sampler.per_epoch == 12  # 4 per scene by default
    first = sampler.draw(0)
    assert len(first) == 12
    assert all(isinstance(p, LitPair) for p in first)
    assert _key(first) == _key(PairSampler(load_scenes([root])[0], seed=5).draw(0))  # a new sampler: same draw
    assert _key(sampler.draw(1)) != _key(first)
    assert _key(sampler.draw(0)) == _key(first)
    assert _key(PairSampler(scenes, seed=6).draw(0)) != _key(first)
    validation = PairSampler(scenes, seed=5, stream="validation")
    assert _key(validation.draw(0)) != _key(first)  # the validation sample is not epoch 0's draw
    many = [p for epoch in range(20) for p in sampler.draw(epoch)]
    assert all(p.source_light != p.target_light for p in many)
    assert len({(p.scene, p.source_light, p.target_light) for p in first}) == 12  # no repeats within an epoch
    assert 0.3 < np.mean([p.flip for p in many]) < 0.7
    assert 0.3 < np.mean([p.source_known for p in many]) < 0.7


def test_subsets_are_respected_and_an_empty_one_is_refused(root: Path) -> None:
    scenes, _ = load_scenes([root])
    sources, targets = parse_lights("6500-N, 4500-E"), parse_lights("2500-W,4500-E,6500-N")
    sampler = PairSampler(scenes, sources, targets, per_epoch=200, seed=1)
    assert sampler.possible == 3 * (2 * 3 - 2)  # minus 6500-N -> 6500-N and 4500-E -> 4500-E
    drawn = sampler.draw(0)
    assert len(drawn) == 200  # more than possible: drawn with repeats
    assert {p.source_light for p in drawn} == set(sources)
    assert {p.target_light for p in drawn} == set(targets)
    assert any(p.flip for p in drawn)  # mirrored pairs keep the lights the network sees inside the subsets
    with pytest.raises(RelightError, match="no any-to-any pairs with source != target"):
        PairSampler(scenes, [Light(6500, "N")], [Light(6500, "N")])


def test_a_mirrored_pair_is_the_flipped_scene_at_the_mirrored_lights(root: Path) -> None:
    scenes, _ = load_scenes([root])
    drawn = [p for p in PairSampler(scenes, seed=2, per_epoch=400).draw(0) if p.flip]
    assert drawn
    expected = {"E": "W", "W": "E", "NE": "NW", "NW": "NE", "SE": "SW", "SW": "SE", "N": "N", "S": "S"}
    for pair in drawn[:40]:
        files = (pair.input.stem.split("_", 1)[1], pair.target.stem.split("_", 1)[1])
        seen = (pair.source_light, pair.target_light)
        assert files == tuple(f"{light.temperature}_{expected[light.direction]}" for light in seen)
        item = PairDataset([pair])[0]
        plain = PairDataset([LitPair(pair.name, pair.scene, pair.input, pair.depth, pair.target, False)])[0]
        for key in ("rgb", "depth", "target"):
            assert torch.equal(item[key], plain[key].flip(-1)), key
        assert torch.equal(item["light"], torch.tensor(light_vector(pair.target_light,
                                                                    pair.source_light if pair.source_known else None)))
        assert torch.equal(item["back"], torch.tensor(light_vector(pair.source_light,  # the cycle's way back, told alike
                                                                   pair.target_light if pair.source_known else None)))
    directions = {p.source_light.direction for p in drawn} | {p.target_light.direction for p in drawn}
    assert directions == set(DIRECTIONS)
    e_to_w = LitPair("x", "x", Path("a"), Path("b"), Path("c"), True, "mirror", Light(6500, "E"), Light(2500, "W"))
    sin_e, sin_w = e_to_w.light_vector()[3], e_to_w.light_vector()[0]
    assert sin_e == pytest.approx(1.0)
    assert sin_w == pytest.approx(-1.0)


def test_a_withheld_source_is_zero_with_flag_zero(root: Path) -> None:
    scenes, _ = load_scenes([root])
    drawn = PairSampler(scenes, seed=3, withhold_source=1.0).draw(0)
    assert not any(p.source_known for p in drawn)
    assert all(p.mapping.startswith("? -> ") for p in drawn)
    lights = torch.stack([PairDataset([p])[0]["light"] for p in drawn[:3]])
    assert torch.count_nonzero(lights[:, 3:]) == 0
    assert torch.count_nonzero(lights[:, :3]) > 0
    told = PairSampler(scenes, seed=3, withhold_source=0.0).draw(0)
    assert all(p.source_known for p in told)
    assert PairDataset([told[0]])[0]["light"][-1] == 1.0
    assert told[0].mapping == f"{told[0].source_light} -> {told[0].target_light}"


def test_parse_lights() -> None:
    assert parse_lights("all") == ALL_LIGHTS
    assert lights_text(ALL_LIGHTS) == "all"
    assert parse_lights("6500-N,4500_e,6500-N") == (Light(6500, "N"), Light(4500, "E"))
    assert lights_text(parse_lights("6500-N,4500-E")) == "6500-N,4500-E"
    with pytest.raises(InvalidSetting) as caught:
        parse_lights("6500-N,4500-X", "targets")
    assert caught.value.render(cli_words) == (
        "--targets '6500-N,4500-X': unknown light direction 'X'; use one of N NE E SE S SW W NW (in '4500-X')")
    assert str(caught.value).startswith("TrainConfig(targets='6500-N,4500-X'): unknown light direction")
    with pytest.raises(InvalidSetting, match="expected all or lights"):
        parse_lights(" , ")


def test_other_layouts_are_refused_and_scenes_without_depth_left_out(root: Path, tmp_path: Path) -> None:
    other = tmp_path / "one"
    (other / "input").mkdir(parents=True)
    with pytest.raises(InputFileError, match="not the one-to-one layout"):
        load_scenes([other])
    partial = _any_to_any(tmp_path / "partial", ("Image000", "Image001"))
    (partial / "Image001.npy").unlink()
    (partial / "Image000_2500_W.png").unlink()
    scenes, skipped = load_scenes([partial])
    assert [s.name for s in scenes] == ["Image000"]
    assert "Image001: no depth file" in skipped[0]
    sampler = PairSampler(scenes, seed=0, per_epoch=2000)
    assert sampler.possible == 39 * 38
    flipped = [p for p in sampler.draw(0) if p.flip]
    assert all(Light(2500, "E") not in (p.source_light, p.target_light) for p in flipped)  # its mirror image is missing


def test_cli_data_pairs_any_to_any(cli, root: Path) -> None:
    code, out, err = cli(["data", "pairs", str(root), "--any-to-any", "--json", "--seed", "5"])
    assert code == 0, err
    report = json.loads(out)
    assert (report["scenes"], report["possible_pairs"], report["pairs_per_epoch"]) == (3, 4680, 12)
    assert report["sources"] == "all"
    assert report["epoch"] == 1
    sampler = PairSampler(load_scenes([root])[0], seed=5, identity=IDENTITY_PAIRS)
    assert [p["name"] for p in report["pairs"]] == [p.name for p in sampler.draw(0)]  # what training's first epoch draws
    code, out, err = cli(["data", "pairs", str(root), "--any-to-any", "--sources", "6500-N", "--targets", "2500-W,2500-E",
                              "--sample", "3", "--epoch", "2"])
    assert code == 0, err
    assert "possible pairs" in out
    assert "3 of 12 drawn pairs" in out
    assert "epoch 2 (seed 0)" in out
    assert "6500-N -> 2500-W" in out or "6500-N -> 2500-E" in out or "? -> 2500-" in out
    code, out, err = cli(["data", "pairs", str(root), "--any-to-any", "--sources", "6500-N", "--targets", "6500-N"])
    assert code == 1
    assert out == ""
    assert err.strip().startswith("error: no any-to-any pairs with source != target")


def test_identity_pairs_are_drawn_and_leave_the_other_draws_as_they_were(root: Path) -> None:
    """A share of the draws asks for the input's own light (its input is its answer); the rest of the
    epoch is the draw without identity pairs, so runs before the option existed draw as they did."""
    scenes, _ = load_scenes([root])
    plain = PairSampler(scenes, seed=2, per_epoch=400).draw(3)
    mixed = PairSampler(scenes, seed=2, per_epoch=400, identity=0.25).draw(3)
    same = [p for p in mixed if p.identity]
    assert not any(p.identity for p in plain)
    assert 60 <= len(same) <= 140  # a quarter of 400, give or take the draw
    assert all(p.input == p.target for p in same)
    assert all(p.source_light == p.target_light for p in same)
    kept = [(a, b) for a, b in zip(plain, mixed) if not b.identity]
    assert kept
    assert all(a == b for a, b in kept)
    turned = [(a, b) for a, b in zip(plain, mixed) if b.identity]
    assert all(b.target_light == a.target_light and b.flip == a.flip and b.source_known == a.source_known for a, b in turned)


def test_identity_pairs_keep_to_the_lights_asked_for(root: Path) -> None:
    """An identity pair takes the drawn target's light when it is also a source, else the source's when it is
    also a target; where neither is both, the drawn pair stays as it was."""
    scenes, _ = load_scenes([root])
    both = PairSampler(scenes, sources=parse_lights("6500-N,4500-E"), targets=parse_lights("4500-E,2500-W"), seed=0,
                       per_epoch=200, identity=1.0).draw(0)
    assert {str(p.target_light) for p in both if p.identity} == {"4500-E"}
    assert all(str(p.source_light) == "6500-N" and str(p.target_light) == "2500-W" for p in both if not p.identity)
    apart = PairSampler(scenes, sources=parse_lights("6500-N"), targets=parse_lights("2500-W"), seed=0, per_epoch=20,
                        identity=1.0).draw(0)
    assert not any(p.identity for p in apart)


def test_told_identity_pairs_may_claim_a_light_other_than_their_image_s(root: Path) -> None:
    """With claims, a told identity pair is told a light drawn at random and keeps its image as input and
    answer; untold ones keep their own light (relighting to another light is a real change), and every
    other draw is the draw without claims."""
    scenes, _ = load_scenes([root])
    plain = PairSampler(scenes, seed=4, per_epoch=400, identity=0.5).draw(1)
    claiming = PairSampler(scenes, seed=4, per_epoch=400, identity=0.5, claimed=1.0).draw(1)
    assert [p.input for p in plain] == [p.input for p in claiming]
    assert [p.target for p in plain] == [p.target for p in claiming]
    changed = [(a, b) for a, b in zip(plain, claiming) if a != b]
    assert all(a.identity and a.source_known for a, _ in changed)
    assert all(b.identity and b.source_known and b.input == b.target for _, b in changed)
    told = [b for a, b in zip(plain, claiming) if a.identity and a.source_known]
    said = [b for b in told if b.source_light != Light.parse(Path(b.input).stem.split("_", 1)[1].replace("_", "-"))]
    assert len(said) > len(told) / 2  # a light drawn from 40 is rarely the image's own
    assert all("+said-" in b.name for b in said)
    assert all(a == b for a, b in zip(plain, claiming) if not (a.identity and a.source_known))


def test_cli_data_pairs_counts_the_identity_pairs(cli, root: Path) -> None:
    code, out, err = cli(["data", "pairs", str(root), "--any-to-any", "--json", "--identity-pairs", "0.5",
                              "--pairs-per-epoch", "40"])
    assert code == 0, err
    report = json.loads(out)
    drawn = PairSampler(load_scenes([root])[0], per_epoch=40, identity=0.5).draw(0)
    assert report["identity_pairs"] == sum(p.identity for p in drawn) > 0
    assert [p["name"] for p in report["pairs"]] == [p.name for p in drawn]
    code, out, err = cli(["data", "pairs", str(root), "--any-to-any", "--json", "--identity-pairs", "0.5",
                          "--identity-claims", "1", "--pairs-per-epoch", "40"])
    assert code == 0, err
    claimed = PairSampler(load_scenes([root])[0], per_epoch=40, identity=0.5, claimed=1.0).draw(0)
    assert [p["name"] for p in json.loads(out)["pairs"]] == [p.name for p in claimed] != [p.name for p in drawn]
    code, out, err = cli(["data", "pairs", str(root), "--any-to-any", "--identity-pairs", "0"])
    assert code == 0, err
    assert "identity" in out
    assert "possible pairs" in out
