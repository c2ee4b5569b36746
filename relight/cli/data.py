"""``relight data``: inspect VIDIT-format data folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from relight.cli._console import console, out_console
from relight.cli._options import DepthDirOpt, GtDirOpt, JsonFlagOpt, SourceOpt, TargetOpt, emit_json

app = typer.Typer(help="Inspect VIDIT-format data folders.", no_args_is_help=True)

#: Skipped inputs listed one per line before the rest are counted (``--json`` has them all).
SHOWN_SKIPPED = 20


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
    json_out: JsonFlagOpt = False,
) -> None:
    """List the (input, depth, target) pairs training or evaluation would use, and what was left out."""
    from relight.data.vidit import Setting, load_pairs

    src, tgt = Setting.parse(source), Setting.parse(target)
    found = load_pairs(data, src, tgt, neighbours, mirror, gt_dir=gt_dir, depth_dir=depth_dir)
    if json_out:
        emit_json({**found.to_dict(), "source": str(src), "target": str(tgt)})
        return
    for note in found.notes:
        console.print(f"[dim]{note}[/dim]")
    for reason in found.skipped[:SHOWN_SKIPPED]:
        console.print(f"[yellow]skipped:[/yellow] {reason}")
    if len(found.skipped) > SHOWN_SKIPPED:
        console.print(f"[yellow]... and {len(found.skipped) - SHOWN_SKIPPED} more skipped (see --json)[/yellow]")
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
