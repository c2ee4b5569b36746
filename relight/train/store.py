"""The run folder as a store: checkpoints saved all-or-nothing, loaded for ``resume``, and the metrics log.

A folder holds ``config.toml``, ``last.safetensors`` + ``last.state.pt`` (the model, then the training
state), ``best.safetensors`` (highest validation PSNR), ``metrics.csv`` (one row per checkpoint) and
``summary.json`` (how the run ended).

A save is all-or-nothing. The weights go first to step-numbered files (``.last.step-N.safetensors``,
``.best.step-N.safetensors``) and the metrics row is appended; then ``last.state.pt`` is replaced
atomically, naming those files and the metrics log's length: that rename is the commit. Only then are
the step files renamed onto ``last.safetensors``/``best.safetensors``. Whatever instant a process dies
at, the folder holds one committed state: loading it finishes the renames it names, cuts the metrics log
back to its length and removes what a later, uncommitted save left. A folder with no committed state
holds no run: starting afresh there clears what an interrupted first save left.

The state also records the sha256 of each file the run depends on (the weights, the metrics log up to
its length) and a checksum of its own contents: a resume refuses, naming the file, what changed since
the save (a flipped bit, an emptied or rewritten log) instead of going on from it.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from relight.errors import Setting, first_line
from relight.io.output import atomic_output, cannot_write, check_output_folder, remove_stale_temporaries, write_json, write_text
from relight.model.checkpoint import read_checkpoint_metadata, save_checkpoint
from relight.train.config import CONFIG_FILE, TrainError

if TYPE_CHECKING:
    from relight.model import MBNet, MBNetConfig

LAST = "last.safetensors"
LAST_STATE = "last.state.pt"
BEST = "best.safetensors"
METRICS_FILE = "metrics.csv"
SUMMARY_FILE = "summary.json"
METRIC_COLUMNS = (
    "epoch", "step", "lr", "loss", "charbonnier", "ssim", "perceptual",
    "val_psnr", "val_ssim", "val_lpips", "val_mps", "seconds",
)
#: The files a run writes besides its config (which is written before any step, on resume too).
RUN_FILES = (LAST, LAST_STATE, BEST, METRICS_FILE, SUMMARY_FILE)
_STEP_FILE = re.compile(r"^\.(last|best)\.step-\d+\.safetensors$")


def step_file(kind: str, step: int) -> str:
    """The name the weights of ``kind`` (``last`` or ``best``) saved at ``step`` have until the commit."""
    return f".{kind}.step-{step}.safetensors"


def resumable(run_dir: str | os.PathLike[str]) -> bool:
    """Whether ``resume`` can go on in ``run_dir``: a save was committed there."""
    return (Path(run_dir) / LAST_STATE).is_file()


def _file_sha256(path: Path, size: int | None = None) -> str:
    """The sha256 of a file, or of its first ``size`` bytes."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        left = size
        while left is None or left > 0:
            chunk = fh.read(1 << 20 if left is None else min(1 << 20, left))
            if not chunk:
                break
            h.update(chunk)
            left = None if left is None else left - len(chunk)
    return h.hexdigest()


def content_digest(obj: Any) -> str:
    """SHA-256 of a training state's contents (tensors by their bytes, dtype and shape; dicts by key; the
    rest by ``repr``): saved with the state, so that a damaged state file is told, not resumed from."""
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()


def _feed(h: Any, obj: Any) -> None:
    if isinstance(obj, torch.Tensor):
        tensor = obj.detach().cpu().contiguous()
        h.update(f"tensor {tensor.dtype} {tuple(tensor.shape)};".encode())
        h.update(tensor.reshape(-1).view(torch.uint8).numpy())
    elif isinstance(obj, dict):
        h.update(f"dict {len(obj)};".encode())
        for key in sorted(obj, key=repr):
            h.update(f"{key!r}:".encode())
            _feed(h, obj[key])
    elif isinstance(obj, (list, tuple)):
        h.update(f"{type(obj).__name__} {len(obj)};".encode())
        for item in obj:
            _feed(h, item)
    else:
        h.update(f"{obj!r};".encode())


