"""Remake relight/data/synth/photos.npz, the photographic texture bank of relight synth's world scenes,
from the photographs scikit-image ships (pip install scikit-image; it is not needed to render).

Each tile is a crop of one photograph whose licence scikit-image's data docstrings give as CC0 or
public domain (docs/data.md lists them), none of the photographs benchmarks/judge checks relighting on;
some are halved by averaging 2 x 2 blocks. The bank holds the tiles as 8-bit arrays (grey or RGB) and their names. Run from the
repository root:

    .venv/bin/python scripts/make_photo_bank.py
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

BANK = Path(__file__).resolve().parent.parent / "relight" / "data" / "synth" / "photos.npz"
#: (name, scikit-image loader, rows, columns, halve): the crops; licences in docs/data.md.
TILES = (
    ("brick", "brick", slice(None), slice(None), True),
    ("grass", "grass", slice(None), slice(None), True),
    ("gravel", "gravel", slice(None), slice(None), True),
    ("lawn", "camera", slice(300, 512), slice(410, 512), False),
    ("veins", "retina", slice(700, 1000), slice(750, 1050), True),
    ("speckle", "hubble_deep_field", slice(300, 556), slice(400, 656), True),
    ("writing", "text", slice(None), slice(0, 224), False),
)


def tiles() -> dict[str, np.ndarray]:
    """The bank's tiles by name, cropped (and halved) from scikit-image's photographs."""
    from skimage import data

    made = {}
    for name, loader, rows, cols, halve in TILES:
        tile = np.asarray(getattr(data, loader)())[rows, cols]
        if halve:
            h, w = tile.shape[0] // 2 * 2, tile.shape[1] // 2 * 2
            blocks = tile[:h, :w].astype(np.float64).reshape(h // 2, 2, w // 2, 2, *tile.shape[2:])
            tile = np.round(blocks.mean(axis=(1, 3))).astype(np.uint8)
        made[name] = np.ascontiguousarray(tile, dtype=np.uint8)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BANK, help="where to write the bank")
    out = parser.parse_args().out
    made = tiles()
    np.savez_compressed(out, names=np.array(list(made)), **{f"tile{i}": tile for i, tile in enumerate(made.values())})
    print(f"{out}: {len(made)} tiles, {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
