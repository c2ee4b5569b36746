"""benchmarks/judge (the evaluation-only renderer and the measures) and benchmarks/generalise.py: the
judge is seeded and writes the layout relight reads, its shadows move with the light and its masks agree
with its shading; the measures give known answers on constructed arrays; generalise.py runs end to end
on tiny sets with a tiny random model and with the bundled one (its numbers are not checked, only what
they are made of)."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from relight.data.synth import write_dataset
from relight.lighting import DIRECTIONS, Light

from benchmark_scripts import BENCHMARKS, load_benchmark
from judge import measures
from judge.dataset import write_judge_dataset
from judge.grammar import GRAMMARS, random_scene
from judge.materials import Material, linear, paint
from judge.photos import filled_disparity, ramp_depth
from judge.render import render
from judge.scene import JudgeScene, Rig
from judge.sdf import ellipsoid, ground


@pytest.fixture(scope="module")
def generalise():
    return load_benchmark("generalise")


def sphere_on_floor() -> JudgeScene:
    """A grey ball on a grey floor in the middle of the view, lit by a small light."""
    grey = Material("paint", paint(linear(np.full(3, 0.6)), 1), 0.8, 0.04)
    objects = [[ground(0.0, 0)], [ellipsoid((0.0, 0.35, 3.2), (0.35, 0.35, 0.35), 0)]]
    rig = Rig(ring_radius=0.6, ring_height=0.5, light_radius=0.01, fill=0.1, fill_colour=(0.6, 0.7, 1.0), exposure=1.5)
    return JudgeScene("ball", "test", objects, [grey], camera_height=1.5, pitch_deg=25.0, fov_deg=50.0, rig=rig)


def luma(image: np.ndarray) -> np.ndarray:
    return measures.luminance(image / 255.0)


def shadowed(out: dict, direction: str) -> np.ndarray:
    """Where the judge's mask says more than half of the light is hidden."""
    return out["masks"][direction] > 127


def ball_pixels(scene: JudgeScene, size: int) -> np.ndarray:
    """The pixels whose ray passes within a little more than the ball's radius of its centre."""
    origin, dirs, _ = scene.rays(size)
    to_centre = np.array([0.0, 0.35, 3.2]) - origin
    along = dirs @ to_centre
    gap = np.sum((to_centre[None, :] - along[:, None] * dirs) ** 2, axis=1)
    return (gap < 0.38**2).reshape(size, size)


# --- the judge renderer -------------------------------------------------------------------------------------------


def test_the_judge_renders_the_same_scene_for_a_seed_and_another_for_another_seed() -> None:
    first, again, other = render(random_scene(5, 1), 24), render(random_scene(5, 1), 24), render(random_scene(6, 1), 24)
    light = Light(4500, "E")
    assert np.array_equal(first["images"][light], again["images"][light])
    assert np.array_equal(first["depth"], again["depth"])
    assert all(np.array_equal(first["masks"][d], again["masks"][d]) for d in DIRECTIONS)
    assert not np.array_equal(first["images"][light], other["images"][light])


def test_every_grammar_draws_a_scene_with_objects_and_all_forty_lights() -> None:
    for index, grammar in enumerate(GRAMMARS):
        scene = random_scene(0, index, grammar)
        assert scene.grammar == grammar
        assert len(scene.objects) >= 3, f"{grammar}: a floor and at least two objects"
        out = render(scene, 16)
        assert len(out["images"]) == 40
        assert set(out["masks"]) == set(DIRECTIONS)
        assert out["depth"].shape == (16, 16)
        assert 0.0 <= out["depth"].min()
        assert out["depth"].max() <= 1.0


def test_shadows_move_with_the_light() -> None:
    scene = sphere_on_floor()
    out = render(scene, 48)
    floor = ~ball_pixels(scene, 48)
    cast = {d: shadowed(out, d) & floor for d in ("N", "E", "S", "W")}
    rows, cols = np.mgrid[0:48, 0:48]
    centre = {d: (float(rows[cast[d]].mean()), float(cols[cast[d]].mean())) for d in ("N", "E", "W")}
    assert all(cast[d].sum() > 10 for d in ("N", "E", "W")), "the ball casts a shadow the camera sees"
    assert cast["S"].sum() < cast["N"].sum() / 4, "lit from the camera's side the ball hides its own shadow"
    ball = ball_pixels(scene, 48) & (out["depth"] < 0.999)
    left, right = ball & (cols < 20), ball & (cols > 28)
    assert (out["masks"]["E"][left] == 255).mean() > 0.8, "the ball's side turned away from the light is in its mask"
    assert (out["masks"]["E"][right] == 0).mean() > 0.8, "and its side facing the light is not"
    assert centre["E"][1] < 24 < centre["W"][1], "lit from the east the shadow falls to the left, from the west to the right"
    assert centre["N"][0] > 24, "lit from behind the shadow comes towards the camera (below the ball, which fills the centre)"