def state_digest(state: dict[str, torch.Tensor]) -> str:
    """SHA-256 of a state dict's tensors (sorted by name, float32, CPU): equal digests mean equal weights."""
    h = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().cpu()
        tensor = tensor.float() if tensor.is_floating_point() else tensor
        h.update(key.encode())
        h.update(tensor.contiguous().numpy().tobytes())
    return h.hexdigest()


class _RecordingWriter:
    """A file for ``torch.save`` that keeps the OSError of a failed write: torch reports it as a
    RuntimeError without the cause ("unexpected pos ..."), so a full disk could not be told otherwise."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        try:
            return self.fh.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        try:
            self.fh.flush()
        except OSError as exc:
            self.error = exc
            raise


class RunStore:
    """One run folder; ``main`` is False on the ranks of a torchrun job that write nothing."""

    def __init__(self, run_dir: str | os.PathLike[str], main: bool = True) -> None:
        self.dir = Path(run_dir)
        self.main = main
        self.metrics_bytes = 0
        #: The sha256 of each file the last committed state depends on, by name (metrics.csv: up to its length).
        self.sums: dict[str, str] = {}

    def check(self, resume: bool) -> None:
        """Before any work: ``resume`` needs a committed save; a fresh run refuses to replace one."""
        if resume:
            if not resumable(self.dir):
                raise TrainError(f"{self.dir}: cannot resume, {LAST_STATE} is missing (a run stopped before its first checkpoint "
                                 "leaves none); start it afresh, without ", Setting("resume", owner="train"), path=self.dir)
        elif resumable(self.dir):
            raise TrainError(
                f"{self.dir}: already holds a run; continue it with ",
                Setting("resume", str(self.dir), owner="train", shown=str(self.dir)),
                " or choose another ", Setting("out", owner="TrainConfig"), path=self.dir,
            )
        check_output_folder(self.dir)  # a file in its place or on its path, or no permission: before any work

    def open(self, config_toml: str, resume: bool) -> None:
        """Make the folder and write the config; a fresh run first clears what an uncommitted run left."""
        if not self.main:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.dir)
        if not resume:
            for name in RUN_FILES:
                if (self.dir / name).exists():
                    (self.dir / name).unlink()
            self._remove_step_files()
        write_text(self.dir / CONFIG_FILE, config_toml)

    # ---- saving

    def save(self, model: MBNet, provenance: dict[str, Any], state: dict[str, Any], metrics_row: dict[str, Any],
             best: bool) -> None:
        """Save the weights (and with ``best``, the best weights), the metrics row and ``state``, all or nothing."""
        if not self.main:
            return
        step = state["step"]
        files = {"last": step_file("last", step), "best": step_file("best", step) if best else None}
        committed = False
        try:
            if best:
                save_checkpoint(model, self.dir / files["best"], provenance, shown_as=self.dir / BEST)
            save_checkpoint(model, self.dir / files["last"], provenance, shown_as=self.dir / LAST)
            metrics_bytes = self._append_metrics(metrics_row)
            sums = {**self.sums, LAST: _file_sha256(self.dir / files["last"]), METRICS_FILE: _file_sha256(self.dir / METRICS_FILE)}
            if best:
                sums[BEST] = _file_sha256(self.dir / files["best"])
            self._write_state({**state, "files": {**files, "metrics_bytes": metrics_bytes, "sha256": sums}})
            committed = True
            self.metrics_bytes, self.sums = metrics_bytes, sums
            self._finish(files)
        except BaseException:
            if committed:  # stopped between the commit and the renames (Ctrl-C): do what the commit promised
                self._finish(files)
            else:
                self._remove_step_files()
                self._cut_metrics(self.metrics_bytes)
            raise

    def _append_metrics(self, row: dict[str, Any]) -> int:
        path = self.dir / METRICS_FILE
        try:
            new = not path.exists() or path.stat().st_size == 0
            with path.open("a", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=METRIC_COLUMNS, restval="")
                if new:
                    writer.writeheader()
                writer.writerow(row)
            return path.stat().st_size
        except OSError as exc:
            raise cannot_write(path, exc) from None

    def _write_state(self, state: dict[str, Any]) -> None:
        state = {**state, "digest": content_digest(state)}
        with atomic_output(self.dir / LAST_STATE) as tmp, tmp.open("wb") as fh:
            writer = _RecordingWriter(fh)
            try:
                torch.save(state, writer)
            except RuntimeError:
                if writer.error is None:
                    raise
                raise writer.error from None
            fh.flush()
            os.fsync(fh.fileno())  # the commit point: on disk before the rename makes it current

    def _finish(self, files: dict[str, Any]) -> None:
        """Rename the step files a committed state names onto their user-facing names."""
        for kind, final in (("best", BEST), ("last", LAST)):
            name = files.get(kind)
            if name and (self.dir / name).exists():
                os.replace(self.dir / name, self.dir / final)

    def _remove_step_files(self) -> None:
        for path in self.dir.iterdir():
            if _STEP_FILE.match(path.name):
                path.unlink(missing_ok=True)

    def _cut_metrics(self, size: int) -> None:
        path = self.dir / METRICS_FILE
        if path.exists() and path.stat().st_size > size:
            os.truncate(path, size)

    # ---- loading

    def recover(self) -> None:
        """Bring the folder to its committed state (rank 0, before any rank loads): finish the renames
        the state names, remove the step files of an uncommitted save, cut the metrics log to its length."""
        if not self.main:
            return
        files = self._read_state().get("files", {})
        self._finish(files)
        self._remove_step_files()
        self.metrics_bytes = files.get("metrics_bytes", self._metrics_size())
        self.sums = dict(files.get("sha256", {}))
        self._check_sums()  # before the log is cut: a damaged log is told, not cut to length
        self._cut_metrics(self.metrics_bytes)

    def _check_sums(self) -> None:
        """Refuse to go on from files that changed since the state recorded them."""
        for name, expected in self.sums.items():
            path = self.dir / name
            size = self.metrics_bytes if name == METRICS_FILE else None
            held = path.stat().st_size if path.is_file() else None
            if held is None:
                why = "it is gone"
            elif size is not None and held < size:
                why = f"it holds {held:,} bytes, fewer than the {size:,} the checkpoint recorded"
            elif _file_sha256(path, size) != expected:
                why = "its sha256 is not the one the checkpoint recorded"
            else:
                continue
            raise TrainError(f"{path}: changed since the last checkpoint ({why}); put back the file the run wrote, "
                             "or start the run afresh in another folder", path=path)

    def load(self, model_config: MBNetConfig) -> dict[str, Any]:
        """The committed training state, after :meth:`recover`: ``last.safetensors`` holds its weights."""
        path, last = self.dir / LAST_STATE, self.dir / LAST
        state = self._read_state()
        if not last.is_file():
            raise TrainError(f"{self.dir}: cannot resume, {LAST} is missing", path=self.dir)
        config, provenance = read_checkpoint_metadata(last)
        if config != model_config:
            raise TrainError(f"{last}: holds {config.describe()}, but the config asks for {model_config.describe()}", path=last)
        if state.get("step") != provenance.get("step"):
            raise TrainError(
                f"{path}: step {state.get('step')} does not match {last} (step {provenance.get('step')}); "
                "the run was interrupted while saving", path=path,
            )
        return state

    def _read_state(self) -> dict[str, Any]:
        path = self.dir / LAST_STATE
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any failure to read means a damaged file
            raise TrainError(f"{path}: unreadable training state ({first_line(exc)})", path=path) from None
        digest = state.pop("digest", None) if isinstance(state, dict) else None
        if digest is not None and content_digest(state) != digest:
            raise TrainError(f"{path}: damaged: its contents do not match the checksum saved with them; put back the file the run "
                             "wrote, or start the run afresh in another folder", path=path)
        return state

    def _metrics_size(self) -> int:
        path = self.dir / METRICS_FILE
        return path.stat().st_size if path.exists() else 0

    def last_saved_step(self) -> int | None:
        """The step of the last committed checkpoint, or None before the first."""
        if not resumable(self.dir) or not (self.dir / LAST).exists():
            return None
        return read_checkpoint_metadata(self.dir / LAST)[1].get("step")

    def write_summary(self, summary: dict[str, Any]) -> None:
        if self.main:
            write_json(self.dir / SUMMARY_FILE, summary)
