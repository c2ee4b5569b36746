"""The fixtures the test modules share (tiny models and checkpoints the tests build themselves, sample
inputs and folders, the ``cli`` entry point, a loopback Hub, the web page on a loopback port) and the
markers that let a developer run the fast part alone: ``pytest -m "not slow and not subprocess"``.

Markers are given here by rule rather than test by test: ``subprocess`` to every test whose code (or a
fixture's, or a helper's of its module, or a benchmark script's it runs) starts another process, ``gpu``
to the tests of :data:`GPU_MODULES`, and ``slow`` to the tests of :data:`SLOW` (each over about 5 s on a
2-core runner).
"""

from __future__ import annotations

import dataclasses
import functools
import getpass
import inspect
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch
from _pytest.pathlib import LOCK_TIMEOUT, cleanup_numbered_dir
from PIL import Image

from benchmark_scripts import BENCHMARKS
from relight.model import MBNet, MBNetConfig
from relight.model.checkpoint import save_checkpoint

if TYPE_CHECKING:
    from hubserver import HubServer

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
#: The benchmarks' own modules (benchmarks/judge) import as they do when a script there runs.
sys.path.insert(0, str(BENCHMARKS))

#: Code that starts another process: a child Python, torchrun, a fork.
SPAWNS = re.compile(r"\bsubprocess\.|\bsys\.executable\b|\bos\.fork\(|\bPopen\(|\bmultiprocessing\.|\bmp\.spawn\(")
#: A script of benchmarks/ run or loaded by name in the test's process (``run_benchmark("hints", ...)``,
#: or a helper whose name ends in ``benchmark``): the test starts a process when the script's code does.
BENCHMARK_CALL = re.compile(r"\b\w*benchmark\(\s*\"(\w+)\"")
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
    "test_onnx.py::test_a_model_with_geometry_hints_runs_on_onnxruntime_at_any_size",
    "test_benchmarks.py::test_hints_benchmark",
    "test_benchmarks.py::test_device_train_script_runs_its_cpu_dry_run",
    "test_borders.py::test_a_plain_textured_wall_has_no_fringe_at_its_borders",
    "test_borders.py::test_a_wall_with_a_nearer_panel_has_no_halo_round_it",
    "test_big_photos.py::test_run_to_all_holds_one_light_at_a_time",
    "test_big_photos.py::test_batch_of_big_photos_writes_each_output_as_its_pass_ends",
    "test_ui_hostile.py::test_hostile_uploads_are_one_line_each_and_the_server_stays_small",
    "test_ddp.py::test_two_process_gloo_training_keeps_replicas_identical",
    "test_train_anytoany.py::test_two_process_gloo_any_to_any_training_keeps_replicas_identical",
    "test_train.py::test_a_stopped_run_says_how_to_resume_and_resumes",
    "test_ui.py::test_the_command_prints_its_address_serves_and_stops_leaving_other_pages_files",
    "test_slicing.py::test_slurm_array_tasks_each_relight_their_slice_and_shard_wins",
    "test_slicing.py::test_torchrun_processes_each_relight_their_slice_once",
    "test_cli_run.py::test_batch_stopped_by_sigterm_cleans_up_says_how_to_resume_and_resumes",
    "test_batch_faults.py::test_a_rerun_after_a_sigkill_removes_the_killed_batch_s_temporaries",
    "test_benchmarks.py::test_borders_benchmark",
    "test_benchmarks.py::test_batch_benchmark",
    "test_hints.py::test_the_hints_export_as_plain_tensor_ops",
    "test_devices.py::test_compile_on_cpu_keeps_the_cuda_toolkit_probe_quiet",
    "test_anytoany_heldout.py::test_the_benchmark_runs_end_to_end_and_writes_its_json",
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
    if hasattr(config, "workerinput"):
        return  # an xdist worker writes under its controller's folder, and inherits its TMPDIR
    basetemp = config._tmp_path_factory.getbasetemp()
    if not config.option.basetemp:  # a --basetemp is cleared by pytest
        keep = int(config.getini("tmp_path_retention_count"))
        cleanup_numbered_dir(basetemp.parent, "pytest-", keep, basetemp.stat().st_mtime - LOCK_TIMEOUT)
    _system_temp_in(basetemp / "system-tmp")


