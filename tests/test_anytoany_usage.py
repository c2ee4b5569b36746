"""Using an any-to-any model: `--to`/`--from`, output names, the contact sheet, eval by light, the demo.

The models here are tiny random fixtures the tests build (their FiLM layer randomised, so that the light
changes the output), saved with relight's checkpoint writer: plumbing, not relighting quality.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from relight.data.pairs import InferencePair
from relight.errors import InvalidSetting
from relight.inference import Relighter
from relight.io import read_image
from relight.lighting import ALL_LIGHTS, DIRECTIONS, TEMPERATURES, Light
from relight.model import MBNet
from relight.model.checkpoint import save_checkpoint
from relight.inference.naming import name_fields, plan_outputs
from relight.evaluation.sheet import LABEL_HEIGHT, PAD, cell_size, grid_sheet, layout, light_sheet
from relight.weights import load_weights


@pytest.fixture(scope="module")
def film_checkpoint(tiny_config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny any-to-any (FiLM) MBNet with random weights, its FiLM output layer random too (a fresh
    one is the identity, which would give every light the same output)."""
    torch.manual_seed(0)
    model = MBNet(dataclasses.replace(tiny_config, conditioning="film"))
    torch.nn.init.normal_(model.condition.out.weight, std=0.5)
    path = tmp_path_factory.mktemp("film") / "film-random.safetensors"
    return save_checkpoint(model, path, {"note": "random any-to-any test weights"})


@pytest.fixture(scope="module")
def paired_checkpoint(tiny_config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny one-to-one MBNet with random weights whose checkpoint records its pair, 6500-N -> 4500-E."""
    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("paired") / "paired-random.safetensors"
    return save_checkpoint(MBNet(tiny_config), path, {"source": "6500-N", "target": "4500-E"})


@pytest.fixture(scope="module")
def vidit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two synthetic scenes in VIDIT's any-to-any layout (all 40 lights each), 32 x 32, from `relight synth`."""
    from relight.data.synth import write_dataset

    folder = tmp_path_factory.mktemp("vidit") / "data"
    write_dataset(folder, scenes=2, size=32, seed=5)
    return folder


def _photo(folder: Path, stem: str = "Image000_6500_N") -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    image, depth = folder / f"{stem}.png", folder / f"{stem.split('_')[0]}.npy"
    Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(image)
    np.save(depth, rng.random((40, 56), dtype=np.float32))
    return image, depth


def test_two_targets_give_different_outputs_and_the_run_says_the_mapping(cli, tmp_path, film_checkpoint):
    image, depth = _photo(tmp_path / "in")
    out = tmp_path / "out" / "r.png"
    code, _, err = cli(["run", str(image), str(depth), "-o", str(out), "-w", str(film_checkpoint), "--to", "2500-W", "--to", "4500-E"])
    assert code == 0, err
    assert "relighting ? -> 2500-W, 4500-E" in err
    warm, east = (read_image(tmp_path / "out" / f"r_{tag}.png").rgb for tag in ("2500_W", "4500_E"))
    assert not (tmp_path / "out" / "r.png").exists()
    assert np.abs(warm - east).max() > 0.05
    # The same through the API, and a told source changes the mapping said.
    relighter = Relighter(load_weights(film_checkpoint), device="cpu")
    rgb, d = read_image(image).rgb, np.load(depth)
    api = relighter.relight(rgb, d, to="2500-W")
    assert np.abs(np.clip(api, 0, 1) - warm).max() <= 0.5 / 255 + 1e-6
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "one.png"), "-w", str(film_checkpoint), "--to", "2500-W",
                            "--from", "6500-N"])
    assert code == 0
    assert "relighting 6500-N -> 2500-W" in err