def test_the_cast_masks_hold_cast_shadows_and_no_surface_turned_away() -> None:
    scene = sphere_on_floor()
    out = render(scene, 48)
    floor = ~ball_pixels(scene, 48)
    ball = ball_pixels(scene, 48) & (out["depth"] < 0.999)
    cols = np.mgrid[0:48, 0:48][1]
    full, cast = out["masks"]["E"], out["cast_masks"]["E"]
    assert (cast <= full).all(), "a cast shadow is a shadow"
    assert (cast[ball & (cols < 20)] == 0).mean() > 0.8, "the ball's side turned away from the light casts, it is not cast on"
    assert (full[ball & (cols < 20)] == 255).mean() > 0.8
    assert ((cast > 127) & floor).sum() > 10, "the ball's shadow on the floor is a cast shadow"
    on_floor, cast_on_floor = ((full > 127) & floor).sum(), ((cast > 127) & floor).sum()
    assert cast_on_floor >= 0.9 * on_floor, "the flat floor faces every light: its shadows are cast (but at the ball's rim)"


def test_masked_pixels_are_darker_under_their_light() -> None:
    scene = sphere_on_floor()
    out = render(scene, 48)
    floor = ~ball_pixels(scene, 48)
    for direction, other in (("E", "W"), ("W", "E"), ("N", "S")):
        shadow = shadowed(out, direction) & ~shadowed(out, other) & floor
        under, lit = luma(out["images"][Light(4500, direction)]), luma(out["images"][Light(4500, other)])
        assert shadow.sum() > 10
        assert (under[shadow] < lit[shadow]).all(), f"the floor in the {direction} light's shadow is lit by the {other} light"
        floor_lit = (out["masks"][direction] == 0) & floor & (out["depth"] < 0.999)
        assert np.median(under[shadow]) < 0.5 * np.median(under[floor_lit]), f"{direction}: a shadow is darker than the lit floor"


def test_the_judge_writes_the_layout_relight_reads(tmp_path: Path, cli) -> None:
    folder = tmp_path / "judge"
    write_judge_dataset(folder, scenes=2, size=24, seed=3)
    assert len(list(folder.glob("Image*_*_*.png"))) == 80
    assert len(list(folder.glob("Image*.npy"))) == 2
    masks = sorted(p.name for p in (folder / "masks").iterdir())
    assert masks == sorted(f"Image{i:03d}_{d}{kind}.png" for i in range(2) for d in DIRECTIONS for kind in ("", "_cast"))
    code, out, err = cli(["data", "pairs", str(folder), "--any-to-any", "--json"])
    assert code == 0, err
    record = json.loads(out)
    assert record["scenes"] == 2
    assert record["possible_pairs"] == 2 * 40 * 39


def test_the_judge_refuses_to_overwrite_a_scene(tmp_path: Path) -> None:
    write_judge_dataset(tmp_path, scenes=1, size=16, seed=3)
    with pytest.raises(ValueError, match="already holds scene Image000"):
        write_judge_dataset(tmp_path, scenes=1, size=16, seed=4)


# --- the measures -------------------------------------------------------------------------------------------------


def test_the_tint_oracle_recovers_a_per_channel_gain() -> None:
    source = np.random.default_rng(0).uniform(0.1, 0.45, (32, 32, 3))
    truth = source * np.array([0.5, 1.0, 2.0])
    oracle, gains = measures.tint_oracle(source, truth)
    assert gains == pytest.approx([0.5, 1.0, 2.0], abs=1e-9)
    assert measures.psnr(oracle, truth) > 50.0
    assert measures.psnr(source, truth) < 20.0