def _system_temp_in(folder: Path) -> None:
    """Every process of the run keeps its temporary files in ``folder``, inside the run's own, which pytest
    removes with it: the libraries the tests drive leave some behind in the system's (gradio_client one
    empty folder per file it downloads, Gradio's server empty files, Chromium its profile folders).
    Set before the test modules import them (some read the folder at import) and before the xdist
    workers start, so that they and every process they start inherit it. torch.compile's cache stays
    where torch keeps it, so that it stays warm from run to run."""
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", os.path.join(tempfile.gettempdir(), f"torchinductor_{getpass.getuser()}"))
    folder.mkdir(exist_ok=True)
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = str(folder)


@functools.cache  # each fixture's and helper's source is read once, not once per test that uses it
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
    if SPAWNS.search(text) or any(_script_spawns(name) for name in BENCHMARK_CALL.findall(text)):
        return True
    for name in set(re.findall(r"\b([A-Za-z_]\w*)\(", text)):
        helper = getattr(module, name, None)
        if inspect.isfunction(helper) and helper.__module__ == getattr(module, "__name__", None):
            if _spawns(helper, module, seen):
                return True
    return False


@functools.cache
def _script_spawns(name: str) -> bool:
    """Whether ``benchmarks/NAME.py`` starts a process itself."""
    script = BENCHMARKS / f"{name}.py"
    return script.is_file() and bool(SPAWNS.search(script.read_text()))


@functools.cache
def _starts_a_process(func: object, module: object) -> bool:
    """:func:`_spawns` of one function, remembered: the same fixtures serve hundreds of tests."""
    return _spawns(func, module, set())


@functools.cache
def _ours(func: object) -> bool:
    """Whether ``func`` is one of the suite's own fixtures (not pytest's or a plugin's)."""
    return Path(inspect.getsourcefile(func) or "").parent == TESTS  # type: ignore[arg-type]