@pytest.mark.parametrize(
    ("weights", "options", "problem"),
    [
        ("paired", ["--to", "2500-W"], "--to 2500-W: this model is one-to-one (6500-N -> 4500-E) and relights to 4500-E only"),
        ("film", ["--to", "9000-W"], "--to '9000-W': unknown colour temperature 9000"),
        ("film", ["--to", "4500-Q"], "unknown light direction 'Q'"),
        ("paired", ["--from", "3500-S"], "this model is one-to-one (6500-N -> 4500-E): its input must be lit 6500-N, not 3500-S"),
        ("film", [], "this model is any-to-any: name the light to relight to, e.g. --to 2500-W"),
    ],
)
def test_light_errors_are_one_line_and_write_nothing(cli, tmp_path, film_checkpoint, paired_checkpoint, weights, options, problem):
    image, depth = _photo(tmp_path / "in")
    checkpoint = film_checkpoint if weights == "film" else paired_checkpoint
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "o.png"), "-w", str(checkpoint), *options])
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2, err
    assert len(lines) == 1, err
    assert problem in lines[0], err
    assert "Traceback" not in err
    assert not (tmp_path / "o.png").exists()
    if "one-to-one (6500-N -> 4500-E)" in problem:  # a wrong --to or --from: where the any-to-any models are
        assert "; any-to-any models: relight-synth-any (pass --weights relight-synth-any)" in lines[0]


@pytest.mark.parametrize("command", ["run", "batch"])
@pytest.mark.parametrize(("weights", "options"), [("relight-synth-narrow", ["--to", "2500-W"]), ("relight-synth-narrow", ["--from", "3500-W"]),
                                                  ("paired", ["--mirror-avg"]), ("weight.pkl", ["--to", "2500-W"])])
def test_a_light_the_model_cannot_give_is_refused_before_anything_loads(cli, tmp_path, paired_checkpoint, command, weights, options):
    """Read from the registry entry, the checkpoint's header or the authors' file name: the refusal comes
    before the network loads, and before the depth model that a photo without depth needs (none can be
    fetched here), whose error it would otherwise be."""
    image, _ = _photo(tmp_path / "in")
    (tmp_path / "in" / "Image000.npy").unlink()
    (tmp_path / "weight.pkl").write_bytes(b"not read before the light is checked")
    chosen = {"paired": str(paired_checkpoint), "weight.pkl": str(tmp_path / "weight.pkl")}.get(weights, weights)
    where = [str(image), "-o", str(tmp_path / "o.png")] if command == "run" else [str(tmp_path / "in"), "-o", str(tmp_path / "out")]
    code, _, err = cli([command, *where, "-w", chosen, "--device", "cpu", *options])
    assert code == 2, err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "one-to-one" in err and "6500-N -> 4500-E" in err and "any-to-any models: relight-synth-any" in err, err
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("options", [[], ["--from", "6500-N", "--to", "4500-E"], ["--from", "3500-W", "--to", "4500-E"], ["--to", "2500-W"]])
def test_without_weights_every_light_runs_on_the_one_default(cli, tmp_path, options):
    """One default model for every --to and --from, the bundled one-to-one model's own pair included: the
    run gives what that model gives when named."""
    image, depth = _photo(tmp_path / "in")
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "auto.png"), "--device", "cpu", *options])
    assert code == 0, err
    assert "using the default model relight-synth-any" in err
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "named.png"), "--device", "cpu", "-w", "relight-synth-any",
                            *(options if "--to" in options else [*options, "--to", "4500-E"])])
    assert code == 0, err
    assert (tmp_path / "auto.png").read_bytes() == (tmp_path / "named.png").read_bytes()


def test_a_bad_from_is_refused_before_anything_loads(cli, tmp_path):
    image, depth = _photo(tmp_path / "in")
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "o.png"), "--from", "9000-N"])
    assert code == 2, err
    assert err.strip() == "error: --from '9000-N': unknown colour temperature 9000; use one of 2500, 3500, 4500, 5500, 6500", err


def test_the_python_refusal_names_python_arguments(paired_checkpoint):
    relighter = Relighter(load_weights(paired_checkpoint), device="cpu")
    with pytest.raises(InvalidSetting, match=r"Relighter.relight\(to='2500-W'\): this model is one-to-one") as caught:
        relighter.relight(np.zeros((32, 32, 3), np.float32), np.zeros((32, 32), np.float32), to="2500-W")
    assert "--to" not in str(caught.value)


