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
    """Relight the bundled example scenes with the bundled models and score them next to the identity baseline."""
    from relight.io import json_text

    check_report_outputs(json_out)
    relighter = make_relighter(weights, device, precision, None, backend=backend)
    report = _show(relighter, output_dir, json_out, "")
    failed = bool(report["model"]["failed"])
    if weights is None and not relighter.illumination.any_to_any:  # the bundled default is one-to-one: show choosing the light too
        from relight.weights.registry import shipped_default_any_to_any

        name = shipped_default_any_to_any()
        if name is not None:
            console.print(f"and the any-to-any model {name}, which chooses the light (--to):", soft_wrap=True)
            report["any_to_any"] = _show(make_relighter(name, device, precision, None, backend=backend), output_dir / "any-to-any", json_out, f" ({name})")
            failed = failed or bool(report["any_to_any"]["model"]["failed"])
    emit_text(json_text(report), json_out)
    if failed:
        raise typer.Exit(1)


def _show(relighter: Relighter, output_dir: Path, json_out: str | None, label: str) -> dict[str, Any]:
    """One model's demo: relit, scored beside the identity, the tables printed; its report as JSON data."""
    from relight.cli._tables import print_gain_table, print_score_table
    from relight.demo import run_demo

    result = run_demo(relighter, output_dir)
    tables = tables_console(json_out)
    if result.mappings:
        others = ", ".join(mapping.partition(" -> ")[2] for mapping in result.mappings[1:])
        console.print(f"relighting {result.mappings[0]} (scored: the examples' ground truth)" + (f", and to {others}" if others else ""), soft_wrap=True)
    print_score_table(result.model, tables, title=f"relit examples{label} -> {result.out_dir}")
    print_gain_table(result.model, result.identity, tables, f"model{label} vs identity baseline (input image taken as the answer)")
    if result.sheet is not None:
        console.print(f"wrote {len(result.versions)} versions at other lights (no ground truth: for looking at) and the "
                      f"contact sheet {result.sheet}", soft_wrap=True)
    report: dict[str, Any] = {"model": result.model.to_dict(), "identity": result.identity.to_dict()}
    if result.mappings:
        report |= {"mappings": result.mappings, "versions": [str(path) for path in result.versions],
                   "sheet": str(result.sheet) if result.sheet else None}
    return report
