"""PSNR/SSIM against scikit-image, LPIPS against the lpips package, and `relight score` end to end."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import lpips
import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio, structural_similarity
from typer.testing import CliRunner

from relight.cli import app
from relight.errors import RelightError
from relight.io import write_image
from relight.evaluation.metrics import LPIPS, LPIPSUnavailable, mean_perceptual_score, psnr, ssim
from relight.weights.pretrained import torch_cache_file
from relight.evaluation.score import Scorer, score_arrays, score_folders

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"


def _nchw(*images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


def _sk_ssim(a: np.ndarray, b: np.ndarray) -> float:
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0, channel_axis=-1)


def _noisy_pair(rng: np.random.Generator, h: int, w: int, noise: float = 0.08) -> tuple[np.ndarray, np.ndarray]:
    gt = rng.random((h, w, 3), dtype=np.float32)
    gt[: h // 3] = 0.25  # a flat band: zero variance exercises the C1/C2 constants
    pred = np.clip(gt + noise * rng.standard_normal(gt.shape), 0, 1).astype(np.float32)
    return pred, gt


@pytest.fixture(scope="module")
def alexnet_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded random AlexNet trunk saved under torchvision's file name (the trunk is all LPIPS reads)."""
    torch.manual_seed(1234)
    features = torchvision.models.alexnet().features.state_dict()
    path = tmp_path_factory.mktemp("alexnet") / ALEXNET_FILE
    torch.save({f"features.{k}": v for k, v in features.items()}, path)
    return path


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """TORCH_HOME pointed at an empty folder: no ImageNet weights anywhere."""
    home = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    assert Path(torch.hub.get_dir()) == home / "hub"
    return home / "hub" / "checkpoints"


