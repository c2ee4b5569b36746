"""How far does a relighting model generalise beyond the worlds it was trained in? (issue 22)

Runs models (``--weights``, repeatable; by default the bundled relight-synth-any and relight-synth-narrow)
over held-out sets they never saw, rendered here with a seed of their own (``--seed``, into ``--data`` or
a temporary folder), and reports side by side:

* **leave-one-renderer-out**: the judge (benchmarks/judge: sphere tracing, its own light model and scene
  grammars, never a training source), and relight's ``ray`` and ``raster`` renderers (``--renderers``,
  family ``--relight-family``); **leave-one-family-out**: relight synth families (``--families``, drawn
  with ``--family-renderer``);
* per set and model, over seeded (scene, source, target) triples with source != target, the source not
  told (``--tell-source`` tells it): PSNR gain over identity (the source image taken as the answer), the
  **colour-tint oracle**'s gain (per-channel gains fitted to the ground truth), the **tint left** (what
  the same fit adds to the model's output: the part of its error that is one colour over the whole
  image), **opposite directions** told apart per pair, **warmth** (the output asked for 2500 K has a
  higher mean R / mean B than asked for 6500 K, same direction), and the **shadow measures**
  (darkening inside the target light's shadow mask, removal of the source light's) beside the ground
  truth's own values, where the set has shadow masks: over every shadow, and over cast shadows alone
  against the lit surface beside them where the set has the judge's cast-shadow masks, with the
  **smooth oracle**'s (the truth's change blurred: the light's broad shape without its sharp shadows)
  for scale (benchmarks/judge/measures.py defines each);
* a one-to-one model on its own pair over every scene, beside the any-to-any models on that pair;
* with ``--mirror-avg``, each any-to-any model also mirror-averaged, as a model of its own;
* **real photographs** (benchmarks/judge/photos.py: scikit-image's permissively licensed ones): same-light
  PSNR, the A -> B -> A cycle, border fringes and colour outside the input's range; ``--sheet PATH``
  draws them relit to several lights.

Outputs are rounded to 8 bits, as saved files hold them; the network runs at the model's training scale
unless ``--native``. ``--json PATH`` also writes every number (``--json`` alone prints it on stdout, the
tables then on stderr). From the repository root:

    .venv/bin/python benchmarks/generalise.py --scenes 24 --triples 200 --data /tmp/generalise --sheet /tmp/photos.png
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import multiprocessing
import platform
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from judge.dataset import read_mask, write_judge_dataset
from judge.measures import as_saved, beside_width, psnr, shadow_moves, smooth_oracle, tint_oracle, told_apart, warmth
from judge.photos import PHOTOS, SHEET_LIGHTS, check_photo, load_estimator, load_photos
from judge.triples import OPPOSITE, Triple, complete_scenes, sample_triples
from relight.cli import console, out_console, progress_bar
from relight.data import synth
from relight.data.synth import FAMILIES, RENDERERS, scene_ranges, write_dataset
from relight.data.vidit import Scene
from relight.inference import Relighter
from relight.io import json_text, read_depth, read_image, write_json
from relight.lighting import DEFAULT_SOURCE, DEFAULT_TARGET, DIRECTIONS, Light

PAIRS = ("N/S", "NE/SW", "E/W", "SE/NW")
WARM, COLD = 2500, 6500
#: The shadow measures of a row (:func:`shadows`): over every shadow, and over cast shadows beside their lit surface.
SHADOW_KEYS = ("darkening", "removal", "cast_darkening", "cast_removal")
DEFAULT_WEIGHTS = ("relight-synth-any", "relight-synth-narrow")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", action="append", help="a model: registry name, .safetensors file or hf:// address (repeat for "
                        f"several; default {' and '.join(DEFAULT_WEIGHTS)})")
    parser.add_argument("--renderers", default="judge,ray,raster", help="test renderers, comma-separated: judge and relight's "
                        f"{', '.join(RENDERERS)} (default judge,ray,raster; '' for none)")
    parser.add_argument("--relight-family", default="wide", help="the family relight's renderers draw for the renderer sets (default wide)")
    parser.add_argument("--families", default="other-shapes", help="relight synth families held out, comma-separated (default other-shapes; '' for none)")
    parser.add_argument("--family-renderer", default="ray", choices=sorted(RENDERERS), help="renderer of the family sets (default ray)")
    parser.add_argument("--scenes", type=int, default=24, help="scenes per set (default 24)")
    parser.add_argument("--size", type=int, default=256, help="image side of the sets (default 256)")
    parser.add_argument("--triples", type=int, default=200, help="(scene, source, target) triples per set (default 200)")
    parser.add_argument("--seed", type=int, default=2212, help="seed of the sets' scenes (default 2212, which no bundled model trained on)")
    parser.add_argument("--triple-seed", type=int, default=0, help="seed of the triple sample (default 0)")
    parser.add_argument("--data", type=Path, help="folder for the sets (made if missing, reused when it holds the same sets); "
                        "default a temporary folder removed at the end")
    parser.add_argument("--tell-source", action="store_true", help="give the model each triple's source light (default: not told)")
    parser.add_argument("--photos", default=",".join(PHOTOS), help=f"photographs to check, comma-separated (default {','.join(PHOTOS)}; '' for none)")
    parser.add_argument("--sheet", type=Path, help="write a contact sheet of the photographs relit by the first any-to-any model")
    parser.add_argument("--device", default="cpu", help="device to run on (default cpu)")
    parser.add_argument("--jobs", type=int, default=1, help="processes rendering the sets, each a slice of the scenes (default 1)")
    parser.add_argument("--native", action="store_true", help="run the network at each image's own size")
    parser.add_argument("--mirror-avg", action="store_true", help="also score each any-to-any model mirror-averaged "
                        "(Relighter(mirror_average=True)), as a model of its own: NAME +mirror")
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="PATH",
                        help="write the results as JSON to PATH, or print them on stdout (tables then go to stderr)")
    args = parser.parse_args(argv)
    args.weights = args.weights or list(DEFAULT_WEIGHTS)
    args.renderers = [r for r in args.renderers.split(",") if r.strip()]
    args.families = [f for f in args.families.split(",") if f.strip()]
    args.photos = [p for p in args.photos.split(",") if p.strip()]
    for name, value, lowest in (("--scenes", args.scenes, 1), ("--triples", args.triples, 1), ("--size", args.size, 16), ("--seed", args.seed, 0),
                                 ("--jobs", args.jobs, 1)):
        if value < lowest:
            parser.error(f"{name} {value}: must be at least {lowest}")
    for renderer in args.renderers:
        if renderer != "judge" and renderer not in RENDERERS:
            parser.error(f"--renderers: unknown renderer {renderer!r}; use judge, {', '.join(RENDERERS)}")
    for family in [*args.families, args.relight_family]:
        if family not in FAMILIES:
            parser.error(f"unknown family {family!r}; relight synth has {', '.join(FAMILIES)}")
    for photo in args.photos:
        if photo not in PHOTOS:
            parser.error(f"--photos: unknown photograph {photo!r}; use {', '.join(PHOTOS)}")
    return args


@dataclass(frozen=True)
class HeldOut:
    """A held-out set: its name in the tables, the renderer and the family (None for the judge)."""

    name: str
    renderer: str
    family: str | None

    def recipe(self, scenes: int, size: int, seed: int) -> dict[str, object]:
        """What makes the set: a folder made from another recipe (or by other renderer code) is not reused."""
        return {"renderer": self.renderer, "family": self.family, "scenes": scenes, "size": size, "seed": seed, "code": self.code()}

    def code(self) -> str:
        """A digest of the renderer's source: the judge's rendering modules, or relight's generator."""
        if self.renderer == "judge":
            judge = Path(__file__).resolve().parent / "judge"
            files = [judge / f"{name}.py" for name in ("noise", "sdf", "trace", "materials", "scene", "grammar", "render", "dataset")]
        else:
            files = sorted(Path(synth.__file__).parent.glob("*.py"))
        digest = hashlib.sha256()
        for path in files:
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()[:16]


