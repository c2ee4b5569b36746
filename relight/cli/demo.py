"""``relight demo``: the bundled examples relit by the bundled model, scored beside the identity baseline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from relight.cli._console import console
from relight.cli._options import BackendOpt, DeviceOpt, PrecisionOpt, WeightsOpt, check_report_outputs, emit_text, make_relighter, tables_console

if TYPE_CHECKING:
    from relight.inference.relighter import Relighter


def demo(
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Where the relit examples go.")] = Path(".demo"),
    weights: WeightsOpt = None,
    device: DeviceOpt = None,
    precision: PrecisionOpt = None,
    backend: BackendOpt = None,
    json_out: Annotated[Optional[str], typer.Option("--json", metavar="FILE|-", help="Also write both reports as JSON to FILE, or to stdout with -.")] = None,
) -> None:
    """Relight the bundled example scenes with the default model (or --weights) and score them next to the identity baseline."""
    from relight.io import json_text

    check_report_outputs(json_out)
    relighter = make_relighter(weights, device, precision, None, backend=backend)
    report = _show(relighter, output_dir, json_out)
    emit_text(json_text(report), json_out)
    if report["model"]["failed"]:
        raise typer.Exit(1)


def _show(relighter: Relighter, output_dir: Path, json_out: str | None) -> dict[str, Any]:
    """One model's demo: relit, scored beside the identity, the tables printed; its report as JSON data."""
    from relight.cli._tables import print_gain_table, print_score_table
    from relight.demo import run_demo

    result = run_demo(relighter, output_dir)
    tables = tables_console(json_out)
    if result.mappings:
        others = ", ".join(mapping.partition(" -> ")[2] for mapping in result.mappings[1:])
        console.print(f"relighting {result.mappings[0]} (scored: the examples' ground truth)" + (f", and to {others}" if others else ""), soft_wrap=True)
    print_score_table(result.model, tables, title=f"relit examples -> {result.out_dir}")
    print_gain_table(result.model, result.identity, tables, "model vs identity baseline (input image taken as the answer)")
    if result.sheet is not None:
        console.print(f"wrote {len(result.versions)} versions at other lights (no ground truth: for looking at) and the "
                      f"contact sheet {result.sheet}", soft_wrap=True)
    report: dict[str, Any] = {"weights": relighter.loaded.source, "model": result.model.to_dict(), "identity": result.identity.to_dict()}
    if result.mappings:
        report |= {"mappings": result.mappings, "versions": [str(path) for path in result.versions],
                   "sheet": str(result.sheet) if result.sheet else None}
    return report
