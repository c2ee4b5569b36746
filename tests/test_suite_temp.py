"""The suite's own housekeeping: what earlier runs left in pytest's temporary folders goes before this
run writes (CI once ran out of disk with them still in place), a passing run leaves nothing there,
nothing is left in the system's temporary folder either, and torch.compile writes no precompiled header."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

PROBE = '''
import os


def test_probe(tmp_path):
    assert os.environ["TORCHINDUCTOR_CPP_CACHE_PRECOMPILE_HEADERS"] == "0"
    left = sorted(p.name for p in tmp_path.parents[1].iterdir() if p.name[len("pytest-"):].isdigit())
    assert left == [tmp_path.parent.name], left
    (tmp_path / "written").write_bytes(bytes(1000))
'''


def test_earlier_runs_folders_are_removed_before_the_run_and_a_passing_run_leaves_none(tmp_path: Path) -> None:
    system_tmp = tmp_path / "tmp"
    earlier = system_tmp / f"pytest-of-{getpass.getuser()}"
    for number in (3, 4):
        (earlier / f"pytest-{number}" / "test_x0").mkdir(parents=True)
        (earlier / f"pytest-{number}" / "test_x0" / "big").write_bytes(bytes(100_000))
    (tmp_path / "test_probe.py").write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TORCHINDUCTOR_")}  # as a shell starting pytest has it
    env.update(TMPDIR=str(system_tmp), PYTHONPATH=str(TESTS), OMP_NUM_THREADS="1")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "conftest", "-p", "no:cacheprovider",
                          "-c", str(TESTS.parent / "pyproject.toml"), "--rootdir", str(tmp_path), str(tmp_path / "test_probe.py")],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert list(earlier.iterdir()) == [], "a passing run keeps nothing"


def test_every_process_keeps_its_temporary_files_in_the_runs_folder(tmp_path: Path) -> None:
    """The libraries the tests drive leave files in the system's temporary folder (gradio_client an empty
    folder per download, Chromium its profiles); the run points them, and every process it starts, into
    its own folder, which pytest removes with it."""
    import tempfile

    run = Path(tempfile.gettempdir())
    assert run.name == "system-tmp" and run.parent in tmp_path.parents, run
    child = subprocess.run([sys.executable, "-c", "import tempfile; print(tempfile.gettempdir())"], capture_output=True, text=True, check=True)
    assert Path(child.stdout.strip()) == run
    compiled = Path(os.environ["TORCHINDUCTOR_CACHE_DIR"])
    assert run not in compiled.parents, "torch.compile's cache stays warm from run to run"