def _fixture_functions(item: pytest.Item) -> list[object]:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    funcs = [defs[-1].func for name in item.fixturenames for defs in [info.name2fixturedefs.get(name, ())] if defs]
    return [f for f in funcs if _ours(f)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the GPU, slow and process-starting tests, then move the slow ones to the front (in their order):
    a worker that draws a 30-second test last keeps the run going while the other core idles, and an
    idle worker takes the tests still queued on a busy one, so short tests at the end fill the gaps."""
    for item in items:
        file = item.path.name
        name = getattr(item, "originalname", item.name)
        if file in GPU_MODULES:
            item.add_marker(pytest.mark.gpu)
        if file in SLOW or f"{file}::{name}" in SLOW:
            item.add_marker(pytest.mark.slow)
        module = getattr(item, "module", None)
        functions = [getattr(item, "function", None), *_fixture_functions(item)]
        if any(f is not None and _starts_a_process(f, sys.modules.get(f.__module__, module)) for f in functions):
            item.add_marker(pytest.mark.subprocess)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reaches the network: pretrained files and depth models are fetched only by the tests of
    fetching, which lift this for their loopback servers (monkeypatch.delenv("RELIGHT_OFFLINE"))."""
    monkeypatch.setenv("RELIGHT_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _torch_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """Models run on the torch backend where a test names none (``RELIGHT_BACKEND``): ``auto`` would first
    export each model the tests build to ONNX, seconds of CPU each. The tests of ONNX Runtime and of
    what a user's plain command runs take :func:`auto_backend`."""
    monkeypatch.setenv("RELIGHT_BACKEND", "torch")


@pytest.fixture
def auto_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """The backend a user's command runs where nothing names one: ``auto``, as without ``RELIGHT_BACKEND``."""
    monkeypatch.delenv("RELIGHT_BACKEND", raising=False)


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
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four synthetic any-to-any scenes at 64 x 64 in the training layout, for the training tests to read."""
    from relight.data.synth import write_dataset

    out = tmp_path_factory.mktemp("synth") / "train"
    write_dataset(out, scenes=4, size=64, seed=3)
    return out


@pytest.fixture(scope="session")
def randomise_batchnorm() -> Callable[[torch.nn.Module], torch.nn.Module]:
    """``randomise_batchnorm(model)``: every BatchNorm's running mean drawn from [-0.1, 0.1) and variance from
    [0.5, 1.5) (torch's global generator), so that statistics off the identity are what folding, copying and
    saving have to carry; returns the model."""

    def randomise(model: torch.nn.Module) -> torch.nn.Module:
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.BatchNorm2d):
                    module.running_mean.uniform_(-0.1, 0.1)
                    module.running_var.uniform_(0.5, 1.5)
        return model

    return randomise


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """One torch thread for a module of tiny tensors: with several OpenMP threads on a shared runner, one
    descheduled thread stalls every op. Modules take it with ``pytestmark = pytest.mark.usefixtures(...)``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def pair_folder(tmp_path: Path) -> Callable[..., Path]:
    """``pair_folder(n, size=(40, 56))``: ``tmp_path/in`` holding Image000 ... of ``n`` copies of one random
    8-bit image and its depth (a folder for ``relight batch``)."""

    def make(n: int, size: tuple[int, int] = (40, 56)) -> Path:
        rng = np.random.default_rng(0)
        folder = tmp_path / "in"
        folder.mkdir()
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(folder / "Image000.png")
        np.save(folder / "Image000.npy", rng.random(size, dtype=np.float32))
        for i in range(1, n):
            shutil.copy(folder / "Image000.png", folder / f"Image{i:03d}.png")
            shutil.copy(folder / "Image000.npy", folder / f"Image{i:03d}.npy")
        return folder

    return make


@pytest.fixture
def sigterm_when() -> Callable[..., tuple[int, str]]:
    """``sigterm_when(command, env, ready, within)``: start ``command``, send it SIGTERM (a scheduler's stop)
    once ``ready()`` holds, it has exited, or ``within`` seconds have passed; returns its exit code and stderr."""

    def stop(command: list[str], env: dict[str, str], ready: Callable[[], bool], within: float) -> tuple[int, str]:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + within
        while not ready() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        return proc.returncode, err

    return stop


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


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[[list[str]], tuple[int, str, str]]:
    """The real console entry point, run in-process: ``code, out, err = cli(["run", ...])``."""
    from relight import cli as entry

    def run(args: list[str]) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["relight", *args])
        monkeypatch.setitem(entry._state, "debug", False)
        code = 0
        try:
            entry.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture(scope="session")
def any_to_any_checkpoint(tmp_path_factory: pytest.TempPathFactory, tiny_config: MBNetConfig) -> Path:
    """A tiny FiLM-conditioned MBNet with random weights, its conditioning moved off the identity so that
    targets differ (a test fixture, never offered as a model)."""
    torch.manual_seed(3)
    model = MBNet(dataclasses.replace(tiny_config, conditioning="film"))
    with torch.no_grad():
        torch.nn.init.normal_(model.condition.out.weight, std=0.5)
    path = tmp_path_factory.mktemp("a2a") / "tiny-any-to-any.safetensors"
    return save_checkpoint(model, path, {"note": "random test weights", "default_target": "4500-E"})


@pytest.fixture(scope="module")
def any_to_any_url(any_to_any_checkpoint: Path) -> Iterator[str]:
    """The web page over :func:`any_to_any_checkpoint`, served on a loopback port for the module's tests."""
    from pageserver import served

    yield from served(any_to_any_checkpoint)


@pytest.fixture(scope="module")
def one_to_one_url(narrow_checkpoint: Path) -> Iterator[str]:
    """The web page over :func:`narrow_checkpoint`, served on a loopback port for the module's tests."""
    from pageserver import served

    yield from served(narrow_checkpoint)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Depth Anything of 2 transformer layers, 16 channels and 28-pixel inputs, random weights (its last
    convolution scaled so that its output varies across the photo), saved as a transformers folder."""
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config, DPTImageProcessor

    backbone = Dinov2Config(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32, image_size=28,
                            patch_size=14, out_features=["stage1", "stage2"], reshape_hidden_states=False)
    config = DepthAnythingConfig(backbone_config=backbone, neck_hidden_sizes=[8, 16], reassemble_factors=[2, 1],
                                 fusion_hidden_size=16, head_hidden_size=8, reassemble_hidden_size=16)
    torch.manual_seed(0)
    model = DepthAnythingForDepthEstimation(config)
    with torch.no_grad():
        model.head.conv3.weight.mul_(1e6)
        model.head.conv3.bias.fill_(1.0)
    folder = tmp_path_factory.mktemp("tiny-depth-anything")
    model.save_pretrained(folder)
    DPTImageProcessor(size={"height": 28, "width": 28}, keep_aspect_ratio=True, ensure_multiple_of=14, do_pad=False,
                      image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]).save_pretrained(folder)
    return folder


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """A loopback Hub (:class:`hubserver.HubServer`); huggingface_hub's endpoint, HF_HOME-derived paths and
    cache point at it and tmp_path, and the suite's offline switch is lifted for it."""
    import huggingface_hub.constants as hf
    from hubserver import HubServer

    monkeypatch.delenv("RELIGHT_OFFLINE", raising=False)
    with HubServer() as server:
        home = str(tmp_path / "hf-home")
        old_home = hf.HF_HOME
        for attr in dir(hf):
            value = getattr(hf, attr)
            if attr.isupper() and isinstance(value, str) and value.startswith(old_home):
                monkeypatch.setattr(hf, attr, home + value[len(old_home):])
        monkeypatch.setattr(hf, "HF_HUB_CACHE", os.path.join(home, "hub"))
        monkeypatch.setattr(hf, "ENDPOINT", server.url)
        monkeypatch.setattr(hf, "HUGGINGFACE_CO_URL_TEMPLATE", server.url + "/{repo_id}/resolve/{revision}/{filename}")
        monkeypatch.setattr(hf, "HF_HUB_OFFLINE", False)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        monkeypatch.setenv("RELIGHT_HOME", str(tmp_path / "relight-home"))
        yield server


@pytest.fixture(scope="session")
def small_scale_any_to_any(tmp_path_factory: pytest.TempPathFactory, tiny_config: MBNetConfig) -> Path:
    """A tiny any-to-any (FiLM) MBNet with random weights whose checkpoint says it was trained at 64 x 64,
    so that it runs any photo at that scale: big photos cost their full-resolution results, not the network."""
    torch.manual_seed(5)
    model = MBNet(dataclasses.replace(tiny_config, conditioning="film"))
    torch.nn.init.normal_(model.condition.out.weight, std=0.5)
    path = tmp_path_factory.mktemp("small-scale") / "any-at-64.safetensors"
    return save_checkpoint(model, path, {"note": "random test weights", "trained_at": [64, 64]})


@pytest.fixture(params=["refused", "silent"])
def unreachable_hub(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A Hugging Face Hub address on loopback that refuses connections, or accepts them and never answers
    (a socket that listens and is never read); huggingface_hub's endpoint and an empty cache in
    ``tmp_path`` point there, with downloads on. Never a remote address."""
    import huggingface_hub.constants as hf

    from relight.weights import hub

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        if request.param == "silent":
            sock.listen(16)
        else:
            sock.close()
        monkeypatch.delenv("RELIGHT_OFFLINE", raising=False)
        monkeypatch.delenv("HF_HUB_ETAG_TIMEOUT", raising=False)
        monkeypatch.setattr(hub, "PROBE_SECONDS", 1)  # the default's path, waiting 1 s where users wait 5 for a slow Hub
        monkeypatch.setattr(hf, "ENDPOINT", url)
        monkeypatch.setattr(hf, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")
        monkeypatch.setattr(hf, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
        monkeypatch.setattr(hf, "HF_HUB_OFFLINE", False)
        yield url
