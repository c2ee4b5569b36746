"""benchmarks/anytoany_heldout.py: the seeded triple sample, the grouping, and a run end to end on a tiny
model and two tiny scenes (its numbers are not checked, only what they are made of)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmark_scripts import load_benchmark
from relight.data.synth import write_dataset
from relight.lighting import ALL_LIGHTS, Light


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("anytoany_heldout")


@pytest.fixture(scope="module")
def heldout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("heldout")
    write_dataset(folder, scenes=2, size=32, seed=5, start_index=900, renderer="raster")
    return folder


@pytest.fixture(scope="module")
def models(tiny_relight_models: tuple[Path, Path]) -> tuple[Path, Path]:
    return tiny_relight_models


def test_the_triples_are_seeded_distinct_and_never_the_identity(bench, heldout: Path) -> None:
    scenes = bench.complete_scenes(heldout)
    assert [s.name for s in scenes] == ["Image900", "Image901"]
    first = bench.sample_triples(scenes, 300, seed=3)
    keys = [(t.scene.name, t.source, t.target) for t in first]
    assert keys == [(t.scene.name, t.source, t.target) for t in bench.sample_triples(scenes, 300, seed=3)]
    assert keys != [(t.scene.name, t.source, t.target) for t in bench.sample_triples(scenes, 300, seed=4)]
    assert len(set(keys)) == 300
    assert all(source != target for _, source, target in keys)
    everything = bench.sample_triples(scenes, 10**6, seed=0)  # asked for more than exist: each one once
    assert len({(t.scene.name, t.source, t.target) for t in everything}) == len(everything) == 2 * 40 * 39
    assert {t.target for t in everything} == set(ALL_LIGHTS) == {t.source for t in everything}


def test_rows_are_grouped_by_direction_temperature_and_opposite_pair(bench) -> None:
    rows = [{"target": target, "psnr_db": 20.0 + i, "identity_psnr_db": 15.0, "gain_db": 5.0 + i,
             "opposite_told_apart": i % 2 == 0, "warmer_at_2500": True}
            for i, target in enumerate(["2500-E", "6500-W", "2500-N", "4500-SE"])]
    pairs = bench.grouped(rows, "pair", ["N/S", "NE/SW", "E/W", "SE/NW"])
    assert list(pairs) == ["N/S", "E/W", "SE/NW"]
    assert pairs["E/W"]["triples"] == 2
    assert pairs["E/W"]["gain_db"] == pytest.approx(5.5)
    assert pairs["E/W"]["opposite_pct"] == 50.0
    temps = bench.grouped(rows, "temperature", ["2500", "3500", "4500", "5500", "6500"])
    assert {k: v["triples"] for k, v in temps.items()} == {"2500": 2, "4500": 1, "6500": 1}
    assert list(bench.grouped(rows, "direction", ["N", "NE", "E", "SE", "S", "SW", "W", "NW"])) == ["N", "E", "SE", "W"]
    assert bench.OPPOSITE["NE"] == "SW"
    assert bench.OPPOSITE["W"] == "E"


def test_the_benchmark_runs_end_to_end_and_writes_its_json(bench, heldout: Path, models: tuple[Path, Path],
                                                           tmp_path: Path) -> None:
    anyone, one = models
    out = tmp_path / "h.json"
    code = bench.main([str(anyone), str(heldout), "--triples", "6", "--seed", "1", "--baseline", str(one), "--json", str(out)])
    assert code == 0
    record = json.loads(out.read_text())
    assert record["overall"]["triples"] == 6 == len(record["triples"])
    assert record["image_size"] == "32x32"
    assert sum(g["triples"] for g in record["by_direction"].values()) == 6
    assert sum(g["triples"] for g in record["by_temperature"].values()) == 6
    for row in record["triples"]:
        assert Light.parse(row["source"]) != Light.parse(row["target"])
        assert math.isfinite(row["gain_db"])
        assert row["gain_db"] == pytest.approx(row["psnr_db"] - row["identity_psnr_db"])
    assert 0 <= record["overall"]["opposite_pct"] <= 100
    assert 0 <= record["overall"]["warmer_pct"] <= 100
    assert set(record["one_to_one"]) == {"identity", str(anyone), f"{anyone} (source told)", str(one)}
    assert record["one_to_one"]["identity"]["gain_db"] == 0
    assert record["one_to_one"][str(one)]["scenes"] == 2


def test_a_one_to_one_model_is_refused(bench, heldout: Path, models: tuple[Path, Path]) -> None:
    with pytest.raises(SystemExit, match="one-to-one model"):
        bench.main([str(models[1]), str(heldout), "--triples", "2", "--baseline", ""])