def test_contact_sheet_of_all_40_lights(cli, tmp_path, film_checkpoint):
    image, depth = _photo(tmp_path / "in")
    sheet = tmp_path / "sheet.png"
    code, _, err = cli(["run", str(image), str(depth), "--sheet", str(sheet), "-w", str(film_checkpoint), "--to", "all"])
    assert code == 0, err
    assert "40 lights" in err
    assert list(tmp_path.glob("*.png")) == [sheet]  # no -o: the sheet alone
    picture = np.asarray(Image.open(sheet).convert("RGB"))
    where = layout(len(TEMPERATURES), len(DIRECTIONS), (40, 56), [f"{t} K" for t in TEMPERATURES])
    assert picture.shape[:2] == where.size
    assert where.size == (LABEL_HEIGHT + 5 * (40 + PAD) + PAD, where.left + 8 * (56 + PAD) + PAD)
    # Labels drawn (dark pixels) in the bands above the columns and left of the rows; cells hold the versions.
    assert picture[:LABEL_HEIGHT, where.left:].min() < 100
    assert picture[LABEL_HEIGHT:, : where.left - PAD].min() < 100
    relighter = Relighter(load_weights(film_checkpoint), device="cpu")
    for light, (row, col) in ((Light(2500, "N"), (0, 0)), (Light(6500, "NW"), (4, 7)), (Light(4500, "E"), (2, 2))):
        expected = np.rint(np.clip(relighter.relight(read_image(image).rgb, np.load(depth), to=light), 0, 1) * 255)
        top, left = where.origin(row, col)
        assert np.abs(picture[top : top + 40, left : left + 56].astype(float) - expected).max() <= 1


def test_sheet_layout_places_each_light_and_leaves_the_others_grey():
    images = {Light(2500, "W"): np.zeros((300, 200, 3), np.float32), Light(6500, "N"): np.ones((300, 200, 3), np.float32)}
    picture = light_sheet(images)
    size = cell_size((300, 200, 3))
    assert size == (160, 107)  # scaled down to 160 pixels on the longer side, aspect kept
    where = layout(2, 2, size, ["2500 K", "6500 K"])  # two temperatures, two directions (N, W) in VIDIT order
    assert picture.shape[:2] == where.size
    (t0, l0), (t1, l1) = where.origin(0, 1), where.origin(1, 0)
    assert picture[t0 : t0 + size[0], l0 : l0 + size[1]].max() == 0
    assert picture[t1 : t1 + size[0], l1 : l1 + size[1]].min() == 255
    tg, lg = where.origin(0, 0)  # 2500-N was not given
    assert (picture[tg + 5, lg + 5] == (224, 224, 224)).all()
    with pytest.raises(ValueError):
        grid_sheet({}, [], [])


def _pair(stem: str) -> InferencePair:
    return InferencePair(stem, Path(f"/data/{stem}.png"), Path(f"/data/{stem.split('_')[0]}.npy"))


def test_output_names_from_vidit_names_and_templates():
    assert name_fields("Image000_6500_N") == {"stem": "Image000_6500_N", "scene": "Image000", "source": "6500_N"}
    assert name_fields("holiday") == {"stem": "holiday", "scene": "holiday", "source": None}
    assert name_fields("holiday", "3500-S")["source"] == "3500_S"
    pairs = [_pair("Image000_6500_N"), _pair("Image300_6500_N")]
    west, east = Light(2500, "W"), Light(4500, "E")
    assert [o.name for outs in plan_outputs(pairs, [east]) for o in outs] == ["Image000_6500_N.png", "Image300_6500_N.png"]
    several = plan_outputs(pairs, [west, east], ".jpg")
    assert [o.name for o in several[1]] == ["Image300_6500_N_2500_W.jpg", "Image300_6500_N_4500_E.jpg"]
    assert several[1][0].target == west
    templated = plan_outputs(pairs, [east], ".png", "{scene}_4500_E")
    assert [outs[0].name for outs in templated] == ["Image000_4500_E.png", "Image300_4500_E.png"]
    both = plan_outputs(pairs, [west, east], ".png", "{scene}/{source}".replace("/", "-") + "-to-{target}")
    assert both[0][1].name == "Image000-6500_N-to-4500_E.png"


