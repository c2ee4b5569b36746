"""What a one-image ``relight run`` imports: neither torchvision nor torch._dynamo (over a second each, for nothing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from reference import constant_state_dict, read_tsv
from relight.io import write_depth_npy, write_image

#: Runs the command line in a fresh interpreter, then lists which of the heavy modules it imported.
PROBE = """
import json, sys
from relight import cli
sys.argv = ["relight", *sys.argv[1:]]
try:
    cli.main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "loaded": sorted(m for m in ("torchvision", "torch._dynamo") if m in sys.modules)}))
"""


def _probe(args: list[str], home: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "RELIGHT_HOME": str(home)})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_run_imports_neither_torchvision_nor_dynamo(tmp_path: Path, auto_backend: None) -> None:
    rng = np.random.default_rng(0)
    write_image(tmp_path / "scene.png", rng.random((64, 64, 3), dtype=np.float32))
    write_depth_npy(tmp_path / "scene.npy", rng.random((64, 64), dtype=np.float32))
    pair = [str(tmp_path / "scene.png"), str(tmp_path / "scene.npy")]
    probed = _probe(["run", *pair, "-o", str(tmp_path / "bundled.png")], tmp_path / "home")
    assert probed == {"code": 0, "loaded": []}

    torch.save({"state_dict": constant_state_dict(read_tsv(), scale=0.01)}, tmp_path / "weight.pkl")  # its output finite
    for _ in range(2):  # converting the authors' checkpoint, then reading its conversion
        got = _probe(["run", *pair, "-o", str(tmp_path / "authors.png"), "-w", str(tmp_path / "weight.pkl"), "--backend", "torch"],
                     tmp_path / "home")  # the conversion's imports; the bundled run above covers the ONNX Runtime path's
        assert got == {"code": 0, "loaded": []}