def test_opposite_directions_pass_a_perfect_model_and_fail_a_swapped_one() -> None:
    rng = np.random.default_rng(1)
    east, west = rng.uniform(0, 1, (16, 16, 3)), rng.uniform(0, 1, (16, 16, 3))
    assert measures.told_apart(east, east, west), "the right answer is closer to its own ground truth"
    assert not measures.told_apart(west, east, west), "a model that lights from the west when asked for east fails"


def test_warmth_is_larger_for_a_warmer_image() -> None:
    grey = np.full((8, 8, 3), 0.5)
    assert measures.warmth(grey * [1.0, 0.8, 0.6]) > measures.warmth(grey) > measures.warmth(grey * [0.8, 0.9, 1.0])


def shadow_case() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A grey floor: the source light's shadow on the left, the target light's on the right."""
    source_mask, target_mask = np.zeros((20, 40), bool), np.zeros((20, 40), bool)
    source_mask[:, 2:10], target_mask[:, 30:38] = True, True
    source, truth = np.full((20, 40, 3), 0.6), np.full((20, 40, 3), 0.6)
    source[source_mask], truth[target_mask] = 0.2, 0.2
    return source, truth, source_mask, target_mask


def test_the_shadow_measure_knows_a_moved_shadow() -> None:
    source, truth, source_mask, target_mask = shadow_case()
    stops = float(np.log2((measures.luminance(np.full(3, 0.6)) + measures.DARK) / (measures.luminance(np.full(3, 0.2)) + measures.DARK)))
    moved = measures.shadow_moves(source, truth, target_mask, source_mask)
    assert moved["darkening"] == pytest.approx(stops)
    assert moved["removal"] == pytest.approx(stops)
    assert measures.shadow_moves(source, source, target_mask, source_mask) == {"darkening": 0.0, "removal": 0.0}
    brighter = measures.shadow_moves(source, source * 1.3, target_mask, source_mask)
    assert brighter["darkening"] == pytest.approx(0.0, abs=0.05), "a global brightening moves no shadow"
    removed_only = source.copy()
    removed_only[source_mask] = 0.6
    half = measures.shadow_moves(source, removed_only, target_mask, source_mask)
    assert half["darkening"] == 0.0
    assert half["removal"] == pytest.approx(stops)


def test_beside_its_shadow_a_ramp_across_the_image_moves_no_shadow_and_a_shadow_moves_in_full() -> None:
    source, truth, source_mask, target_mask = shadow_case()
    stops = measures.shadow_moves(source, truth, target_mask, source_mask)["darkening"]
    assert measures.shadow_moves(source, truth, target_mask, source_mask, beside=3)["darkening"] == pytest.approx(stops)
    ramp = source * np.linspace(1.6, 0.4, 40)[None, :, None]  # lit from the left: the right side darkens as a whole
    assert measures.shadow_moves(source, ramp, target_mask, source_mask)["darkening"] > 0.5 * stops, "against every lit pixel it counts"
    assert measures.shadow_moves(source, ramp, target_mask, source_mask, beside=3)["darkening"] < 0.25 * stops, "beside it, little"
    dot = np.zeros((7, 7), bool)
    dot[3, 3] = dot[0, 6] = True
    assert measures.dilate(dot, 1).sum() == 9 + 4, "a 3 x 3 square round each pixel, cut at the edges"


def test_the_smooth_oracle_moves_the_broad_light_and_blurs_the_shadow() -> None:
    source, truth, source_mask, target_mask = shadow_case()
    flat = np.full((20, 40, 3), 0.5)
    assert np.array_equal(measures.smooth_oracle(flat, flat * 0.5), measures.as_saved(flat * 0.5)), "a change as broad as the image is kept"
    smooth = measures.smooth_oracle(np.tile(source, (4, 4, 1)), np.tile(truth, (4, 4, 1)))
    sharp = np.abs(np.tile(truth, (4, 4, 1)) - smooth).max()
    assert sharp > 0.1, "the edges of the shadows are blurred away"


def test_the_shadow_measure_needs_enough_pixels() -> None:
    source, truth, source_mask, _ = shadow_case()
    assert measures.shadow_moves(source, truth, np.zeros_like(source_mask), source_mask)["darkening"] is None


def test_the_border_measures_find_a_coloured_edge_and_not_a_global_tint() -> None:
    photo = np.random.default_rng(2).uniform(0.2, 0.7, (60, 80, 3))
    tinted = photo * [1.2, 1.0, 0.8]
    assert abs(measures.border_fringe(photo, tinted)) < 0.5
    fringed = photo.copy()
    fringed[:, :2] = fringed[:, :2] * [1.3, 0.7, 1.3]
    assert measures.border_fringe(photo, fringed) > 5.0
    assert measures.outside_range(photo, photo) == {"border_pct": 0.0, "inside_pct": 0.0}
    magenta = photo.copy()
    magenta[:2] = [0.95, 0.05, 0.95]
    ranges = measures.outside_range(photo, magenta)
    assert ranges["border_pct"] > 10.0
    assert ranges["inside_pct"] == 0.0


def test_the_stand_in_depths() -> None:
    disparity = np.array([[np.inf, 4.0, 0.0, 2.0], [1.0, np.nan, np.nan, 3.0]])
    assert filled_disparity(disparity).tolist() == [[4.0, 4.0, 4.0, 2.0], [1.0, 1.0, 1.0, 3.0]]
    ramp = ramp_depth((5, 3))
    assert ramp[0].tolist() == [1.0, 1.0, 1.0]
    assert ramp[-1] == pytest.approx([0.3] * 3)


# --- generalise.py ------------------------------------------------------------------------------------------------


TINY = ["--renderers", "judge,raster", "--families", "other-shapes", "--scenes", "2", "--size", "32", "--triples", "5"]


@pytest.fixture(scope="module")
def sets(generalise, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny sets of :data:`TINY`, rendered once where the end-to-end runs find them."""
    root = tmp_path_factory.mktemp("generalise-sets")
    args = generalise.parse_args(TINY)
    for held in generalise.held_out_sets(args):
        generalise.prepare(held, root / held.name.replace(" ", "-"), args.scenes, args.size, args.seed)
    return root