@pytest.mark.parametrize(
    ("stems", "targets", "template", "problem"),
    [
        (["Image000_6500_N", "Image000_3500_S"], [Light(4500, "E")], "{scene}", "would both be written as Image000.png; put {stem} or {source}"),
        (["Image000_6500_N"], [Light(2500, "W"), Light(4500, "E")], "{stem}", "would both be written as Image000_6500_N.png; put {target}"),
        (["a"], [Light(4500, "E")], "{stem}_{bogus}", "unknown field {bogus}"),
        (["a"], [Light(4500, "E")], "{stem!r}", "unknown field {stem!r}"),
        (["a"], [Light(4500, "E")], "{stem", "expected '}'"),
        (["a"], [Light(4500, "E")], "{scene}_{source}", "{source} is unknown for a"),
        (["a"], [None], "{stem}_{target}", "{target} is unknown for a (the model's target light is not recorded)"),
        (["a"], [Light(4500, "E")], "{stem}/x", "which is not a file name"),
    ],
)
def test_bad_templates_and_name_collisions_are_refused_before_work(stems, targets, template, problem):
    with pytest.raises(InvalidSetting) as caught:
        plan_outputs([_pair(stem) for stem in stems], targets, ".png", template)
    assert problem in str(caught.value)
    assert f"run_batch(name={template!r})" in str(caught.value)


def test_batch_names_outputs_so_score_pairs_them_with_vidit_ground_truth(cli, tmp_path, vidit, film_checkpoint):
    inputs, gt = tmp_path / "inputs", tmp_path / "gt"  # the 6500-N inputs, and the 4500-E ground truth as VIDIT names it
    inputs.mkdir()
    gt.mkdir()
    for scene in ("Image000", "Image001"):
        shutil.copy(vidit / f"{scene}_6500_N.png", inputs)
        shutil.copy(vidit / f"{scene}.npy", inputs)
        shutil.copy(vidit / f"{scene}_4500_E.png", gt)
    out = tmp_path / "relit"
    code, _, err = cli(["batch", str(inputs), "-o", str(out), "-w", str(film_checkpoint), "--to", "4500-E", "--name", "{scene}_4500_E"])
    assert code == 0, err
    assert "relighting ? -> 4500-E" in err
    assert sorted(p.name for p in out.iterdir()) == ["Image000_4500_E.png", "Image001_4500_E.png"]
    code, stdout, err = cli(["score", str(out), str(gt), "--json", "-"])
    assert code == 0, err
    report = json.loads(stdout)
    assert [row["name"] for row in report["images"]] == ["Image000_4500_E", "Image001_4500_E"]
    assert not report["missing_ground_truth"]
    assert not report["missing_predictions"]
    # Several targets: the target appended; a template that would give two inputs one name is refused before work.
    code, _, err = cli(["batch", str(inputs), "-o", str(tmp_path / "two"), "-w", str(film_checkpoint), "--to", "2500-W,6500-S"])
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(
        f"Image00{i}_6500_N_{t}.png" for i in (0, 1) for t in ("2500_W", "6500_S"))
    shutil.copy(vidit / "Image000_3500_S.png", inputs)
    code, _, err = cli(["batch", str(inputs), "-o", str(tmp_path / "clash"), "-w", str(film_checkpoint), "--to", "4500-E",
                            "--name", "{scene}_4500_E"])
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2
    assert len(lines) == 1
    assert "--name '{scene}_4500_E': Image000_3500_S.png to 4500-E and Image000_6500_N.png" in lines[0]
    assert not (tmp_path / "clash").exists()


def test_batch_refuses_another_target_for_a_one_to_one_model_before_work(cli, tmp_path, paired_checkpoint):
    image, depth = _photo(tmp_path / "in")
    code, _, err = cli(["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-w", str(paired_checkpoint), "--to", "2500-W"])
    assert code == 2
    assert "--to 2500-W: this model is one-to-one (6500-N -> 4500-E)" in err
    assert not (tmp_path / "out").exists()
    code, _, err = cli(["batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-w", str(paired_checkpoint), "--name", "{scene}_{target}"])
    assert code == 0
    assert "relighting 6500-N -> 4500-E (one-to-one model)" in err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["Image000_4500_E.png"]


