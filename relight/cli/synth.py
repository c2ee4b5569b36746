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
    size: Annotated[str, typer.Option(metavar="N|HxW", help="Image size: N for N x N, or HxW (height x width).")] = "128",
    seed: Annotated[int, typer.Option(help="Data set seed; scene I depends only on (seed, I) and the options below.")] = 0,
    start_index: Annotated[int, typer.Option("--start-index", help="Index of the first scene (Image300... for a held-out set).")] = 0,
    family: Annotated[list[str] | None, typer.Option(metavar="NAME",
        help="Scene family: world (the default: the widest scenes), a part of it such as indoor, tilted, shiny, "
             "photographic; classic (the bundled models' scenes), wide, or a classic sub-range such as low-camera; "
             "repeat to combine families of one generator that set different parameters.")] = None,
    vary: Annotated[list[str] | None, typer.Option(metavar="NAME=LOW:HIGH",
        help="Narrow one parameter, e.g. fov=40:60, roll=0, objects=4, materials=metal,glossy; repeatable, "
             "applied after --family (without --family, to the world).")] = None,
    renderer: Annotated[str, typer.Option(metavar="ray|raster",
        help="ray (exact ray casting) or raster (z-buffer, shadow maps, its own shading and textures), "
             "for held-out scenes drawn differently.")] = "ray",
    masks: Annotated[bool, typer.Option("--masks",
        help="Also write each light direction's shadow mask, OUT/masks/ImageNNN_DIR.png (255 where that light "
             "does not reach).")] = False,
) -> None:
    """Render synthetic scenes in the VIDIT any-to-any format (8 light directions x 5 colour temperatures)."""
    from relight.data.synth import DEFAULT_FAMILY, check_dataset_options, image_shape, masks_folder, parse_vary, scene_ranges, write_dataset
    from relight.data.synth.dataset import parse_image_size

    shape = parse_image_size(size)
    ranges = scene_ranges(family or (), dict(parse_vary(text) for text in vary or ()))
    drawn_from = "+".join(family or [DEFAULT_FAMILY]) + "".join(f" {text}" for text in vary or ())
    check_dataset_options(out, scenes, shape, start_index, seed, renderer)
    with tracked("rendering", total=scenes, unit="scene") as counter:
        written = write_dataset(out, scenes, shape, seed=seed, start_index=start_index, ranges=ranges, renderer=renderer,
                                masks=masks, on_scene=lambda _index: counter.advance())
        seconds = counter.elapsed()
    table = Table(title=f"relight synth -> {out} ({drawn_from}, {renderer} renderer)")
    for column in ("scenes", "images", "masks", "size", "first", "seed", "time", "rate"):
        table.add_column(column, justify="right")
    height, width = image_shape(shape)
    table.add_row(
        str(scenes), str(sum(p.suffix == ".png" and p.parent == out for p in written)),
        str(sum(p.parent == masks_folder(out) for p in written)), f"{height}x{width}", f"Image{start_index:03d}", str(seed),
        f"{seconds:.1f} s", rate_text(scenes, seconds, "scene"),
    )
    out_console.print(table)
