"""Shared fixtures (a small random-weight checkpoint written by the tests themselves, sample inputs) and
the markers that let a developer run the fast part alone: ``pytest -m "not slow and not subprocess"``.

Markers are given here by rule rather than test by test: ``subprocess`` to every test whose code (or a
fixture's, or a helper's of its module) starts another process, ``gpu`` to the tests of
:data:`GPU_MODULES`, and ``slow`` to the tests of :data:`SLOW` (each over about 5 s on a 2-core runner).
"""

from __future__ import annotations

import inspect
import os
import re
import socket
import struct
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from _pytest.pathlib import LOCK_TIMEOUT, cleanup_numbered_dir
from PIL import Image

from relight.model import MBNet, MBNetConfig
from relight.model.checkpoint import save_checkpoint

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
#: The benchmarks' own modules (benchmarks/judge) import as they do when a script there runs.
sys.path.insert(0, str(TESTS.parent / "benchmarks"))

#: Code that starts another process: a child Python, torchrun, a fork.
SPAWNS = re.compile(r"\bsubprocess\.|\bsys\.executable\b|\bos\.fork\(|\bPopen\(|\bmultiprocessing\.|\bmp\.spawn\(")
#: Test modules that need a CUDA device.
GPU_MODULES = {"test_cuda.py"}
#: Tests over about 5 s: a whole module (``test_x.py``) or one test with all its parameters (``test_x.py::name``).
SLOW = {
    "test_golden.py",
    "test_end_to_end.py::test_synth_train_eval_score",
    "test_speed_paths.py::test_folding_batchnorm_keeps_the_output",
    "test_speed_paths.py::test_optimised_paper_model_matches_the_reference_in_fp32",
    "test_train.py::test_resume_is_exact",
    "test_train.py::test_best_checkpoint_is_kept_when_validation_gets_worse",
    "test_weights.py::test_import_then_run_by_name_matches_the_pkl",
    "test_weights.py::test_server_errors_and_missing_files_are_one_line",
    "test_converted.py",
    "test_startup.py",
    "test_benchmarks.py::test_startup_benchmark",
    "test_benchmarks.py::test_authors_loop_benchmark",
    "test_benchmarks.py::test_backends_benchmark",
    "test_onnx.py::test_run_writes_the_same_file_on_both_backends",
    "test_onnx.py::test_batch_writes_the_same_files_on_both_backends",
    "test_onnx.py::test_any_to_any_lights_give_the_same_files_on_both_backends",
    "test_onnx.py::test_export_writes_relights_metadata_and_dynamic_shapes",
    "test_onnx.py::test_export_of_an_any_to_any_model_takes_the_light",
    "test_onnx.py::test_run_and_batch_take_an_exported_file",
    "test_onnx.py::test_a_kill_during_the_export_leaves_nothing_half_written",
    "test_onnx.py::test_offline_runs_use_the_cached_export",
    "test_benchmarks.py::test_hints_benchmark",
    "test_benchmarks.py::test_device_train_script_runs_its_cpu_dry_run",
    "test_borders.py::test_a_plain_textured_wall_has_no_fringe_at_its_borders",
    "test_borders.py::test_a_wall_with_a_nearer_panel_has_no_halo_round_it",
    "test_big_photos.py::test_run_to_all_holds_one_light_at_a_time",
    "test_big_photos.py::test_batch_of_big_photos_writes_each_output_as_its_pass_ends",
    "test_ui_hostile.py::test_hostile_uploads_are_one_line_each_and_the_server_stays_small",
}