def test_eval_any_to_any_tables_json_csv_and_grid(cli, tmp_path, vidit, film_checkpoint, paired_checkpoint):
    args = ["eval", str(vidit), "--any-to-any", "--pairs", "24", "--seed", "3", "-w", str(film_checkpoint), "--workers", "0"]
    code, stdout, err = cli([*args, "--json", "-", "--csv", str(tmp_path / "e.csv"), "--plot", str(tmp_path / "grid.png")])
    assert code == 0, err
    report = json.loads(stdout)
    assert report["count"] == 24
    assert report["possible_pairs"] == 2 * 40 * 39
    assert report["seed"] == 3
    assert report["source_told"] is False
    assert set(report["by_target_direction"]) == set(DIRECTIONS)
    assert set(report["by_target_temperature"]) == {str(t) for t in TEMPERATURES}
    assert sum(group["count"] for group in report["by_target_direction"].values()) == 24
    assert set(report["mean"]) == {"count", "psnr", "ssim", "identity_psnr", "identity_ssim", "gain_psnr"}
    grid = report["grid"]
    assert len(grid["gain_psnr"]) == 8
    assert all(len(row) == 8 for row in grid["gain_psnr"])
    assert sum(map(sum, grid["count"])) == 24
    pair = report["pairs"][0]
    assert pair["source"] != pair["target"]
    assert pair["gain_psnr"] == pytest.approx(pair["psnr"] - pair["identity_psnr"])
    assert "by target direction" in err
    assert "by target temperature" in err  # the tables, on stderr since JSON took stdout
    rows = list(csv.DictReader(io.StringIO((tmp_path / "e.csv").read_text())))
    assert [r["group"] for r in rows] == ["all"] + ["target_direction"] * 8 + ["target_temperature"] * 5
    assert float(rows[0]["psnr"]) == pytest.approx(report["mean"]["psnr"])
    assert Image.open(tmp_path / "grid.png").size[0] > 8 * 40
    # Seeded: the same sample again; another seed, another sample.
    code, again, _ = cli([*args, "--json", "-"])
    assert [p["scene"] + p["source"] + p["target"] for p in json.loads(again)["pairs"]] == [p["scene"] + p["source"] + p["target"] for p in report["pairs"]]
    code, _, err = cli([*args[:-4], "-w", str(paired_checkpoint)])
    assert code == 2
    assert "--any-to-any: this model is one-to-one 6500-N -> 4500-E" in err


def test_demo_with_an_any_to_any_model_scores_4500_e_and_writes_the_other_lights(cli, tmp_path, film_checkpoint):
    code, _, err = cli(["demo", "-o", str(tmp_path / "demo"), "-w", str(film_checkpoint), "--json", str(tmp_path / "d.json")])
    assert code == 0, err
    assert "relighting 6500-N -> 4500-E (scored: the examples' ground truth), and to 4500-W, 2500-S, 6500-NE" in err
    assert sorted(p.name for p in (tmp_path / "demo").iterdir() if p.is_file()) == [f"Image90{i}.png" for i in range(4)]
    lights = tmp_path / "demo" / "lights"
    assert len(list(lights.glob("Image90?_*.png"))) == 12
    assert (lights / "sheet.png").is_file()
    report = json.loads((tmp_path / "d.json").read_text())
    assert report["model"]["count"] == 4
    assert len(report["versions"]) == 12
    assert report["mappings"][0] == "6500-N -> 4500-E"
    example = read_image(Path(__file__).parent.parent / "examples" / "validation" / "Image900.png")
    assert np.array_equal(read_image(lights / "Image900_4500_W.png").alpha, example.alpha)


