"""``relight train`` under torchrun: two CPU processes (gloo) train one model and end with identical weights."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from safetensors.torch import load_file

from relight.data.synth import write_dataset
from relight.train import state_digest


# Each rank runs the command line as ``python -m relight`` would, with the collector off, then says what is
# left of the job. DDP's wrapper is a reference cycle: if train() left it to the collector, it would be freed
# at interpreter exit, where tearing down gloo's threads can abort the process (once seen in CI as
# "terminate called without an active exception", exit -6).
RANK = """
import gc, os, sys
gc.disable()
from relight.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
left = sum(isinstance(o, DistributedDataParallel) for o in gc.get_objects())
sys.stdout.flush()
# One write of the whole line: two ranks share the pipe, and print's text and newline can interleave.
os.write(1, f"rank {os.environ['RANK']}: {left} DDP left, group {'open' if dist.is_initialized() else 'closed'}\\n".encode())
sys.exit(code)
"""


def test_two_process_gloo_training_keeps_replicas_identical(tmp_path: Path) -> None:
    (tmp_path / "rank.py").write_text(RANK)
    data = tmp_path / "data"
    write_dataset(data, scenes=3, size=64, seed=11)
    run = tmp_path / "run"
    # 2 training scenes x (direct + mirror) = 4 pairs: each rank gets 2 an epoch, one batch of 2.
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        str(tmp_path / "rank.py"), "train", str(data), "--out", str(run), "--backbone", "narrow", "--width", "8",
        "--decoder-channels", "16", "--perceptual-weight", "0", "--batch-size", "2", "--workers", "0",
        "--no-neighbours", "--val-scenes", "1", "--lr", "1e-3", "--epochs", "3", "--max-steps", "2",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RELIGHT_DEBUG": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]

    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2
    assert summary["step"] == 2
    assert summary["epoch"] == 2
    digests = summary["replica_digests"]
    assert len(digests) == 2
    assert digests[0] == digests[1]
    # Rank 0's checkpoint is the weights every replica ended with.
    assert state_digest(load_file(run / "last.safetensors")) == digests[0]
    with (run / "metrics.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    # One step an epoch, as the DistributedSampler halves the data: max-steps 2 ends epoch 2.
    assert [r["step"] for r in rows] == ["1", "2"]
    assert all(r["val_psnr"] for r in rows)
    # Only rank 0 wrote: one config, one checkpoint set, no stray temporary files.
    assert sorted(p.name for p in run.iterdir()) == [
        "best.safetensors", "config.toml", "last.safetensors", "last.state.pt", "metrics.csv", "summary.json",
    ]
    assert done.stdout.count("relight train ->") == 1
    # train() let go of the job itself: no DDP wrapper waits for the collector, the group is closed.
    assert sorted(line for line in done.stdout.splitlines() if line.startswith("rank ")) == [
        "rank 0: 0 DDP left, group closed", "rank 1: 0 DDP left, group closed",
    ]
