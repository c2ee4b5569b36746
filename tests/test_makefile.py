"""`make test` on a fresh machine: the Makefile installs what the browser test needs (Debian's chromium
and chromedriver) when they are missing, as root or through sudo, and otherwise says in one line what to
install. Checked with `make browser` and a PATH of stand-ins that log what they are asked to do."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make") or "make"  # what `make test` itself runs with


def _stand_ins(folder: Path, uid: int, present: tuple[str, ...]) -> Path:
    """A PATH folder: ``id`` answering ``uid``, a logging ``apt-get`` and ``sudo``, the real ``env``, and the
    commands of ``present`` (of apt-get, sudo, chromium, chromedriver) that the machine has."""
    folder.mkdir()
    log = folder / "log"
    scripts = {
        "id": f'#!/bin/sh\necho {uid}\n',
        "apt-get": f'#!/bin/sh\necho "apt-get $*" >> {log}\n',
        "sudo": f'#!/bin/sh\necho "sudo" >> {log}\nexec "$@"\n',
        "chromium": "#!/bin/sh\n",
        "chromedriver": "#!/bin/sh\n",
    }
    for name, text in scripts.items():
        if name == "id" or name in present:
            (folder / name).write_text(text)
            (folder / name).chmod(0o755)
    (folder / "env").symlink_to(shutil.which("env"))
    return log


def _make_browser(tmp_path: Path, uid: int, present: tuple[str, ...]) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bin_dir = tmp_path / "bin"
    log = _stand_ins(bin_dir, uid, present)
    done = subprocess.run([MAKE, "-s", "-C", str(REPO), "browser"], env={"PATH": str(bin_dir)}, capture_output=True, text=True, timeout=60)
    return done, log.read_text().splitlines() if log.exists() else []


def test_nothing_is_installed_when_the_browser_is_there(tmp_path):
    done, log = _make_browser(tmp_path, 1000, ("apt-get", "sudo", "chromium", "chromedriver"))
    assert done.returncode == 0, done.stderr
    assert log == [], done.stderr
    assert done.stdout == "", done.stderr


@pytest.mark.parametrize(("uid", "present", "through"), [(0, ("apt-get", "chromium"), []), (1000, ("apt-get", "sudo"), ["sudo"])],
                         ids=["root", "sudo"])
def test_a_missing_browser_is_installed_as_root_or_through_sudo(tmp_path, uid, present, through):
    done, log = _make_browser(tmp_path, uid, present)
    assert done.returncode == 0, done.stderr
    assert log == [*through, "apt-get update -qq", *through, "apt-get install -y -qq chromium chromium-driver"]


@pytest.mark.parametrize("present", [("apt-get",), ()], ids=["no sudo", "no apt-get"])
def test_otherwise_one_line_says_what_to_install(tmp_path, present):
    done, log = _make_browser(tmp_path, 1000, present)
    lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("make:")]
    assert done.returncode != 0
    assert log == []
    assert lines == ["make test: the browser test needs chromium and chromedriver; install them "
                     "(on Debian, as root: apt-get install chromium chromium-driver)"]
