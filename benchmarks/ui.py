"""How long does ``relight ui`` take from upload to result, against the same relight called in Python?

A server is started here on a loopback port (the page of ``relight ui``, on the CPU by default), and
for each size the bundled example scene, scaled to it, is relit ``--rounds`` times both ways, side by
side, the order flipping every round: through ``gradio_client`` (upload of the photo and its depth,
the queue, the relight, the download of the result: what a visitor waits for) and by calling the
page's :class:`relight.ui.Service` directly (reading, relighting, writing). The ratio is
median(page) / median(direct): what the page adds. Run from the repository root:

    .venv/bin/python benchmarks/ui.py --sizes 512 1024 --rounds 5 --json runs/bench-ui.json
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from rich.console import Console
from rich.table import Table

from relight.demo import EXAMPLES
from relight.io import read_depth, read_image, resize_depth, write_depth_npy, write_image, write_json
from relight.tensors import image_tensor, resize
from wholeprocess import machine


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024], help="sides of the square photo, in pixels")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per size, each timing both ways")
    parser.add_argument("--weights", default=None, help="as relight ui --weights (default: the bundled model)")
    parser.add_argument("--device", default="cpu", help="as relight ui --device")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    return parser.parse_args(argv)


def scaled_example(folder: Path, side: int) -> tuple[Path, Path]:
    """The bundled example scene and its depth, resized to ``side`` x ``side``."""
    source = EXAMPLES / "validation" / "Image900.png"
    rgb = image_tensor(read_image(source).rgb)
    big = resize(rgb, (side, side))[0].permute(1, 2, 0).clamp(0, 1).numpy()
    image, depth = folder / f"scene{side}.png", folder / f"scene{side}.npy"
    write_image(image, big)
    write_depth_npy(depth, resize_depth(read_depth(source.with_suffix(".npy")), (side, side)))
    return image, depth


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(stderr=True)
    from gradio_client import Client, handle_file

    from relight.ui import Service, build_app, serve

    service = Service(args.weights, device=args.device)
    page = build_app(service)
    url = serve(page, "127.0.0.1", free_port())
    client = Client(url, verbose=False)
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="relight-bench-ui-") as tmp:
            for side in args.sizes:
                image, depth = scaled_example(Path(tmp), side)

                def through_page() -> None:
                    client.predict(handle_file(str(image)), handle_file(str(depth)), "", api_name="/relight")

                def direct() -> None:
                    service.relight(image, depth, "")

                ways = {"page (upload to result)": through_page, "direct (Service.relight)": direct}
                for way in ways.values():  # warm-up, untimed
                    way()
                seconds: dict[str, list[float]] = {name: [] for name in ways}
                for round_ in range(args.rounds):
                    for name in (list(ways) if round_ % 2 == 0 else list(reversed(ways))):
                        start = time.perf_counter()
                        ways[name]()
                        seconds[name].append(time.perf_counter() - start)
                page_s, direct_s = (median(seconds[name]) for name in ways)
                rows.append({"size": side, "page_s": page_s, "direct_s": direct_s, "ratio": page_s / direct_s, "seconds": seconds})
    finally:
        page.close()
        info = service.describe()
        service.close()
    table = Table(title=f"relight ui, upload to result: {info.describe()}")
    for column in ("size", "page, median s", "direct, median s", "page / direct"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(f"{row['size']} x {row['size']}", f"{row['page_s']:.3f}", f"{row['direct_s']:.3f}", f"{row['ratio']:.2f}x")
    Console().print(table)
    if args.json:
        write_json(args.json, {"model": info.describe(), "rounds": args.rounds, "machine": machine(), "rows": rows})
        console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
