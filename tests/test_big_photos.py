"""Big photos stay small: ``run --to all`` (and its sheet) and ``batch`` hold a few full-resolution results
at a time, not one per light or per image, each written as it is done; measured as the peak resident
memory of a child process, against the same command on a small photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from conftest import flat_photo, relight_with_peak
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


def test_run_to_all_holds_one_light_at_a_time(tmp_path, small_scale_any_to_any):
    """``run --to all -o --sheet`` on a big photo peaks near the same run on a tiny one: each light is
    written, and placed on the sheet at the sheet's cell size, then let go (they were all kept: 790 MB
    more at this size, 6.9 GB on a 12 MP photo)."""
    small, _ = _run_all(tmp_path, 64, small_scale_any_to_any)
    big, out = _run_all(tmp_path, SIDE, small_scale_any_to_any)
    assert big - small < 450, f"{SIDE} x {SIDE} peaked {big - small:.0f} MB above 64 x 64"
    assert len(list(out.glob("relit_*.jpg"))) == len(ALL_LIGHTS)
    assert read_image(out / f"relit_{ALL_LIGHTS[0].file_tag}.jpg").size == (SIDE, SIDE)
    sheet = read_image(out / "sheet.png").rgb
    assert sheet.shape[0] < 1000, "cells at the sheet's own size"
    assert np.ptp(sheet) > 0
