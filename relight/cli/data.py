"""``relight data``: inspect VIDIT-format data folders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from relight.cli._console import console, out_console
from relight.cli._options import DepthDirOpt, GtDirOpt, JsonFlagOpt, SourceOpt, TargetOpt, emit_json
from relight.train.config import IDENTITY_PAIRS

app = typer.Typer(help="Inspect VIDIT-format data folders.", no_args_is_help=True)

#: Skipped inputs listed one per line before the rest are counted (``--json`` has them all).
SHOWN_SKIPPED = 20
#: Rows of an any-to-any draw shown in the table unless ``--sample`` says otherwise.
SAMPLE_ROWS = 12


@dataclass(frozen=True)
class DrawOptions:
    """``data pairs --any-to-any``'s options for the draw, as ``train --any-to-any`` takes them."""

    sources: str
    targets: str
    per_epoch: int | None
    withhold_source: float
    identity: float
    claims: float
    seed: int
    epoch: int
    sample: int
    mirror: bool


def _relative(path: Path | None, root: Path) -> str:
    if path is None:
        return "-"
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


@app.command("pairs")
def pairs(
    data: Annotated[Path, typer.Argument(help="Any-to-any VIDIT folder, one-to-one train folder (input/ + target/), validation or generic folder.")],
    source: SourceOpt = "6500-N",
    target: TargetOpt = "4500-E",
    neighbours: Annotated[bool, typer.Option("--neighbours/--no-neighbours", help="Add inputs lit from the two directions next to the source (paper's extra data).")] = True,
    mirror: Annotated[bool, typer.Option("--mirror/--no-mirror", help="Add flipped pairs at the mirrored directions (E<->W).")] = True,
    gt_dir: GtDirOpt = None,
    depth_dir: DepthDirOpt = None,
    any_to_any: Annotated[bool, typer.Option("--any-to-any", help="Any-to-any pairs as `relight train --any-to-any` draws them: the counts and one epoch's sample.")] = False,
    sources: Annotated[str, typer.Option(help="--any-to-any: source lights, comma-separated (e.g. 6500-N,4500-E) or all.")] = "all",
    targets: Annotated[str, typer.Option(help="--any-to-any: target lights, as --sources.")] = "all",
    pairs_per_epoch: Annotated[Optional[int], typer.Option(min=1, help="--any-to-any: pairs drawn per epoch (default: 4 per scene).")] = None,
    withhold_source: Annotated[float, typer.Option(min=0.0, max=1.0, help="--any-to-any: probability that a pair hides its source light.")] = 0.5,
    identity_pairs: Annotated[float, typer.Option(min=0.0, max=1.0, help="--any-to-any: share of identity pairs (source = target), as train's --identity-pairs.")] = IDENTITY_PAIRS,
    identity_claims: Annotated[float, typer.Option(min=0.0, max=1.0, help="--any-to-any: share of the identity pairs told their source that are told a light drawn at random, as train's --identity-claims.")] = 0.0,
    seed: Annotated[int, typer.Option(help="--any-to-any: seed of the draw, as train's --seed.")] = 0,
    epoch: Annotated[int, typer.Option(min=1, help="--any-to-any: the epoch whose draw is shown (1 is the first).")] = 1,
    sample: Annotated[int, typer.Option(min=0, help="--any-to-any: rows of the draw shown in the table (--json has them all).")] = SAMPLE_ROWS,
    json_out: JsonFlagOpt = False,
) -> None:
    """List the (input, depth, target) pairs training or evaluation would use, and what was left out."""
    from relight.data.vidit import Setting, load_pairs

    if any_to_any:
        draw = DrawOptions(sources, targets, pairs_per_epoch, withhold_source, identity_pairs, identity_claims, seed, epoch,
                           sample, mirror)
        _any_to_any_pairs(data, draw, depth_dir, json_out)
        return
    src, tgt = Setting.parse(source), Setting.parse(target)
    found = load_pairs(data, src, tgt, neighbours, mirror, gt_dir=gt_dir, depth_dir=depth_dir)
    if json_out:
        emit_json({**found.to_dict(), "source": str(src), "target": str(tgt)})
        return
    for note in found.notes:
        console.print(f"[dim]{note}[/dim]")
    _skipped(found.skipped)
    table = Table(title=f"{len(found.pairs)} pair{'' if len(found.pairs) == 1 else 's'}, {found.layout} layout, in {data}")
    table.add_column("#", justify="right")
    for column in ("input", "target", "depth"):
        table.add_column(column, overflow="fold")
    table.add_column("flip")
    table.add_column("origin", no_wrap=True)
    for i, pair in enumerate(found.pairs, 1):
        table.add_row(
            str(i), _relative(pair.input, data), _relative(pair.target, data), _relative(pair.depth, data),
            "yes" if pair.flip else "", pair.origin,
        )
    out_console.print(table)


def _skipped(skipped: list[str]) -> None:
    for reason in skipped[:SHOWN_SKIPPED]:
        console.print(f"[yellow]skipped:[/yellow] {reason}")
    if len(skipped) > SHOWN_SKIPPED:
        console.print(f"[yellow]... and {len(skipped) - SHOWN_SKIPPED} more skipped (see --json)[/yellow]")


def _any_to_any_pairs(data: Path, draw: DrawOptions, depth_dir: Path | None, json_out: bool) -> None:
    """The counts of the any-to-any pairs of ``data`` and the pairs one epoch draws (a table, or JSON)."""
    from relight.data.anytoany import PairSampler, lights_text, load_scenes, parse_lights

    sources, targets = parse_lights(draw.sources, "sources", None), parse_lights(draw.targets, "targets", None)
    scenes, skipped = load_scenes([data], depth_dir)
    sampler = PairSampler(scenes, sources, targets, draw.per_epoch, draw.seed, draw.mirror, draw.withhold_source,
                          identity=draw.identity, claimed=draw.claims)
    drawn = sampler.draw(draw.epoch - 1)
    counts = {**sampler.counts(), "identity_pairs": sum(p.identity for p in drawn)}
    if json_out:
        emit_json({"root": str(data), "layout": "any-to-any", **counts, "sources": lights_text(sources),
                   "targets": lights_text(targets), "seed": draw.seed, "epoch": draw.epoch,
                   "pairs": [p.to_dict() for p in drawn], "skipped": list(skipped)})
        return
    _skipped(skipped)
    if counts["pairs_per_epoch"] > counts["possible_pairs"]:
        console.print("[dim]more pairs per epoch than possible pairs: an epoch draws some twice[/dim]")
    counts_table = Table(title=f"any-to-any pairs in {data}")
    for column in ("scenes", "sources", "targets", "possible pairs", "per epoch", "identity"):
        counts_table.add_column(column, justify="right")
    counts_table.add_row(str(counts["scenes"]), lights_text(sources), lights_text(targets),
                         str(counts["possible_pairs"]), str(counts["pairs_per_epoch"]), str(counts["identity_pairs"]))
    out_console.print(counts_table)
    shown = drawn[: draw.sample]
    table = Table(title=f"epoch {draw.epoch} (seed {draw.seed}): {len(shown)} of {len(drawn)} drawn pairs")
    table.add_column("#", justify="right")
    table.add_column("scene")
    table.add_column("light", no_wrap=True)
    for column in ("input", "target"):
        table.add_column(column, overflow="fold")
    table.add_column("flip")
    for i, pair in enumerate(shown, 1):
        table.add_row(str(i), pair.scene, pair.mapping, _relative(pair.input, data), _relative(pair.target, data),
                      "yes" if pair.flip else "")
    out_console.print(table)
