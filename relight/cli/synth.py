"""``relight synth``: render a synthetic data set in the VIDIT any-to-any format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from relight.cli._console import out_console
from relight.cli._progress import rate_text, tracked


def synth(
    out: Annotated[Path, typer.Argument(help="Folder to write the any-to-any data set into (created if needed).")],
    scenes: Annotated[int, typer.Option(help="Number of scenes (40 images and one depth file each).")] = 10,
    size: Annotated[int, typer.Option(help="Image width and height in pixels.")] = 128,
    seed: Annotated[int, typer.Option(help="Data set seed; scene I depends only on (seed, I) and the options below.")] = 0,
    start_index: Annotated[int, typer.Option("--start-index", help="Index of the first scene (Image300... for a held-out set).")] = 0,
    family: Annotated[list[str] | None, typer.Option(metavar="NAME",
        help="Scene family: classic (the default), wide (every range in full), or a sub-range such as low-camera, "
             "soft-light, other-shapes; repeat to combine families that set different parameters.")] = None,
    vary: Annotated[list[str] | None, typer.Option(metavar="NAME=LOW:HIGH",
        help="Narrow one parameter, e.g. camera_height=0.8:1.2, objects=4, shapes=cone,capsule; repeatable, "
             "applied after --family (without --family, on the wide ranges).")] = None,
    renderer: Annotated[str, typer.Option(metavar="ray|raster",
        help="ray (exact ray casting, Lambertian) or raster (z-buffer, shadow maps, Oren-Nayar and Blinn-Phong), "
             "for held-out scenes drawn differently.")] = "ray",
) -> None:
    """Render synthetic scenes in the VIDIT any-to-any format (8 light directions x 5 colour temperatures)."""
    from relight.data.synth import DEFAULT_FAMILY, check_dataset_options, parse_vary, scene_ranges, write_dataset

    ranges = scene_ranges(family or (), dict(parse_vary(text) for text in vary or ()))
    drawn_from = "+".join(family or ["wide" if vary else DEFAULT_FAMILY]) + "".join(f" {text}" for text in vary or ())
    check_dataset_options(out, scenes, size, start_index, seed, renderer)
    with tracked("rendering", total=scenes, unit="scene") as counter:
        written = write_dataset(out, scenes, size, seed=seed, start_index=start_index, ranges=ranges, renderer=renderer,
                                on_scene=lambda _index: counter.advance())
        seconds = counter.elapsed()
    table = Table(title=f"relight synth -> {out} ({drawn_from}, {renderer} renderer)")
    for column in ("scenes", "images", "size", "first", "seed", "time", "rate"):
        table.add_column(column, justify="right")
    table.add_row(
        str(scenes), str(sum(p.suffix == ".png" for p in written)), f"{size}x{size}", f"Image{start_index:03d}",
        str(seed),
        f"{seconds:.1f} s", rate_text(scenes, seconds, "scene"),
    )
    out_console.print(table)
