"""A real small tmpfs for full-disk tests (needs root, or the right to mount): a disk that fills up as disks do."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def small_tmpfs(tmp_path: Path, size: str, note: str = "", inodes: int | None = None) -> Iterator[Path]:
    """Mount a tmpfs of `size` (mount's spelling: "256k", "1m") at tmp_path/disk, yield it, unmount it after;
    `inodes` caps its files and folders (1: the disk's own folder only, so nothing more can be made).

    For a fixture to `yield from`; skips the test when mount is refused, with `note` after the reason."""
    folder = tmp_path / "disk"
    folder.mkdir()
    options = f"size={size}" + (f",nr_inodes={inodes}" if inodes is not None else "")
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, text=True)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mount.stderr.strip() or 'mount failed'}){note}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)