def held_out_sets(args: argparse.Namespace) -> list[HeldOut]:
    sets = [HeldOut(f"renderer {r}", r, None if r == "judge" else args.relight_family) for r in args.renderers]
    return sets + [HeldOut(f"family {f}", args.family_renderer, f) for f in args.families]


def mask_option() -> dict[str, bool]:
    """``masks=True`` where relight's generator writes shadow masks (its ``write_dataset`` takes ``masks``)."""
    return {"masks": True} if "masks" in inspect.signature(write_dataset).parameters else {}


def prepare(held: HeldOut, folder: Path, scenes: int, size: int, seed: int, jobs: int = 1) -> Path:
    """``folder`` holding ``held``'s scenes: reused when its recipe file says it was made the same way,
    rendered when it is missing or empty (by ``jobs`` processes, each a slice of the scenes: a scene
    depends only on its seed and index, so the set is the same), refused otherwise."""
    recipe = held.recipe(scenes, size, seed)
    marker = folder / "generalise.json"
    if marker.is_file() and json.loads(marker.read_text()) == recipe:
        return folder
    if folder.exists() and any(folder.iterdir()):
        raise SystemExit(f"{folder}: holds other data than {held.name} ({scenes} scenes, {size} px, seed {seed}); choose another --data")
    console.print(f"rendering {held.name}: {scenes} scenes of {size} x {size} into {folder}" + (f" ({jobs} processes)" if jobs > 1 else ""))
    per = -(-scenes // jobs)
    slices = [(first, min(per, scenes - first)) for first in range(0, scenes, per)]
    if len(slices) == 1:
        render_slice(held, folder, size, seed, *slices[0])
    else:
        with ProcessPoolExecutor(len(slices), mp_context=multiprocessing.get_context("spawn"), initializer=torch.set_num_threads,
                                 initargs=(1,)) as pool:  # one thread each: the processes share the cores
            for done in [pool.submit(render_slice, held, folder, size, seed, first, count) for first, count in slices]:
                done.result()
    write_json(marker, recipe)
    return folder


def render_slice(held: HeldOut, folder: Path, size: int, seed: int, first: int, count: int) -> None:
    """Scenes ``first`` .. ``first + count - 1`` of ``held`` into ``folder``."""
    if held.renderer == "judge":
        write_judge_dataset(folder, count, size, seed, start_index=first)
    else:
        write_dataset(folder, count, size, seed=seed, start_index=first, ranges=scene_ranges(held.family or ()), renderer=held.renderer,
                      **mask_option())


class SetData:
    """A set's files read once: images (float32 in [0, 1]), depth, shadow masks and the sky."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.images: dict[tuple[str, Light], np.ndarray] = {}
        self.depths: dict[str, np.ndarray] = {}
        self.masks: dict[tuple[str, str, bool], np.ndarray | None] = {}

    def image(self, scene: Scene, light: Light) -> np.ndarray:
        key = (scene.name, light)
        if key not in self.images:
            self.images[key] = np.asarray(read_image(scene.images[light]).rgb, dtype=np.float32)
        return self.images[key]

    def depth(self, scene: Scene) -> np.ndarray:
        if scene.name not in self.depths:
            self.depths[scene.name] = read_depth(scene.depth)  # type: ignore[arg-type]
        return self.depths[scene.name]

    def mask(self, scene: Scene, direction: str, cast: bool = False) -> np.ndarray | None:
        """Where ``direction``'s light is more than half hidden (``cast``: by another surface, on surfaces
        that face it; None without such masks)."""
        key = (scene.name, direction, cast)
        if key not in self.masks:
            self.masks[key] = read_mask(self.folder, scene.name, direction, cast)
        return self.masks[key]


def truth_row(data: SetData, t: Triple) -> dict[str, object]:
    """What a triple's ground truth says, whatever the model: identity, the tint oracle, the truth's warmth
    and shadow measures."""
    source, truth = data.image(t.scene, t.source), data.image(t.scene, t.target)
    oracle, gains = tint_oracle(source, truth)
    row: dict[str, object] = {"scene": t.scene.name, "source": str(t.source), "target": str(t.target),
                              "identity_psnr_db": psnr(source, truth), "oracle_psnr_db": psnr(oracle, truth),
                              "oracle_gains": [round(float(g), 4) for g in gains],
                              "identity_told_apart": told_apart(source, truth, data.image(t.scene, Light(t.target.temperature, OPPOSITE[t.target.direction]))),
                              "truth_warmth_log": float(np.log(warmth(data.image(t.scene, Light(WARM, t.target.direction)))
                                                               / warmth(data.image(t.scene, Light(COLD, t.target.direction)))))}
    row.update({f"truth_{k}": v for k, v in shadows(data, t, truth).items()})
    smooth = smooth_oracle(source, truth)
    row["smooth_psnr_db"] = psnr(smooth, truth)
    row.update({f"smooth_{k}": v for k, v in shadows(data, t, smooth).items()})
    return row


def shadows(data: SetData, t: Triple, output: np.ndarray) -> dict[str, float | None]:
    """The shadow measures of ``output``: over every shadow (``darkening``, ``removal``), and over cast
    shadows alone, each against the lit surface beside it (``cast_darkening``, ``cast_removal``), where
    the set has cast-shadow masks."""
    found: dict[str, float | None] = {}
    for cast, prefix in ((False, ""), (True, "cast_")):
        target, source = data.mask(t.scene, t.target.direction, cast), data.mask(t.scene, t.source.direction, cast)
        moved = {"darkening": None, "removal": None} if target is None or source is None else \
            shadow_moves(data.image(t.scene, t.source), output, target, source, valid=data.depth(t.scene) < 0.999,
                         beside=beside_width(output.shape) if cast else None)
        found |= {prefix + key: value for key, value in moved.items()}
    return found


def model_row(relighter: Relighter, data: SetData, t: Triple, truth: dict[str, object], tell: bool) -> dict[str, object]:
    """One any-to-any model on one triple: its PSNR and gain, opposite, warmth and shadow measures."""
    rgb, depth = data.image(t.scene, t.source), data.depth(t.scene)
    lights = [t.target, Light(WARM, t.target.direction), Light(COLD, t.target.direction)]
    out, warm, cold = (as_saved(x) for x in relighter.relight_many(rgb, depth, lights, source=t.source if tell else None))
    score = psnr(out, data.image(t.scene, t.target))
    row = {"psnr_db": score, "gain_db": score - float(truth["identity_psnr_db"]),  # type: ignore[arg-type]
           "over_oracle_db": score - float(truth["oracle_psnr_db"]),  # type: ignore[arg-type]
           "tint_left_db": psnr(tint_oracle(out, data.image(t.scene, t.target))[0], data.image(t.scene, t.target)) - score,
           "told_apart": told_apart(out, data.image(t.scene, t.target), data.image(t.scene, Light(t.target.temperature, OPPOSITE[t.target.direction]))),
           "warmer_at_2500": warmth(warm) > warmth(cold), "warmth_log": float(np.log(warmth(warm) / warmth(cold)))}
    row.update(shadows(data, t, out))
    return row


def pair_of(t: Triple) -> str:
    return "/".join(sorted((t.target.direction, OPPOSITE[t.target.direction]), key=DIRECTIONS.index))


def mean(values: Sequence[object]) -> float | None:
    kept = [float(v) for v in values if v is not None]  # type: ignore[arg-type]
    return float(np.mean(kept)) if kept else None


def summarise(truths: Sequence[dict[str, object]], rows: Sequence[dict[str, object]], triples: Sequence[Triple]) -> dict[str, object]:
    """Means over the triples: gains, oracle, opposite (overall and per pair), warmth, shadow measures."""
    by_pair: dict[str, list[bool]] = defaultdict(list)
    for t, row in zip(triples, rows):
        by_pair[pair_of(t)].append(bool(row["told_apart"]))
    identity = mean([r["identity_psnr_db"] for r in truths])
    out = {
        "triples": len(rows), "identity_psnr_db": identity, "psnr_db": mean([r["psnr_db"] for r in rows]),
        "gain_db": mean([r["gain_db"] for r in rows]), "oracle_gain_db": mean([r["oracle_psnr_db"] for r in truths]) - identity,  # type: ignore[operator]
        "over_oracle_db": mean([r["over_oracle_db"] for r in rows]), "tint_left_db": mean([r["tint_left_db"] for r in rows]),
        "opposite_pct": 100.0 * float(np.mean([r["told_apart"] for r in rows])),
        "identity_opposite_pct": 100.0 * float(np.mean([r["identity_told_apart"] for r in truths])),
        "opposite_by_pair_pct": {p: 100.0 * float(np.mean(by_pair[p])) for p in PAIRS if by_pair[p]},
        "warmer_pct": 100.0 * float(np.mean([r["warmer_at_2500"] for r in rows])),
        "warmth_log": mean([r["warmth_log"] for r in rows]), "truth_warmth_log": mean([r["truth_warmth_log"] for r in truths]),
    }
    for key in SHADOW_KEYS:
        measured = [(r, tr) for r, tr in zip(rows, truths) if r[key] is not None and tr[f"truth_{key}"] is not None]
        out[f"shadow_{key}_stops"] = mean([r[key] for r, _ in measured])
        out[f"truth_shadow_{key}_stops"] = mean([tr[f"truth_{key}"] for _, tr in measured])
        out[f"smooth_shadow_{key}_stops"] = mean([tr[f"smooth_{key}"] for _, tr in measured])
        out[f"shadow_{key}_triples"] = len(measured)
    out["smooth_oracle_gain_db"] = mean([r["smooth_psnr_db"] for r in truths]) - identity  # type: ignore[operator]
    return out


def one_to_one_pair(models: dict[str, Relighter], data: SetData, scenes: Sequence[Scene], tell: bool) -> dict[str, object]:
    """Every model on the one-to-one pair (each one-to-one model's own, else 6500-N -> 4500-E) over every scene."""
    result: dict[str, object] = {}
    pairs = {name: (r.illumination.source or DEFAULT_SOURCE, r.illumination.target or DEFAULT_TARGET) if not r.illumination.any_to_any
             else (DEFAULT_SOURCE, DEFAULT_TARGET) for name, r in models.items()}
    for name, relighter in models.items():
        source, target = pairs[name]
        identity, oracle, scores = [], [], []
        for scene in scenes:
            rgb, truth = data.image(scene, source), data.image(scene, target)
            told = source if tell and relighter.illumination.any_to_any else None
            to = target if relighter.illumination.any_to_any else None
            scores.append(psnr(as_saved(relighter.relight(rgb, data.depth(scene), to=to, source=told)), truth))
            identity.append(psnr(rgb, truth))
            oracle.append(psnr(tint_oracle(rgb, truth)[0], truth))
        result[name] = {"pair": f"{source} -> {target}", "scenes": len(scenes), "identity_psnr_db": float(np.mean(identity)),
                        "psnr_db": float(np.mean(scores)), "gain_db": float(np.mean(scores) - np.mean(identity)),
                        "oracle_gain_db": float(np.mean(oracle) - np.mean(identity))}
    return result


def run_set(held: HeldOut, folder: Path, models: dict[str, Relighter], args: argparse.Namespace, progress: object) -> dict[str, object]:
    data = SetData(folder)
    scenes = complete_scenes(folder)
    triples = sample_triples(scenes, args.triples, args.triple_seed)
    anyone = {name: r for name, r in models.items() if r.illumination.any_to_any}
    task = progress.add_task(held.name, total=len(triples) * max(1, len(anyone)), rate="")  # type: ignore[attr-defined]
    truths = [truth_row(data, t) for t in triples]
    per_model: dict[str, object] = {}
    for name, relighter in anyone.items():
        rows = []
        for t, truth in zip(triples, truths):
            rows.append(model_row(relighter, data, t, truth, args.tell_source))
            progress.advance(task)  # type: ignore[attr-defined]
        per_model[name] = {"summary": summarise(truths, rows, triples), "rows": rows}
    return {"set": held.name, "folder": str(folder), "recipe": held.recipe(args.scenes, args.size, args.seed),
            "masks": data.mask(scenes[0], "N") is not None, "scenes": len(scenes), "truth_rows": truths, "models": per_model,
            "one_to_one": one_to_one_pair(models, data, scenes, args.tell_source)}


def run_photos(models: dict[str, Relighter], args: argparse.Namespace) -> dict[str, object]:
    """The photograph checks for every any-to-any model, and the contact sheet."""
    try:
        import skimage  # noqa: F401
    except ImportError:
        return {"skipped": "scikit-image is not installed (pip install scikit-image, or the test extra)"}
    estimator, why = load_estimator()
    photos = load_photos(args.photos, estimator)
    results: dict[str, object] = {"depth_estimator": why, "photos": {}}
    anyone = {name: r for name, r in models.items() if r.illumination.any_to_any}
    for name, relighter in anyone.items():
        def relight(rgb: np.ndarray, depth: np.ndarray, to: Light, source: Light | None, r: Relighter = relighter) -> np.ndarray:
            return r.relight(rgb, depth, to=to, source=source)
        results["photos"][name] = [check_photo(relight, photo) for photo in photos]  # type: ignore[index]
    if args.sheet and anyone:
        from relight.evaluation.sheet import grid_sheet, write_picture

        first = next(iter(anyone.values()))
        cells = {}
        for row, photo in enumerate(photos):
            cells[(row, 0)] = photo.rgb
            for col, light in enumerate(first.relight_many(photo.rgb, photo.depth, list(SHEET_LIGHTS)), start=1):
                cells[(row, col)] = np.clip(light, 0.0, 1.0)
        write_picture(args.sheet, grid_sheet(cells, [p.name for p in photos], ["input", *map(str, SHEET_LIGHTS)], largest=200))
        results["sheet"] = {"path": str(args.sheet), "model": next(iter(anyone)), "lights": [str(x) for x in SHEET_LIGHTS], "source": "not told"}
    return results


def fmt(value: object, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def shadow_cells(summary: dict[str, object], measured: str) -> list[str]:
    """The shadow table's cells of one row: ``measured``'s stops (``shadow``: a model's; ``smooth_shadow``:
    the smooth oracle's) / the ground truth's, for each of :data:`SHADOW_KEYS`."""
    return [f"{fmt(summary.get(f'{measured}_{k}_stops'))} / {fmt(summary.get(f'truth_shadow_{k}_stops'))}" for k in SHADOW_KEYS]


def tables(record: dict[str, object]) -> list[Table]:
    told = "source told" if record["tell_source"] else "no source given"
    main = Table(title=f"Held-out sets at {record['size']} px, {told}: gains in dB over identity")
    for column in ("set", "model", "triples", "identity dB", "tint oracle", "gain", "over oracle", "tint left", "opposite %", "warmer %",
                   "warmth ln"):
        main.add_column(column, justify="left" if column in ("set", "model") else "right")
    shade = Table(title="Shadows, in stops, model / ground truth: the target light's shadows darkening, the source light's going; "
                        "every shadow against every lit pixel, and cast shadows against the lit surface beside them")
    for column in ("set", "model", "darkening", "removal", "cast: darkening", "cast: removal"):
        shade.add_column(column, justify="left" if column in ("set", "model") else "right")
    pairs = Table(title="Opposite directions told apart, % by pair (identity: the source image)")
    for column in ("set", "model", *PAIRS, "all"):
        pairs.add_column(column, justify="left" if column in ("set", "model") else "right")
    pair = Table(title="The one-to-one pair on every scene: gain over identity, dB")
    for column in ("set", "model", "pair", "scenes", "identity dB", "tint oracle", "gain"):
        pair.add_column(column, justify="left" if column in ("set", "model", "pair") else "right")
    for result in record["sets"]:  # type: ignore[union-attr]
        for name, model in result["models"].items():
            s = model["summary"]
            main.add_row(result["set"], name, str(s["triples"]), fmt(s["identity_psnr_db"]), fmt(s["oracle_gain_db"], "+.2f"),
                         fmt(s["gain_db"], "+.2f"), fmt(s["over_oracle_db"], "+.2f"), fmt(s.get("tint_left_db"), "+.2f"), fmt(s["opposite_pct"], ".1f"),
                         fmt(s["warmer_pct"], ".1f"), f"{fmt(s['warmth_log'])} / {fmt(s['truth_warmth_log'])}")
            shade.add_row(result["set"], name, *shadow_cells(s, "shadow"))
            pairs.add_row(result["set"], name, *(fmt(s["opposite_by_pair_pct"].get(p), ".1f") for p in PAIRS), fmt(s["opposite_pct"], ".1f"))
        if result["models"]:
            s = next(iter(result["models"].values()))["summary"]
            pairs.add_row(result["set"], "identity", "", "", "", "", fmt(s["identity_opposite_pct"], ".1f"))
            shade.add_row(result["set"], f"smooth oracle ({fmt(s.get('smooth_oracle_gain_db'), '+.2f')} dB)", *shadow_cells(s, "smooth_shadow"))
        for name, s in result["one_to_one"].items():
            pair.add_row(result["set"], name, s["pair"], str(s["scenes"]), fmt(s["identity_psnr_db"]), fmt(s["oracle_gain_db"], "+.2f"), fmt(s["gain_db"], "+.2f"))
    out = [table for table in (main, pairs, shade, pair) if table.row_count]  # none for a run of photographs only
    photos = record.get("photographs") or {}
    if photos.get("photos"):  # type: ignore[union-attr]
        sheet = Table(title=f"Photographs, source told (depth: {photos['depth_estimator']})")  # type: ignore[index]
        for column in ("photo", "model", "depth", "same light dB", "cycle A>B>A dB", "border fringe %", "outside range: border / inside %"):
            sheet.add_column(column, justify="left" if column in ("photo", "model", "depth") else "right")
        for name, rows in photos["photos"].items():  # type: ignore[index]
            for r in rows:
                sheet.add_row(r["photo"], name, r["depth"], fmt(r["same_light_mean_db"]), fmt(r["cycle_mean_db"]), fmt(r["fringe_pct"]),
                              f"{fmt(r['outside_border_pct'], '.1f')} / {fmt(r['outside_inside_pct'], '.1f')}")
        out.append(sheet)
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.manual_seed(0)
    start = time.perf_counter()
    models = {w: Relighter.from_weights(w, device=args.device, precision="fp32", native=args.native) for w in args.weights}
    if args.mirror_avg:
        models |= {f"{w} +mirror": Relighter.from_weights(w, device=args.device, precision="fp32", native=args.native, mirror_average=True)
                   for w, r in list(models.items()) if r.illumination.any_to_any}
    record: dict[str, object] = {"weights": list(models), "size": args.size, "scenes": args.scenes, "triples": args.triples, "seed": args.seed,
                                 "triple_seed": args.triple_seed, "tell_source": args.tell_source, "device": args.device,
                                 "run_scale": {w: r.scale.describe() for w, r in models.items()}, "torch": torch.__version__,
                                 "python": platform.python_version(), "sets": []}
    with tempfile.TemporaryDirectory(prefix="generalise-") as temp:
        root = args.data or Path(temp)
        folders = {held: prepare(held, root / held.name.replace(" ", "-"), args.scenes, args.size, args.seed, args.jobs) for held in held_out_sets(args)}
        record["render_seconds"] = round(time.perf_counter() - start, 1)
        with progress_bar() as progress:
            for held, folder in folders.items():
                record["sets"].append(run_set(held, folder, models, args, progress))  # type: ignore[union-attr]
    if args.photos:
        record["photographs"] = run_photos(models, args)
    record["seconds"] = round(time.perf_counter() - start, 1)
    where = console if args.json == "-" else (out_console if out_console.is_terminal else Console(width=220))
    for table in tables(record):
        where.print(table)
    if isinstance(record.get("photographs"), dict) and "skipped" in record["photographs"]:  # type: ignore[operator]
        console.print(f"photographs skipped: {record['photographs']['skipped']}")  # type: ignore[index]
    if args.json == "-":
        sys.stdout.write(json_text(record))
    elif args.json:
        write_json(Path(args.json), record)
        console.print(f"wrote {args.json}")
    console.print(f"{record['seconds']} s in all, {record['render_seconds']} s of it rendering")
    return 0


if __name__ == "__main__":
    sys.exit(main())
