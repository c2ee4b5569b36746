"""Relighting a folder: decode ahead and encode behind in worker threads while the model runs.

Outputs that already exist are skipped (so an interrupted batch resumes), a bad pair is reported and
skipped, and the rest go on. Every output is written atomically, so processes sharing one output folder
never leave a partial file (:mod:`relight.inference.shards` gives each its slice), and the temporaries a killed
batch left are removed first. After :data:`DISK_FULL_LIMIT` full-disk errors the output folder is given
up on: the outputs left are counted as not written instead of each failing alike.

Consecutive images of one size share a forward pass, as many as make up 512x512 pixels at the size the
network runs at and :data:`GROUP_FULL_PIXELS` at their own, unless ``batch_size`` says otherwise; on CUDA
their tensors are staged in pinned memory so the copy to the device does not block; on a CPU, small
groups go through two forward passes at once (``streams``). How many images are decoded ahead and how
many results wait for their writer follow the photos' size too (:data:`AHEAD_PIXELS`), so that a folder of
big photos holds a few of them at a time, and each output is written as soon as its pass is done.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np
import torch

from relight.data.pairs import DecodedPair, InferencePair, load_pair
from relight.errors import DiskFullError, InvalidSetting, OutputFileError, RelightError, Setting
from relight.device import cudnn_autotune
from relight.inference.relighter import Relighter
from relight.tensors import depth_tensor, image_tensor
from relight.io import check_output_dir, refuse_replacing_inputs, remove_stale_temporaries
from relight.io.depth import check_depth_kind
from relight.io.images import OutputOptions, image_size
from relight.lighting import Light, LightLike, encode_lights
from relight.inference.naming import Output, plan_outputs, template_fields

#: Full-disk errors after which a batch stops writing to its output folder (the next would fail alike).
DISK_FULL_LIMIT = 3


@dataclass
class BatchSummary:
    """What a batch did, counted in outputs (an image relit to several lights has several): outputs
    written, outputs already present, failures with their errors, outputs not written once the disk was
    full, and the stale temporaries removed before the work."""

    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    #: Each failed input (or output) with the error that stopped it, for a caller that words it itself.
    failures: list[tuple[Path, RelightError]] = field(default_factory=list)
    #: Outputs not tried (or whose full-disk errors were not listed) after :data:`DISK_FULL_LIMIT` of them.
    unwritten: list[Path] = field(default_factory=list)
    #: Temporaries that killed processes had left in the output folder, removed before the work.
    removed: list[Path] = field(default_factory=list)
    #: Images that had no depth file and were given depth estimated from the photo.
    estimated: list[Path] = field(default_factory=list)
    #: Outputs the listed failures stopped (an input that cannot be read stops each of its outputs).
    failed_outputs: int = 0
    seconds: float = 0.0

    @property
    def failed(self) -> list[tuple[Path, str]]:
        """Each failure with its reason in one line."""
        return [(path, str(error)) for path, error in self.failures]

    @property
    def ok(self) -> bool:
        return not self.failures and not self.unwritten

    @property
    def failed_count(self) -> int:
        """Outputs not written for a reason: those the listed failures stopped, and those given up on."""
        return self.failed_outputs + len(self.unwritten)


@dataclass
class _Ready:
    """A decoded pair as tensors for the network (in pinned memory when the model is on CUDA), and the
    output (file name, target light) it is relit for, once it joins a group."""

    decoded: DecodedPair
    rgb: torch.Tensor
    depth: torch.Tensor
    output: Output | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.decoded.image.size


def _decode(pair: InferencePair, pin: bool, depth_kind: str = "auto", estimate: Callable[[np.ndarray], np.ndarray] | None = None) -> _Ready:
    item = load_pair(pair, depth_kind, estimate)
    rgb, depth = image_tensor(item.image.rgb), depth_tensor(item.depth)
    if pin:
        rgb, depth = rgb.pin_memory(), depth.pin_memory()
    return _Ready(item, rgb, depth)


def _stack(tensors: list[torch.Tensor], pin: bool) -> torch.Tensor:
    """Concatenate one batch along N, into pinned memory when the copy to the device should not block."""
    if len(tensors) == 1:
        return tensors[0]
    shape = (sum(t.shape[0] for t in tensors), *tensors[0].shape[1:])
    return torch.cat(tensors, out=torch.empty(shape, dtype=tensors[0].dtype, pin_memory=pin))


def _prefetch(fn: Callable[[InferencePair], _Ready], items: Iterable[InferencePair], pool: ThreadPoolExecutor,
              depth: Callable[[], int]) -> Iterator[tuple[InferencePair, Future[_Ready]]]:
    """Like ``pool.map`` but with at most ``depth()`` items decoded ahead, so memory stays bounded."""
    queue: deque[tuple[InferencePair, Future[_Ready]]] = deque()
    for item in items:
        queue.append((item, pool.submit(fn, item)))
        while len(queue) > depth():
            yield queue.popleft()
    while queue:
        yield queue.popleft()


#: Without ``batch_size``, images of one size are grouped up to this many pixels (see :func:`auto_batch_size`);
#: without ``streams``, groups of up to this many pixels run two at a time on a CPU (see :func:`plan_streams`).
GROUP_PIXELS = 512 * 512
#: The most images :func:`auto_batch_size` puts in one group, however small they are.
MAX_AUTO_BATCH = 8
#: Without ``batch_size``, a group holds at most this many pixels at the images' own size (at least one
#: image): each result comes back to full resolution, so a group of big photos is big however small the
#: network runs them.
GROUP_FULL_PIXELS = 16 * 1024 * 1024
#: Full-resolution pixels decoded ahead of the network, and again of results waiting for the writers
#: (at least a group and one more, and a writer's each): a folder of big photos holds a few at a time.
AHEAD_PIXELS = 32 * 1024 * 1024


@dataclass(frozen=True)
class BatchOptions:
    """How a batch uses the machine; the outputs are the same whatever they are. ``batch_size``: images of
    one size per forward pass (None: :func:`auto_batch_size`); ``streams``: forward passes at once (None:
    :func:`plan_streams`); ``workers``: threads decoding inputs ahead and encoding outputs behind."""

    batch_size: int | None = None
    streams: int | None = None
    workers: int = 2

    def __post_init__(self) -> None:
        for name in ("batch_size", "streams", "workers"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise _at_least_one(name, value, "BatchOptions")


def auto_batch_size(height: int, width: int, full: tuple[int, int] | None = None) -> int:
    """How many images the network runs at ``height x width`` share a forward pass when no
    ``batch_size`` is given: as many as fit in :data:`GROUP_PIXELS` pixels, and in
    :data:`GROUP_FULL_PIXELS` at their ``full`` size (height, width) where they are brought back to it;
    at least 1 and at most :data:`MAX_AUTO_BATCH`.

    Every operation of the network has a fixed cost, and the deep layers of a small image are too small
    to keep the cores busy; a group spreads both over more images (``benchmarks/batch.py`` measures it).
    The pixel budget bounds the activations a group holds: a quarter of one 1024x1024 image's; the full
    budget bounds its results.
    """
    most = MAX_AUTO_BATCH if full is None else min(MAX_AUTO_BATCH, GROUP_FULL_PIXELS // max(1, full[0] * full[1]))
    return max(1, min(most, GROUP_PIXELS // max(1, height * width)))


def plan_streams(relighter: Relighter, streams: int | None = None) -> int:
    """How many forward passes run at once: ``streams`` if given, else 2 on a CPU with 2+ threads, else 1.

    One forward pass of a small network uses two CPU cores badly: many of its operations are too small
    to split, and the threads wait for each other at every one, so single-threaded passes side by side
    get more done (``benchmarks/batch.py``). Each stream holds its own activations, so by default only
    groups of up to :data:`GROUP_PIXELS` pixels share the cores.
    A ``torch.compile`` model keeps one stream unless asked: it was compiled for the thread count of the
    call that compiled it.
    """
    if streams is not None:
        if streams < 1:
            raise _at_least_one("streams", streams, "plan_streams")
        return streams
    if relighter.device.type == "cpu" and not relighter.compiled:
        return max(1, min(2, torch.get_num_threads()))
    return 1


def _at_least_one(name: str, value: int, owner: str) -> InvalidSetting:
    """The message for a count that must be positive, naming the setting in either audience's words."""
    return InvalidSetting(Setting(name, value, owner=owner), Setting(name), f" must be at least 1, not {value}")


