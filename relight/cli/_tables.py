"""Score tables: per-image scores with their means and what was left out, and a model against a baseline."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from relight.evaluation.evaluate import AnyToAnyReport
    from relight.evaluation.score import ScoreReport

#: Column headings, with the direction that is better (the order of :data:`relight.evaluation.score.METRICS`).
METRIC_LABELS = {"psnr": "PSNR (dB) ↑", "ssim": "SSIM ↑", "lpips": "LPIPS ↓", "mps": "MPS ↑"}


def score_text(metric: str, value: float | None) -> str:
    """A score as the tables show it: PSNR in dB to 2 places (``inf`` for identical images), others to 4."""
    if value is None:
        return "-"
    if metric == "psnr":
        return f"{value:.2f}" if math.isfinite(value) else "inf"
    return f"{value:.4f}"


def print_score_table(report: ScoreReport, console: Console, title: str = "scores") -> None:
    """Per-image table with a mean row, then what was left out and why."""
    table = Table(title=title)
    table.add_column("image")
    for m in report.metrics:
        table.add_column(METRIC_LABELS[m], justify="right")
    for row in report.rows:
        table.add_row(row.name, *(score_text(m, getattr(row, m)) for m in report.metrics))
    if report.rows:
        table.add_section()
        means = report.means
        table.add_row(f"[bold]mean ({len(report.rows)})[/bold]", *(f"[bold]{score_text(m, means[m])}[/bold]" for m in report.metrics))
    console.print(table)
    _print_left_out(report, console)


def _print_left_out(report: ScoreReport, console: Console) -> None:
    """What a report could not score, and why: LPIPS, files without a partner, unreadable images."""
    if report.lpips_skipped:
        console.print(f"[yellow]LPIPS and MPS skipped:[/yellow] {report.lpips_skipped}", soft_wrap=True)
    if report.missing_predictions:
        console.print(
            f"[yellow]{len(report.missing_predictions)} ground-truth image(s) have no prediction[/yellow] "
            f"(not in the means): {', '.join(report.missing_predictions)}",
            soft_wrap=True,
        )
    if report.missing_ground_truth:
        console.print(
            f"[yellow]{len(report.missing_ground_truth)} prediction(s) have no ground truth[/yellow] "
            f"(not scored): {', '.join(report.missing_ground_truth)}",
            soft_wrap=True,
        )
    for failure in report.failed:
        console.print(f"[red]not scored:[/red] {failure.reason}", soft_wrap=True)
    if report.failed:
        console.print(f"[red]{len(report.failed)} image(s) could not be scored[/red] (not in the means)")


def print_gain_table(model: ScoreReport, identity: ScoreReport, console: Console, title: str) -> None:
    """Mean scores of a model and of the identity baseline (input as output) on the same images, and the gain."""
    ours, theirs = model.means, identity.means
    table = Table(title=title)
    table.add_column("")
    for m in model.metrics:
        table.add_column(METRIC_LABELS[m], justify="right")
    table.add_row("model", *(f"{ours[m]:.4f}" for m in model.metrics))
    table.add_row("identity", *(f"{theirs[m]:.4f}" for m in model.metrics))
    table.add_row("[bold]gain[/bold]", *(f"[bold]{ours[m] - theirs[m]:+.4f}[/bold]" for m in model.metrics))
    console.print(table)


def print_light_tables(report: AnyToAnyReport, console: Console, title: str) -> None:
    """An any-to-any evaluation: mean scores by target direction, then by target temperature, each with
    the identity's PSNR and the gain over it, then what could not be scored."""
    for heading, groups in (("target direction", report.by_direction()), ("target temperature (K)", report.by_temperature())):
        table = Table(title=f"{title}: by {heading}")
        table.add_column(heading.split(" (")[0])
        for column in ("pairs", METRIC_LABELS["psnr"], METRIC_LABELS["ssim"], "identity PSNR", "gain (dB)"):
            table.add_column(column, justify="right")
        rows = [*groups.items(), ("[bold]all[/bold]", report.summary())]
        for i, (key, values) in enumerate(rows):
            if i == len(rows) - 1:
                table.add_section()
            table.add_row(key, str(values["count"]), score_text("psnr", values["psnr"]), score_text("ssim", values["ssim"]),
                          score_text("psnr", values["identity_psnr"]),
                          "-" if values["gain_psnr"] is None else f"{values['gain_psnr']:+.2f}")
        console.print(table)
    for failure in report.failed:
        console.print(f"[red]not scored:[/red] {failure.reason}", soft_wrap=True)
    if report.failed:
        console.print(f"[red]{len(report.failed)} pair(s) could not be scored[/red] (not in the means)")
