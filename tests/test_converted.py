"""The authors' checkpoint is converted once into relight's cache and read from there afterwards."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from tmpfs import small_tmpfs
from reference import constant_state_dict, read_tsv
from relight.weights import load_weights
from relight.weights.converted import GRACE_SECONDS, INDEX, checkpoint_sha256, conversion_folder, prune_conversions


def _authors_checkpoint(path: Path, scale: float = 0.01) -> Path:
    """The paper model's keys in the authors' layout, a constant each: a small file that loads as the full network
    (small constants, so that its output is finite and is written, not refused)."""
    torch.save({"state_dict": constant_state_dict(read_tsv(), scale)}, path)
    return path


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RELIGHT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _refuse(what: str):
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"{what} was called")

    return refuse


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_second_load_reads_the_conversion_without_unpickling_or_hashing(tmp_path, home, monkeypatch) -> None:
    pkl = _authors_checkpoint(tmp_path / "weight.pkl")
    sha = hashlib.sha256(pkl.read_bytes()).hexdigest()
    first = load_weights(pkl)
    cache = home / "converted" / f"{sha}.safetensors"
    assert conversion_folder() == home / "converted"
    assert cache.is_file()
    assert first.source == f"{pkl} (converted once to {cache})"
    assert first.provenance["source"] == "6500-N"
    assert first.provenance["target"] == "4500-E"
    assert {p.name for p in cache.parent.iterdir()} == {cache.name, INDEX}

    with monkeypatch.context() as m:
        m.setattr(torch, "load", _refuse("torch.load"))
        m.setattr(hashlib, "file_digest", _refuse("hashing"))
        second = load_weights(pkl)
    assert second.source == f"{pkl} (converted before: {cache})"
    assert second.provenance == first.provenance
    assert second.config == first.config
    assert _same_weights(first.model, second.model)


def test_a_copy_is_hashed_and_reuses_the_conversion_and_a_changed_file_is_converted_anew(tmp_path, home) -> None:
    pkl = _authors_checkpoint(tmp_path / "weight.pkl")
    first = load_weights(pkl)
    copy = tmp_path / "elsewhere" / "weight.pkl"
    copy.parent.mkdir()
    shutil.copyfile(pkl, copy)
    again = load_weights(copy)
    assert "converted before" in again.source
    assert _same_weights(first.model, again.model)

    _authors_checkpoint(pkl, scale=0.02)  # the same path, another content
    changed = load_weights(pkl)
    assert "converted once" in changed.source
    assert checkpoint_sha256(pkl) == hashlib.sha256(pkl.read_bytes()).hexdigest()
    assert torch.equal(changed.model.head.bias, 2 * first.model.head.bias)
    assert len(list((home / "converted").glob("*.safetensors"))) == 2, "the copy still holds the first version"

    copy.unlink()
    for conversion in (home / "converted").glob("*.safetensors"):
        os.utime(conversion, (time.time() - 2 * GRACE_SECONDS,) * 2)
    _authors_checkpoint(pkl, scale=0.03)
    third = load_weights(pkl)  # before, every version stayed: 600 MB each
    size = third.source.split("; removed 2 earlier conversions (")[1].split(" MB)")[0]
    assert third.source.endswith(" MB) of checkpoints changed or gone)")
    assert int(size.replace(",", "")) > 0
    assert [p.name for p in (home / "converted").glob("*.safetensors")] == [f"{checkpoint_sha256(pkl)}.safetensors"]


@pytest.fixture
def small_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """relight's home on a disk with room for one conversion of the paper network (613 MB), not two."""
    for disk in small_tmpfs(tmp_path, "900m"):
        monkeypatch.setenv("RELIGHT_HOME", str(disk / "home"))
        yield disk / "home"


def test_a_conversion_first_makes_room_by_removing_those_of_checkpoints_changed(tmp_path, small_home) -> None:
    pkl = _authors_checkpoint(tmp_path / "weight.pkl")
    load_weights(pkl)
    for conversion in (small_home / "converted").glob("*.safetensors"):
        os.utime(conversion, (time.time() - 2 * GRACE_SECONDS,) * 2)
    _authors_checkpoint(pkl, scale=0.02)
    changed = load_weights(pkl)  # before, it wrote first and pruned after: no room, "converted in memory; not kept"
    assert changed.source.startswith(f"{pkl} (converted once to ")
    assert "; removed 1 earlier conversion (" in changed.source
    assert [p.name for p in (small_home / "converted").glob("*.safetensors")] == [f"{checkpoint_sha256(pkl)}.safetensors"]


