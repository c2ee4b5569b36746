"""Output safety: every file relight writes goes through :func:`atomic_output`, so a failed or interrupted
write never leaves a partial file where the result belongs, and an output path is checked before the
work that produces it.

This module reads and writes no images (it imports neither numpy nor Pillow), so the network's
checkpoint code and the training run's store can use it too.

Temporaries are named ``.{stem}.{host}-{pid}-{random}.tmp{suffix}``: a SIGKILL can leave one behind,
and the name says which process on which machine made it, so :func:`remove_stale_temporaries` can
remove those whose process is gone and leave those a live process may still be writing.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import socket
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from relight.errors import DiskFullError, InvalidSetting, OutputFileError, Setting, first_line

#: What :func:`relight.io.write_image` writes, by extension.
OUTPUT_EXTENSIONS = (".png", ".tif", ".tiff", ".npy", ".jpg", ".jpeg", ".webp")

#: The file mode when the umask cannot be read (no ``/proc``): what a plain ``open()`` gives under the
#: usual umask 022.
FALLBACK_MODE = 0o666 & ~0o022

_DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))  # no EDQUOT on Windows
# numpy's ndarray.tofile (np.save to a path) reports a short write by counts, without an errno: on a
# regular file it means the disk or quota filled up.
_SHORT_WRITE = re.compile(r"^\d+ requested and \d+ written$")
#: Seconds of doubt in comparing a process's start (whole seconds at boot) with a file's time.
_CLOCK_SLACK = 2.0
_TEMPORARY = re.compile(r"^\..*\.(?P<host>[A-Za-z0-9_]*)-(?P<pid>\d+)-[A-Za-z0-9_]{8}\.tmp(\.[^.]*)?$")


def file_mode() -> int:
    """The mode a plain ``open()`` would give a new file: 0o666 less the process umask.

    The umask is read from ``/proc/self/status`` (Linux), since ``os.umask`` can only be read by
    changing it, which would race with other threads creating files; elsewhere :data:`FALLBACK_MODE`.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return FALLBACK_MODE