def _relight_group(relighter: Relighter, members: list[_Ready], pin: bool, source: LightLike | None = None) -> torch.Tensor:
    """One forward pass over ``members``, the result on the host; an any-to-any model gets each member's
    target light (and ``source``). Stacked here, on the thread that runs the pass: on the calling
    thread's OpenMP team the copy would leave its threads spinning."""
    rgb, depth = _stack([r.rgb for r in members], pin), _stack([r.depth for r in members], pin)
    light = None
    if relighter.illumination.any_to_any:
        light = encode_lights([r.output.target for r in members if r.output is not None], source)  # type: ignore[misc]
    return relighter.relight_tensor(rgb, depth, light).cpu()


def _run_here(fn: Callable[[], torch.Tensor]) -> Future[torch.Tensor]:
    """Run ``fn`` here and now, as a future, so that inline and pooled forward passes are handled alike."""
    future: Future[torch.Tensor] = Future()
    try:
        future.set_result(fn())
    except RelightError as exc:
        future.set_exception(exc)
    return future


def _header_pixels(pairs: list[InferencePair]) -> int:
    """The first image's pixels as its header gives them (1 when there is none, or it cannot be read:
    decoding it says why)."""
    try:
        return max(1, math.prod(image_size(pairs[0].image))) if pairs else 1
    except RelightError:
        return 1