def test_evaluate_saves_outputs_with_the_inputs_alpha_at_the_levels_scored(tmp_path, narrow_checkpoint):
    from relight.evaluation.evaluate import evaluate, evaluation_pairs

    rng = np.random.default_rng(2)
    (tmp_path / "val").mkdir()
    (tmp_path / "val_gt").mkdir()
    rgba = rng.integers(0, 256, (32, 40, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "val" / "a.png")
    np.save(tmp_path / "val" / "a.npy", rng.random((32, 40), dtype=np.float32))
    Image.fromarray(rgba[..., :3]).save(tmp_path / "val_gt" / "a.png")
    relighter = Relighter(load_weights(narrow_checkpoint), device="cpu")
    report = evaluate(relighter, evaluation_pairs(tmp_path / "val").pairs, save_dir=tmp_path / "out", workers=0)
    saved = read_image(tmp_path / "out" / "a.png")
    assert saved.alpha is not None
    assert np.array_equal(np.rint(saved.alpha * 255), rgba[..., 3])
    assert saved.bit_depth == 8
    from relight.evaluation.score import score_folders

    again = score_folders(tmp_path / "out", tmp_path / "val_gt", device="cpu")
    assert again.rows[0].psnr == pytest.approx(report.rows[0].psnr, abs=1e-4)


def test_mirror_average_is_the_mean_of_the_relight_and_its_mirror_image_relit_to_the_mirrored_lights(film_checkpoint):
    """On torch here; the command-line tests below run it on ONNX Runtime (the CPU's default)."""
    rng = np.random.default_rng(3)
    rgb, depth = rng.random((40, 56, 3), dtype=np.float32), rng.random((40, 56), dtype=np.float32)
    plain = Relighter(load_weights(film_checkpoint), device="cpu", backend="torch")
    averaged = Relighter(load_weights(film_checkpoint), device="cpu", backend="torch", mirror_average=True)
    targets, source = [Light(2500, "NE"), Light(6500, "W")], Light(3500, "SE")
    for lit in (None, source):
        flipped = plain.relight_many(rgb[:, ::-1].copy(), depth[:, ::-1].copy(), [t.mirrored() for t in targets], lit and lit.mirrored())
        for out, as_is, mirrored in zip(averaged.relight_many(rgb, depth, targets, lit), plain.relight_many(rgb, depth, targets, lit), flipped):
            np.testing.assert_allclose(out, (as_is + mirrored[:, ::-1]) / 2, atol=1e-5)
            assert np.abs(out - as_is).max() > 1e-3, "a random model is not symmetric: the mirror pass changes the result"


def test_mirror_average_refuses_a_pair_whose_mirror_image_the_model_does_not_give(cli, tmp_path, paired_checkpoint, tiny_config):
    with pytest.raises(InvalidSetting, match=r"Relighter\(mirror_average=True\): the mirror image of 6500-N -> 4500-E is 6500-N -> 4500-W"):
        Relighter(load_weights(paired_checkpoint), device="cpu", mirror_average=True)
    image, depth = _photo(tmp_path / "in")
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "o.png"), "-w", str(paired_checkpoint), "--mirror-avg"])
    assert code == 2
    assert err.strip().startswith("error: --mirror-avg: the mirror image of 6500-N -> 4500-E is 6500-N -> 4500-W, which this model "
                                  "(one-to-one 6500-N -> 4500-E) does not give; any-to-any models: relight-synth-any"), err
    assert not (tmp_path / "o.png").exists()
    torch.manual_seed(2)
    model = MBNet(tiny_config)
    unrecorded = save_checkpoint(model, tmp_path / "unrecorded.safetensors", {})
    with pytest.raises(InvalidSetting, match="does not record the light it relights to"):
        Relighter(load_weights(unrecorded), device="cpu", mirror_average=True)
    film = dataclasses.replace(tiny_config, conditioning="film")
    east_only = save_checkpoint(MBNet(film), tmp_path / "east.safetensors", {"targets": ["4500-E"]})
    with pytest.raises(InvalidSetting, match=r"the mirror image of \? -> 4500-E is \? -> 4500-W, which this model \(any-to-any\) does not give"):
        Relighter(load_weights(east_only), device="cpu", mirror_average=True).relight(np.zeros((32, 32, 3), np.float32),
                                                                                     np.zeros((32, 32), np.float32), to="4500-E")
    symmetric = Relighter(load_weights(save_checkpoint(model, tmp_path / "ns.safetensors", {"source": "6500-N", "target": "4500-S"})),
                          device="cpu", backend="torch", mirror_average=True)  # the mirror leaves N -> S as it is
    rgb = np.random.default_rng(4).random((32, 40, 3), dtype=np.float32)
    plain = Relighter(model.eval(), device="cpu", backend="torch")
    expected = (plain.relight(rgb, rgb[..., 0]) + plain.relight(rgb[:, ::-1].copy(), rgb[:, ::-1, 0].copy())[:, ::-1]) / 2
    np.testing.assert_allclose(symmetric.relight(rgb, rgb[..., 0]), expected, atol=1e-5)