def pytest_configure() -> None:
    """No precompiled header for torch.compile's C++: Inductor writes one of 158 MB per environment into
    /tmp (each fresh clone's .venv is another), and they piled up run after run. Its cache of kernels and
    CPU probes (under 1 MB) stays where torch keeps it: warm, the compile test takes 6 s instead of 27.
    Set before the xdist workers start, so that they inherit it."""
    os.environ.setdefault("TORCHINDUCTOR_CPP_CACHE_PRECOMPILE_HEADERS", "0")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Remove the earlier runs' temporary folders before this run writes its own, not only after it.

    pytest prunes them at exit, beyond ``tmp_path_retention_count``; a run that kept every folder
    (before ``tmp_path_retention_policy = "failed"``) could leave 6 GB there, and CI once ran out of
    disk with earlier runs' folders still in place. The rule is pytest's own, so a folder another live
    session holds (its lock file) is kept.
    """
    config = session.config
    if hasattr(config, "workerinput") or config.option.basetemp:
        return  # an xdist worker writes under its controller's folder; a --basetemp is cleared by pytest
    basetemp = config._tmp_path_factory.getbasetemp()
    keep = int(config.getini("tmp_path_retention_count"))
    cleanup_numbered_dir(basetemp.parent, "pytest-", keep, basetemp.stat().st_mtime - LOCK_TIMEOUT)


def _source(obj: object) -> str:
    try:
        return inspect.getsource(obj)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return ""


def _spawns(func: object, module: object, seen: set[object]) -> bool:
    """Whether ``func``, or a function of ``module`` it calls by name (followed through), starts a process."""
    if func in seen:
        return False
    seen.add(func)
    text = _source(func)
    if SPAWNS.search(text):
        return True
    for name in set(re.findall(r"\b([A-Za-z_]\w*)\(", text)):
        helper = getattr(module, name, None)
        if inspect.isfunction(helper) and helper.__module__ == getattr(module, "__name__", None):
            if _spawns(helper, module, seen):
                return True
    return False


def _fixture_functions(item: pytest.Item) -> list[object]:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    funcs = [defs[-1].func for name in item.fixturenames for defs in [info.name2fixturedefs.get(name, ())] if defs]
    return [f for f in funcs if Path(inspect.getsourcefile(f) or "").parent == TESTS]  # the suite's own fixtures


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        file = item.path.name
        name = getattr(item, "originalname", item.name)
        if file in GPU_MODULES:
            item.add_marker(pytest.mark.gpu)
        if file in SLOW or f"{file}::{name}" in SLOW:
            item.add_marker(pytest.mark.slow)
        module, seen = getattr(item, "module", None), set()
        functions = [getattr(item, "function", None), *_fixture_functions(item)]
        if any(f is not None and _spawns(f, sys.modules.get(f.__module__, module), seen) for f in functions):
            item.add_marker(pytest.mark.subprocess)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reaches the network: pretrained files and depth models are fetched only by the tests of
    fetching, which lift this for their loopback servers (monkeypatch.delenv("RELIGHT_OFFLINE"))."""
    monkeypatch.setenv("RELIGHT_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def _gradio_cache_per_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each test process keeps Gradio's cache in its own run folder, not in the machine's /tmp/gradio: a
    page that stops deletes the files it cached there, which another worker's page may hold too (the
    examples, an upload of the same file), as a browser test whose page never showed its result found."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADIO_TEMP_DIR", str(tmp_path_factory.mktemp("gradio")))
        yield


@pytest.fixture(scope="session", autouse=True)
def _relight_home_per_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each test process keeps relight's cache (the ONNX exports of the models the tests run, the user
    registry) in its run folder, not in the user's: the tests of one process share the exports of the
    same weights, and nothing is left in ~/.cache. Tests of the cache itself set their own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RELIGHT_HOME", str(tmp_path_factory.mktemp("relight-home")))
        yield


@pytest.fixture(scope="session")
def tiny_config() -> MBNetConfig:
    """The narrowest MBNet the tests build (random weights, a test fixture only: never offered to users)."""
    return MBNetConfig.narrow(width=8, decoder_channels=16)