def finished(output: Path) -> bool:
    """Whether ``output`` is a finished output that a resumed batch skips: relight writes its outputs
    whole (atomically), so an empty file is not one."""
    return output.is_file() and output.stat().st_size > 0


def check_batch_outputs(pairs: list[InferencePair], out_dir: Path, output: OutputOptions,
                        names: Iterable[str] | None = None) -> None:
    """Refuse, before any work: an output type or bit depth that cannot be written, an output folder that
    cannot be, one where an output would land on an input (with ``overwrite`` the photos themselves
    would be replaced), and the images' own folder (the outputs would be taken for images). ``names``: the output file
    names (:func:`relight.inference.naming.plan_outputs`), by default each pair's stem and ``output.ext``."""
    check_output_dir(out_dir, output.ext, output.bit_depth)
    names = names if names is not None else (f"{pair.stem}{output.ext}" for pair in pairs)
    refuse_replacing_inputs((out_dir / name for name in names),
                            (path for pair in pairs for path in (pair.image, pair.depth)), "choose another output folder")
    if os.path.realpath(out_dir) in {os.path.realpath(pair.image.parent) for pair in pairs}:
        raise OutputFileError(out_dir, "is the folder of the images: the outputs would sit among them, and the next batch would "
                                       "take them for images; choose another output folder")


def early_names(pairs: list[InferencePair], to: Sequence[Light | None], ext: str, name: str | None = None,
                source: LightLike | None = None) -> list[str]:
    """The output file names of a batch as far as they are known before the model loads, for
    :func:`check_batch_outputs`: all of them, unless they need the model's own target (None in ``to``,
    recorded in the model), which only :func:`batch_plan` knows."""
    if None in to and (len(to) > 1 or (name is not None and "target" in template_fields(name))):
        return []
    return [planned.name for outputs in plan_outputs(pairs, list(to), ext, name, source) for planned in outputs]