def test_batch_and_eval_mirror_average_as_run_does(cli, tmp_path, vidit, film_checkpoint):
    image, depth = _photo(tmp_path / "in")
    for extra in ([], ["--mirror-avg"]):
        code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / f"run{len(extra)}.png"), "-w", str(film_checkpoint), "--to", "2500-NW",
                            *extra])
        assert code == 0, err
        code, _, err = cli(["batch", str(tmp_path / "in"), "-o", str(tmp_path / f"batch{len(extra)}"), "-w", str(film_checkpoint), "--to", "2500-NW",
                            *extra])
        assert code == 0, err
        assert (tmp_path / f"batch{len(extra)}" / image.name).read_bytes() == (tmp_path / f"run{len(extra)}.png").read_bytes()
    assert (tmp_path / "run0.png").read_bytes() != (tmp_path / "run1.png").read_bytes()
    args = ["eval", str(vidit), "--any-to-any", "--pairs", "6", "-w", str(film_checkpoint), "--workers", "0", "--json", "-"]
    scores = [json.loads(cli([*args, *extra])[1])["pairs"] for extra in ([], ["--mirror-avg"])]
    assert [p["target"] for p in scores[0]] == [p["target"] for p in scores[1]]
    assert [p["psnr"] for p in scores[0]] != [p["psnr"] for p in scores[1]]


def test_mirror_average_without_weights_runs_on_the_default(cli, tmp_path):
    """6500-N -> 4500-E has a mirror image (6500-N -> 4500-W) that the default model gives too."""
    image, depth = _photo(tmp_path / "in")
    code, _, err = cli(["run", str(image), str(depth), "-o", str(tmp_path / "o.png"), "--device", "cpu", "--from", "6500-N", "--to", "4500-E",
                        "--mirror-avg", "--backend", "torch"])
    assert code == 0, err
    assert "using the default model relight-synth-any" in err
    assert "mirror-averaged" in err


def test_all_lights_is_the_40(film_checkpoint):
    from relight.cli._lights import parse_targets

    assert parse_targets(["all"]) == ALL_LIGHTS
    assert parse_targets(None) == (None,)
    assert parse_targets(["2500-W,4500-E", "2500_w"]) == (Light(2500, "W"), Light(4500, "E"))


def _table_row(stdout: str) -> list[str]:
    row = [line for line in stdout.splitlines() if "│" in line][-1]
    return [c.strip() for c in row.split("│")[1:4]]


def test_batch_with_several_targets_resumes_output_by_output_and_reports_a_bad_input_once(cli, tmp_path, film_checkpoint):
    folder = tmp_path / "in"
    _photo(folder, "a")
    shutil.copy(folder / "a.png", folder / "b.png")
    (folder / "b.npy").write_bytes(b"")  # a bad pair: both of its outputs fail, on one line
    args = ["batch", str(folder), "-o", str(tmp_path / "out"), "-w", str(film_checkpoint), "--to", "2500-W,4500-E"]
    code, stdout, err = cli(args)
    assert code == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_2500_W.png", "a_4500_E.png"]
    assert len([line for line in err.splitlines() if line.startswith("failed:")]) == 1
    assert "b.npy: file is empty" in err
    assert _table_row(stdout) == ["2", "0", "2"]  # outputs in every column: the bad input's two
    shutil.copy(folder / "a.npy", folder / "b.npy")
    kept = (tmp_path / "out" / "a_2500_W.png").stat().st_mtime_ns
    (tmp_path / "out" / "a_4500_E.png").unlink()
    code, stdout, err = cli(args)
    assert code == 0, err
    assert _table_row(stdout) == ["3", "1", "0"]
    assert (tmp_path / "out" / "a_2500_W.png").stat().st_mtime_ns == kept
    assert len(list((tmp_path / "out").iterdir())) == 4
