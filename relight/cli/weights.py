"""``relight weights``: list the known models, show one, download one, import the authors' checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from relight.cli._console import console, out_console
from relight.cli._options import JsonFlagOpt, emit_json
from relight.cli._progress import tracked

if TYPE_CHECKING:
    from relight.depth.registry import DepthModelEntry
    from relight.weights import ModelEntry

app = typer.Typer(
    help="Known models: list them, show one, download from the Hugging Face Hub, import the authors' weight.pkl.",
    no_args_is_help=True,
)

#: What ``relight weights import`` reports while it works, in order.
IMPORT_STEPS = ("reading", "converting", "hashing", "writing", "hashing the result")


def _megabytes(size: int | None) -> str:
    return "?" if size is None else f"{size / 1e6:.1f} MB"


def _described(entry: ModelEntry, default: str | None) -> dict[str, Any]:
    """An entry as JSON data, with whether (and where) it is on this machine, and whether it is the
    ``default`` (the model used without --weights)."""
    from relight.weights import availability

    avail = availability(entry)
    return {"kind": "relighting", **entry.to_dict(), "mapping": entry.mapping, "status": avail.status, "path": avail.path and str(avail.path),
            "default": entry.name == default}


def _depth_described(entry: DepthModelEntry, default: str | None) -> dict[str, Any]:
    """A depth model as JSON data, with whether (and where) it is in the Hugging Face cache, and whether it
    is the ``default`` (the one used without --depth-model)."""
    from relight.depth.registry import depth_model_status

    status, folder = depth_model_status(entry)
    return {**entry.to_dict(), "status": status, "path": folder and str(folder), "default": entry.name == default}


def _named(name: str, default: str | None) -> str:
    """A list's name cell: the name, marked on a second line when it is the default."""
    return f"{escape(name)}\n[dim](default)[/dim]" if name == default else escape(name)


def _illumination(entry: ModelEntry) -> str:
    if entry.config.any_to_any:
        return f"any-to-any: the target light (and, if known, the source) is an input ({entry.config.conditioning} conditioning)"
    return f"one-to-one: {entry.source} -> {entry.target} only"


@app.command("list")
def list_weights(json_out: JsonFlagOpt = False) -> None:
    """Every model the registry knows (shipped with relight and imported by you), and the depth models
    for photos without depth, and whether each is here."""
    from relight.depth.registry import load_depth_registry
    from relight.weights import availability, load_registry

    registry, depths = load_registry(), load_depth_registry()
    depth_models = depths.entries.values()
    if json_out:
        emit_json([_described(entry, registry.default) for entry in registry.values()]
                  + [_depth_described(entry, depths.default) for entry in depth_models])
        return
    # Two lines a row, so that names and paths stay whole in an 80-column terminal.
    table = Table(title="relight weights", caption="light: a one-to-one model's source->target, or any-to-any")
    table.add_column("name", overflow="fold")
    table.add_column("variant, light", overflow="fold")
    table.add_column("size", no_wrap=True, justify="right")
    table.add_column("here, where", overflow="fold", min_width=len("import needed"))
    colours = {"ready": "green", "missing": "red"}
    for entry in registry.values():
        status = availability(entry).status
        table.add_row(_named(entry.name, registry.default), f"{entry.config.describe()}\n{entry.illumination}", _megabytes(entry.size_bytes),
                      f"[{colours.get(status, 'yellow')}]{status}[/]\n[dim]{escape(entry.location.short())}[/dim]")
    out_console.print(table)
    depth = Table(title="depth models (for photos without a depth file)")
    for column, options in (("name", {"no_wrap": True}), ("Hub repository, commit", {}), ("size", {"no_wrap": True, "justify": "right"}),
                            ("here, where", {"min_width": len("not downloaded")})):
        depth.add_column(column, overflow="fold", **options)
    for entry in depth_models:
        described = _depth_described(entry, depths.default)
        revision = entry.revision[:12] if entry.revision else "not pinned"
        depth.add_row(_named(entry.name, depths.default), f"{entry.repo}\n{revision}", _megabytes(entry.size_bytes),
                      f"[{colours.get(described['status'], 'yellow')}]{described['status']}[/]\n[dim]{escape(described['path'] or 'Hugging Face cache')}[/dim]")
    out_console.print(depth)
    console.print(f"[dim]registries: {registry.builtin_path} and {registry.user_path}[/dim]")


