"""The light concept (relight.lighting): VIDIT's 40 lights, parsing, mirroring, the network's light
vector, and what a model's recorded illumination allows."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch

from relight.errors import InvalidSetting, RelightError
from relight.lighting import (
    ALL_LIGHTS,
    AZIMUTHS,
    DIRECTIONS,
    FEATURES,
    LIGHT_FEATURES,
    TEMPERATURES,
    Illumination,
    Light,
    UnknownLight,
    encode_lights,
    light_vector,
    mirror,
    mirror_rows,
    neighbours,
)


def _cli(exc: RelightError) -> str:
    from relight.cli._errors import cli_words

    return exc.render(cli_words)


def test_the_forty_lights_temperature_major() -> None:
    assert len(ALL_LIGHTS) == len(set(ALL_LIGHTS)) == 40 == len(DIRECTIONS) * len(TEMPERATURES)
    assert ALL_LIGHTS[0] == Light(2500, "N")
    assert ALL_LIGHTS[1] == Light(2500, "NE")
    assert ALL_LIGHTS[-1] == Light(6500, "NW")
    assert [AZIMUTHS[d] for d in DIRECTIONS] == [0, 45, 90, 135, 180, 225, 270, 315]
    assert Light.all() == list(ALL_LIGHTS)


@pytest.mark.parametrize("text", ["6500-N", "6500_N", "6500K-n", " 6500k_n "])
def test_parse_spellings(text: str) -> None:
    light = Light.parse(text)
    assert light == Light(6500, "N")
    assert str(light) == "6500-N"
    assert light.file_tag == "6500_N"


@pytest.mark.parametrize("text,why", [
    ("6500", "expected TEMPERATURE-DIRECTION"),
    ("6500-X", "unknown light direction 'X'"),
    ("6000-N", "unknown colour temperature 6000"),
])
def test_bad_lights_are_refused_with_a_reason(text: str, why: str) -> None:
    with pytest.raises(UnknownLight) as err:
        Light.parse(text)
    assert isinstance(err.value, RelightError)
    assert isinstance(err.value, ValueError)
    assert str(err.value).startswith(f"setting {text!r}: ")
    assert why in str(err.value)
    assert why in err.value.facts["reason"]
    assert err.value.facts["text"] == text


def test_mirror_swaps_east_and_west_only() -> None:
    assert [mirror(d) for d in DIRECTIONS] == ["N", "NW", "W", "SW", "S", "SE", "E", "NE"]
    assert Light(2500, "NE").mirrored() == Light(2500, "NW")
    assert neighbours("N") == ("NE", "NW")
    with pytest.raises(UnknownLight):
        mirror("up")


def test_vidit_keeps_the_old_name() -> None:
    from relight.data import vidit

    assert vidit.Setting is Light
    assert vidit.DEFAULT_SOURCE == Light(6500, "N")
    assert vidit.DEFAULT_TARGET == Light(4500, "E")


def test_the_light_vector() -> None:
    assert len(FEATURES) == LIGHT_FEATURES == 7
    east_warm = light_vector("2500-E")
    assert east_warm == [1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]  # sin, cos of 90 degrees; 2500 K is +1; source unknown
    north_cold = light_vector(Light(6500, "N"), "6500-N")
    assert north_cold == [0.0, 1.0, -1.0, 0.0, 1.0, -1.0, 1.0]
    middle = light_vector("4500-SW")[2]
    mired = 1e6 / 4500
    assert middle == pytest.approx(2 * (mired - 1e6 / 6500) / (1e6 / 2500 - 1e6 / 6500) - 1)
    sw = light_vector("4500-SW")
    assert sw[0] == pytest.approx(math.sin(math.radians(225)))
    assert sw[1] == pytest.approx(math.cos(math.radians(225)))
    # a horizontal flip negates the direction's sine and keeps its cosine
    for light in ALL_LIGHTS:
        a, b = light_vector(light), light_vector(light.mirrored())
        assert b[0] == pytest.approx(-a[0], abs=1e-12)
        assert b[1:3] == a[1:3]


def test_mirrored_rows_are_the_rows_of_the_mirrored_lights() -> None:
    """What the mirror-averaged relight feeds its second pass: every target with every source (and none)."""
    targets = [t for t in ALL_LIGHTS for _ in range(len(ALL_LIGHTS) + 1)]
    sources = [s for _ in ALL_LIGHTS for s in (None, *ALL_LIGHTS)]
    rows = encode_lights(targets, sources)
    mirrored = encode_lights([t.mirrored() for t in targets], [s and s.mirrored() for s in sources])
    assert torch.allclose(mirror_rows(rows), mirrored, atol=1e-12)
    assert not torch.equal(mirror_rows(rows), rows), "east and west are swapped"
    assert torch.equal(rows, encode_lights(targets, sources)), "the rows given are left as they are"


def test_encode_lights_rows_and_sources() -> None:
    rows = encode_lights(["2500-E", Light(6500, "N")], [None, "4500-W"])
    assert rows.dtype == torch.float32
    assert rows.shape == (2, LIGHT_FEATURES)
    assert rows[0].tolist() == light_vector("2500-E")
    assert rows[1].tolist() == pytest.approx(light_vector("6500-N", "4500-W"))
    one_source = encode_lights(["2500-E", "3500-S"], "6500-N")
    assert one_source[:, 6].tolist() == [1.0, 1.0]
    assert torch.equal(one_source[0, 3:6], one_source[1, 3:6])
    assert encode_lights("2500-E").shape == (1, LIGHT_FEATURES)
    with pytest.raises(UnknownLight, match="2 sources for 3 targets"):
        encode_lights(["2500-E"] * 3, ["6500-N", None])
    with pytest.raises(UnknownLight, match="no target lights"):
        encode_lights([])


def test_importing_lighting_loads_no_torch() -> None:
    code = "import sys, relight.lighting; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_one_to_one_model_applies_its_own_pair_only() -> None:
    pair = Illumination.recorded(False, {"source": "6500-N", "target": "4500-E"})
    assert pair.describe() == "one-to-one 6500-N -> 4500-E"
    assert pair.resolve() == (Light(4500, "E"), Light(6500, "N"))  # (target, source)
    assert pair.mapping() == pair.mapping("4500-E") == pair.mapping(None, "6500-N") == "6500-N -> 4500-E"
    with pytest.raises(InvalidSetting) as err:
        pair.resolve("2500-W")
    assert err.value.setting.name == "to"
    assert err.value.facts["pair"] == "6500-N -> 4500-E"
    assert str(err.value) == "Relighter.relight(to='2500-W'): this model is one-to-one (6500-N -> 4500-E) and relights to 4500-E only"
    assert _cli(err.value) == "--to 2500-W: this model is one-to-one (6500-N -> 4500-E) and relights to 4500-E only"
    with pytest.raises(InvalidSetting, match="its input must be lit 6500-N, not 2500-W"):
        pair.resolve(source="2500-W")
    unknown = Illumination.recorded(False, {})
    assert unknown.describe() == "one-to-one ? -> ?"
    assert unknown.mapping() == "? -> ?"
    with pytest.raises(InvalidSetting, match="relights to its own target only"):
        unknown.resolve("4500-E")
    with pytest.raises(InvalidSetting) as err:  # was taken, printed as "6500-N -> ?", and changed nothing
        unknown.resolve(source="6500-N")
    assert _cli(err.value) == ("--from 6500-N: this model is one-to-one and does not record the light of its inputs, so this "
                               "cannot be checked and would change nothing; leave it out")


def test_an_any_to_any_model_needs_a_target_unless_one_is_recorded() -> None:
    any_light = Illumination.recorded(True, {"mapping": "any-to-any", "targets": [str(t) for t in ALL_LIGHTS]})
    assert any_light.describe() == "any-to-any"
    assert any_light.targets == ALL_LIGHTS
    assert any_light.mapping("2500-W") == "? -> 2500-W"
    assert any_light.mapping("2500-W", "6500-N") == "6500-N -> 2500-W"
    with pytest.raises(InvalidSetting) as err:
        any_light.resolve()
    assert _cli(err.value) == "this model is any-to-any: name the light to relight to, e.g. --to 2500-W"
    with pytest.raises(InvalidSetting) as err:
        any_light.resolve("2500-X")
    assert _cli(err.value) == "--to '2500-X': unknown light direction 'X'; use one of N NE E SE S SW W NW"
    with_default = Illumination.recorded(True, {"default_target": "3500-S", "targets": ["3500-S", "2500-W"]})
    assert with_default.mapping() == "? -> 3500-S"
    with pytest.raises(InvalidSetting, match="trained to relight to 2 lights only"):
        with_default.resolve("6500-E")
