"""Big photos stay small: ``run --to all`` (and its sheet) and ``batch`` hold a few full-resolution results
at a time, not one per light or per image, each written as it is done; measured as the peak resident
memory of a child process, against the same command on a small photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from bigphotos import flat_photo, relight_with_peak
from relight.io import read_image
from relight.lighting import ALL_LIGHTS

#: A photo big enough that 40 full-resolution results (20 MB each) would show: 790 MB kept to the end.
SIDE = 1280


def _run_all(tmp_path: Path, side: int, weights: Path) -> tuple[float, Path]:
    image, depth = flat_photo(tmp_path / f"flat{side}.png", side)
    out = tmp_path / f"out{side}"
    out.mkdir()
    code, _, err, peak = relight_with_peak(["run", str(image), str(depth), "--to", "all", "-w", str(weights), "--device", "cpu",
                                            "-o", str(out / "relit.jpg"), "--sheet", str(out / "sheet.png")])
    assert code == 0, err
    return peak, out


def test_run_to_all_holds_one_light_at_a_time(tmp_path, small_scale_any_to_any, auto_backend):
    """``run --to all -o --sheet`` on a big photo peaks near the same run on a tiny one: each light is
    written, and placed on the sheet at the sheet's cell size, then let go (they were all kept: 790 MB
    more at this size, 6.9 GB on a 12 MP photo). On the backend a user's command runs."""
    small, _ = _run_all(tmp_path, 64, small_scale_any_to_any)
    big, out = _run_all(tmp_path, SIDE, small_scale_any_to_any)
    assert big - small < 450, f"{SIDE} x {SIDE} peaked {big - small:.0f} MB above 64 x 64"
    assert len(list(out.glob("relit_*.jpg"))) == len(ALL_LIGHTS)
    assert read_image(out / f"relit_{ALL_LIGHTS[0].file_tag}.jpg").size == (SIDE, SIDE)
    sheet = read_image(out / "sheet.png").rgb
    assert sheet.shape[0] < 1000, "cells at the sheet's own size"
    assert np.ptp(sheet) > 0


def test_batch_of_big_photos_writes_each_output_as_its_pass_ends(tmp_path, small_scale_any_to_any, monkeypatch):
    """Photos of 16 MP go through the network one output at a time, each written before the next pass
    starts: grouped by the network's run size alone, the four outputs went through one pass and nothing
    was written until its end (six 12 MP photos: 24 s, and a SIGTERM at 12 s left none)."""
    from relight.data.pairs import find_inference_pairs
    from relight.inference.batch import BatchOptions, run_batch
    from relight.inference.relighter import Relighter
    from relight.io import OutputOptions

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b"):
        Image.new("RGB", (4096, 4096), (120, 110, 100)).save(folder / f"{name}.png")
        np.save(folder / f"{name}.npy", np.full((64, 64), 0.5, np.float32))  # resized to the photo
    relighter = Relighter.from_weights(small_scale_any_to_any, device="cpu")
    events: list[str] = []
    passes = relighter.relight_tensor

    def relight_tensor(rgb, depth, light=None):
        events.append(f"pass of {rgb.shape[0]}")
        return passes(rgb, depth, light)

    class Recording(OutputOptions):
        def write(self, path, rgb, alpha=None, meta=None):
            events.append("write")
            return super().write(path, rgb[:8, :8], None if alpha is None else alpha[:8, :8], None)  # small: the order is the point

    monkeypatch.setattr(relighter, "relight_tensor", relight_tensor)
    summary = run_batch(relighter, find_inference_pairs(folder), tmp_path / "out", output=Recording(ext=".jpg"),
                        options=BatchOptions(streams=1, workers=1), to=["2500-W", "6500-E"])
    assert len(summary.done) == 4
    assert summary.ok
    assert events.count("pass of 1") == 4, events
    assert events.index("write") < max(i for i, event in enumerate(events) if event.startswith("pass")), events


def test_the_batch_summary_counts_outputs_in_every_column(tmp_path, small_scale_any_to_any, cli):
    """An image that cannot be read stops both its outputs: the failed column counted it once while the
    relit column counted outputs."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b", "c"):
        Image.new("RGB", (40, 56), (90, 100, 110)).save(folder / f"{name}.png")
        np.save(folder / f"{name}.npy", np.full((56, 40), 0.5, np.float32))
    (folder / "c.png").write_text("not a picture")
    code, stdout, stderr = cli(["batch", str(folder), "-o", str(tmp_path / "out"), "-w", str(small_scale_any_to_any), "--device", "cpu",
                                "--to", "2500-W,6500-E"])
    assert code == 1
    assert "(3 images, 6 outputs)" in stdout
    row = [line for line in stdout.splitlines() if "│" in line][-1]
    assert [cell.strip() for cell in row.split("│")[1:4]] == ["4", "0", "2"], stdout