@app.command("info")
def info(
    name: Annotated[str, typer.Argument(help="A name from `relight weights list`.")],
    json_out: JsonFlagOpt = False,
) -> None:
    """Everything the registry records about one model (or depth model): where it lives, checksums, licence, data, metrics."""
    import json

    from relight.depth.registry import load_depth_registry
    from relight.weights import UnknownWeights, load_registry

    registry, depths = load_registry(), load_depth_registry()
    depth_models = depths.entries
    if name not in registry and name in depth_models:
        _depth_info(depth_models[name], json_out, depths.default)
        return
    if name not in registry:
        raise UnknownWeights(f"{name}: no model of that name in the registry (models: {', '.join(registry) or 'none'}; "
                             f"depth models: {', '.join(depth_models) or 'none'})", name=name)
    entry = registry.entry(name)
    data = _described(entry, registry.default)
    metrics = ", ".join(f"{k} {v}" for k, v in entry.metrics.items()) or "-"
    rows = [
        ("description", entry.description),
        ("variant", f"{entry.config.describe()} ({entry.config.to_json()})"),
        ("illumination", _illumination(entry)),
        ("default", _default_text(data, "--weights")),
        ("where", entry.location.describe()),
        ("here", _here(data)),
        ("sha256", entry.sha256 or "not recorded"),
        ("size", _size(entry.size_bytes)),
        ("licence", entry.licence or "-"),
        ("training data", entry.training_data or "-"),
        ("trained with", entry.trained_with or "-"),
        ("metrics", metrics),
        ("metrics note", entry.metrics_note or "-"),
        ("imported from", json.dumps(entry.imported_from) if entry.imported_from else "-"),
        ("registry", entry.origin),
    ]
    if entry.placeholders:
        rows.append(("[yellow]not filled in yet[/yellow]", ", ".join(entry.placeholders)))
    _print_info(name, data, rows, json_out)


def _depth_info(entry: DepthModelEntry, json_out: bool, default: str | None) -> None:
    data = _depth_described(entry, default)
    rows = [("description", entry.description), ("kind", f"depth model: its output is {entry.output}, turned into relight's depth"),
            ("default", _default_text(data, "--depth-model")),
            ("where", f"hf://{entry.repo} at {entry.revision or 'main (not pinned)'}"), ("here", _here(data)),
            ("size", _size(entry.size_bytes))]
    rows += [(f"sha256 {file}", sha or "not recorded") for file, sha in entry.files.items()]
    _print_info(entry.name, data, [*rows, ("licence", entry.licence or "-"), ("registry", entry.origin)], json_out)


def _default_text(data: dict[str, Any], flag: str) -> str:
    """Whether a described model is the one used when ``flag`` is not given."""
    return f"yes: used when no {flag} is given" if data["default"] else "no"


def _here(data: dict[str, Any]) -> str:
    """Whether (and where) a described model is on this machine."""
    return data["status"] + (f" ({data['path']})" if data["path"] else "")


def _size(size: int | None) -> str:
    return f"{_megabytes(size)} ({size} bytes)" if size is not None else "not recorded"


def _print_info(name: str, data: dict[str, Any], rows: list[tuple[str, Any]], json_out: bool) -> None:
    """``relight weights info``'s answer: ``data`` as JSON, or ``rows`` as a two-column table."""
    if json_out:
        emit_json(data)
        return
    table = Table(title=f"relight weights info {name}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for label, value in rows:
        table.add_row(label, str(value))
    out_console.print(table)


@app.command("download")
def download(
    name: Annotated[str, typer.Argument(help="A registry name, or hf://owner/repo\\[@revision]/file.")],
) -> None:
    """Fetch a model (or a depth model) into the Hugging Face cache (and verify it against the registry), so later runs can work offline."""
    from relight.depth.registry import fetch_depth_model, load_depth_registry
    from relight.weights import describe_verification, locate_weights

    with tracked(f"downloading {name}") as counter:  # the bar appears with the first byte: none for a cached file or an error

        def on_bytes(done: int, total: int | None) -> None:
            speed = done / 1e6 / max(counter.elapsed(), 1e-6)
            counter.update(completed=done, total=total, rate=f"{done / 1e6:.1f} MB at {speed:.1f} MB/s")

        if name in load_depth_registry().entries:  # a depth model: a folder of files (relight.depth.registry)
            files = fetch_depth_model(name, progress=on_bytes)
            path, verification = files.folder, files.verification
        else:
            path, entry = locate_weights(name, progress=on_bytes)
            verification = describe_verification(entry)
    console.print(f"ready: {path} ({verification})")


@app.command("import")
def import_checkpoint(
    checkpoint: Annotated[Path, typer.Argument(help="The authors' checkpoint, weight.pkl (a .pkl/.pth state dict).")],
    name: Annotated[str, typer.Option("--name", help="Registry name to give it, e.g. mbnet-ntire21.")],
    force: Annotated[bool, typer.Option("--force", help="Replace an earlier import of the same name.")] = False,
) -> None:
    """Convert the authors' checkpoint to relight's fp32 safetensors in your cache and register it as NAME."""
    from relight.weights import import_authors_checkpoint

    with tracked("importing", total=len(IMPORT_STEPS)) as counter:
        entry = import_authors_checkpoint(checkpoint, name, force=force, on_step=counter.step)
        counter.update(completed=len(IMPORT_STEPS), description="imported")
    table = Table(title=f"relight weights import -> {entry.name}")
    for column in ("name", "variant", "file", "size", "sha256"):
        table.add_column(column, overflow="fold")
    table.add_row(entry.name, entry.config.describe(), str(entry.location.path), _megabytes(entry.size_bytes), entry.sha256 or "?")
    out_console.print(table)
    console.print(f"use it with --weights {entry.name}")