def test_generalise_runs_end_to_end_with_a_tiny_model(generalise, sets: Path, tiny_relight_models: tuple[Path, Path], tmp_path: Path) -> None:
    anyone, one = tiny_relight_models
    out = tmp_path / "result.json"
    code = generalise.main([*TINY, "--weights", str(anyone), "--weights", str(one), "--data", str(sets), "--photos", "chelsea",
                            "--sheet", str(tmp_path / "sheet.png"), "--json", str(out)])
    assert code == 0
    record = json.loads(out.read_text())
    assert [s["set"] for s in record["sets"]] == ["renderer judge", "renderer raster", "family other-shapes"]
    judge = record["sets"][0]
    assert judge["masks"] is True
    assert judge["scenes"] == 2
    assert list(judge["models"]) == [str(anyone)], "a one-to-one model has no triples"
    summary = judge["models"][str(anyone)]["summary"]
    assert summary["triples"] == 5
    assert set(summary["opposite_by_pair_pct"]) <= {"N/S", "NE/SW", "E/W", "SE/NW"}
    assert summary["gain_db"] == pytest.approx(summary["psnr_db"] - summary["identity_psnr_db"])
    rows = judge["models"][str(anyone)]["rows"]
    assert summary["tint_left_db"] == pytest.approx(np.mean([r["tint_left_db"] for r in rows]))
    assert summary["tint_left_db"] > 0.1, "a random model's colours are off: a fitted tint takes it closer"
    assert summary["truth_warmth_log"] > 0, "the judge's 2500 K images are warmer than its 6500 K ones"
    assert summary["shadow_darkening_triples"] + summary["shadow_removal_triples"] > 0, "the judge's masks give shadow measures"
    assert summary["shadow_cast_darkening_triples"] + summary["shadow_cast_removal_triples"] > 0, "and its cast-shadow masks too"
    assert summary["smooth_oracle_gain_db"] > 0, "the smooth oracle peeks at the answer"
    raster = record["sets"][1]["models"][str(anyone)]["summary"]
    assert raster["shadow_cast_darkening_triples"] == raster["shadow_cast_removal_triples"] == 0, "relight's sets have no cast masks"
    assert raster["shadow_cast_darkening_stops"] is None
    relight_masks = "masks" in inspect.signature(write_dataset).parameters
    assert record["sets"][1]["masks"] is relight_masks, "relight's sets have masks where relight synth writes them"
    assert set(judge["one_to_one"]) == {str(anyone), str(one)}
    assert judge["one_to_one"][str(one)]["pair"] == "6500-N -> 4500-E"
    photo = record["photographs"]["photos"][str(anyone)][0]
    assert photo["photo"] == "chelsea"
    assert photo["licence"].startswith("CC0")
    assert photo["depth"] == "stand-in ramp"
    assert len(photo["same_light_db"]) == 3
    assert len(photo["cycle_db"]) == 3
    assert (tmp_path / "sheet.png").is_file()