@pytest.fixture(scope="session")
def narrow_checkpoint(tmp_path_factory: pytest.TempPathFactory, tiny_config: MBNetConfig) -> Path:
    """A narrow MBNet with random weights (not trained: only for plumbing tests)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ckpt") / "narrow-random.safetensors"
    return save_checkpoint(MBNet(tiny_config), path, {"note": "random test weights"})


@pytest.fixture(scope="session")
def tiny_relight_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny any-to-any model (FiLM, its conditioning made not the identity so that the lights change the
    output) and the one-to-one model it starts from (6500-N -> 4500-E), random weights, for benchmark plumbing."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("models")
    base = MBNet(MBNetConfig.narrow(width=4, decoder_channels=8))
    anyone = MBNet.from_one_to_one(MBNetConfig.narrow(width=4, decoder_channels=8, conditioning="film"), base)
    with torch.no_grad():
        anyone.condition.out.weight.normal_(0, 0.5)
    save_checkpoint(base, folder / "one.safetensors", provenance={"source": "6500-N", "target": "4500-E"})
    save_checkpoint(anyone, folder / "any.safetensors")
    return folder / "any.safetensors", folder / "one.safetensors"


@pytest.fixture
def sample_pair(tmp_path: Path) -> tuple[Path, Path]:
    """A 40 x 56 RGBA PNG (opaque, like VIDIT) and a VIDIT-style pickled-dict depth file."""
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (40, 56, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    image = tmp_path / "scene.png"
    Image.fromarray(rgba, "RGBA").save(image)
    depth = tmp_path / "scene.npy"
    record = {"normalized_depth": rng.random((40, 56), dtype=np.float32), "ref_center_dis": np.float32(2.0)}
    np.save(depth, np.array(record, dtype=object), allow_pickle=True)
    return image, depth


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """Run the real console entry point in-process; returns (exit code, stdout, stderr)."""
    from relight import cli

    monkeypatch.setattr(sys, "argv", ["relight", *args])
    monkeypatch.setitem(cli._state, "debug", False)
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[[list[str]], tuple[int, str, str]]:
    """The real console entry point, run in-process: ``code, out, err = cli(["run", ...])``."""
    return lambda args: run_cli(args, capsys, monkeypatch)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk (length, type, data, CRC), written here independently of relight's own encoder."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


#: Runs ``relight`` with the arguments after it and prints the process's peak memory (VmHWM, kB) last on
#: stderr, whatever way the command ends.
_PEAK_RUNNER = """
import atexit, sys
def _peak():
    status = open("/proc/self/status").read()
    sys.stderr.write("peak_kb " + next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")) + "\\n")
atexit.register(_peak)
sys.argv = ["relight", *sys.argv[1:]]
from relight.cli import main
main()
"""


def relight_with_peak(args: list[str], timeout: float = 300, **popen: object) -> tuple[int, str, str, float]:
    """Run ``relight ARGS`` in a child process: (exit code, stdout, stderr without the last line, peak
    resident memory in MB, as /proc gives it for that process alone)."""
    import subprocess

    env = {**os.environ, "OMP_NUM_THREADS": "1", **popen.pop("env", {})}  # type: ignore[dict-item]
    done = subprocess.run([sys.executable, "-c", _PEAK_RUNNER, *args], capture_output=True, text=True, timeout=timeout, env=env, **popen)
    *rest, last = done.stderr.rstrip("\n").split("\n")
    assert last.startswith("peak_kb "), done.stderr[-2000:]
    return done.returncode, done.stdout, "\n".join(rest), int(last.split()[1]) / 1e3


@pytest.fixture(scope="session")
def small_scale_any_to_any(tmp_path_factory: pytest.TempPathFactory, tiny_config: MBNetConfig) -> Path:
    """A tiny any-to-any (FiLM) MBNet with random weights whose checkpoint says it was trained at 64 x 64,
    so that it runs any photo at that scale: big photos cost their full-resolution results, not the network."""
    from dataclasses import replace

    torch.manual_seed(5)
    model = MBNet(replace(tiny_config, conditioning="film"))
    torch.nn.init.normal_(model.condition.out.weight, std=0.5)
    path = tmp_path_factory.mktemp("small-scale") / "any-at-64.safetensors"
    return save_checkpoint(model, path, {"note": "random test weights", "trained_at": [64, 64]})


def flat_photo(path: Path, side: int) -> tuple[Path, Path]:
    """A ``side`` x ``side`` photo of one grey (small as a file, big in memory) and its flat depth."""
    Image.new("RGB", (side, side), (120, 110, 100)).save(path)
    depth = path.with_name(f"{path.stem}_depth.png")
    Image.new("L", (side, side), 128).save(depth)
    return path, depth


@pytest.fixture(params=["refused", "silent"])
def unreachable_hub(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A Hugging Face Hub address on loopback that refuses connections, or accepts them and never answers
    (a socket that listens and is never read); huggingface_hub's endpoint and an empty cache in
    ``tmp_path`` point there, with downloads on. Never a remote address."""
    import huggingface_hub.constants as hf

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        if request.param == "silent":
            sock.listen(16)
        else:
            sock.close()
        monkeypatch.delenv("RELIGHT_OFFLINE", raising=False)
        monkeypatch.delenv("HF_HUB_ETAG_TIMEOUT", raising=False)
        monkeypatch.setattr(hf, "ENDPOINT", url)
        monkeypatch.setattr(hf, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")
        monkeypatch.setattr(hf, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
        monkeypatch.setattr(hf, "HF_HUB_OFFLINE", False)
        yield url
