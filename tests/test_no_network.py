"""With no depth file and no network, every path that would fetch the depth model fails in seconds and
says what to do: run, depth, batch, the page and `relight weights download`, against a loopback Hub
address that refuses connections or never answers (the `unreachable_hub` fixture), never a remote one."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Callable
from typing import Any

import pytest

from relight.errors import RelightError
from relight.ui import Service, page_message

#: Long enough for relight to give up on a Hub that does not answer (5 s) on a loaded runner, shorter than
#: huggingface_hub's own retries (a refused connection retried for about 25 s; an unanswered one 10 s, then 60 s a try).
BOUND = 15
#: What every path tells the user to do.
ADVICE = "run `relight weights download depth-anything-v2-small` once online, or give a depth file"


class StillWaiting(BaseException):
    """Raised in the test when :data:`BOUND` seconds have passed; a BaseException, so that no ``except
    Exception`` on the way (the command line's last resort) takes it for the command's own failure."""


def within(call: Callable[[], Any]) -> Any:
    """``call()``, stopped and failed if it has not ended within :data:`BOUND` seconds (a timer signal,
    so the call runs in the main thread, where the command line sets its own signal handlers)."""

    def give_up(signum: int, frame: object) -> None:
        raise StillWaiting

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.setitimer(signal.ITIMER_REAL, BOUND)
    try:
        return call()
    except StillWaiting:
        pytest.fail(f"still waiting on the Hub after {BOUND} s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_run_without_a_depth_file_fails_fast_saying_what_to_do(unreachable_hub, sample_pair, tmp_path, cli):
    image, _ = sample_pair
    code, _, err = within(lambda: cli(["run", str(image), "-o", str(tmp_path / "out.png")]))
    assert code == 1, err
    assert err.strip().startswith(f"error: {image}: no depth file given and none can be estimated: depth-anything-v2-small: ")
    assert f"the Hub cannot be reached ({unreachable_hub}: " in err
    assert err.strip().endswith(ADVICE)
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("unreachable_hub", ["silent"], indirect=True)
def test_depth_fails_fast_saying_what_to_do(unreachable_hub, sample_pair, tmp_path, cli):
    image, _ = sample_pair
    code, _, err = within(lambda: cli(["depth", str(image), "-o", str(tmp_path / "depth")]))
    assert code == 1
    assert err.strip().startswith("error: depth-anything-v2-small: the depth model is not in the Hugging Face cache")
    assert err.strip().endswith(ADVICE)


@pytest.mark.parametrize("unreachable_hub", ["silent"], indirect=True)
def test_weights_download_fails_fast(unreachable_hub, cli):
    code, _, err = within(lambda: cli(["weights", "download", "depth-anything-v2-small"]))
    assert code == 1, err
    assert f"the Hub cannot be reached ({unreachable_hub}: " in err, err


@pytest.mark.parametrize("unreachable_hub", ["silent"], indirect=True)
def test_batch_fails_the_image_without_depth_fast_and_does_the_others(unreachable_hub, sample_pair, narrow_checkpoint, tmp_path, cli):
    image, depth = sample_pair
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(image, folder / "a.png")
    shutil.copy(depth, folder / "a.npy")
    shutil.copy(image, folder / "b.png")  # no depth
    code, _, err = within(lambda: cli(["batch", str(folder), "-o", str(tmp_path / "out"), "-w", str(narrow_checkpoint),
                                       "--depth-model", "depth-anything-v2-small"]))
    assert code == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png"]
    assert "b.png: no depth map, and depth cannot be estimated: " in err, err
    assert ADVICE in err, err


@pytest.mark.parametrize("unreachable_hub", ["silent"], indirect=True)
def test_the_page_fails_fast_in_its_own_words(unreachable_hub, sample_pair, narrow_checkpoint):
    image, _ = sample_pair
    service = Service(str(narrow_checkpoint), device="cpu")
    try:
        with pytest.raises(RelightError) as caught:
            within(lambda: service.relight(image))
    finally:
        service.close()
    message = page_message(caught.value, {str(image): image.name})
    assert message.startswith("scene.png: no depth map, and depth cannot be estimated: depth-anything-v2-small: ")
    assert "with stem" not in message
    assert "--" not in message
    assert message.endswith("fetch it on the server with `relight weights download depth-anything-v2-small` once online, "
                            "or drop a depth map beside the photo")
