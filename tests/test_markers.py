"""The rule in conftest.py that marks tests ``subprocess``, ``gpu`` and ``slow``, so the fast part runs alone."""

from __future__ import annotations

import subprocess
import sys

import pytest

import conftest
from benchmark_scripts import run_benchmark


def _starts_python() -> None:
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def _through_a_helper() -> None:
    _starts_python()


def _computes() -> int:
    return sum(range(3))


def test_a_process_started_directly_or_through_a_helper_of_the_module_is_found() -> None:
    module = sys.modules[__name__]
    assert conftest._spawns(_starts_python, module, set())
    assert conftest._spawns(_through_a_helper, module, set())
    assert not conftest._spawns(_computes, module, set())


def _times_processes() -> None:
    run_benchmark("authors_loop", "--rounds", "1")


def _scores_folders() -> None:
    run_benchmark("direction_signal", "world")


def test_a_benchmark_script_run_in_process_is_followed_into_its_own_code() -> None:
    """benchmarks/authors_loop.py times whole processes; benchmarks/direction_signal.py starts none."""
    module = sys.modules[__name__]
    assert conftest._spawns(_times_processes, module, set())
    assert not conftest._spawns(_scores_folders, module, set())


def test_this_test_starts_nothing_and_is_not_marked(request: pytest.FixtureRequest) -> None:
    assert not {m.name for m in request.node.iter_markers()} & {"subprocess", "slow", "gpu"}


def test_every_listed_slow_test_exists() -> None:
    for entry in conftest.SLOW:
        file, _, name = entry.partition("::")
        source = (conftest.TESTS / file).read_text()
        assert not name or f"def {name}(" in source, f"{entry} is listed as slow but does not exist"


def test_the_slow_tests_are_queued_first(request: pytest.FixtureRequest) -> None:
    """So that no worker starts a long test while the others have run out of work."""
    slow = [item.get_closest_marker("slow") is not None for item in request.session.items]
    assert any(slow) and not all(slow)
    assert slow == sorted(slow, reverse=True)