@pytest.fixture
def alexnet_cache(empty_cache: Path, alexnet_state: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The random AlexNet placed where torchvision caches it; any download attempt fails the test."""
    empty_cache.mkdir(parents=True)
    (empty_cache / ALEXNET_FILE).symlink_to(alexnet_state)

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    return empty_cache / ALEXNET_FILE


# --- PSNR and SSIM -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(64, 64), (37, 53), (11, 11)])
def test_ssim_matches_skimage_gaussian_ssim(size):
    rng = np.random.default_rng(size[0])
    pairs = [_noisy_pair(rng, *size, noise) for noise in (0.02, 0.1, 0.3)]
    ours = ssim(_nchw(*(p for p, _ in pairs)), _nchw(*(g for _, g in pairs)))
    reference = [_sk_ssim(p, g) for p, g in pairs]
    assert ours.shape == (3,)
    np.testing.assert_allclose(ours.numpy(), reference, atol=1e-4, rtol=0)
    assert ours[0] > ours[1] > ours[2]


def test_ssim_of_identical_images_is_one_and_small_images_are_refused():
    x = torch.rand(2, 3, 16, 16)
    torch.testing.assert_close(ssim(x, x), torch.ones(2))
    with pytest.raises(ValueError, match="at least 11"):
        ssim(torch.rand(1, 3, 10, 40), torch.rand(1, 3, 10, 40))


def test_ssim_is_differentiable_and_ignores_autocast():
    pred = torch.rand(1, 2, 11, 12, dtype=torch.float64, requires_grad=True)
    target = torch.rand(1, 2, 11, 12, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda p: ssim(p, target), (pred,), fast_mode=True)
    x, y = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under_autocast = ssim(x, y)
    assert under_autocast.dtype == torch.float32
    torch.testing.assert_close(under_autocast, ssim(x, y))


def test_psnr_matches_skimage_on_8bit_images():
    rng = np.random.default_rng(3)
    gt8 = rng.integers(0, 256, (2, 24, 40, 3), dtype=np.uint8)
    pred8 = np.clip(gt8.astype(int) + rng.integers(-20, 21, gt8.shape), 0, 255).astype(np.uint8)
    ours = psnr(_nchw(*(pred8 / 255.0).astype(np.float32)), _nchw(*(gt8 / 255.0).astype(np.float32)))
    reference = [peak_signal_noise_ratio(g, p, data_range=255) for p, g in zip(pred8, gt8)]
    np.testing.assert_allclose(ours.numpy(), reference, atol=1e-4, rtol=0)
    same = torch.rand(1, 3, 8, 8)
    assert torch.isinf(psnr(same, same)).all()


# --- LPIPS and MPS -------------------------------------------------------------------------------


def _reference_lpips(state_path: Path, monkeypatch: pytest.MonkeyPatch) -> lpips.LPIPS:
    """The stock lpips.LPIPS(net='alex', version='0.1'), its torchvision AlexNet given the same trunk."""

    build_alexnet = torchvision.models.alexnet

    def alexnet_with_our_trunk(*args: object, **kwargs: object) -> torch.nn.Module:
        model = build_alexnet()
        state = torch.load(state_path, weights_only=True)
        model.features.load_state_dict({k.removeprefix("features."): v for k, v in state.items()})
        return model

    monkeypatch.setattr(lpips.pretrained_networks.tv, "alexnet", alexnet_with_our_trunk)
    return lpips.LPIPS(net="alex", version="0.1", verbose=False).eval()


@pytest.mark.parametrize("size", [(64, 64), (48, 80)])
def test_lpips_equals_the_lpips_package_with_the_same_weights(alexnet_cache, monkeypatch, size):
    ours = LPIPS()
    reference = _reference_lpips(alexnet_cache, monkeypatch)
    torch.manual_seed(size[1])
    pred, gt = torch.rand(2, 3, *size), torch.rand(2, 3, *size)
    pred[1] = (gt[1] + 0.05 * torch.randn_like(gt[1])).clamp(0, 1)
    with torch.no_grad():
        expected = reference(pred * 2 - 1, gt * 2 - 1).flatten()
        got = ours(pred, gt)
    assert got.shape == (2,)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)
    assert got[1] < got[0]
    assert float(ours(gt, gt).abs().max()) < 1e-6


def test_lpips_unavailable_without_the_alexnet_file_says_where_it_goes(empty_cache):
    with pytest.raises(LPIPSUnavailable) as info:
        LPIPS()
    message = str(info.value)
    assert "\n" not in message
    assert str(empty_cache / ALEXNET_FILE) in message
    assert "https://download.pytorch.org/models/" + ALEXNET_FILE in message
    assert torch_cache_file("AlexNet_Weights.IMAGENET1K_V1")[0] == empty_cache / ALEXNET_FILE


def test_lpips_refuses_a_corrupt_or_foreign_alexnet_file(empty_cache):
    empty_cache.mkdir(parents=True)
    (empty_cache / ALEXNET_FILE).write_bytes(b"truncated download")
    with pytest.raises(LPIPSUnavailable, match="unreadable"):
        LPIPS()
    torch.save({"features.0.weight": torch.zeros(3)}, empty_cache / ALEXNET_FILE)
    with pytest.raises(LPIPSUnavailable, match="not an AlexNet state dict"):
        LPIPS()


def test_mps_is_half_of_ssim_plus_one_minus_lpips():
    assert mean_perceptual_score(0.7, 0.3) == pytest.approx(0.7)
    assert mean_perceptual_score(1.0, 0.0) == 1.0
    torch.testing.assert_close(mean_perceptual_score(torch.tensor([0.5]), torch.tensor([0.5])), torch.tensor([0.5]))


# --- score API -----------------------------------------------------------------------------------


def test_score_arrays_rows_match_the_metrics_and_clamp_predictions(alexnet_cache):
    rng = np.random.default_rng(5)
    pred, gt = _noisy_pair(rng, 40, 48)
    report = score_arrays([("a", pred, gt), ("over", np.clip(gt * 1.5, 0, None), gt)], device="cpu")
    assert report.lpips_skipped is None
    assert report.metrics == ("psnr", "ssim", "lpips", "mps")
    a, over = report.rows
    assert a.ssim == pytest.approx(_sk_ssim(pred, gt), abs=1e-4)
    assert a.psnr == pytest.approx(peak_signal_noise_ratio(gt, pred, data_range=1.0), abs=1e-3)
    assert a.mps == pytest.approx(0.5 * (a.ssim + 1 - a.lpips))
    assert over.ssim == pytest.approx(_sk_ssim(np.clip(gt * 1.5, 0, 1), gt), abs=1e-4)
    assert report.means["psnr"] == pytest.approx((a.psnr + over.psnr) / 2)
    with pytest.raises(RelightError, match="prediction is 40x48 but ground truth is 40x40"):
        Scorer("cpu").score("x", pred, gt[:, :40])


# --- relight score -------------------------------------------------------------------------------


def _folders(tmp_path: Path, n: int = 2, size: tuple[int, int] = (32, 40)) -> tuple[Path, Path, list[tuple[np.ndarray, np.ndarray]]]:
    """Prediction and ground-truth folders of 8-bit PNGs; returns the pixels as they read back."""
    rng = np.random.default_rng(7)
    pred_dir, gt_dir = tmp_path / "pred", tmp_path / "gt"
    pixels = []
    for i in range(n):
        pred, gt = _noisy_pair(rng, *size, noise=0.05 * (i + 1))
        write_image(pred_dir / f"img{i}.png", pred)
        write_image(gt_dir / f"img{i}.png", gt)
        pixels.append((np.round(pred * 255) / 255, np.round(gt * 255) / 255))
    return pred_dir, gt_dir, pixels


def _invoke(*args: str):
    return CliRunner().invoke(app, ["score", *args])


def test_score_cli_prints_a_table_and_writes_json_and_csv(tmp_path, alexnet_cache):
    pred_dir, gt_dir, pixels = _folders(tmp_path)
    result = _invoke(str(pred_dir), str(gt_dir), "--json", str(tmp_path / "s.json"), "--csv", str(tmp_path / "s.csv"), "--device", "cpu")
    assert result.exit_code == 0, result.output
    for heading in ("PSNR", "SSIM", "LPIPS", "MPS", "img0", "img1", "mean (2)"):
        assert heading in result.stdout
    assert "skipped" not in result.output

    data = json.loads((tmp_path / "s.json").read_text())
    assert data["count"] == 2
    assert data["metrics"] == ["psnr", "ssim", "lpips", "mps"]
    assert data["missing_predictions"] == []
    assert data["lpips_skipped"] is None
    for row, (pred, gt) in zip(data["images"], pixels):
        assert row["ssim"] == pytest.approx(_sk_ssim(pred.astype(np.float32), gt.astype(np.float32)), abs=1e-4)
        assert row["psnr"] == pytest.approx(peak_signal_noise_ratio(gt, pred, data_range=1.0), abs=1e-3)
        assert row["mps"] == pytest.approx(0.5 * (row["ssim"] + 1 - row["lpips"]))
    assert data["mean"]["ssim"] == pytest.approx(np.mean([r["ssim"] for r in data["images"]]))
    assert f"{data['mean']['psnr']:.2f}" in result.stdout
    assert f"{data['mean']['mps']:.4f}" in result.stdout

    rows = list(csv.reader((tmp_path / "s.csv").open()))
    assert rows[0] == ["name", "psnr", "ssim", "lpips", "mps"]
    assert [r[0] for r in rows[1:]] == ["img0", "img1", "mean"]
    assert float(rows[3][2]) == pytest.approx(data["mean"]["ssim"])


def test_score_cli_json_to_stdout_keeps_stdout_pure_json(tmp_path, alexnet_cache):
    pred_dir, gt_dir, _ = _folders(tmp_path, n=1)
    result = _invoke(str(pred_dir), str(gt_dir), "--json", "-")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["images"][0]["name"] == "img0"
    assert "mean (1)" in result.stderr
    result = _invoke(str(pred_dir), str(gt_dir), "--csv", "-")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("name,psnr,ssim")
    assert "mean (1)" in result.stderr
    assert not (Path.cwd() / "-").exists()


def test_score_cli_checks_its_report_files_before_scoring(cli, tmp_path, empty_cache):
    pred_dir, gt_dir, _ = _folders(tmp_path, n=1)
    for options, problem in ((["--json", str(tmp_path)], "is a folder; give a file name"),
                             (["--csv", str(pred_dir / "img0.png" / "s.csv")], "is a file, not a folder"),
                             (["--json", "-", "--csv", "-"], "only one of them can go to stdout")):
        code, out, err = cli(["score", str(pred_dir), str(gt_dir), *options])
        assert code == 1, err
        assert out == "", err
        assert err.startswith("error:"), err
        assert problem in err, err
        assert len(err.splitlines()) == 1, err


def test_score_cli_skips_lpips_clearly_without_alexnet_and_require_lpips_fails(cli, tmp_path, empty_cache):
    pred_dir, gt_dir, _ = _folders(tmp_path)
    result = _invoke(str(pred_dir), str(gt_dir), "--json", str(tmp_path / "s.json"))
    assert result.exit_code == 0, result.output
    assert "LPIPS and MPS skipped" in result.stdout
    assert ALEXNET_FILE in result.stdout
    assert "download" in result.stdout
    assert "LPIPS ↓" not in result.stdout
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["metrics"] == ["psnr", "ssim"]
    assert "lpips" not in data["images"][0]
    assert ALEXNET_FILE in data["lpips_skipped"]

    code, out, err = cli(["score", str(pred_dir), str(gt_dir), "--require-lpips", "--json", str(tmp_path / "r.json")])
    assert code == 1
    assert out == ""
    assert err.startswith("error:")
    assert ALEXNET_FILE in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.json").exists()


def test_score_cli_reports_a_size_mismatch_and_a_broken_file_and_scores_the_rest(cli, tmp_path, empty_cache):
    """One bad prediction is named with its problem in one line and left out of the means; the others
    are scored, the JSON lists the failures, and the exit code is 1."""
    pred_dir, gt_dir, _ = _folders(tmp_path, n=3)
    write_image(pred_dir / "img1.png", np.zeros((32, 41, 3)))
    (pred_dir / "img2.png").write_bytes((pred_dir / "img2.png").read_bytes()[:60])
    code, out, err = cli(["score", str(pred_dir), str(gt_dir), "--json", str(tmp_path / "s.json")])
    assert code == 1
    assert "Traceback" not in err
    assert "error:" not in err
    refused = [line for line in out.splitlines() if line.startswith("not scored:")]
    assert len(refused) == 2
    assert "2 image(s) could not be scored" in out
    assert "mean (1)" in out
    assert str(pred_dir / "img1.png") in refused[0]
    assert str(gt_dir / "img1.png") in refused[0]
    assert "32x41" in refused[0]
    assert "32x40" in refused[0]
    assert str(pred_dir / "img2.png") in refused[1]
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["count"] == 1
    assert [r["name"] for r in data["images"]] == ["img0"]
    assert [f["name"] for f in data["failed"]] == ["img1", "img2"]
    assert "32x41" in data["failed"][0]["reason"]


def test_score_cli_reports_unpaired_files_and_fails_when_predictions_are_missing(tmp_path, empty_cache):
    pred_dir, gt_dir, _ = _folders(tmp_path, n=3)
    (pred_dir / "img2.png").unlink()
    write_image(pred_dir / "stray.png", np.zeros((32, 40, 3)))
    result = _invoke(str(pred_dir), str(gt_dir), "--json", str(tmp_path / "s.json"))
    assert result.exit_code == 1
    assert "1 ground-truth image(s) have no prediction" in result.stdout
    assert "img2" in result.stdout
    assert "1 prediction(s) have no ground truth" in result.stdout
    assert "stray" in result.stdout
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["count"] == 2
    assert data["missing_predictions"] == ["img2"]
    assert data["missing_ground_truth"] == ["stray"]
    (gt_dir / "img2.png").unlink()
    result = _invoke(str(pred_dir), str(gt_dir))
    assert result.exit_code == 0


def test_score_folders_drops_alpha_and_writes_identical_images_as_infinite_psnr(tmp_path, empty_cache):
    pred_dir, gt_dir, _ = _folders(tmp_path, n=1)
    rgb = np.asarray(Image.open(gt_dir / "img0.png"))
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)]), "RGBA").save(pred_dir / "img0.png")
    report = score_folders(pred_dir, gt_dir, device="cpu")
    assert report.rows[0].ssim == pytest.approx(1.0)
    assert report.rows[0].psnr == float("inf")
    assert json.loads(report.to_json())["images"][0]["psnr"] is None
    assert report.to_csv().splitlines()[1].startswith("img0,inf,")


def test_score_folders_without_any_pair_is_an_error(tmp_path, empty_cache):
    pred_dir, gt_dir, _ = _folders(tmp_path, n=1)
    (pred_dir / "img0.png").rename(pred_dir / "other.png")
    with pytest.raises(RelightError, match="no prediction has a ground-truth image"):
        score_folders(pred_dir, gt_dir)