class _Pipeline:
    """The forward passes and writes of one batch in flight: images of one size are grouped, each group
    goes through the network (in a stream thread, or here when it is large), and its outputs to the
    writer threads; each pair's outcome goes into ``summary`` and to ``report``."""

    def __init__(self, relighter: Relighter, out_dir: Path, output: OutputOptions, options: BatchOptions, streams: int,
                 summary: BatchSummary, report: Callable[[str], None], pool: ThreadPoolExecutor, net: ThreadPoolExecutor | None,
                 source: LightLike | None = None) -> None:
        self.relighter, self.out_dir, self.output, self.summary, self.report = relighter, out_dir, output, summary, report
        self.pool, self.net, self.source = pool, net, source
        self.batch_size, self.workers, self.streams = options.batch_size, options.workers, streams
        self.auto = options.streams is None  # the default streams: a large group runs alone
        self.pin = relighter.device.type == "cuda"
        self.writes: deque[tuple[Path, Future[Path]]] = deque()
        self.forwards: deque[tuple[list[_Ready], Future[torch.Tensor]]] = deque()
        self.group: list[_Ready] = []
        # The group size for the last image's size, which sets how far ahead to decode (one until it is known).
        self.limit = self.batch_size or 1
        #: The last image's pixels at full resolution (before the first, its header's): how many to hold.
        self.full_pixels = 1
        self.disk_full = 0

    @property
    def stopped(self) -> bool:
        """Whether the output folder was given up on: :data:`DISK_FULL_LIMIT` full-disk errors so far."""
        return self.disk_full >= DISK_FULL_LIMIT

    def ahead(self) -> int:
        """How many pairs to decode ahead of the network: enough to keep it busy, and within
        :data:`AHEAD_PIXELS` at the images' size (a group and one more at least)."""
        return min(2 * self.workers + (self.streams + 1) * self.limit, max(self.limit + 1, AHEAD_PIXELS // self.full_pixels))

    def waiting(self) -> int:
        """How many results may wait for the writers: within :data:`AHEAD_PIXELS` (one per writer at least)."""
        return min(2 * self.workers + self.limit, max(self.workers, AHEAD_PIXELS // self.full_pixels))

    def fail(self, path: Path, error: RelightError, outputs: int = 1) -> None:
        """One pair's failure (``outputs``: how many of its outputs it stops); once the folder is given up
        on, a full disk only counts them as not written."""
        if isinstance(error, DiskFullError):
            if self.stopped:
                self.summary.unwritten.extend([path] * outputs)
                for _ in range(outputs):
                    self.report("failed")
                return
            self.disk_full += 1
        self.summary.failures.append((path, error))
        self.summary.failed_outputs += outputs
        for _ in range(outputs):
            self.report("failed")

    def give_up(self, target: Path) -> None:
        """An output not tried: the folder's disk is full."""
        self.summary.unwritten.append(target)
        self.report("failed")

    def add(self, decoded: _Ready, outputs: list[Output]) -> None:
        """One decoded pair joins the group of its size, once per output; a full group (or one of another
        size) is relit."""
        for output in outputs:
            ready = replace(decoded, output=output)
            if self.group and ready.size != self.group[0].size:
                self.flush()
            self.group.append(ready)
            self.full_pixels = max(1, ready.size[0] * ready.size[1])
            self.limit = self.batch_size or auto_batch_size(*self.relighter.run_size(ready.size), full=ready.size)
            if len(self.group) >= self.limit:
                self.flush()

    def collect(self, keep: int) -> None:
        """Wait for finished writes until at most ``keep`` are pending (bounds the memory they hold);
        an image counts as done once its file is written."""
        while len(self.writes) > keep:
            target, write = self.writes.popleft()
            try:
                self.summary.done.append(write.result())
                self.report("done")
            except RelightError as exc:
                self.fail(target, exc)

    def settle(self, keep: int) -> None:
        """Hand the oldest forward passes' results to the writers until at most ``keep`` are running."""
        while len(self.forwards) > keep:
            members, result = self.forwards.popleft()
            try:
                out = result.result()
            except RelightError as exc:
                for ready in members:
                    self.fail(ready.decoded.pair.image, exc)
                continue
            for i, ready in enumerate(members):
                assert ready.output is not None
                target = self.out_dir / ready.output.name
                if self.stopped:
                    self.give_up(target)
                    continue
                rgb = out[i].permute(1, 2, 0).numpy()
                self.writes.append((target, self.pool.submit(self.output.write, target, rgb, ready.decoded.image.alpha, ready.decoded.image.meta)))
            self.collect(keep=self.waiting())

    def flush(self) -> None:
        """Relight the group: in a stream thread, or here on every thread when it is large."""
        if not self.group:
            return
        members = list(self.group)
        self.group.clear()
        forward = partial(_relight_group, self.relighter, members, self.pin, self.source)
        height, width = self.relighter.run_size(members[0].size)
        if self.net is None or (self.auto and len(members) * height * width > GROUP_PIXELS):
            self.settle(keep=0)  # a large group runs alone, here, on every thread
            self.forwards.append((members, _run_here(forward)))
            self.settle(keep=0)
        else:
            self.forwards.append((members, self.net.submit(forward)))
            self.settle(keep=self.streams)

    def finish(self) -> None:
        """Relight what is left and wait for every write."""
        self.flush()
        self.settle(keep=0)
        self.collect(keep=0)


def _to_do(plan: list[list[Output]], out_dir: Path, overwrite: bool, summary: BatchSummary,
           report: Callable[[str], None]) -> list[tuple[InferencePair, list[Output]]]:
    """The pairs to relight, each with its outputs still to write: not those already finished (unless
    ``overwrite``), nor those that are a folder or that of an earlier pair (failures)."""
    todo = []
    claimed: dict[Path, InferencePair] = {}
    for outputs in plan:
        pending = []
        for output in outputs:
            pair, target = output.pair, out_dir / output.name
            if target in claimed:
                summary.failures.append((pair.image, OutputFileError(
                    target, f"{pair.image}: its output {target} is also that of {claimed[target].image}; rename one of them")))
                summary.failed_outputs += 1
                report("failed")
                continue
            claimed[target] = pair
            if target.is_dir():
                summary.failures.append((pair.image, OutputFileError(target, "a folder is where this output goes; move it away")))
                summary.failed_outputs += 1
                report("failed")
            elif not overwrite and finished(target):
                summary.skipped.append(target)
                report("skipped")
            else:
                pending.append(output)
        if pending:
            todo.append((pending[0].pair, pending))
    return todo


def batch_plan(relighter: Relighter, pairs: list[InferencePair], *, ext: str = ".png", to: Sequence[LightLike | None] | None = None,
               source: LightLike | None = None, name: str | None = None) -> list[list[Output]]:
    """Each pair's outputs for ``to`` (checked against the model: a one-to-one model refuses another
    target) named by ``name`` (:func:`relight.inference.naming.plan_outputs`); refused before any work."""
    lights = list(dict.fromkeys(relighter.lights(target, source)[0] for target in (to or [None])))
    return plan_outputs(pairs, lights, ext, name, source)


def run_batch(
    relighter: Relighter,
    pairs: list[InferencePair],
    out_dir: str | os.PathLike[str],
    *,
    output: OutputOptions = OutputOptions(),
    options: BatchOptions = BatchOptions(),
    overwrite: bool = False,
    to: Sequence[LightLike | None] | None = None,
    source: LightLike | None = None,
    name: str | None = None,
    depth_kind: str = "auto",
    estimate: Callable[[np.ndarray], np.ndarray] | None = None,
    on_item: Callable[[str], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> BatchSummary:
    """Relight ``pairs`` into ``out_dir/<stem><output.ext>``; ``on_item`` is called once per output (progress), with
    ``"done"``, ``"failed"`` or ``"skipped"`` (an output already there; an empty file is not one, since
    outputs are written whole, and is redone).

    Up to ``options.batch_size`` consecutive images of the same size go through the network together (by
    default :func:`auto_batch_size` of the size the network runs at), and up to ``options.streams`` such
    groups at once (:func:`plan_streams`), the torch threads split between them; the outputs are the
    same either way. Decoding runs ahead and encoding behind in ``options.workers`` threads, so the model
    does not wait on files.

    Before the work, the temporaries that killed relight processes left in ``out_dir`` are removed
    (``summary.removed``; a live process's stay). After :data:`DISK_FULL_LIMIT` full-disk errors the
    outputs left are not tried: they are ``summary.unwritten``, each reported to ``on_item`` as ``"failed"``.

    Each output is written as ``output`` says (:class:`relight.io.OutputOptions`) and keeps its input's
    colour profile, EXIF and alpha, and, with ``output.bit_depth`` None, its bit depth where the type
    holds it.

    Depth files are read as ``depth_kind`` says (:func:`relight.io.depth.to_normalised`); an image with
    none gets ``estimate(rgb)`` (a :class:`relight.depth.estimation.DepthEstimator`; ``summary.estimated``
    lists them), or fails without it.

    ``to`` lists the lights to relight to (an any-to-any model; default: the model's own target) and
    ``source`` the inputs' light if known; each target is an output, named by the template ``name``
    (:mod:`relight.inference.naming`: one target keeps the stem, several append it).
    """
    out_dir = Path(out_dir)
    plan = batch_plan(relighter, pairs, ext=output.ext, to=to, source=source, name=name)
    check_batch_outputs(pairs, out_dir, output, [planned.name for outputs in plan for planned in outputs])
    depth_kind = check_depth_kind(depth_kind)
    streams = plan_streams(relighter, options.streams)
    start = time.perf_counter()
    summary = BatchSummary(removed=remove_stale_temporaries(out_dir))

    def report(kind: str) -> None:
        if on_item:
            on_item(kind)

    todo = _to_do(plan, out_dir, overwrite, summary, report)
    threads = torch.get_num_threads()
    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(ThreadPoolExecutor(options.workers, thread_name_prefix="relight-io"))
        stack.enter_context(cudnn_autotune(relighter.device))
        net = None
        if streams > 1:
            # Each stream thread sets its own OpenMP team size once, before its first forward pass.
            net = stack.enter_context(ThreadPoolExecutor(streams, thread_name_prefix="relight-net", initializer=torch.set_num_threads,
                                                         initargs=(max(1, threads // streams),)))
            stack.callback(torch.set_num_threads, threads)  # the setting is also process-wide: restore it
        pipeline = _Pipeline(relighter, out_dir, output, options, streams, summary, report, pool, net, source)
        pipeline.full_pixels = _header_pixels([pair for pair, _ in todo[:1]])
        consumed = 0
        decode = partial(_decode, pin=pipeline.pin, depth_kind=depth_kind, estimate=estimate)
        for (pair, future), (_, outputs) in zip(_prefetch(decode, [pair for pair, _ in todo], pool, pipeline.ahead), todo):
            if pipeline.stopped:
                break
            consumed += 1
            try:
                ready = future.result()
            except RelightError as exc:
                pipeline.fail(pair.image, exc, len(outputs))
                continue
            for warning in ready.decoded.warnings:
                if on_warning:
                    on_warning(warning)
            if ready.decoded.estimated:
                summary.estimated.append(pair.image)
            pipeline.add(ready, outputs)
        pipeline.finish()
        for _, outputs in todo[consumed:]:  # the output folder was given up on
            for planned in outputs:
                pipeline.give_up(out_dir / planned.name)
    summary.seconds = time.perf_counter() - start
    return summary


__all__ = ["AHEAD_PIXELS", "DISK_FULL_LIMIT", "GROUP_FULL_PIXELS", "GROUP_PIXELS", "BatchOptions", "BatchSummary", "auto_batch_size", "batch_plan",
           "check_batch_outputs", "early_names", "finished", "plan_streams", "run_batch"]
