"""How much of a held-out set's change of light does the depth map alone explain? (issue 22)

The classical relighting of a diffuse scene multiplies each pixel, in linear light, by the ratio of the
target light's shading to the source light's. This computes that ratio from the depth map as the shading
hints do (:mod:`relight.model.hints`: normals from depth, each light on the default ring of the lights'
convention, a point light's cosine over the squared distance), plus an ambient term of ``--ambient``
times the median shading, and scores it on seeded (scene, source, target) triples of any-to-any folders,
beside identity and the colour-tint oracle. No network is trained or run.

* **told**: the source light is told;
* **estimated**: the source's direction is taken as the one whose shading (with the ambient term)
  correlates best with the log luminance of the source image;
* **+ tint**: the same with the tint oracle's per-channel gains fitted on top, peeking at the answer's
  colour, so that it scores the ratio's shape over the image alone.

A ratio that gains much on a set says that the set's change of light is mostly the broad diffuse shape
that the default camera and rig predict from the depth; one that loses says they do not fit it (another
camera or rig, or depth as users have it: noisy, holed, disparity-like).

    .venv/bin/python benchmarks/shading_ratio.py /tmp/gen48/renderer-judge /tmp/world --triples 400 \\
        --json runs/ratio.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from judge.measures import as_saved, psnr, tint_oracle
from judge.triples import complete_scenes, sample_triples
from relight.data.synth.colour import srgb_decode, srgb_encode
from relight.data.vidit import Scene
from relight.io import read_image
from relight.io.depth import read_depth
from relight.lighting import DIRECTIONS, Light, encode_lights
from relight.model.config import HINT_FOV_DEG, HINT_PITCH_DEG
from relight.model.hints import centre_distance, lambert_shading, light_positions, normals_from_points, unproject
from wholeprocess import write_record

#: The ambient term's default, as a share of the median shading of the two lights: between the best of
#: 0.5, 1 and 2 on relight's classic-shapes scenes (0.5) and on its world scenes (2), chosen on those
#: training scenes and not on the held-out sets it scores.
AMBIENT = 1.0


class Shading:
    """One scene's diffuse shading under each of the 8 directions, from its depth map (computed once)."""

    def __init__(self, scene: Scene) -> None:
        depth = torch.from_numpy(read_depth(scene.depth).astype(np.float32))[None, None]  # type: ignore[arg-type]
        points = unproject(depth, HINT_FOV_DEG)
        normals, centre = normals_from_points(points), centre_distance(depth)
        # The 8 lights' rows as a model is given them: their first two columns are the direction's (sin, cos).
        lights = light_positions(centre, encode_lights([Light(6500, d) for d in DIRECTIONS])[:, :2], HINT_PITCH_DEG)
        shading = lambert_shading(points, normals, lights, centre)[:, 0].double().numpy()
        self.planes = dict(zip(DIRECTIONS, shading, strict=True))

    def ratio(self, source: str, target: str, ambient: float) -> np.ndarray:
        floor = ambient * 0.5 * (np.median(self.planes[source]) + np.median(self.planes[target])) + 1e-6
        return (self.planes[target] + floor) / (self.planes[source] + floor)

    def estimate(self, image: np.ndarray, ambient: float) -> str:
        """The direction whose shading best explains the image's log luminance (correlation)."""
        luminance = np.log(srgb_decode(image).mean(axis=-1) + 1e-3).ravel()

        def fit(direction: str) -> float:
            plane = self.planes[direction]
            shaded = np.log(plane + ambient * 0.5 * np.median(plane) + 1e-6).ravel()
            return -1.0 if shaded.std() == 0 else float(np.corrcoef(luminance, shaded)[0, 1])

        return max(DIRECTIONS, key=fit)


def relit(image: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    return as_saved(srgb_encode(np.clip(srgb_decode(image) * ratio[..., None], 0.0, 1.0)))


def score_folder(folder: Path, triples: int, seed: int, ambient: float) -> dict[str, object]:
    scenes = complete_scenes(folder)
    shading: dict[str, Shading] = {}
    gains: dict[str, list[float]] = {key: [] for key in ("tint oracle", "told", "told + tint", "estimated", "estimated + tint")}
    right = []
    for t in sample_triples(scenes, triples, seed):
        if t.scene.name not in shading:
            shading[t.scene.name] = Shading(t.scene)
        planes = shading[t.scene.name]
        source = np.asarray(read_image(t.scene.images[t.source]).rgb, np.float64)
        truth = np.asarray(read_image(t.scene.images[t.target]).rgb, np.float64)
        identity = psnr(source, truth)
        gains["tint oracle"].append(psnr(tint_oracle(source, truth)[0], truth) - identity)
        guess = planes.estimate(source, ambient)
        right.append(guess == t.source.direction)
        for name, direction in (("told", t.source.direction), ("estimated", guess)):
            output = relit(source, planes.ratio(direction, t.target.direction, ambient))
            gains[name].append(psnr(output, truth) - identity)
            gains[f"{name} + tint"].append(psnr(tint_oracle(output, truth)[0], truth) - identity)
    return {"scenes": len(scenes), "triples": len(right), "source_estimated_right": float(np.mean(right)),
            "gain_db": {key: float(np.mean(values)) for key, values in gains.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="any-to-any folders (relight synth, the judge)")
    parser.add_argument("--triples", type=int, default=400, help="(scene, source, target) triples per folder (default 400)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the triple sample, as generalise.py's --triple-seed (default 0)")
    parser.add_argument("--ambient", type=float, default=AMBIENT, help=f"ambient share of the median shading (default {AMBIENT:g})")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    record: dict[str, object] = {"ambient": args.ambient, "seed": args.seed, "fov_deg": HINT_FOV_DEG,
                                 "pitch_deg": HINT_PITCH_DEG, "folders": {}}
    table = Table(title=f"The diffuse shading ratio from depth (ambient {args.ambient:g}): gain over identity, dB")
    columns = ("tint oracle", "told", "told + tint", "estimated", "estimated + tint")
    for column in ("folder", "triples", *columns, "source estimated right"):
        table.add_column(column, justify="left" if column == "folder" else "right")
    for folder in args.folders:
        found = score_folder(folder, args.triples, args.seed, args.ambient)
        record["folders"][str(folder)] = found  # type: ignore[index]
        table.add_row(str(folder), str(found["triples"]), *(f"{found['gain_db'][c]:+.2f}" for c in columns),  # type: ignore[index]
                      f"{100 * found['source_estimated_right']:.1f} %")
    console.print(table)
    write_record(args.json, record, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
