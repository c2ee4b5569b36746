"""The scripts of benchmarks/ run inside the test's own process.

A script is loaded as ``python benchmarks/NAME.py`` would run it (its folder on the path, for its sibling
modules) and its ``main`` called with the arguments a user would type. So a test pays for the script's
work, and not for another interpreter's start and torch's import, 2 to 3 s of CPU each on a 2-core
runner. What a script starts itself (the processes it times, ``relight train``) still runs as a process.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/NAME.py`` as the module ``benchmark_NAME``, loaded once a process and kept in
    ``sys.modules`` (the dataclasses of a script look their module up there)."""
    key = f"benchmark_{name}"
    if key in sys.modules:
        return sys.modules[key]
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(key, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None, name
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[key]
        raise
    return module


def run_benchmark(name: str, *args: str) -> int | str:
    """``python benchmarks/NAME.py ARGS...``: its exit status (0, a number, or the message of
    ``sys.exit("...")``). What a script sets for its own process (environment variables, torch's
    threads) is put back afterwards, so that the tests after it run as they would have."""
    module = load_benchmark(name)
    environment, threads = dict(os.environ), torch.get_num_threads()
    try:
        code = module.main(list(args))
    except SystemExit as stop:
        code = stop.code
    finally:
        os.environ.clear()
        os.environ.update(environment)
        torch.set_num_threads(threads)
    return 0 if code is None else code
