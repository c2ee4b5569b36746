"""The whole path through the command line: synth -> train -> eval -> score, on held-out scenes."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import torch

from relight.errors import RelightError
from relight.model.checkpoint import read_checkpoint_metadata


def test_synth_train_eval_score(cli, tmp_path: Path) -> None:
    train_dir, held_out, run = tmp_path / "train", tmp_path / "held-out", tmp_path / "run"
    code, _, err = cli(["synth", str(train_dir), "--scenes", "3", "--size", "64", "--seed", "5"])
    assert code == 0, err
    code, _, err = cli(["synth", str(held_out), "--scenes", "1", "--size", "64", "--seed", "5", "--start-index", "3"])
    assert code == 0, err

    code, out, err = cli(["train", str(train_dir), "--out", str(run), "--val-data", str(held_out), "--backbone", "narrow", "--width", "8",
         "--decoder-channels", "16", "--perceptual-weight", "0", "--no-neighbours", "--no-mirror", "--batch-size", "3",
         "--lr", "2e-3", "--epochs", "4", "--workers", "0"])
    assert code == 0, err
    assert "relight train ->" in out
    assert "3 training pairs" in err
    assert "1 validation pair" in err
    assert "1 validation pairs" not in err
    assert sorted(p.name for p in run.iterdir()) == [
        "best.safetensors", "config.toml", "last.safetensors", "last.state.pt", "metrics.csv", "summary.json",
    ]
    with (run / "metrics.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["epoch"] for r in rows] == ["1", "2", "3", "4"]
    losses = [float(r["loss"]) for r in rows]
    assert losses[-1] < losses[0], losses  # it learns
    summary = json.loads((run / "summary.json").read_text())
    assert summary["stopped"] == "epochs"
    assert summary["step"] == 4
    _, provenance = read_checkpoint_metadata(run / "best.safetensors")
    assert provenance["target"] == "4500-E"
    assert provenance["training_data"]["train_pairs"] == 3

    preds, report = tmp_path / "preds", tmp_path / "eval.json"
    code, out, err = cli(["eval", str(held_out), "--weights", str(run / "best.safetensors"), "--save-dir", str(preds), "--json", str(report)])
    assert code == 0, err
    assert "Image003" in out
    assert "PSNR" in out
    evaluated = json.loads(report.read_text())
    assert [img["name"] for img in evaluated["images"]] == ["Image003"]
    # eval and training validation are one computation: same number for the same weights.
    assert evaluated["mean"]["psnr"] == pytest.approx(summary["best_psnr"], abs=1e-4)

    gt = tmp_path / "gt"
    gt.mkdir()
    shutil.copy(held_out / "Image003_4500_E.png", gt / "Image003.png")
    code, out, err = cli(["score", str(preds), str(gt), "--json", str(tmp_path / "score.json")])
    assert code == 0, err
    scored = json.loads((tmp_path / "score.json").read_text())
    # Evaluation scores the 8-bit levels it saves: scoring the saved files gives the same numbers.
    assert scored["mean"]["psnr"] == pytest.approx(evaluated["mean"]["psnr"], abs=1e-4)
    assert scored["mean"]["ssim"] == pytest.approx(evaluated["mean"]["ssim"], abs=1e-6)


def test_eval_names_a_broken_file_in_one_line_and_scores_the_rest(cli, tmp_path: Path, narrow_checkpoint: Path) -> None:
    data = tmp_path / "held-out"
    code, _, err = cli(["synth", str(data), "--scenes", "2", "--size", "64"])
    assert code == 0, err
    broken = data / "Image001_4500_E.png"
    broken.write_bytes(broken.read_bytes()[:60])  # truncated target, decoded in a DataLoader worker
    code, out, err = cli(["eval", str(data), "--weights", str(narrow_checkpoint), "--save-dir", str(tmp_path / "preds"), "--workers", "2",
         "--json", str(tmp_path / "eval.json")])
    assert code == 1
    assert "Traceback" not in err
    assert "error:" not in err
    refused = [line for line in out.splitlines() if line.startswith("not scored:")]
    assert len(refused) == 1
    assert str(broken) in refused[0]
    assert "mean (1)" in out
    report = json.loads((tmp_path / "eval.json").read_text())
    assert [r["name"] for r in report["images"]] == ["Image000"]
    assert [f["name"] for f in report["failed"]] == ["Image001"]
    assert sorted(p.name for p in (tmp_path / "preds").iterdir()) == ["Image000.png"]


def test_eval_keeps_going_past_a_pair_the_device_cannot_take(tiny_config, cli, tmp_path: Path) -> None:
    """Running out of memory on one pair is that pair's failure; an --ext it cannot write is refused
    before the model loads."""
    from relight.data.synth import write_dataset
    from relight.evaluation.evaluate import evaluate, evaluation_pairs
    from relight.inference import Relighter
    from relight.model import MBNet

    class RunsOutOnce(MBNet):
        calls = 0

        def forward(self, rgb, depth):
            RunsOutOnce.calls += 1
            if RunsOutOnce.calls == 1:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")
            return super().forward(rgb, depth)

    write_dataset(tmp_path / "data", scenes=2, size=64, seed=1)
    pairs = evaluation_pairs(tmp_path / "data").pairs
    relighter = Relighter(RunsOutOnce(tiny_config), "cpu")
    report = evaluate(relighter, pairs, save_dir=tmp_path / "preds", workers=0)
    assert [row.name for row in report.rows] == [pairs[1].name]
    assert [f.name for f in report.failed] == [pairs[0].name]
    assert "out of memory on cpu" in report.failed[0].reason
    assert sorted(p.name for p in (tmp_path / "preds").iterdir()) == [f"{pairs[1].name}.png"]

    code, out, err = cli(["eval", str(tmp_path / "data"), "--save-dir", str(tmp_path / "p2"), "--ext", ".bmp"])
    assert code == 2
    assert err.strip().splitlines() == ["error: --ext .bmp: unsupported output type .bmp; use one of "
                                        ".png, .tif, .tiff, .npy, .jpg, .jpeg, .webp"]


def test_eval_reports_inputs_without_ground_truth_and_refuses_to_save_over_its_data(cli, tmp_path: Path) -> None:
    """An input with no ground truth is named and counted (exit 1), not silently left out of the means;
    --save-dir (or demo -o) set to the data folder is refused before anything is written."""
    from relight.demo import EXAMPLES, run_demo
    from relight.inference import Relighter
    from relight.weights import load_weights

    examples = tmp_path / "my: examples"  # a ": " in the path, as in the reason lines
    shutil.copytree(EXAMPLES, examples)
    (examples / "validation_gt" / "Image901.png").unlink()
    before = {p: p.read_bytes() for p in examples.rglob("*") if p.is_file()}
    code, out, err = cli(["eval", str(examples / "validation"), "--json", str(tmp_path / "eval.json")])
    assert code == 1, err
    assert "Traceback" not in err, err
    refused = [line for line in out.splitlines() if line.startswith("not scored:")]
    assert len(refused) == 1
    assert "Image901" in refused[0]
    assert "no ground truth" in refused[0]
    assert "mean (3)" in out
    assert [f["name"] for f in json.loads((tmp_path / "eval.json").read_text())["failed"]] == ["Image901"]

    code, _, err = cli(["eval", str(examples / "validation"), "--save-dir", str(examples / "validation")])
    assert code == 1, err
    assert "would replace the input" in err, err
    assert len(err.strip().splitlines()) == 1, err
    relighter = Relighter(load_weights("relight-synth-narrow"), "cpu")
    with pytest.raises(RelightError, match="would replace the input"):
        run_demo(relighter, examples / "validation_gt", examples=examples)
    assert {p: p.read_bytes() for p in examples.rglob("*") if p.is_file()} == before


def test_eval_reads_depth_of_another_kind_as_told_and_says_so(cli, tmp_path: Path) -> None:
    """Depth given as distances scores as the normalised depth VIDIT's rule makes of them with --depth-kind
    metric (and with auto, which says per pair that it took them for distances); read as normalised it is
    warned about and scores differently (the bundled model, which learnt to use depth); an unknown kind is
    one line before anything runs."""
    import numpy as np

    from relight.io.depth import normalise_distance, read_depth

    data, metric = tmp_path / "data", tmp_path / "metric"
    code, _, err = cli(["synth", str(data), "--scenes", "2", "--size", "64", "--seed", "3"])
    assert code == 0, err
    shutil.copytree(data, metric)
    for depth in sorted(data.glob("*.npy")):
        distances = (read_depth(depth) * np.float32(7.25)).astype(np.float32)
        np.save(metric / depth.name, distances)
        np.save(depth, normalise_distance(distances))

    def scores(folder: Path, *extra: str) -> tuple[dict, str]:
        report = tmp_path / f"{folder.name}{''.join(extra)}.json"
        code, out, err = cli(["eval", str(folder), "--workers", "0", "--json", str(report), *extra])
        assert code == 0, err
        assert "Traceback" not in err, err
        return json.loads(report.read_text())["mean"], err

    reference, said = scores(data)
    assert ".npy" not in said, said
    for kind in ("metric", "auto"):
        mean, said = scores(metric, "--depth-kind", kind)
        assert mean["psnr"] == pytest.approx(reference["psnr"], abs=1e-3)
        assert mean["ssim"] == pytest.approx(reference["ssim"], abs=1e-5)
        noted = [line for line in said.splitlines() if ".npy" in line]
        assert len(noted) == (2 if kind == "auto" else 0), said
        assert all("--depth-kind" in line for line in noted), noted
    mean, said = scores(metric, "--depth-kind", "normalised")
    assert sum("outside the [0, 1]" in line for line in said.splitlines()) == 2, said
    assert abs(mean["psnr"] - reference["psnr"]) > 0.01
    code, out, err = cli(["eval", str(data), "--depth-kind", "feet"])
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "--depth-kind 'feet'" in err, err


def test_a_pair_dataset_batches_with_torch_s_own_collate_and_gives_notes_when_asked(tmp_path: Path) -> None:
    """``notes`` are opt-in: a plain ``DataLoader`` over a PairDataset still batches pairs of which only
    some have something to say, and with ``notes=True`` the package's loaders gather them."""
    import numpy as np
    from torch.utils.data import DataLoader

    from relight.data.dataset import PairDataset, load_batches
    from relight.data.synth import write_dataset
    from relight.evaluation.evaluate import evaluation_pairs
    from relight.io.depth import read_depth

    write_dataset(tmp_path / "data", scenes=2, size=64, seed=1)
    first = sorted((tmp_path / "data").glob("*.npy"))[0]
    np.save(first, read_depth(first) * np.float32(5))  # distances: auto converts them, and says so
    pairs = evaluation_pairs(tmp_path / "data").pairs
    batch = next(iter(DataLoader(PairDataset(pairs, require_target=True), batch_size=2)))
    assert "notes" not in batch
    assert batch["rgb"].shape[0] == 2
    gathered = next(load_batches(PairDataset(pairs, require_target=True, notes=True), range(len(pairs)), 2, 0))
    assert len(gathered["notes"]) == 1
    assert first.name in str(gathered["notes"][0])
