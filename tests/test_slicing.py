"""Many processes, one folder: each takes its slice from ``shard``, torchrun's RANK/WORLD_SIZE or a SLURM
job array's task id and count, with ``shard`` winning; tested on the rules and with real processes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from relight.cli._errors import cli_text, cli_words
from relight.errors import InvalidEnvironment, InvalidSetting
from relight.inference.shards import Slice, environment_slice, local_device, parse_shard, resolve_slice

SLURM = {"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "5", "SLURM_ARRAY_TASK_STEP": "1"}


def test_a_shard_is_parsed_and_worded_for_each_audience() -> None:
    chosen = parse_shard("2/4")
    assert (chosen.index, chosen.count, chosen.label) == (1, 4, "2/4")
    assert chosen.take(list(range(10))) == [1, 5, 9]
    assert chosen.describe() == "slice 2/4 from shard='2/4'"
    assert chosen.describe(cli_words) == "slice 2/4 from --shard 2/4"
    with pytest.raises(InvalidSetting, match=r"^shard='x': expected K/N, e.g. 1/4$"):
        parse_shard("x")


def test_torchrun_s_rank_and_world_size_give_the_slice() -> None:
    chosen = environment_slice({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"})
    assert chosen == Slice(1, 2, "RANK/WORLD_SIZE")
    assert chosen.describe() == "slice 2/2 from RANK/WORLD_SIZE"
    assert environment_slice({}) is None
    assert environment_slice({"RANK": "0"}) is None
    with pytest.raises(InvalidEnvironment, match=r"^RANK=2 and WORLD_SIZE=2: RANK must be from 0 to WORLD_SIZE - 1$"):
        environment_slice({"RANK": "2", "WORLD_SIZE": "2"})
    with pytest.raises(InvalidEnvironment, match=r"^WORLD_SIZE='two': expected a whole number$"):
        environment_slice({"RANK": "0", "WORLD_SIZE": "two"})


def test_a_slurm_array_s_ids_count_from_its_minimum_in_its_steps() -> None:
    """--array=5-7 gives ids 5, 6, 7 (not 0 or 1 first); --array=10-30:10 gives 10, 20, 30."""
    assert environment_slice(SLURM) == Slice(2, 3, "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT")
    stepped = {**SLURM, "SLURM_ARRAY_TASK_ID": "20", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_STEP": "10"}
    assert environment_slice(stepped) == Slice(1, 3, "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT")
    with pytest.raises(InvalidEnvironment) as err:
        environment_slice({**stepped, "SLURM_ARRAY_TASK_ID": "25"})
    assert str(err.value).startswith("SLURM_ARRAY_TASK_ID=25 is not one of 3 array task(s) from SLURM_ARRAY_TASK_MIN=10 in steps of 10")
    assert str(err.value).endswith("give each task its shard")
    assert cli_text(err.value).endswith("give each task its --shard")
    with pytest.raises(InvalidEnvironment, match="not SLURM_ARRAY_TASK_MIN"):
        environment_slice({"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2"})


def test_torchrun_inside_an_array_task_slices_the_task_s_slice_and_shard_wins() -> None:
    both = {**SLURM, "SLURM_ARRAY_TASK_ID": "6", "RANK": "1", "WORLD_SIZE": "2"}
    chosen = environment_slice(both)
    assert (chosen.index, chosen.count) == (3, 6)
    assert chosen.describe() == "slice 4/6 from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT and RANK/WORLD_SIZE"
    every = [item for rank in range(6) for item in Slice(rank, 6, "").take(list(range(20)))]
    assert sorted(every) == list(range(20))  # each item in exactly one slice
    assert resolve_slice("1/3", both) == parse_shard("1/3")
    assert resolve_slice(None, {}) is None


def test_local_rank_picks_a_gpu_only_where_cuda_is() -> None:
    import torch

    assert local_device({}) is None
    expected = f"cuda:{3 % torch.cuda.device_count()}" if torch.cuda.is_available() else None
    assert local_device({"LOCAL_RANK": "3"}) == expected


# --- real processes -------------------------------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    launcher = re.compile(r"^(RANK|WORLD_SIZE|LOCAL_RANK|LOCAL_WORLD_SIZE|SLURM_.*)$")
    return {**{k: v for k, v in os.environ.items() if not launcher.match(k)}, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", **extra}


def _rows(stdout: str) -> list[list[str]]:
    """Each summary table's relit, already there and failed columns."""
    return [[c.strip() for c in line.split("│")[1:4]] for line in stdout.splitlines() if "│" in line and "s │" in line]


def test_torchrun_processes_each_relight_their_slice_once(pair_folder, tmp_path: Path, narrow_checkpoint: Path) -> None:
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun is not installed")
    folder, out = pair_folder(5, (32, 48)), tmp_path / "out"
    done = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "relight", "batch", str(folder), "-o", str(out),
                           "-w", str(narrow_checkpoint), "--streams", "1"], capture_output=True, text=True, env=_env(), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == [f"Image{i:03d}.png" for i in range(5)]
    assert sorted(_rows(done.stdout)) == [["2", "0", "0"], ["3", "0", "0"]], done.stdout  # nothing done twice
    assert "slice 1/2 from RANK/WORLD_SIZE: 3 of the 5 images" in done.stdout
    assert "slice 2/2 from RANK/WORLD_SIZE: 2 of the 5 images" in done.stdout


def test_slurm_array_tasks_each_relight_their_slice_and_shard_wins(pair_folder, tmp_path: Path, narrow_checkpoint: Path) -> None:
    folder, out = pair_folder(5, (32, 48)), tmp_path / "out"
    command = [sys.executable, "-m", "relight", "batch", str(folder), "-o", str(out), "-w", str(narrow_checkpoint), "--streams", "1"]
    array = {"SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_MAX": "5", "SLURM_ARRAY_TASK_STEP": "1"}
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_env(**array, SLURM_ARRAY_TASK_ID=task)) for task in ("4", "5")]
    results = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], results[0][1][-2000:] + results[1][1][-2000:]
    (first, _), (second, _) = results
    assert _rows(first) == [["3", "0", "0"]]
    assert "slice 1/2 from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT: 3 of the 5 images" in first
    assert _rows(second) == [["2", "0", "0"]]
    assert "slice 2/2 from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT: 2 of the 5 images" in second
    assert len(list(out.iterdir())) == 5
    done = subprocess.run([*command, "--shard", "2/2"], capture_output=True, text=True, env=_env(**array, SLURM_ARRAY_TASK_ID="4"),
                          timeout=300)
    assert done.returncode == 0
    assert _rows(done.stdout) == [["0", "2", "0"]]
    assert "slice 2/2 from --shard 2/2: 2 of the 5 images" in done.stdout


def test_a_slice_with_no_images_is_no_failure(pair_folder, tmp_path: Path, narrow_checkpoint: Path) -> None:
    folder = pair_folder(1, (32, 48))
    done = subprocess.run([sys.executable, "-m", "relight", "batch", str(folder), "-w", str(narrow_checkpoint)],
                          capture_output=True, text=True, env=_env(RANK="1", WORLD_SIZE="2"), timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "slice 2/2 from RANK/WORLD_SIZE: none of the 1 images", done.stderr