def _host() -> str:
    """This machine's name as temporaries spell it (letters, digits and ``_`` only)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname())


def check_output_folder(folder: str | os.PathLike[str]) -> None:
    """Refuse a folder that cannot hold outputs (a file in its place or on its path, no permission to
    write) before any work is done for it; a folder that does not exist yet is fine if it can be made."""
    probe = Path(folder)
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise OutputFileError(probe, "is a file, not a folder, so nothing can be written inside it")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputFileError(probe, "is not writable")


def output_type_problem(suffix: str, bit_depth: int | None) -> str | None:
    """Why :func:`relight.io.write_image` cannot write this type at this bit depth (None: the input's,
    which every type can take), or None if it can."""
    suffix = suffix.lower()
    if suffix not in OUTPUT_EXTENSIONS:
        return f"unsupported output type {suffix or '(none)'}; use one of {', '.join(OUTPUT_EXTENSIONS)}"
    if bit_depth is None:
        return None
    if bit_depth not in (8, 16):
        return f"bit depth must be 8 or 16, not {bit_depth}"
    if bit_depth == 16 and suffix not in (".png", ".tif", ".tiff"):
        return f"16-bit output needs PNG or TIFF, not {suffix}"
    return None


def check_output_ext(ext: str, bit_depth: int | None = 8) -> None:
    """Refuse an output extension (and bit depth) that :func:`relight.io.write_image` cannot write, before any work."""
    problem = output_type_problem(ext, bit_depth)
    if problem is not None:
        setting = Setting("ext", ext, shown=ext)
        raise InvalidSetting(setting, setting, f": {problem}", bit_depth=bit_depth)


def check_output_dir(folder: str | os.PathLike[str], ext: str, bit_depth: int | None = 8) -> None:
    """Refuse, before any work, an extension or bit depth that cannot be written or a folder that
    cannot hold the outputs (:func:`check_output_ext`, :func:`check_output_folder`)."""
    check_output_ext(ext, bit_depth)
    check_output_folder(folder)


#: The longest file name, in bytes, that the common file systems take (ext4, XFS, APFS, NTFS in UTF-16 units).
NAME_MAX = 255


def name_too_long(name: str) -> str | None:
    """Why ``name`` cannot be a file's name for its length, or None: the temporary :func:`atomic_output`
    writes first (``.NAME.HOST-PID-XXXXXXXX.tmp``) must fit in :data:`NAME_MAX` bytes too."""
    size = len(os.fsencode(name))
    most = NAME_MAX - len(os.fsencode(f"..{_host()}-{os.getpid()}-xxxxxxxx.tmp"))
    if size <= most:
        return None
    return f"a file name of {size} bytes, longer than relight can write ({most} bytes at most)"


def check_output_path(path: str | os.PathLike[str]) -> None:
    """Refuse, before the work that produces it, a file that cannot be written at ``path``: a folder in
    its place, a file on its path, no permission, a name too long (any file: an image, JSON, CSV, a checkpoint)."""
    path = Path(path)
    if (problem := name_too_long(path.name)) is not None:  # before stat, which fails on it
        raise OutputFileError(path, problem)
    if path.is_dir():
        raise OutputFileError(path, "is a folder; give a file name")
    check_output_folder(path.parent)


def check_output_file(path: str | os.PathLike[str], bit_depth: int | None = 8) -> None:
    """Everything :func:`relight.io.write_image` would refuse about ``path``, checked before the work that produces it."""
    path = Path(path)
    problem = output_type_problem(path.suffix, bit_depth)
    if problem is not None:
        raise OutputFileError(path, problem)
    check_output_path(path)


def cannot_write(path: Path, exc: OSError) -> OutputFileError:
    """The one-line error for any OSError on the way to ``path`` (making the folder, writing, renaming);
    a full disk or quota, however the writer reported it, is a :class:`DiskFullError`."""
    if exc.errno in _DISK_FULL:
        return DiskFullError(path, f"cannot write here ({exc.strerror or 'no space left on the device'})")
    if exc.errno is None and _SHORT_WRITE.match(first_line(exc)):
        return DiskFullError(path, "cannot write here (no space left on the device)")
    return OutputFileError(path, f"cannot write here ({exc.strerror or first_line(exc)})")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    An OSError from the block (disk full, quota, I/O error) becomes an :class:`OutputFileError` naming
    ``path`` (:class:`DiskFullError` for a full disk), so every writer reports it in one line.
    """
    path = Path(path)
    check_output_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{path.stem}.{_host()}-{os.getpid()}-", suffix=f".tmp{path.suffix}", dir=path.parent
        )
    except OSError as exc:
        raise cannot_write(path, exc) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            yield tmp
            # mkstemp makes owner-only files (and some writers, safetensors', make their own): give the
            # result what a plain open() would
            tmp.chmod(file_mode())
            os.replace(tmp, path)
        except OSError as exc:
            raise cannot_write(path, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _started(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch, to the second) where ``/proc`` says, else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime"))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _may_own(pid: int, written: float) -> bool:
    """Whether process ``pid`` of this machine may own a temporary last written at ``written``: it runs
    (another user's counts too) and did not start after that write (a pid reused since)."""
    if os.name == "nt":  # os.kill would terminate it there: assume it may
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started = _started(pid)
    return started is None or started <= written + _CLOCK_SLACK


def remove_stale_temporaries(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries :func:`atomic_output` left in ``folder`` when its process was killed.

    Only files named as :func:`atomic_output` names them, made on this machine by a process that no
    longer runs (or whose pid a process started since has taken), are removed; any other file stays,
    and so does a temporary of another machine (a shared disk), whose processes cannot be seen here.
    Returns the files removed.
    """
    folder, host, removed = Path(folder), _host(), []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or match["host"] != host:
            continue
        try:  # a file gone meanwhile: another process cleaned it up, or its owner finished
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or _may_own(int(match["pid"]), info.st_mtime):
                continue
            os.unlink(entry.path)
        except FileNotFoundError:
            continue
        removed.append(Path(entry.path))
    return sorted(removed)


def refuse_replacing_inputs(outputs: Iterable[Path], inputs: Iterable[Path | None], instead: str) -> None:
    """Refuse, before any work, an output that would land on one of the inputs (``-o`` naming the photo,
    an output folder set to the data folder): the input would be lost. ``instead`` says what to change."""
    originals = {os.path.realpath(path): path for path in inputs if path is not None}  # Path.resolve raises on a symlink loop
    for output in outputs:
        original = originals.get(os.path.realpath(output))
        if original is not None:
            raise OutputFileError(output, f"would replace the input {original}; {instead}")


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write a text file (JSON, CSV, TOML) atomically, as UTF-8."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def json_text(data: object) -> str:
    """``data`` as relight writes JSON everywhere: indented, NaN and infinities refused, not written."""
    return json.dumps(data, indent=2, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike[str], data: object) -> Path:
    """Write :func:`json_text` of ``data`` atomically."""
    return write_text(path, json_text(data))


__all__ = [
    "FALLBACK_MODE",
    "OUTPUT_EXTENSIONS",
    "DiskFullError",
    "OutputFileError",
    "atomic_output",
    "cannot_write",
    "check_output_dir",
    "check_output_ext",
    "check_output_file",
    "check_output_folder",
    "check_output_path",
    "file_mode",
    "json_text",
    "output_type_problem",
    "remove_stale_temporaries",
    "write_json",
    "write_text",
]