def test_generalise_runs_the_bundled_model_and_reuses_its_sets(generalise, sets: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundled.json"
    made = {marker: marker.stat().st_mtime_ns for marker in sets.glob("*/generalise.json")}
    code = generalise.main([*TINY, "--weights", "relight-synth-any", "--data", str(sets), "--photos", "", "--tell-source", "--mirror-avg",
                            "--json", str(out)])
    assert code == 0
    assert len(made) == 3, "the sets are reused"
    assert made == {marker: marker.stat().st_mtime_ns for marker in sets.glob("*/generalise.json")}, "the sets are reused"
    record = json.loads(out.read_text())
    assert record["tell_source"] is True
    assert "photographs" not in record
    models = record["sets"][0]["models"]
    assert list(models) == ["relight-synth-any", "relight-synth-any +mirror"]
    assert models["relight-synth-any +mirror"]["summary"]["triples"] == 5
    assert [r["psnr_db"] for r in models["relight-synth-any"]["rows"]] != [r["psnr_db"] for r in models["relight-synth-any +mirror"]["rows"]]


def test_a_set_rendered_by_several_processes_is_the_set_one_process_renders(sets: Path, tiny_relight_models: tuple[Path, Path],
                                                                            tmp_path: Path) -> None:
    """``--jobs 2``: each process renders a slice of the scenes; the files are those of one process."""
    anyone, _ = tiny_relight_models
    data = tmp_path / "sets"
    done = subprocess.run([sys.executable, str(BENCHMARKS / "generalise.py"), *TINY, "--renderers", "judge", "--families", "",
                           "--weights", str(anyone), "--photos", "", "--data", str(data), "--jobs", "2"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(2 processes)" in done.stderr + done.stdout
    one, two = sets / "renderer-judge", data / "renderer-judge"
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert len(files) > 2 * 40
    assert sorted(p.relative_to(two) for p in two.rglob("*") if p.is_file()) == files
    differ = [str(f) for f in files if (two / f).read_bytes() != (one / f).read_bytes()]
    assert not differ, differ[:5]


def test_generalise_refuses_a_folder_of_other_data(generalise, tmp_path: Path) -> None:
    held = generalise.HeldOut("renderer judge", "judge", None)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "stray.txt").write_text("not a set")
    with pytest.raises(SystemExit, match="holds other data"):
        generalise.prepare(held, tmp_path / "x", 1, 16, 0)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        made = generalise.prepare(held, tmp_path / "y", 1, 16, 0)
        assert torch.get_num_threads() == 2, "rendering in this process leaves the models its threads"
    finally:
        torch.set_num_threads(threads)
    again = generalise.prepare(held, made, 1, 16, 0)
    assert again == made, "the same recipe is reused"
    recipe = json.loads((made / "generalise.json").read_text())
    (made / "generalise.json").write_text(json.dumps({**recipe, "code": "an older renderer"}))
    with pytest.raises(SystemExit, match="holds other data"):
        generalise.prepare(held, made, 1, 16, 0)
    with pytest.raises(SystemExit):
        generalise.parse_args(["--families", "no-such-family"])


def test_a_run_of_photographs_only_prints_no_empty_tables(generalise) -> None:
    row = {"photo": "chelsea", "depth": "stand-in ramp", "same_light_mean_db": 40.0, "cycle_mean_db": 20.0, "fringe_pct": -1.0,
           "outside_border_pct": 0.0, "outside_inside_pct": 0.0}
    record = {"size": 256, "tell_source": False, "sets": [], "photographs": {"depth_estimator": "stand-ins", "photos": {"m": [row]}}}
    printed = generalise.tables(record)
    assert [t.title.split(",")[0] for t in printed] == ["Photographs"]