def test_pruning_keeps_the_conversions_of_files_still_there_and_young_ones(tmp_path, home) -> None:
    """Each conversion removes those no remembered file holds any more (changed or deleted since), once
    they are older than the grace period (a young one may be another process's, its index entry lost);
    temporaries are not conversions, and the index is left as it is."""
    folder = home / "converted"
    folder.mkdir(parents=True)
    kept, changed, gone = (tmp_path / f"{name}.pkl" for name in ("kept", "changed", "gone"))
    for path in (kept, changed, gone):
        path.write_bytes(path.name.encode())
    index = {str(p.resolve()): {"size": p.stat().st_size, "mtime_ns": p.stat().st_mtime_ns, "ctime_ns": p.stat().st_ctime_ns,
                                "inode": p.stat().st_ino} for p in (kept, changed, gone)}
    changed.write_bytes(b"another version")
    gone.unlink()
    sha = {name: hashlib.sha256(name.encode()).hexdigest() for name in ("kept", "changed", "gone", "young", "new")}
    for path in (kept, changed, gone):
        index[str(path.resolve())]["sha256"] = sha[path.stem]
    (folder / INDEX).write_text(json.dumps(index))
    temporary = folder / f".{sha['gone']}.otherhost-12-abcd.tmp.safetensors"  # another machine's conversion, being written
    for name in [*sha.values(), temporary.name[:-len(".safetensors")]]:
        (folder / f"{name}.safetensors").write_bytes(b"x" * 1000)
        if name not in (sha["young"], sha["new"]):
            os.utime(folder / f"{name}.safetensors", (time.time() - 2 * GRACE_SECONDS,) * 2)
    before = (folder / INDEX).read_bytes()
    pruned = prune_conversions(folder / f"{sha['new']}.safetensors")
    assert pruned == (2, 2000)
    left = {p.name for p in folder.glob("*.safetensors")}
    assert left == {f"{sha[n]}.safetensors" for n in ("kept", "young", "new")} | {temporary.name}
    assert (folder / INDEX).read_bytes() == before, "the index is only read (a concurrent entry is never lost)"


def test_an_unreadable_conversion_is_redone_and_an_unwritable_cache_still_loads(tmp_path, home, monkeypatch) -> None:
    pkl = _authors_checkpoint(tmp_path / "weight.pkl")
    first = load_weights(pkl)
    cache = next((home / "converted").glob("*.safetensors"))
    damaged = tmp_path / "damaged"
    damaged.write_bytes(b"\0" * 100)
    damaged.replace(cache)  # not in place: ``first``'s tensors may be mapped from the file
    redone = load_weights(pkl)
    assert redone.source.startswith(f"{pkl} (converted once to {cache} (the earlier conversion was unreadable: ")
    assert _same_weights(first.model, redone.model)
    assert cache.stat().st_size > 100

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv("RELIGHT_HOME", str(blocked))  # the cache cannot be made
    unkept = load_weights(pkl)
    assert unkept.source.startswith(f"{pkl} (converted in memory; not kept: ")
    assert _same_weights(first.model, unkept.model)


def test_the_command_line_says_converted_once_then_reads_the_conversion(cli, tmp_path, home) -> None:
    pkl = _authors_checkpoint(tmp_path / "weight.pkl")
    rng = np.random.default_rng(0)
    from relight.io import write_depth_npy, write_image

    write_image(tmp_path / "scene.png", rng.random((64, 64, 3), dtype=np.float32))
    write_depth_npy(tmp_path / "scene.npy", rng.random((64, 64), dtype=np.float32))
    outputs = []
    for run in ("first", "second"):
        out = tmp_path / f"{run}.npy"
        code, _, err = cli(["run", str(tmp_path / "scene.png"), str(tmp_path / "scene.npy"), "-o", str(out), "-w", str(pkl),
                            "--backend", "torch"])  # what is read, not what runs it: no export of the paper network
        assert code == 0, err
        assert ("converted once to " if run == "first" else "converted before: ") + str(home / "converted") in err.replace("\n", "")
        outputs.append(np.load(out))
    assert np.array_equal(*outputs)
